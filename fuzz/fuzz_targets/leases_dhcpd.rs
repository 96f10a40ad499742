//! Fuzzes the ISC dhcpd `dhcpd.leases` file parser (`discovery::isc_dhcpd::parse`) on lossy UTF-8, then target
//! selection over its leases. A panic or a broken invariant is a bug in the crate.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "leases_common.rs"]
mod leases_common;

fuzz_target!(|data: &[u8]| {
    leases_common::run(data, bmc_catcher::discovery::isc_dhcpd::parse);
});
