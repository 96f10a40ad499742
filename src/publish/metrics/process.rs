//! The `process_*` metrics every Prometheus exporter has (the names and meanings of client_golang's
//! process collector): CPU time, memory, open and allowed file descriptors, start time. Read at
//! scrape time from `/proc/self` (Linux); the parsers take the text and never read files themselves.
//! Where `/proc` cannot be read the families are left out, not written as zero.

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

/// What `/proc/self/stat` says about the process, in Prometheus units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcStat {
    /// User and system CPU time, seconds.
    pub cpu_seconds: f64,
    /// When the process started, Unix seconds.
    pub start_time_seconds: f64,
    pub virtual_memory_bytes: f64,
    pub resident_memory_bytes: f64,
    pub threads: f64,
}

/// Parses `/proc/self/stat` (`proc_pid_stat(5)`). `ticks` is `sysconf(_SC_CLK_TCK)`, `page` the page
/// size in bytes, `boot_time` the `btime` of `/proc/stat`. The command name (field 2) may hold spaces
/// and parentheses, so the fields are counted from the last `)`.
pub fn parse_stat(stat: &str, ticks: f64, page: f64, boot_time: f64) -> Option<ProcStat> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state): field N is f[N - 3].
    let num = |n: usize| f.get(n - 3)?.parse::<f64>().ok();
    if ticks <= 0.0 {
        return None;
    }
    Some(ProcStat {
        cpu_seconds: (num(14)? + num(15)?) / ticks,
        threads: num(20)?,
        start_time_seconds: boot_time + num(22)? / ticks,
        virtual_memory_bytes: num(23)?,
        resident_memory_bytes: num(24)? * page,
    })
}

/// The boot time (`btime`, Unix seconds) from `/proc/stat`.
pub fn parse_boot_time(proc_stat: &str) -> Option<f64> {
    proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// This process's numbers, if `/proc` can be read.
fn read_stat() -> Option<ProcStat> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let boot = parse_boot_time(&std::fs::read_to_string("/proc/stat").ok()?)?;
    // SAFETY: sysconf(3) reads a constant of the system and touches no memory of ours.
    let (ticks, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    parse_stat(&stat, ticks as f64, page as f64, boot)
}

fn open_fds() -> Option<f64> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as f64)
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    v: f64,
) -> Result<(), std::fmt::Error> {
    let m = encoder.encode_descriptor(name, help, unit.as_ref(), MetricType::Gauge)?;
    ConstGauge::new(v).encode(m)
}

/// Writes the `process_*` families.
pub fn encode(encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    if let Some(s) = read_stat() {
        let m = encoder.encode_descriptor(
            "process_cpu",
            "Total user and system CPU time spent",
            Some(&Unit::Seconds),
            MetricType::Counter,
        )?;
        ConstCounter::new(s.cpu_seconds).encode(m)?;
        let bytes = || Some(Unit::Bytes);
        gauge(
            encoder,
            "process_start_time",
            "Start time of the process since the Unix epoch",
            Some(Unit::Seconds),
            s.start_time_seconds,
        )?;
        gauge(
            encoder,
            "process_virtual_memory",
            "Virtual memory size",
            bytes(),
            s.virtual_memory_bytes,
        )?;
        gauge(
            encoder,
            "process_resident_memory",
            "Resident memory size",
            bytes(),
            s.resident_memory_bytes,
        )?;
        gauge(
            encoder,
            "process_threads",
            "OS threads of the process",
            None,
            s.threads,
        )?;
    }
    if let Some(n) = open_fds() {
        gauge(
            encoder,
            "process_open_fds",
            "Open file descriptors",
            None,
            n,
        )?;
    }
    if let Some(n) = crate::publish::http::server::nofile_limit() {
        gauge(
            encoder,
            "process_max_fds",
            "The limit of open file descriptors (soft RLIMIT_NOFILE)",
            None,
            n as f64,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real line of a process whose name holds a space and a parenthesis.
    const STAT: &str = "4242 (bmc (catcher) S 1 4242 4242 0 -1 4194560 2871 0 12 0 250 50 0 0 20 0 9 0 1500 1073741824 2560 18446744073709551615 1 1 0 0 0 0 0 4096 17647 0 0 0 17 1 0 0 0 0 0\n";

    #[test]
    fn the_stat_line_gives_cpu_memory_threads_and_start() {
        let s = parse_stat(STAT, 100.0, 4096.0, 1_700_000_000.0).expect("parsed");
        assert_eq!(s.cpu_seconds, 3.0);
        assert_eq!(s.threads, 9.0);
        assert_eq!(s.start_time_seconds, 1_700_000_015.0);
        assert_eq!(s.virtual_memory_bytes, 1_073_741_824.0);
        assert_eq!(s.resident_memory_bytes, 2560.0 * 4096.0);
    }

    #[test]
    fn a_cut_or_garbled_stat_line_gives_nothing() {
        assert_eq!(parse_stat("4242 (x) S 1 2 3", 100.0, 4096.0, 0.0), None);
        assert_eq!(parse_stat("no parenthesis", 100.0, 4096.0, 0.0), None);
        assert_eq!(parse_stat(STAT, 0.0, 4096.0, 0.0), None);
    }

    #[test]
    fn the_boot_time_is_found() {
        let stat = "cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n";
        assert_eq!(parse_boot_time(stat), Some(1_700_000_000.0));
        assert_eq!(parse_boot_time("cpu 1\n"), None);
    }
}
