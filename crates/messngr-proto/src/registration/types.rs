//! The public types of the name service: configuration, datagrams,
//! events, name states, counters.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use super::QueryId;
use crate::wire::name::{NetbiosName, Scope, scope_labels};

/// BCAST_REQ_RETRY_TIMEOUT (RFC 1002 §6).
pub const BCAST_REQ_RETRY_TIMEOUT: Duration = Duration::from_millis(250);
/// BCAST_REQ_RETRY_COUNT (RFC 1002 §6).
pub const BCAST_REQ_RETRY_COUNT: u8 = 3;
/// UCAST_REQ_RETRY_TIMEOUT as [MS-NBTE] §3.1.2 recommends (RFC 1002: 5 s).
pub const UCAST_REQ_RETRY_TIMEOUT: Duration = Duration::from_millis(1500);
/// UCAST_REQ_RETRY_COUNT (RFC 1002 §6).
pub const UCAST_REQ_RETRY_COUNT: u8 = 3;
/// Shortest interval between refreshes of a WINS lease ([MS-NBTE] §3.1.4.1).
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// Longest extra wait a WACK can ask for (its TTL is capped to this).
pub const MAX_WACK_WAIT: Duration = Duration::from_secs(120);
/// TTL answered in positive query responses: nmbd's 3 days.
pub const DEFAULT_TTL: u32 = 259_200;
/// Most names a node status response can list (NUM_NAMES is one byte).
pub const MAX_NAMES: usize = 255;
/// First wait before a name lost to another host is claimed again.
pub const RECLAIM_AFTER: Duration = Duration::from_secs(60);
/// Longest wait between claims of a lost name (the wait doubles per loss).
pub const RECLAIM_MAX: Duration = Duration::from_secs(30 * 60);

/// The NetBIOS node type ([MS-NBTE] §3.1.3: H when an NBNS is configured, else B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NodeType {
    /// Broadcast only (RFC 1002 §5.1.1).
    #[default]
    B,
    /// Hybrid: WINS first, broadcast when WINS does not answer (or, for a
    /// query, answers "no such name"); NB_FLAGS ONT 0x6000.
    H {
        /// The WINS server (UDP 137).
        wins: SocketAddrV4,
    },
}

/// How the name service is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Our IPv4 address on the LAN: written into every NB record, and
    /// packets from it are our own broadcasts coming back.
    pub address: Ipv4Addr,
    /// B-node, or H-node with a WINS server.
    pub node_type: NodeType,
    /// TTL given in positive query responses, and asked for when registering
    /// with WINS.
    pub ttl: u32,
    /// UNIT_ID of node status responses (the MAC address, or zeros like Samba).
    pub unit_id: [u8; 6],
    /// Gap between broadcast retransmissions.
    pub retry_timeout: Duration,
    /// Broadcast transmissions per claim, release and query (at least 1).
    pub retry_count: u8,
    /// Gap between retransmissions to WINS.
    pub unicast_retry_timeout: Duration,
    /// Transmissions to WINS per registration, refresh and query (at least 1).
    pub unicast_retry_count: u8,
    /// Broadcast an overwrite demand after an unchallenged claim.
    pub overwrite_demand: bool,
    /// First NAME_TRN_ID used (the driver should pick it at random).
    pub first_trn_id: u16,
    /// Wait before a name lost to a conflict is claimed again (`None`:
    /// never). Each further loss of the same name doubles it, up to
    /// [`Config::reclaim_max`]; a successful claim starts over.
    pub reclaim_after: Option<Duration>,
    /// Longest wait between claims of a lost name.
    pub reclaim_max: Duration,
    scope: Vec<u8>,
}

impl Config {
    /// RFC 1002 defaults for a B-node at `address`, empty scope.
    pub fn new(address: Ipv4Addr) -> Self {
        Self {
            address,
            node_type: NodeType::B,
            ttl: DEFAULT_TTL,
            unit_id: [0; 6],
            retry_timeout: BCAST_REQ_RETRY_TIMEOUT,
            retry_count: BCAST_REQ_RETRY_COUNT,
            unicast_retry_timeout: UCAST_REQ_RETRY_TIMEOUT,
            unicast_retry_count: UCAST_REQ_RETRY_COUNT,
            overwrite_demand: true,
            first_trn_id: 1,
            reclaim_after: Some(RECLAIM_AFTER),
            reclaim_max: RECLAIM_MAX,
            scope: Vec::new(),
        }
    }

    /// Sets the NetBIOS scope (dotted, e.g. `corp.example`; empty for none).
    pub fn with_scope(mut self, dotted: &str) -> crate::wire::Result<Self> {
        self.scope = scope_labels(dotted)?;
        Ok(self)
    }

    /// The same configuration as an H-node registering with `wins`.
    pub fn with_wins(mut self, wins: SocketAddrV4) -> Self {
        self.node_type = NodeType::H { wins };
        self
    }

    /// The scope in wire form.
    pub fn scope(&self) -> Scope<'_> {
        Scope::from_labels(&self.scope).unwrap_or(Scope::EMPTY)
    }
}

/// Where a datagram goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    /// The subnet broadcast address, UDP port 137 (every configured interface).
    Broadcast,
    /// One host and port (the source of the request being answered).
    Unicast(SocketAddrV4),
}

/// A datagram to send from UDP port 137.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub destination: Destination,
    /// The NBNS packet.
    pub bytes: Vec<u8>,
}

/// What happened to a name or a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The claim went unchallenged: the name is ours.
    NameClaimed {
        /// The name.
        name: NetbiosName,
    },
    /// Another node refused our claim (or WINS refused our registration or
    /// refresh). The name is not usable until a later claim succeeds
    /// ([`Config::reclaim_after`]); [`remove_name`](super::NameService::remove_name)
    /// gives it up. Conflict demands and negative responses that answer
    /// nothing we sent never take a name away.
    NameConflict {
        /// The name.
        name: NetbiosName,
        /// Who objected.
        by: Ipv4Addr,
    },
    /// The name left the table (after its release broadcasts, or at once if
    /// it was never ours).
    NameReleased {
        /// The name.
        name: NetbiosName,
    },
    /// First positive answer to [`query`](super::NameService::query).
    QueryResult {
        /// Which query.
        id: QueryId,
        /// The name asked for.
        name: NetbiosName,
        /// Addresses of the owners, as listed in the answer.
        addresses: Vec<Ipv4Addr>,
    },
    /// No positive answer before the last retransmission timed out.
    QueryFailed {
        /// Which query.
        id: QueryId,
        /// The name asked for.
        name: NetbiosName,
    },
}

/// State of a name in the local table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameState {
    /// Claim in progress; `attempt` requests sent so far.
    Registering {
        /// Registration requests sent (1-based).
        attempt: u8,
    },
    /// Ours: answered and defended.
    Registered,
    /// Refused to us: neither used, answered nor defended; claimed again
    /// later ([`NameInfo::retry_at`]).
    Conflict,
    /// Release broadcasts in progress.
    Releasing {
        /// Release requests sent (1-based).
        attempt: u8,
    },
}

/// One entry of [`NameService::names`](super::NameService::names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameInfo {
    /// The name.
    pub name: NetbiosName,
    /// Group (`true`) or unique.
    pub group: bool,
    /// Where it stands.
    pub state: NameState,
    /// In [`NameState::Conflict`]: who refused it to us.
    pub held_by: Option<Ipv4Addr>,
    /// In [`NameState::Conflict`]: when it will be claimed again (`None`:
    /// never, [`Config::reclaim_after`] is `None`).
    pub retry_at: Option<Instant>,
}

/// Why [`NameService::add_name`](super::NameService::add_name) refused a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Names starting with `*` are never registered ([MS-NBTE] §2.2.1).
    #[error("names starting with '*' cannot be registered")]
    Wildcard,
    /// The name (compared case-insensitively) is already in the table.
    #[error("name already in the table")]
    Duplicate,
    /// [`MAX_NAMES`] names are in the table already.
    #[error("name table full")]
    TableFull,
    /// [`NameService::shutdown`](super::NameService::shutdown) was called.
    #[error("the name service is shutting down")]
    ShuttingDown,
}

/// What happened to incoming datagrams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Datagrams given to [`NameService::handle`](super::NameService::handle).
    pub received: u64,
    /// Dropped because they did not parse.
    pub malformed: u64,
    /// Dropped because they came from our own address.
    pub own: u64,
    /// Parsed, but nothing to do (not for us, unmatched responses, releases…).
    pub ignored: u64,
    /// Name queries answered.
    pub queries_answered: u64,
    /// Node status requests answered.
    pub node_status_answered: u64,
    /// Registrations refused with ACT_ERR.
    pub defended: u64,
    /// Names lost to a conflict (each lost claim of a retried name counts).
    pub conflicts: u64,
    /// Conflict demands and negative registration responses for our names
    /// that answered no registration of ours (not during our claim with its
    /// NAME_TRN_ID, not from WINS to a request in flight): ignored, the name
    /// is kept.
    pub conflict_demands_ignored: u64,
    /// Name release requests for a unique name we hold, sent by another
    /// host (the MS00-047 spoof): ignored, the name is kept.
    pub releases_ignored: u64,
    /// Registrations and queries that fell back from WINS to broadcast.
    pub wins_fallbacks: u64,
}
