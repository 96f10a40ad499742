//! A lease database in a file ([`LeaseFile`]), read with bounds by [`crate::config::file`]: opened
//! without blocking (a FIFO with no writer cannot hang the watcher or `check-config`), a regular
//! file only (not a FIFO, a device such as `/dev/zero`, a directory or a socket), and at most
//! `[discovery] max-leases-file-size` bytes read. Parsing is the parsers' job.

use std::path::{Path, PathBuf};

use super::{DiscoveryError, LeaseSource, Parsed, parse};
use crate::config::LeasesFormat;
use crate::config::file::{FileError, Opened, open_regular};

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

/// As a leases-file error naming `path`.
fn naming(e: FileError, path: &Path) -> DiscoveryError {
    let file = path.to_path_buf();
    match e {
        FileError::Io(source) => DiscoveryError::Read { file, source },
        FileError::NotRegular(what) => DiscoveryError::NotRegular { file, what },
        FileError::TooLarge { size, max } => DiscoveryError::TooLarge { file, size, max },
    }
}

/// The text of `path`, a regular file of at most `max` bytes (also when it grows while read).
pub(super) fn read_bounded(path: &Path, max: u64) -> Result<String, DiscoveryError> {
    open_regular(path, max)
        .and_then(Opened::read_text)
        .map_err(|e| naming(e, path))
}

/// What `check-config` says about the leases file: `None` when it is missing (it may appear
/// later) or usable, else why the daemon will refuse it. Never reads it, never blocks.
pub fn check_file(path: &Path, max: u64) -> Option<DiscoveryError> {
    if !path.exists() {
        return None;
    }
    open_regular(path, max).err().map(|e| naming(e, path))
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
