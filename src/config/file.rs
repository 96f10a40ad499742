//! Reading the daemon's own small files (config, credentials): a regular file only, and at most
//! [`MAX_SIZE`]. A directory, a FIFO (which would block the reader forever) or a device is refused
//! by its type, before it is opened.

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

/// The file's metadata, when it is a regular file of at most [`MAX_SIZE`] bytes.
pub fn check(file: &Path) -> Result<std::fs::Metadata, ConfigError> {
    let meta = std::fs::metadata(file).map_err(|source| ConfigError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    if !meta.is_file() {
        return Err(ConfigError::NotAFile {
            file: file.to_path_buf(),
            what: kind(meta.file_type()),
        });
    }
    if meta.len() > MAX_SIZE {
        return Err(ConfigError::NotAFile {
            file: file.to_path_buf(),
            what: "larger than 4 MiB",
        });
    }
    Ok(meta)
}

/// Reads a regular file of at most [`MAX_SIZE`] bytes as text.
pub fn read(file: &Path) -> Result<String, ConfigError> {
    check(file)?;
    let read_error = |source| ConfigError::Read {
        file: file.to_path_buf(),
        source,
    };
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(std::fs::File::open(file).map_err(read_error)?, MAX_SIZE),
        &mut text,
    )
    .map_err(read_error)?;
    Ok(text)
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
}
