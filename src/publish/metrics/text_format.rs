//! Converts the OpenMetrics text that `prometheus-client` writes into the classic Prometheus text
//! format 0.0.4, which `promtool check metrics` and older scrapers read: counters are named with
//! their `_total` suffix in HELP/TYPE, `info`/`stateset` become gauges, `unknown` becomes `untyped`,
//! and the `# UNIT` and `# EOF` lines go.

/// Rewrites one exposition. Lines it does not recognise pass through unchanged.
pub fn from_openmetrics(om: &str) -> String {
    let mut out = String::with_capacity(om.len());
    let mut pending_help: Option<(&str, &str)> = None;
    for line in om.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            flush_help(&mut out, pending_help.take(), None);
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            pending_help = Some((name, help));
            continue;
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
            let renamed = (new_name != name).then_some(new_name.as_str());
            match pending_help.take() {
                Some((hn, help)) if hn == name => flush_help(&mut out, Some((hn, help)), renamed),
                other => flush_help(&mut out, other, None),
            }
            out.push_str("# TYPE ");
            out.push_str(&new_name);
            out.push(' ');
            out.push_str(new_kind);
            out.push('\n');
            continue;
        }
        flush_help(&mut out, pending_help.take(), None);
        out.push_str(line);
        out.push('\n');
    }
    flush_help(&mut out, pending_help.take(), None);
    out
}

fn flush_help(out: &mut String, help: Option<(&str, &str)>, rename: Option<&str>) {
    if let Some((name, text)) = help {
        out.push_str("# HELP ");
        out.push_str(rename.unwrap_or(name));
        out.push(' ');
        out.push_str(text);
        out.push('\n');
    }
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
}
