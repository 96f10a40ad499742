//! TOML errors told by line, column and key, never quoting the file: a config or credentials
//! line may hold a secret.

/// A TOML error by position and cause, never quoting the file: the line may hold a secret (a
/// password, a `nats://user:pass@` URL). Values inside the cause (`invalid type: string "..."`)
/// are left out too; key names (`unknown field \`pasword\``) stay, they are what to fix.
pub(crate) fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let at = match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            match key_at(text, line) {
                Some(key) => format!("line {line}, column {column}, key `{key}`: "),
                None => format!("line {line}, column {column}: "),
            }
        }
        None => String::new(),
    };
    let mut cause = String::new();
    let mut quoted = false;
    let mut previous = ' ';
    for c in e.message().trim().chars() {
        match (c, quoted) {
            ('"', false) if previous == ' ' => {
                quoted = true;
                cause.push_str("(value not shown)");
            }
            ('"', true) => quoted = false,
            (_, true) => {}
            ('\n', false) => cause.push_str("; "),
            (c, false) => cause.push(c),
        }
        previous = c;
    }
    format!("{at}{cause}")
}

/// The dotted key set on `line` (1-based): the last `[table]` above it and the bare key left of
/// its `=`. Only names, never the value.
fn key_at(text: &str, line: usize) -> Option<String> {
    let bare = |k: &str| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    let mut table = String::new();
    for (i, l) in text.lines().enumerate().take(line) {
        let l = l.trim();
        if i + 1 == line {
            let key = l.split_once('=')?.0.trim();
            return bare(key).then(|| {
                if table.is_empty() {
                    key.to_string()
                } else {
                    format!("{table}.{key}")
                }
            });
        }
        if let Some(t) = l.strip_prefix('[').and_then(|t| t.split(']').next()) {
            let t = t.trim_matches(['[', ' ']);
            table = if bare(t) {
                t.to_string()
            } else {
                String::new()
            };
        }
    }
    None
}
