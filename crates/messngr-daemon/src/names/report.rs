//! What the name service answers, as typed values: the daemon's dispatch
//! turns them into the API's views; nothing here knows the API.

use std::net::Ipv4Addr;
use std::time::Duration;

use messngr_proto::wire::name::NetbiosName;

/// One of this host's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NameInfo {
    /// The name.
    pub name: NetbiosName,
    /// A group name.
    pub group: bool,
    /// `registering`, `registered`, `conflict`, `releasing`.
    pub state: &'static str,
    /// Where it comes from: `host`, `workgroup`, `alias`, `user`.
    pub source: String,
    /// In conflict: who refused it to us.
    pub held_by: Option<Ipv4Addr>,
    /// In conflict: how long until it is claimed again (`None`: never).
    pub retry_in: Option<Duration>,
}

/// The name service's state (`messngr status`).
#[derive(Debug, Clone)]
pub(crate) struct NamesReport {
    /// Our names.
    pub names: Vec<NameInfo>,
    /// Its counters.
    pub counters: Counters,
    /// Since the service started.
    pub uptime: Duration,
}

/// Name-service counters.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counters {
    /// Datagrams received on UDP 137.
    pub received: u64,
    /// Dropped: malformed.
    pub malformed: u64,
    /// Dropped: over the per-source rate.
    pub rate_limited: u64,
    /// Datagrams sent.
    pub sent: u64,
    /// Name queries answered.
    pub queries_answered: u64,
    /// Node status requests answered.
    pub node_status_answered: u64,
    /// Registrations of our names by others refused.
    pub defended: u64,
    /// Names lost to conflicts.
    pub conflicts: u64,
    /// Unsolicited conflict demands / negative responses ignored.
    pub conflict_demands_ignored: u64,
    /// Other hosts' releases of our unique names ignored.
    pub releases_ignored: u64,
}

/// One name of a node status answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeName {
    /// The name.
    pub name: NetbiosName,
    /// A group name.
    pub group: bool,
    /// Node type letter from ONT: `B`, `P`, `M` or `H`.
    pub node_type: &'static str,
    /// Flags as nmblookup prints them.
    pub flags: Vec<&'static str>,
}

/// A node status answer (`lookup -A`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeReport {
    /// Who answered.
    pub address: Ipv4Addr,
    /// Its names.
    pub names: Vec<NodeName>,
    /// UNIT_ID.
    pub mac: [u8; 6],
}

/// Why the name service could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NamesError {
    /// Not a NetBIOS name.
    #[error("{0}")]
    BadName(String),
    /// Another node holds it.
    #[error(
        "{name} is held by {by}; `messngr status` shows when it is claimed again, `messngr name del` gives it up"
    )]
    Conflict {
        /// The name.
        name: NetbiosName,
        /// Who holds it.
        by: Ipv4Addr,
    },
    /// Nobody answered, or it is not ours.
    #[error("{0}")]
    NotFound(String),
    /// The name service would not take it.
    #[error("{0}")]
    Refused(String),
    /// The daemon is stopping.
    #[error("the daemon is stopping")]
    Stopping,
}
