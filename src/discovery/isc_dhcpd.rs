//! Parser for ISC dhcpd `dhcpd.leases` (dhcpd.leases(5)): returns every IPv4 `lease` block in
//! file order; picking the last record per IP is `select`'s job.
//!
//! Tolerant by design: unknown statements and unknown top-level declarations (`failover peer`,
//! `ia-na`, `server-duid`, ...) are skipped; a broken lease block is dropped with a warning naming
//! the line of the problem and parsing resumes at the next `lease` that starts a line. dhcpd
//! writes one statement per line, so a statement running onto the next line is a missing `;`.

use std::net::{IpAddr, Ipv4Addr};

use self::lex::{Tok, Token, date, tokenize};
use super::lease::{Lease, LeaseState, Parsed};
use crate::model::MacAddr;

mod lex;

/// A problem: (1-based line, message).
type Fail = (usize, String);

/// Text parsed at a time: tokens take several times the bytes of their text, so a 100 MB file
/// is tokenized a slice at a time, each slice ending where a line starts with `lease` (where the
/// parser resynchronises anyway).
const SLICE_BYTES: usize = 1 << 20;

/// Parses the text of a dhcpd.leases file. Never panics.
pub fn parse(text: &str) -> Parsed {
    parse_sliced(text, SLICE_BYTES)
}

fn parse_sliced(text: &str, slice_bytes: usize) -> Parsed {
    let mut out = Parsed::default();
    let mut line = 1;
    let mut slices = slices(text, slice_bytes).peekable();
    while let Some(slice) = slices.next() {
        let mut p = Parser {
            toks: tokenize(slice, line),
            more: slices.peek().is_some(),
            pos: 0,
            out,
        };
        p.run();
        out = p.out;
        line += slice.bytes().filter(|&b| b == b'\n').count();
    }
    out
}

/// `text` cut into slices of about `size` bytes, each cut at the start of a line whose first word
/// is `lease`.
fn slices(text: &str, size: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut cut = rest.len();
        let mut at = size;
        while at < rest.len() {
            let Some(nl) = rest.as_bytes()[at..].iter().position(|&b| b == b'\n') else {
                break;
            };
            let next = at + nl + 1;
            let line = rest[next..].trim_start_matches([' ', '\t']);
            if line.starts_with("lease") && line[5..].starts_with(|c: char| c.is_ascii_whitespace())
            {
                cut = next;
                break;
            }
            at = next;
        }
        let (slice, tail) = rest.split_at(cut);
        rest = tail;
        Some(slice)
    })
}

struct Parser<'a> {
    toks: Vec<Token<'a>>,
    /// Another slice of the file follows this one.
    more: bool,
    pos: usize,
    out: Parsed,
}

impl<'a> Parser<'a> {
    /// At a line-leading `lease`, or at the end of a slice that another slice follows (slices are
    /// cut just before a line-leading `lease`).
    fn at_lease_start(&self, pos: usize) -> bool {
        match self.toks.get(pos) {
            Some(t) => t.first && t.tok == Tok::Word("lease"),
            None => self.more,
        }
    }

    fn run(&mut self) {
        while let Some(t) = self.toks.get(self.pos) {
            let line = t.line;
            match t.tok {
                Tok::Word("lease") => match self.lease() {
                    Ok(l) => self.out.leases.push(l),
                    Err((at, msg)) => {
                        self.out
                            .warn(at, format!("{msg}; lease at line {line} skipped"));
                        while self.pos < self.toks.len() && !self.at_lease_start(self.pos) {
                            self.pos += 1;
                        }
                    }
                },
                _ => {
                    let last = self.out.warnings.last().map(|w| w.line);
                    match self.statement() {
                        Err((at, msg)) if last != Some(at) => {
                            self.out.warn(at, format!("{msg}; skipped"));
                        }
                        _ => {} // top-level declarations are not leases; one warning per line
                    }
                }
            }
        }
    }

    /// Consumes one statement (up to `;`, or a balanced `{...}` block) and returns its tokens.
    /// Stops without consuming at a line-leading `lease` that would be swallowed.
    fn statement(&mut self) -> Result<Vec<Tok<'a>>, Fail> {
        let Some(first) = self.toks.get(self.pos) else {
            return Err((0, "unexpected end of file".into()));
        };
        let (line, start) = (first.line, self.pos);
        let mut depth = 0usize;
        loop {
            if self.pos > start && self.at_lease_start(self.pos) {
                let what = if depth > 0 {
                    "unclosed '{' block"
                } else {
                    "missing ';'"
                };
                return Err((line, what.into()));
            }
            let Some(t) = self.toks.get(self.pos) else {
                break;
            };
            self.pos += 1;
            match (&t.tok, depth) {
                (Tok::Bad(m), _) => return Err((t.line, (*m).into())),
                (Tok::Open, _) => depth += 1,
                (Tok::Close, 0) if self.pos - 1 == start => {
                    return Err((t.line, "unexpected '}'".into()));
                }
                (Tok::Close, 0) => {
                    self.pos -= 1;
                    return Err((line, "missing ';' before '}'".into()));
                }
                (Tok::Close, 1) => return Ok(Vec::new()),
                (Tok::Close, _) => depth -= 1,
                (Tok::Semi, 0) => {
                    let toks = &self.toks[start..self.pos - 1];
                    return Ok(toks.iter().map(|t| t.tok.clone()).collect());
                }
                (_, 0) if t.line != line => {
                    self.pos -= 1;
                    return Err((line, "missing ';'".into()));
                }
                _ => {}
            }
        }
        Err((line, "unexpected end of file".into()))
    }

    fn lease(&mut self) -> Result<Lease, Fail> {
        let line = self.toks.get(self.pos).map_or(0, |t| t.line);
        self.pos += 1;
        let ip = match self.toks.get(self.pos).map(|t| &t.tok) {
            Some(Tok::Word(w)) => w
                .parse::<Ipv4Addr>()
                .map_err(|_| (line, format!("bad lease address {w:?}")))?,
            _ => return Err((line, "missing lease address".into())),
        };
        if self.toks.get(self.pos + 1).map(|t| &t.tok) != Some(&Tok::Open) {
            return Err((line, "missing '{' after lease address".into()));
        }
        self.pos += 2;
        let mut lease = Lease {
            ip: IpAddr::V4(ip),
            mac: None,
            hostname: None,
            starts: None,
            ends: None,
            state: LeaseState::Active, // no `binding state` (OpenBSD-style file): judged by `ends`
            vendor_class: None,
            line,
        };
        loop {
            if self.at_lease_start(self.pos) {
                return Err((line, "lease block not closed with '}'".into()));
            }
            let Some(t) = self.toks.get(self.pos) else {
                return Err((line, "unterminated lease block at end of file".into()));
            };
            if t.tok == Tok::Close {
                self.pos += 1;
                return Ok(lease);
            }
            let sline = t.line;
            let stmt = self.statement()?;
            apply(&mut lease, &stmt).map_err(|m| (sline, m))?;
        }
    }
}

fn apply(lease: &mut Lease, stmt: &[Tok<'_>]) -> Result<(), String> {
    let word = |i: usize| match stmt.get(i) {
        Some(Tok::Word(w)) => Some(*w),
        _ => None,
    };
    match (word(0), word(1)) {
        (Some(k @ ("starts" | "ends" | "cltt" | "tstp" | "tsfp" | "atsfp")), _) => {
            let t = date(&stmt[1..]).ok_or_else(|| format!("bad date in {k:?}"))?;
            match k {
                "starts" => lease.starts = t,
                "ends" => lease.ends = t,
                _ => {}
            }
        }
        (Some("binding"), Some("state")) => {
            lease.state = match word(2).ok_or("missing binding state")? {
                "active" => LeaseState::Active,
                "free" => LeaseState::Free,
                "expired" => LeaseState::Expired,
                "released" => LeaseState::Released,
                "abandoned" => LeaseState::Abandoned,
                "backup" => LeaseState::Backup,
                _ => LeaseState::Other,
            }
        }
        (Some("abandoned"), None) => lease.state = LeaseState::Abandoned,
        (Some("hardware"), Some(kind)) => {
            let addr = word(2).ok_or("missing hardware address")?;
            let mac = addr.parse::<MacAddr>();
            match (kind, mac) {
                ("ethernet", Ok(mac)) => lease.mac = Some(mac),
                ("ethernet", Err(_)) => return Err(format!("bad MAC address {addr:?}")),
                _ => lease.mac = None,
            }
        }
        (Some("client-hostname"), _) => match stmt.get(1) {
            Some(Tok::Str(s)) => lease.hostname = Some(s.clone()),
            _ => return Err("client-hostname needs a quoted string".into()),
        },
        (Some("set"), Some("vendor-class-identifier")) => match stmt.get(3) {
            Some(Tok::Str(s)) => lease.vendor_class = Some(s.clone()),
            _ => return Err("vendor-class-identifier needs a quoted string".into()),
        },
        _ => {} // next/rewind binding state, uid, set <other>, unknown statements
    }
    Ok(())
}

/// `never` → `Some(None)`; `epoch N` or `W YYYY/MM/DD HH:MM:SS` (UTC) → `Some(Some(unix))`.
#[cfg(test)]
mod tests;
