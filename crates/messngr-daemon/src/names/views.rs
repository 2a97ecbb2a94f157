//! What the name service answers the API with: the JSON shapes of
//! `messngr name list`, `lookup`, `lookup -A` and `status`, shared with the
//! CLI, which prints them.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// One name as `messngr name list` / `status` show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NameView {
    /// `NAME<xx>`.
    pub name: String,
    /// Group name.
    pub group: bool,
    /// `registering`, `registered`, `conflict`, `releasing`.
    pub state: String,
    /// Where the name comes from: `host`, `workgroup`, `alias`, `user`.
    pub source: String,
}

/// Answer to a lookup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LookupView {
    /// `NAME<xx>`.
    pub name: String,
    /// The owners' addresses.
    pub addresses: Vec<Ipv4Addr>,
}

/// One name of a node status answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeNameView {
    /// `NAME<xx>`.
    pub name: String,
    /// Group name.
    pub group: bool,
    /// Node type letter from ONT: `B`, `P`, `M` or `H`.
    pub node_type: String,
    /// Flags as nmblookup prints them (`ACTIVE`, `CONFLICT`, …).
    pub flags: Vec<String>,
}

/// Answer to a node status query.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeStatusView {
    /// Who answered.
    pub address: Ipv4Addr,
    /// Its names.
    pub names: Vec<NodeNameView>,
    /// UNIT_ID, as `aa:bb:…`.
    pub mac: String,
}

/// `messngr status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatusView {
    /// Our NetBIOS name.
    pub netbios_name: String,
    /// Our workgroup.
    pub workgroup: String,
    /// Interface name.
    pub interface: String,
    /// Our address.
    pub address: Ipv4Addr,
    /// The broadcast address we use.
    pub broadcast: Ipv4Addr,
    /// The WINS server, if any.
    pub wins_server: Option<Ipv4Addr>,
    /// Seconds since start.
    pub uptime_secs: u64,
    /// Our names.
    pub names: Vec<NameView>,
    /// Counters.
    pub counters: CountersView,
}

/// Name-service counters.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct CountersView {
    /// Datagrams received on UDP 137.
    pub nbns_received: u64,
    /// Dropped: malformed.
    pub nbns_malformed: u64,
    /// Dropped: over the per-source rate.
    pub nbns_rate_limited: u64,
    /// Datagrams sent.
    pub nbns_sent: u64,
    /// Name queries answered.
    pub queries_answered: u64,
    /// Node status requests answered.
    pub node_status_answered: u64,
    /// Registrations of our names by others refused.
    pub defended: u64,
    /// Names lost to conflicts.
    pub conflicts: u64,
}
