//! A lease database in a file ([`LeaseFile`]), read with bounds: the path is opened without
//! blocking (`O_NONBLOCK`, so a FIFO with no writer cannot hang the watcher or `check-config`),
//! must be a regular file (not a FIFO, a device such as `/dev/zero`, a directory or a socket), and
//! at most `[discovery] max-leases-file-size` bytes are read. Parsing is the parsers' job.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::{DiscoveryError, LeaseSource, Parsed, parse};
use crate::config::LeasesFormat;

/// A lease database in a file.
pub struct LeaseFile {
    pub path: PathBuf,
    pub format: LeasesFormat,
    /// The most bytes read (`[discovery] max-leases-file-size`).
    pub max_bytes: u64,
}

impl LeaseSource for LeaseFile {
    fn read(&self) -> Result<Parsed, DiscoveryError> {
        let text = read_bounded(&self.path, self.max_bytes)?;
        Ok(parse(&text, self.format))
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }
}

/// Opens `path` without blocking and checks that it is a regular file of at most `max` bytes.
fn open_checked(path: &Path, max: u64) -> Result<(File, u64), DiscoveryError> {
    let read_error = |source| DiscoveryError::Read {
        file: path.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if !meta.file_type().is_file() {
        return Err(DiscoveryError::NotRegular {
            file: path.to_path_buf(),
            what: crate::config::file_kind(meta.file_type()),
        });
    }
    if meta.len() > max {
        return Err(DiscoveryError::TooLarge {
            file: path.to_path_buf(),
            size: meta.len(),
            max,
        });
    }
    Ok((file, meta.len()))
}

/// The text of `path`, a regular file of at most `max` bytes (also when it grows while read).
pub(super) fn read_bounded(path: &Path, max: u64) -> Result<String, DiscoveryError> {
    let (file, len) = open_checked(path, max)?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(1));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| DiscoveryError::Read {
            file: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > max {
        return Err(DiscoveryError::TooLarge {
            file: path.to_path_buf(),
            size: bytes.len() as u64,
            max,
        });
    }
    String::from_utf8(bytes).map_err(|e| DiscoveryError::Read {
        file: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
    })
}

/// What `check-config` says about the leases file: `None` when it is missing (it may appear
/// later) or usable, else why the daemon will refuse it. Never reads it, never blocks.
pub fn check_file(path: &Path, max: u64) -> Option<DiscoveryError> {
    if !path.exists() {
        return None;
    }
    open_checked(path, max).err()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a NUL-terminated path and a mode; mkfifo(3) touches no other memory.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    }

    #[test]
    fn a_fifo_a_device_and_a_directory_are_refused_at_once_naming_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let fifo = dir.path().join("leases.fifo");
        mkfifo(&fifo);
        let e = read_bounded(&fifo, 1 << 20).expect_err("fifo").to_string();
        assert!(e.contains("leases.fifo") && e.contains("a FIFO"), "{e}");
        let e = read_bounded(Path::new("/dev/zero"), 1 << 20)
            .expect_err("/dev/zero")
            .to_string();
        assert!(
            e.contains("/dev/zero") && e.contains("a character device"),
            "{e}"
        );
        let e = read_bounded(dir.path(), 1 << 20)
            .expect_err("dir")
            .to_string();
        assert!(e.contains("a directory"), "{e}");
        assert!(check_file(&fifo, 1 << 20).is_some());
        assert!(check_file(&dir.path().join("missing"), 1 << 20).is_none());
    }

    #[test]
    fn at_most_max_bytes_are_read() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("dhcpd.leases");
        std::fs::write(&path, vec![b'#'; 8192]).expect("write");
        assert_eq!(read_bounded(&path, 8192).expect("at the bound").len(), 8192);
        let e = read_bounded(&path, 8191).expect_err("over").to_string();
        assert!(
            e.contains("dhcpd.leases")
                && e.contains("8192 > 8191")
                && e.contains("max-leases-file-size"),
            "{e}"
        );
        assert!(check_file(&path, 8191).is_some());
        assert!(check_file(&path, 8192).is_none());
    }
}
