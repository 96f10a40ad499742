//! Unit tests of config parsing: the shipped files, defaults, and errors that name the key.

use super::*;
use crate::model::MacAddr;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("test.toml"))
}

#[test]
fn shipped_config_parses() {
    let text = include_str!("../../config/bmc-catcher.toml");
    let c = parse(text).expect("shipped config must parse");
    assert_eq!(c.poll.interval, Duration::from_secs(300));
    assert_eq!(c.poll.timeout, Duration::from_secs(60));
    assert_eq!(c.discovery.leases_format, LeasesFormat::Auto);
    assert_eq!(c.redfish.port, 443);
    // The filters are examples, commented out: on any network the shipped file polls every lease.
    assert!(c.discovery.allow_cidrs.is_empty() && c.discovery.ignore_macs.is_empty());
    let uncommented = text
        .replace("# allow-cidrs = ", "allow-cidrs = ")
        .replace("# ignore-macs = ", "ignore-macs = ");
    let examples = parse(&uncommented).expect("the examples parse once uncommented");
    assert_eq!(examples.discovery.allow_cidrs.len(), 1);
    assert_eq!(examples.discovery.ignore_macs.len(), 1);
}

#[test]
fn shipped_credentials_example_parses() {
    let text = include_str!("../../config/credentials.example.toml");
    let c = Credentials::parse(text, Path::new("creds.toml")).expect("example must parse");
    let mac: MacAddr = "52:54:00:a1:00:11".parse().expect("mac");
    let other: MacAddr = "52:54:00:a1:00:12".parse().expect("mac");
    assert_eq!(
        c.for_target(mac, "10.1.2.3".parse().expect("ip"))
            .map(|c| c.username.as_str()),
        Some("ADMIN")
    );
    assert_eq!(
        c.for_target(other, "10.1.2.3".parse().expect("ip"))
            .map(|c| c.username.as_str()),
        Some("root")
    );
    assert_eq!(
        c.for_target(other, "10.2.0.1".parse().expect("ip"))
            .map(|c| c.username.as_str()),
        Some("admin")
    );
    assert!(
        !format!("{c:?}").contains("calvin"),
        "Debug must not print passwords"
    );
}

#[test]
fn empty_file_gives_defaults() {
    let c = parse("").expect("defaults");
    assert_eq!(c.partition, "default");
    assert_eq!(c.poll.concurrency, 64);
    assert_eq!(
        (c.poll.max_sensors_per_bmc, c.poll.max_psus_per_bmc),
        (1000, 64)
    );
    assert_eq!(c.redfish.tls, TlsPolicy::Verify);
}

#[test]
fn unknown_key_is_named() {
    let e = parse("[poll]\nintervall = \"5m\"\n").expect_err("unknown key");
    let msg = e.to_string();
    assert!(msg.contains("intervall"), "{msg}");
    assert!(msg.contains("test.toml"), "{msg}");
}

#[test]
fn bad_duration_is_named() {
    let msg = parse("[poll]\ninterval = \"soon\"\n")
        .expect_err("bad")
        .to_string();
    assert!(msg.contains("key `poll.interval`"), "{msg}");
    assert!(msg.contains("line 2"), "{msg}");
}

#[test]
fn config_errors_never_quote_the_file() {
    // A value that may be secret: a NATS URL with a password, of the wrong type or broken.
    for text in [
        "[nats]\nurl = \"nats://u:hunter2@nats:4222\"\nreplicas = \"hunter2\"\n",
        "[nats]\nurl = nats://u:hunter2@nats:4222\n",
        "[nats]\nurl = \"nats://u:hunter2@nats:4222\n",
        "partition = 'hunter2\n",
    ] {
        let msg = parse(text).expect_err("bad").to_string();
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(msg.contains("line "), "{msg}");
    }
    let msg = parse("[nats]\nreplicas = \"three\"\n")
        .expect_err("bad")
        .to_string();
    assert!(msg.contains("key `nats.replicas`"), "{msg}");
}

#[test]
fn invalid_values_name_the_key() {
    let msg = parse("[poll]\ninterval = \"10s\"\ntimeout = \"20s\"\n")
        .expect_err("timeout")
        .to_string();
    assert!(msg.contains("poll.timeout"), "{msg}");
    let msg = parse("partition = \"a b\"\n")
        .expect_err("partition")
        .to_string();
    assert!(msg.contains("`partition`"), "{msg}");
    let msg = parse("[poll]\nconcurrency = 0\n")
        .expect_err("concurrency")
        .to_string();
    assert!(msg.contains("poll.concurrency"), "{msg}");
    let msg = parse("[poll]\nmax-sensors-per-bmc = 0\n")
        .expect_err("max sensors")
        .to_string();
    assert!(msg.contains("poll.max-sensors-per-bmc"), "{msg}");
    let msg = parse("[poll]\nmax-psus-per-bmc = 0\n")
        .expect_err("max psus")
        .to_string();
    assert!(msg.contains("poll.max-psus-per-bmc"), "{msg}");
    let msg = parse("[discovery]\nleases-format = \"csv\"\n")
        .expect_err("format")
        .to_string();
    assert!(
        msg.contains("leases-format") || msg.contains("csv"),
        "{msg}"
    );
}

#[test]
fn effective_config_round_trips() {
    let c = parse(include_str!("../../config/bmc-catcher.toml")).expect("parse");
    let again = parse(&c.to_toml()).expect("rendered config parses");
    assert_eq!(again.poll.interval, c.poll.interval);
    assert_eq!(again.discovery.ignore_macs, c.discovery.ignore_macs);
}

#[test]
fn credentials_errors_never_show_the_secret() {
    let e = Credentials::parse(
        "username = \"a\"\npassword = hunter2\n",
        Path::new("c.toml"),
    )
    .expect_err("bad toml");
    let msg = e.to_string();
    assert!(!msg.contains("hunter2"), "{msg}");
    assert!(msg.contains("line 2"), "{msg}");
    // A typo names the key (not secret) and never the value.
    let e = Credentials::parse(
        "username = \"a\"\npasword = \"hunter2\"\n",
        Path::new("c.toml"),
    )
    .expect_err("typo");
    let msg = e.to_string();
    assert!(
        msg.contains("key `pasword`") && msg.contains("line 2"),
        "{msg}"
    );
    assert!(!msg.contains("hunter2"), "{msg}");
    let e = Credentials::parse("username = \"a\"\n", Path::new("c.toml")).expect_err("no password");
    assert!(e.to_string().contains("`password`"));
}

#[test]
fn ipmi_timing_is_checked_only_where_ipmi_can_be_used() {
    // The IPMI defaults (1 s × 3 attempts) do not fit a 2 s poll, which only matters with IPMI.
    let redfish_only = "[poll]\nprotocol = \"redfish\"\ntimeout = \"2s\"\n";
    assert!(
        parse(redfish_only).is_ok(),
        "{:?}",
        parse(redfish_only).err()
    );
    let auto = "[poll]\ntimeout = \"2s\"\n";
    let e = parse(auto)
        .expect_err("the defaults do not fit")
        .to_string();
    for words in [
        "ipmi.request-timeout",
        "(the [ipmi] defaults)",
        "protocol = \"redfish\"",
        "= 3s",
    ] {
        assert!(e.contains(words), "{words:?} missing in: {e}");
    }
    let set = "[poll]\ntimeout = \"2s\"\n[ipmi]\nrequest-timeout = \"900ms\"\nretries = 2\n";
    let e = parse(set).expect_err("does not fit").to_string();
    assert!(!e.contains("defaults"), "{e}");
    let fits = "[poll]\ntimeout = \"2s\"\n[ipmi]\nrequest-timeout = \"500ms\"\nretries = 2\n";
    assert!(parse(fits).is_ok());
}

#[test]
fn http_limits_default_and_name_the_key() {
    let c = parse("").expect("defaults");
    assert_eq!(c.http.max_connections, 512);
    assert_eq!(c.http.header_read_timeout, Duration::from_secs(10));
    let c = parse("[http]\nmax-connections = 64\nidle-timeout = \"5s\"\n").expect("set");
    assert_eq!(c.http.max_connections, 64);
    assert_eq!(c.http.idle_timeout, Duration::from_secs(5));
    let msg = parse("[http]\nmax-connections = 0\n")
        .expect_err("zero")
        .to_string();
    assert!(msg.contains("http.max-connections"), "{msg}");
    let msg = parse("[http]\nresponse-timeout = \"0s\"\n")
        .expect_err("zero")
        .to_string();
    assert!(msg.contains("http.response-timeout"), "{msg}");
}

#[test]
fn max_leases_file_size_takes_units_or_bytes_and_names_the_key() {
    assert_eq!(
        parse("").expect("defaults").discovery.max_leases_file_size,
        256 << 20
    );
    for (text, want) in [
        ("\"1GiB\"", 1u64 << 30),
        ("\"64KiB\"", 64 << 10),
        ("\"300 MiB\"", 300 << 20),
        ("8192", 8192),
        ("\"8192\"", 8192),
    ] {
        let c = parse(&format!("[discovery]\nmax-leases-file-size = {text}\n")).expect(text);
        assert_eq!(c.discovery.max_leases_file_size, want, "{text}");
    }
    for bad in ["\"lots\"", "\"12XB\"", "-1", "\"99999999999GiB\""] {
        let e = parse(&format!("[discovery]\nmax-leases-file-size = {bad}\n"))
            .expect_err(bad)
            .to_string();
        assert!(e.contains("max-leases-file-size"), "{bad}: {e}");
    }
    let e = parse("[discovery]\nmax-leases-file-size = 100\n")
        .expect_err("too small")
        .to_string();
    assert!(e.contains("discovery.max-leases-file-size"), "{e}");
    assert!(
        parse("")
            .expect("defaults")
            .to_toml()
            .contains("max-leases-file-size = \"256MiB\""),
        "check-config prints it in its unit"
    );
}

#[test]
fn inventory_interval_defaults_to_a_day_and_is_no_shorter_than_a_poll() {
    let c = parse("").expect("defaults");
    assert_eq!(c.poll.inventory_interval, Duration::from_secs(86_400));
    let c = parse("[poll]\ninventory-interval = \"6h\"\n").expect("6h");
    assert_eq!(
        c.poll.limits().inventory_interval,
        Duration::from_secs(21_600)
    );
    let msg = parse("[poll]\ninterval = \"10m\"\ninventory-interval = \"5m\"\n")
        .expect_err("shorter than a poll")
        .to_string();
    assert!(msg.contains("poll.inventory-interval"), "{msg}");
}

#[test]
fn component_interval_defaults_to_half_an_hour_and_is_every_poll_or_no_shorter_than_one() {
    let c = parse("").expect("defaults");
    assert_eq!(
        c.poll.limits().component_interval,
        Duration::from_secs(1800)
    );
    let c = parse("[poll]\ncomponent-interval = \"0s\"\n").expect("every poll");
    assert_eq!(c.poll.limits().component_interval, Duration::ZERO);
    let msg = parse("[poll]\ninterval = \"10m\"\ncomponent-interval = \"5m\"\n")
        .expect_err("shorter than a poll")
        .to_string();
    assert!(msg.contains("poll.component-interval"), "{msg}");
}
