//! Fixture loading shared by the ipmi_sim fixture tests (see tests/fixtures/capture.py).

use std::path::PathBuf;

pub const SETS: [&str; 3] = ["normal", "alarm", "extreme"];

pub fn path(set: &str, file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ipmi/sim")
        .join(set)
        .join(file)
}

pub fn text(set: &str, file: &str) -> String {
    std::fs::read_to_string(path(set, file)).unwrap_or_else(|e| panic!("{set}/{file}: {e}"))
}

/// A response: data bytes, or the completion code the BMC answered with.
pub type Resp = Result<Vec<u8>, u8>;

/// `key: hex bytes` / `key: cc=XX` lines, '#' comments skipped.
pub fn hex_lines(set: &str, file: &str) -> Vec<(String, Resp)> {
    text(set, file)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l
                .split_once(": ")
                .unwrap_or_else(|| panic!("bad line {l:?}"));
            let v = v.trim();
            let resp = match v.strip_prefix("cc=") {
                Some(cc) => Err(u8::from_str_radix(cc, 16).expect("cc hex")),
                None => Ok(v
                    .split_whitespace()
                    .map(|b| u8::from_str_radix(b, 16).expect("hex"))
                    .collect()),
            };
            (k.to_string(), resp)
        })
        .collect()
}

pub fn response(set: &str, key: &str) -> Resp {
    hex_lines(set, "responses.hex")
        .into_iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("{set}: no response {key}"))
        .1
}

pub fn ok(r: Resp) -> Vec<u8> {
    r.unwrap_or_else(|cc| panic!("completion code {cc:#04x}"))
}

/// `Label : value` lines of ipmitool's key/value outputs.
pub fn kv(set: &str, file: &str, label: &str) -> String {
    text(set, file)
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == label).then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("{set}/{file}: no {label:?}"))
}

/// `a | b | c` table rows, cells trimmed.
pub fn table(set: &str, file: &str) -> Vec<Vec<String>> {
    text(set, file)
        .lines()
        .filter(|l| l.contains('|'))
        .map(|l| l.split('|').map(|c| c.trim().to_string()).collect())
        .collect()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn unix(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s
}

/// "HH:MM:SS" → seconds.
pub fn hms(t: &str) -> i64 {
    t.split(':')
        .fold(0, |a, x| a * 60 + x.parse::<i64>().expect("hms"))
}
