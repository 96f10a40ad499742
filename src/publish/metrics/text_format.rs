//! Converts the OpenMetrics text that `prometheus-client` writes into the classic Prometheus text
//! format 0.0.4, which `promtool check metrics` and older scrapers read: counters are named with
//! their `_total` suffix in HELP/TYPE, `info`/`stateset` become gauges, `unknown` becomes `untyped`,
//! and the `# UNIT` and `# EOF` lines go.
//!
//! [`TextWriter`] converts while the encoder writes, so a render holds one body (the text), not the
//! OpenMetrics body and then its converted copy. Sample lines pass straight through; only the few
//! `#` lines are buffered.

use std::fmt::Write;

/// Where the writer is within the current line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// Nothing of the line written yet.
    Start,
    /// A sample line: copied as it comes, up to its newline.
    Sample,
    /// A `#` line: buffered until its newline, then rewritten.
    Comment,
}

/// A [`std::fmt::Write`] that takes OpenMetrics text and writes the classic text format to `W`
/// (a `String`, or a compressing sink).
#[derive(Debug)]
pub struct TextWriter<W: Write = String> {
    out: W,
    /// A write to `out` failed: every later write fails too.
    failed: bool,
    line: Line,
    comment: String,
    /// A `# HELP` line (name, text) waiting for its `# TYPE`, which may rename the metric.
    pending_help: Option<(String, String)>,
}

#[cfg(test)]
impl TextWriter<String> {
    /// A writer whose output starts with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> TextWriter {
        TextWriter::new(String::with_capacity(capacity))
    }
}

impl<W: Write> TextWriter<W> {
    /// A writer into `out`.
    pub fn new(out: W) -> TextWriter<W> {
        TextWriter {
            out,
            failed: false,
            line: Line::Start,
            comment: String::new(),
            pending_help: None,
        }
    }

    /// The converted text (a last line without its newline is converted too).
    pub fn finish(mut self) -> Result<W, std::fmt::Error> {
        if self.line == Line::Comment {
            let comment = std::mem::take(&mut self.comment);
            self.comment_line(&comment);
        }
        self.flush_help(None);
        if self.failed {
            return Err(std::fmt::Error);
        }
        Ok(self.out)
    }

    fn put(&mut self, s: &str) {
        if !self.failed && self.out.write_str(s).is_err() {
            self.failed = true;
        }
    }

    fn comment_line(&mut self, line: &str) {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            return;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            self.flush_help(None);
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            self.pending_help = Some((name.to_string(), help.to_string()));
            return;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let (new_name, new_kind) = match kind {
                "counter" => (format!("{name}_total"), "counter"),
                "info" => (format!("{name}_info"), "gauge"),
                "stateset" | "gauge" => (name.to_string(), "gauge"),
                "unknown" => (name.to_string(), "untyped"),
                "gaugehistogram" => (name.to_string(), "histogram"),
                other => (name.to_string(), other),
            };
            let same = self.pending_help.as_ref().is_some_and(|(hn, _)| hn == name);
            let renamed = (same && new_name != name).then_some(new_name.as_str());
            self.flush_help(renamed);
            self.put("# TYPE ");
            self.put(&new_name);
            self.put(" ");
            self.put(new_kind);
            self.put("\n");
            return;
        }
        self.flush_help(None);
        self.put(line);
        self.put("\n");
    }

    fn flush_help(&mut self, rename: Option<&str>) {
        if let Some((name, text)) = self.pending_help.take() {
            self.put("# HELP ");
            self.put(rename.unwrap_or(&name));
            self.put(" ");
            self.put(&text);
            self.put("\n");
        }
    }
}

impl<W: Write> Write for TextWriter<W> {
    fn write_str(&mut self, mut s: &str) -> std::fmt::Result {
        while !s.is_empty() {
            if self.line == Line::Start {
                self.line = if s.starts_with('#') {
                    Line::Comment
                } else {
                    self.flush_help(None);
                    Line::Sample
                };
            }
            let (part, rest, ended) = match s.find('\n') {
                Some(i) => (&s[..i], &s[i + 1..], true),
                None => (s, "", false),
            };
            match self.line {
                Line::Comment => self.comment.push_str(part),
                _ => {
                    self.put(part);
                    if ended {
                        self.put("\n");
                    }
                }
            }
            if ended {
                if self.line == Line::Comment {
                    let comment = std::mem::take(&mut self.comment);
                    self.comment_line(&comment);
                    self.comment = comment;
                    self.comment.clear();
                }
                self.line = Line::Start;
            }
            s = rest;
        }
        if self.failed {
            return Err(std::fmt::Error);
        }
        Ok(())
    }
}

/// Rewrites one exposition. Lines it does not recognise pass through unchanged.
#[cfg(test)]
pub fn from_openmetrics(om: &str) -> String {
    let mut w = TextWriter::with_capacity(om.len());
    // Writing to a String cannot fail.
    let _ = w.write_str(om);
    w.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::from_openmetrics;

    #[test]
    fn counters_take_their_total_name() {
        let om =
            "# HELP polls Polls done.\n# TYPE polls counter\npolls_total{result=\"ok\"} 3\n# EOF\n";
        assert_eq!(
            from_openmetrics(om),
            "# HELP polls_total Polls done.\n# TYPE polls_total counter\npolls_total{result=\"ok\"} 3\n"
        );
    }

    #[test]
    fn unit_and_eof_lines_go_gauges_stay() {
        let om = "# HELP t_celsius Temp.\n# TYPE t_celsius gauge\n# UNIT t_celsius celsius\nt_celsius{mac=\"a\"} 41.0\n# EOF\n";
        assert_eq!(
            from_openmetrics(om),
            "# HELP t_celsius Temp.\n# TYPE t_celsius gauge\nt_celsius{mac=\"a\"} 41.0\n"
        );
    }

    #[test]
    fn info_and_unknown_are_mapped() {
        let om = "# HELP b Build.\n# TYPE b info\nb_info{v=\"1\"} 1\n# TYPE x unknown\nx 2\n";
        assert_eq!(
            from_openmetrics(om),
            "# HELP b_info Build.\n# TYPE b_info gauge\nb_info{v=\"1\"} 1\n# TYPE x untyped\nx 2\n"
        );
    }

    #[test]
    fn written_in_pieces_it_converts_the_same() {
        use std::fmt::Write;
        let om = "# HELP polls Polls done.\n# TYPE polls counter\npolls_total{result=\"ok\"} 3\n# HELP t_celsius Temp.\n# TYPE t_celsius gauge\n# UNIT t_celsius celsius\nt_celsius{mac=\"a\"} 41.0\n# TYPE x unknown\nx 2\n# EOF\n";
        for size in 1..8 {
            let mut w = super::TextWriter::with_capacity(0);
            let chars: Vec<char> = om.chars().collect();
            for piece in chars.chunks(size) {
                w.write_str(&piece.iter().collect::<String>())
                    .expect("write");
            }
            assert_eq!(
                w.finish().expect("a String"),
                from_openmetrics(om),
                "pieces of {size}"
            );
        }
    }
}
