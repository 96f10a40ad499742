//! The format-neutral lease record every lease-file parser produces ([`Lease`]), the lease
//! states they map to ([`LeaseState`]) and the parse result with its warnings ([`Parsed`]).
//!
//! Owns no parsing and no policy: the parsers (`isc_dhcpd`, `kea`, `dnsmasq`) fill these in,
//! `select` decides which leases are live BMC targets.

use std::net::IpAddr;

use crate::model::MacAddr;

/// One lease record as found in a lease file (a log-structured file can hold several per IP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The leased address.
    pub ip: IpAddr,
    /// The client's Ethernet MAC; `None` when absent or not a 6-octet hardware address.
    pub mac: Option<MacAddr>,
    /// The hostname the client sent, if any.
    pub hostname: Option<String>,
    /// Start of the lease (unix seconds), when the format records it.
    pub starts: Option<i64>,
    /// End of the lease (unix seconds); `None` = infinite / never expires.
    pub ends: Option<i64>,
    /// The binding state the server recorded.
    pub state: LeaseState,
    /// DHCP option 60 (vendor class identifier), when the format records it.
    pub vendor_class: Option<String>,
    /// 1-based line where the lease's record starts.
    pub line: usize,
}

/// The binding state of a lease record, as the server wrote it (not judged against a clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeaseState {
    /// Assigned to a client (whether it has run out is decided against `now` later).
    Active,
    /// Available for allocation.
    Free,
    /// Ran out (dhcpd `expired`, Kea state 2 expired-reclaimed).
    Expired,
    /// Released by the client or deleted by the server (Kea `valid_lifetime` 0).
    Released,
    /// dhcpd `abandoned` (address conflict detected).
    Abandoned,
    /// Declined by a client (address conflict reported).
    Declined,
    /// dhcpd failover `backup`.
    Backup,
    /// Any other state the parser does not model (e.g. dhcpd `reset`, Kea states > 2).
    Other,
}

/// Something in a lease file that was skipped, with the 1-based line of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseWarning {
    /// 1-based line of the problem.
    pub line: usize,
    /// What was wrong and what was skipped.
    pub message: String,
}

/// What a parser found: every lease record in file order, plus warnings for skipped parts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    /// Lease records in file order (later records for the same IP supersede earlier ones).
    pub leases: Vec<Lease>,
    /// Problems found; each names the line and what was skipped.
    pub warnings: Vec<ParseWarning>,
}

impl Parsed {
    /// Records a warning for `line`.
    pub(crate) fn warn(&mut self, line: usize, message: impl Into<String>) {
        self.warnings.push(ParseWarning {
            line,
            message: message.into(),
        });
    }
}
