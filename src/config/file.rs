//! Reading a file whose path an operator gives: the config, the credentials, the leases file. It
//! is opened without blocking (`O_NONBLOCK`: a FIFO with no writer cannot hang the reader), must be
//! a regular file (not a FIFO, a device such as `/dev/zero`, a directory or a socket), and at most
//! a bound is read, also when the file grows while it is read. The config and credentials are
//! bounded by [`MAX_SIZE`]; the leases file by `[discovery] max-leases-file-size`.

use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use super::ConfigError;

/// The largest config or credentials file read.
pub const MAX_SIZE: u64 = 4 << 20;

/// What a path that is not a regular file is, for an error ("... is a FIFO"); the leases file's
/// check says it the same way.
pub fn kind(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

/// Why a bounded file cannot be read; each caller names the file in its own error.
#[derive(Debug)]
pub enum FileError {
    Io(std::io::Error),
    /// What the path is instead ([`kind`]).
    NotRegular(&'static str),
    /// `size` bytes (at least), more than `max`.
    TooLarge {
        size: u64,
        max: u64,
    },
}

/// A regular file of at most `max` bytes, opened and checked, not read yet.
pub struct Opened {
    file: File,
    meta: Metadata,
    max: u64,
}

/// Opens `path` without blocking and checks that it is a regular file of at most `max` bytes.
pub fn open_regular(path: &Path, max: u64) -> Result<Opened, FileError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(FileError::Io)?;
    let meta = file.metadata().map_err(FileError::Io)?;
    if !meta.file_type().is_file() {
        return Err(FileError::NotRegular(kind(meta.file_type())));
    }
    if meta.len() > max {
        return Err(FileError::TooLarge {
            size: meta.len(),
            max,
        });
    }
    Ok(Opened { file, meta, max })
}

impl Opened {
    pub fn metadata(&self) -> &Metadata {
        &self.meta
    }

    /// The text, at most the bound (a file that grew past it while read is refused).
    pub fn read_text(self) -> Result<String, FileError> {
        let Opened { file, meta, max } = self;
        let mut bytes =
            Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0).saturating_add(1));
        file.take(max.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(FileError::Io)?;
        if bytes.len() as u64 > max {
            return Err(FileError::TooLarge {
                size: bytes.len() as u64,
                max,
            });
        }
        String::from_utf8(bytes).map_err(|e| {
            FileError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                e.utf8_error(),
            ))
        })
    }
}

/// What to add to "cannot read FILE: Permission denied": who this process is and who may read
/// the file (its owner, group and mode), since the fix is an owner, a mode or a systemd
/// credential. Empty for any other error.
pub fn access_hint(path: &Path, e: &std::io::Error) -> String {
    if e.kind() != std::io::ErrorKind::PermissionDenied {
        return String::new();
    }
    // SAFETY: geteuid(2) and getegid(2) take no arguments and cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    match std::fs::metadata(path) {
        Ok(m) => format!(
            ": this process runs as uid {uid} (gid {gid}), the file belongs to uid {} (gid {}) with mode {:04o}",
            m.uid(),
            m.gid(),
            m.mode() & 0o7777
        ),
        Err(_) => format!(
            ": this process runs as uid {uid} (gid {gid}), and a directory on the way is closed to it"
        ),
    }
}

impl FileError {
    /// As a config error naming `file`.
    pub fn naming(self, file: &Path) -> ConfigError {
        match self {
            FileError::Io(source) => ConfigError::Read {
                file: file.to_path_buf(),
                hint: access_hint(file, &source),
                source,
            },
            FileError::NotRegular(what) => ConfigError::NotAFile {
                file: file.to_path_buf(),
                what,
            },
            FileError::TooLarge { .. } => ConfigError::NotAFile {
                file: file.to_path_buf(),
                what: "larger than 4 MiB",
            },
        }
    }
}

/// Reads a config or credentials file: regular, at most [`MAX_SIZE`] bytes.
pub fn read(file: &Path) -> Result<String, ConfigError> {
    open_regular(file, MAX_SIZE)
        .and_then(Opened::read_text)
        .map_err(|e| e.naming(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().expect("tmp");
        let e = read(dir.path()).expect_err("a directory");
        assert!(e.to_string().contains("is a directory"), "{e}");
        let fifo = dir.path().join("fifo");
        let path = std::ffi::CString::new(fifo.to_str().expect("utf-8")).expect("path");
        // SAFETY: mkfifo(3) reads a NUL-terminated path we own.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        let e = read(&fifo).expect_err("a FIFO");
        assert!(e.to_string().contains("is a FIFO"), "{e}");
        let e = read(Path::new("/dev/zero")).expect_err("a device");
        assert!(e.to_string().contains("is a character device"), "{e}");
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "partition = \"x\"\n").expect("write");
        assert_eq!(read(&file).expect("a file"), "partition = \"x\"\n");
    }

    #[test]
    fn permission_denied_says_who_asks_and_who_may_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("credentials.toml");
        std::fs::write(&file, "").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let hint = access_hint(&file, &denied);
        // SAFETY: geteuid(2) takes nothing and cannot fail.
        let uid = unsafe { libc::geteuid() };
        assert!(
            hint.contains(&format!("this process runs as uid {uid}")) && hint.contains("mode 0600"),
            "{hint}"
        );
        let e = FileError::Io(denied).naming(&file).to_string();
        assert!(
            e.contains("credentials.toml") && e.contains("mode 0600"),
            "{e}"
        );
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(
            access_hint(&file, &missing),
            "",
            "only for permission denied"
        );
    }
}
