//! The daemon's own JSON state files under its state directory (the session journal, the log
//! cursors): read once at start through the bounded reader of `config::file` (opened without
//! blocking, a regular file of bounded size), where a missing, unreadable or broken file is an
//! empty state and a warning naming it; written atomically (a temporary file beside it, synced,
//! renamed over it) with mode 0600.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::file::{FileError, open_regular};

/// The state in `path` (`what` names it in warnings), or the empty state.
pub fn load<T: DeserializeOwned + Default>(path: &Path, what: &str, max: u64) -> T {
    let text = match open_regular(path, max).and_then(|f| f.read_text()) {
        Ok(text) => text,
        Err(FileError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return T::default(),
        Err(e) => {
            let why = match e {
                FileError::Io(e) => e.to_string(),
                FileError::NotRegular(kind) => format!("{kind}, not a regular file"),
                FileError::TooLarge { size, max } => format!("{size} bytes, more than {max}"),
            };
            tracing::warn!(file = %path.display(), error = %why, "cannot read the {what}; ignored");
            return T::default();
        }
    };
    serde_json::from_str(&text).unwrap_or_else(|e| {
        tracing::warn!(file = %path.display(), error = %e, "the {what} is not valid; ignored");
        T::default()
    })
}

/// Replaces `path` with `value` as JSON, atomically, readable by the daemon's user only.
pub fn save<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&serde_json::to_vec(value).map_err(std::io::Error::other)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    type State = BTreeMap<String, u64>;

    #[test]
    fn saved_state_loads_back_and_a_bad_file_is_an_empty_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        assert!(
            super::load::<State>(&path, "state", 1024).is_empty(),
            "missing"
        );
        let state = State::from([("a".to_string(), 1)]);
        super::save(&path, &state).expect("save");
        assert_eq!(super::load::<State>(&path, "state", 1024), state);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(
            super::load::<State>(&path, "state", 4).is_empty(),
            "too large"
        );
        std::fs::write(&path, "{not json").expect("write");
        assert!(
            super::load::<State>(&path, "state", 1024).is_empty(),
            "broken"
        );
        assert!(
            super::load::<State>(dir.path(), "state", 1024).is_empty(),
            "a directory"
        );
    }
}
