//! The name service's calls: `messngr status`, `name list|add|del`,
//! `lookup` and `lookup -A`, with the views the CLI prints.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// The daemon's names, counters and interface (`messngr status`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {}

/// This host's names and their states (`messngr name list`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameList {}

/// Register `NAME<03>` as a messenger alias, or join the group `NAME<03>`
/// (root only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameAdd {
    /// The name (1–15 characters).
    pub name: String,
    /// A group name, shared with other hosts: what `net send /domain:NAME`
    /// reaches (not defended against other members, as a unique name is).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub group: bool,
}

/// Release an alias (root only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameDel {
    /// The name.
    pub name: String,
}

/// Resolve a name (broadcast, or WINS when configured).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lookup {
    /// The name.
    pub name: String,
    /// Its 16th byte.
    pub suffix: u8,
}

/// Ask a host for its names (node status, like `nmblookup -A`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The host.
    pub address: Ipv4Addr,
}

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
    /// In `conflict`: the host that refused the name to us.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_by: Option<Ipv4Addr>,
    /// In `conflict`: seconds until it is claimed again (absent: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_in_secs: Option<u64>,
}

/// Answer to a lookup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LookupView {
    /// `NAME<xx>`.
    pub name: String,
    /// The owners' addresses.
    pub addresses: Vec<Ipv4Addr>,
    /// The host that holds it, when the relay's directory answered (the
    /// name is on another site); with several, the first of `relay_hosts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_host: Option<String>,
    /// When the relay's directory answered (the name is on other sites):
    /// the host of each address, in the same order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relay_hosts: Vec<String>,
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
    /// Refusals by reason (`off_lan`, `rate_limited`, `quota_full`, …);
    /// reasons that never happened are left out.
    #[serde(default)]
    pub refused: std::collections::BTreeMap<String, u64>,
    /// This host's key fingerprint (`messngr trust show` has the key).
    #[serde(default)]
    pub host_key: Option<String>,
    /// Hosts that showed another key than their pin, refused.
    #[serde(default)]
    pub key_changes: Vec<crate::KeyChangeView>,
    /// Whether this daemon serves NetBIOS (false: `serve_netbios = false`,
    /// Samba holds the names and ports; `names` and the counters are empty).
    #[serde(default = "yes")]
    pub netbios: bool,
    /// How full the inbox is (root, the daemon's user and `admin_group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox: Option<InboxUsageView>,
    /// The NATS relay between sites, when `[relay]` lists servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<RelayView>,
}

/// The relay's state (`messngr status`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct RelayView {
    /// The servers configured.
    pub servers: Vec<String>,
    /// Whether a server is connected now.
    pub connected: bool,
    /// The connected server's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Unix ms of the last change of `connected`.
    pub since_ms: i64,
    /// Whether the directory bucket is open.
    pub directory: bool,
    /// This host's directory entry written (renewals included).
    pub published: u64,
    /// Directory entries and relayed messages read and refused (forged,
    /// unsigned, oversized, a key that is not the pinned one, expired).
    pub dropped: u64,
    /// Messages for other sites kept on this host until the relay takes
    /// them (it was down when they were sent).
    #[serde(default)]
    pub kept: u64,
    /// The last error reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Streams on the cluster found made otherwise than messngr makes
    /// them, not used until they pass a check again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<String>,
    /// Unix ms of this host's directory entry last written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_ms: Option<i64>,
    /// `directory_ttl_secs`: an entry not written again within it is gone.
    #[serde(default)]
    pub ttl_secs: u64,
    /// Whether this host is taking its messages from the cluster now
    /// (`None` from a daemon before stop 27).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving: Option<bool>,
    /// Whether the relay was given up until the daemon restarts: a setting
    /// no retry can mend (`last_error` says which).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
}

fn yes() -> bool {
    true
}

/// How full the inbox is: what `messngr doctor` checks against the quota.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct InboxUsageView {
    /// Received messages held, everyone's.
    pub received: u64,
    /// `max_messages` (`None`: no limit).
    pub max_messages: Option<u64>,
    /// The inbox's files on disk (database and write-ahead log), bytes.
    pub bytes: u64,
    /// Free space for the daemon's user on the inbox's file system, bytes.
    pub disk_free_bytes: Option<u64>,
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
    /// Names lost to conflicts (each refused claim of a retried name counts).
    pub conflicts: u64,
    /// Conflict demands and negative registration responses for our names
    /// that answered no registration of ours: ignored, the names kept.
    #[serde(default)]
    pub conflict_demands_ignored: u64,
    /// Name releases of our unique names sent by other hosts: ignored.
    #[serde(default)]
    pub releases_ignored: u64,
}
