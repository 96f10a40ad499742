//! The lexical layer of the dhcpd.leases parser: tokens with line numbers (comments dropped,
//! strings unescaped) and the date forms (`W YYYY/MM/DD HH:MM:SS` UTC, `epoch N`, `never`).
//!
//! Owns no lease semantics; `isc_dhcpd` builds statements and leases from these tokens.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok<'a> {
    Word(&'a str),
    Str(String),
    Semi,
    Open,
    Close,
    Bad(&'static str),
}

pub(super) struct Token<'a> {
    pub(super) tok: Tok<'a>,
    pub(super) line: usize,
    /// First token on its line (a `lease` here is a resynchronisation point).
    pub(super) first: bool,
}

/// Tokens of `text`, whose first line is line `first_line` of the file.
pub(super) fn tokenize(text: &str, first_line: usize) -> Vec<Token<'_>> {
    let b = text.as_bytes();
    let (mut toks, mut i, mut line, mut first) = (Vec::new(), 0, first_line, true);
    while let Some(&c) = b.get(i) {
        let start_line = line;
        let tok = match c {
            b'\n' => {
                (line, first, i) = (line + 1, true, i + 1);
                continue;
            }
            b'#' => {
                while b.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
                continue;
            }
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b';' | b'{' | b'}' | b'=' => {
                i += 1;
                match c {
                    b';' => Tok::Semi,
                    b'{' => Tok::Open,
                    b'}' => Tok::Close,
                    _ => Tok::Word("="),
                }
            }
            b'"' => {
                let mut j = i + 1;
                loop {
                    match b.get(j) {
                        Some(b'\\') if b.get(j + 1).is_some_and(|&c| c != b'\n') => j += 2,
                        Some(b'"') => break,
                        Some(b'\n' | b'\\') | None => break,
                        Some(_) => j += 1,
                    }
                }
                if b.get(j) == Some(&b'"') {
                    let s = unescape(&b[i + 1..j]);
                    i = j + 1;
                    Tok::Str(s)
                } else {
                    i = j;
                    Tok::Bad("unterminated string")
                }
            }
            _ => {
                let j = b[i..]
                    .iter()
                    .position(|&c| c.is_ascii_whitespace() || b";{}=\"#".contains(&c))
                    .map_or(b.len(), |n| i + n);
                let w = text.get(i..j).unwrap_or("");
                i = j;
                Tok::Word(w)
            }
        };
        toks.push(Token {
            tok,
            line: start_line,
            first,
        });
        first = false;
    }
    toks
}

/// Undoes dhcpd string escapes: `\ooo` octal, `\xHH`, `\t \n \r \b`, otherwise the char itself.
fn unescape(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = s.get(i) else { break };
        i += 1;
        let (radix, max) = match e {
            b'0'..=b'7' => (8, 3),
            b'x' => (16, 2),
            _ => {
                out.push(match e {
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b'b' => 8,
                    _ => e,
                });
                continue;
            }
        };
        let (mut v, mut n) = (0u32, 0);
        if radix == 8 {
            i -= 1;
        }
        while let Some(d) = s.get(i).and_then(|&d| (d as char).to_digit(radix)) {
            if n == max {
                break;
            }
            (v, n, i) = (v * radix + d, n + 1, i + 1);
        }
        out.push(if n == 0 { e } else { (v & 0xff) as u8 });
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) fn date(args: &[Tok<'_>]) -> Option<Option<i64>> {
    let w: Vec<&str> = args
        .iter()
        .map(|t| match t {
            Tok::Word(w) => Some(*w),
            _ => None,
        })
        .collect::<Option<_>>()?;
    match w.as_slice() {
        ["never"] => Some(None),
        ["epoch", n] => Some(Some(num(n)?)),
        [wd, ymd, hms] => {
            num(wd)?;
            let d: Vec<i64> = ymd.split('/').map(num).collect::<Option<_>>()?;
            let t: Vec<i64> = hms.split(':').map(num).collect::<Option<_>>()?;
            let (&[y, mo, d], &[h, mi, s]) = (d.as_slice(), t.as_slice()) else {
                return None;
            };
            let feb = if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) {
                29
            } else {
                28
            };
            let mdays = [31, feb, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
            let ok = (1900..=9999).contains(&y) && (1..=12).contains(&mo);
            let ok = ok && d >= 1 && mdays.get((mo - 1) as usize).is_some_and(|&m| d <= m);
            let ok = ok && h < 24 && mi < 60 && s <= 60;
            ok.then(|| Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s))
        }
        _ => None,
    }
}

/// Unsigned decimal of at most 18 digits (no sign, no overflow).
fn num(s: &str) -> Option<i64> {
    let ok = !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| s.parse().ok()).flatten()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_176_000;

    #[test]
    fn civil_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 11, 20) * 86_400 + 12 * 3600, NOW);
        let w = |s| Tok::Word(s);
        assert_eq!(
            date(&[w("5"), w("2026/11/20"), w("12:00:00")]),
            Some(Some(NOW))
        );
        assert_eq!(
            date(&[w("0"), w("2024/02/29"), w("00:00:00")]),
            Some(Some(1_709_164_800))
        );
        for bad in [
            ["0", "2026/02/29", "00:00:00"],
            ["0", "2026/13/01", "00:00:00"],
            ["x", "2026/11/20", "00:00:00"],
        ] {
            assert_eq!(date(&bad.map(w)), None, "{bad:?}");
        }
        assert_eq!(date(&[w("0"), w("2026/11/20"), w("24:00:00")]), None);
        assert_eq!(date(&[w("epoch"), w("-5")]), None);
    }

    #[test]
    fn strings_comments_and_lines() {
        let toks = tokenize("a \"x;{}#\\\"\\101\\x42\\q\" # c { ;\n  b=\"\n;", 1);
        let got: Vec<(Tok<'_>, usize, bool)> =
            toks.into_iter().map(|t| (t.tok, t.line, t.first)).collect();
        let want = [
            (Tok::Word("a"), 1, true),
            (Tok::Str("x;{}#\"ABq".into()), 1, false),
            (Tok::Word("b"), 2, true),
            (Tok::Word("="), 2, false),
            (Tok::Bad("unterminated string"), 2, false),
            (Tok::Semi, 3, true),
        ];
        assert_eq!(got, want);
    }
}
