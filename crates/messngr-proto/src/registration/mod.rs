//! The B-node name service as a sans-IO state machine (RFC 1002 §5.1.1;
//! netbios-names.md §5), in the style of quinn-proto.
//!
//! A [`NameService`] owns the local name table and the outstanding name
//! queries. It never touches a socket or a clock: the driver feeds it
//! datagrams received on UDP 137 ([`NameService::handle`]) and the time,
//! sends what [`NameService::poll_transmit`] returns, wakes it at
//! [`NameService::poll_timeout`] ([`NameService::handle_timeout`]) and reads
//! [`NameService::poll_event`].
//!
//! # What it does
//!
//! * **Claim** ([`NameService::add_name`]): broadcast a registration request
//!   (0x2910, TTL 0) [`BCAST_REQ_RETRY_COUNT`] times,
//!   [`BCAST_REQ_RETRY_TIMEOUT`] apart, with one NAME_TRN_ID. A negative
//!   registration response (ACT_ERR or CFT_ERR) carrying that id means
//!   somebody owns the name: [`Event::NameConflict`], state
//!   [`NameState::Conflict`], the name is not used. Silence until one timeout
//!   after the last request means the name is ours: [`Event::NameClaimed`],
//!   then one overwrite demand (0x2810, same id; RFC 1001 §15.2.1).
//!   With the defaults: requests at t, t+250 ms, t+500 ms, claimed at t+750 ms.
//! * **Answer** name queries for registered names (positive response 0x8580
//!   with the configured TTL, like nmbd, to the asker's address and port) and
//!   node status requests for `*<00>` or any of our names (every name, CNF
//!   for conflicts, DRG while releasing, UNIT_ID from the config).
//! * **Defend**: a registration request from another host for a registered
//!   unique name of ours, or a unique registration for our group name, gets
//!   0xAD86 (ACT_ERR) unicast back. Group registrations for our groups are
//!   fine.
//! * **Conflict demand** (0xAD87) for a registered name: state `Conflict`,
//!   [`Event::NameConflict`]; the name is no longer answered or defended.
//! * **Release** ([`NameService::remove_name`], [`NameService::shutdown`]):
//!   broadcast 0x3010 (TTL 0) on the claim schedule, then
//!   [`Event::NameReleased`].
//! * **Resolve** ([`NameService::query`], in `resolver.rs`): broadcast 0x0110
//!   on the same schedule until the first positive answer.
//!
//! Ignored: packets from our own address (we hear our own broadcasts),
//! releases, responses that match nothing outstanding. Input that does not
//! parse is dropped and counted ([`Counters`]); nothing is ever answered to it.

mod incoming;
mod resolver;

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use crate::wire::Emit;
use crate::wire::name::{EncodedName, NetbiosName, Scope, scope_labels};
use crate::wire::nbns::{INFINITE_TTL, NbEntry, Ont, Repr};

pub use resolver::QueryId;

/// BCAST_REQ_RETRY_TIMEOUT (RFC 1002 §6).
pub const BCAST_REQ_RETRY_TIMEOUT: Duration = Duration::from_millis(250);
/// BCAST_REQ_RETRY_COUNT (RFC 1002 §6).
pub const BCAST_REQ_RETRY_COUNT: u8 = 3;
/// TTL answered in positive query responses: nmbd's 3 days.
pub const DEFAULT_TTL: u32 = 259_200;
/// Most names a node status response can list (NUM_NAMES is one byte).
pub const MAX_NAMES: usize = 255;

/// How the name service is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Our IPv4 address on the LAN: written into every NB record, and
    /// packets from it are our own broadcasts coming back.
    pub address: Ipv4Addr,
    /// TTL given in positive query responses.
    pub ttl: u32,
    /// UNIT_ID of node status responses (the MAC address, or zeros like Samba).
    pub unit_id: [u8; 6],
    /// Gap between broadcast retransmissions.
    pub retry_timeout: Duration,
    /// Broadcast transmissions per claim, release and query (at least 1).
    pub retry_count: u8,
    /// Broadcast an overwrite demand after an unchallenged claim.
    pub overwrite_demand: bool,
    /// First NAME_TRN_ID used (the driver should pick it at random).
    pub first_trn_id: u16,
    scope: Vec<u8>,
}

impl Config {
    /// RFC 1002 defaults for a B-node at `address`, empty scope.
    pub fn new(address: Ipv4Addr) -> Self {
        Self {
            address,
            ttl: DEFAULT_TTL,
            unit_id: [0; 6],
            retry_timeout: BCAST_REQ_RETRY_TIMEOUT,
            retry_count: BCAST_REQ_RETRY_COUNT,
            overwrite_demand: true,
            first_trn_id: 1,
            scope: Vec::new(),
        }
    }

    /// Sets the NetBIOS scope (dotted, e.g. `corp.example`; empty for none).
    pub fn with_scope(mut self, dotted: &str) -> crate::wire::Result<Self> {
        self.scope = scope_labels(dotted)?;
        Ok(self)
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
    /// Another node refused our claim, or sent a conflict demand for a name
    /// we held. The name is not usable; only [`NameService::remove_name`] remains.
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
    /// First positive answer to [`NameService::query`].
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
    /// Refused or demanded away: neither used, answered nor defended.
    Conflict,
    /// Release broadcasts in progress.
    Releasing {
        /// Release requests sent (1-based).
        attempt: u8,
    },
}

/// One entry of [`NameService::names`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameInfo {
    /// The name.
    pub name: NetbiosName,
    /// Group (`true`) or unique.
    pub group: bool,
    /// Where it stands.
    pub state: NameState,
}

/// Why [`NameService::add_name`] refused a name.
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
    /// [`NameService::shutdown`] was called.
    #[error("the name service is shutting down")]
    ShuttingDown,
}

/// What happened to incoming datagrams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Datagrams given to [`NameService::handle`].
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
    /// Names lost to a conflict.
    pub conflicts: u64,
}

#[derive(Debug, Clone, Copy)]
enum OwnerPacket {
    Registration,
    Overwrite,
    Release,
}

#[derive(Debug, Clone)]
struct Entry {
    name: NetbiosName,
    group: bool,
    state: NameState,
    trn_id: u16,
    deadline: Option<Instant>,
}

/// The B-node name service. See the module documentation.
#[derive(Debug)]
pub struct NameService {
    config: Config,
    names: Vec<Entry>,
    queries: Vec<resolver::Query>,
    next_query: u64,
    next_trn_id: u16,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    counters: Counters,
    shutting_down: bool,
}

impl NameService {
    /// A name service with an empty name table.
    pub fn new(mut config: Config) -> Self {
        config.retry_count = config.retry_count.max(1);
        Self {
            next_trn_id: config.first_trn_id,
            config,
            names: Vec::new(),
            queries: Vec::new(),
            next_query: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            counters: Counters::default(),
            shutting_down: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Every name in the table, in the order added.
    pub fn names(&self) -> impl Iterator<Item = NameInfo> + '_ {
        self.names.iter().map(|e| NameInfo {
            name: e.name,
            group: e.group,
            state: e.state,
        })
    }

    /// The state of `name` (compared case-insensitively), if it is in the table.
    pub fn state(&self, name: &NetbiosName) -> Option<NameState> {
        self.find(name).map(|i| self.names[i].state)
    }

    /// Starts claiming `name` (unique, or a group name).
    pub fn add_name(
        &mut self,
        now: Instant,
        name: NetbiosName,
        group: bool,
    ) -> Result<(), NameError> {
        if self.shutting_down {
            return Err(NameError::ShuttingDown);
        }
        if name.as_bytes()[0] == b'*' {
            return Err(NameError::Wildcard);
        }
        if self.find(&name).is_some() {
            return Err(NameError::Duplicate);
        }
        if self.names.len() >= MAX_NAMES {
            return Err(NameError::TableFull);
        }
        let trn_id = self.trn_id();
        self.names.push(Entry {
            name,
            group,
            state: NameState::Registering { attempt: 1 },
            trn_id,
            deadline: Some(now + self.config.retry_timeout),
        });
        self.send_registration(self.names.len() - 1);
        Ok(())
    }

    /// Gives `name` up. A registered name is released by broadcast first; a
    /// name still registering or in conflict leaves the table at once.
    /// Returns `false` if the name is not in the table.
    pub fn remove_name(&mut self, now: Instant, name: &NetbiosName) -> bool {
        let Some(i) = self.find(name) else {
            return false;
        };
        self.release(now, i);
        true
    }

    /// Releases every name and fails every pending query; no new names or
    /// queries are accepted. Done when [`NameService::is_idle`].
    pub fn shutdown(&mut self, now: Instant) {
        self.shutting_down = true;
        let mut i = self.names.len();
        while i > 0 {
            i -= 1;
            self.release(now, i);
        }
        for q in std::mem::take(&mut self.queries) {
            self.events.push_back(Event::QueryFailed {
                id: q.id,
                name: q.name,
            });
        }
    }

    /// `true` when nothing is pending: no timer, no datagram, no event.
    pub fn is_idle(&self) -> bool {
        self.poll_timeout().is_none() && self.transmits.is_empty() && self.events.is_empty()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`NameService::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let names = self.names.iter().filter_map(|e| e.deadline);
        let queries = self.queries.iter().map(|q| q.deadline);
        names.chain(queries).min()
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.names.len() {
            if self.names[i].deadline.is_some_and(|d| d <= now) && !self.name_timeout(now, i) {
                self.names.remove(i);
                continue;
            }
            i += 1;
        }
        self.queries_timeout(now);
    }

    /// One timer step of name `i`; `false` when the entry must be removed.
    fn name_timeout(&mut self, now: Instant, i: usize) -> bool {
        let next = Some(now + self.config.retry_timeout);
        let count = self.config.retry_count;
        let e = &mut self.names[i];
        match e.state {
            NameState::Registering { attempt } if attempt < count => {
                e.state = NameState::Registering {
                    attempt: attempt + 1,
                };
                e.deadline = next;
                self.send_registration(i);
            }
            NameState::Registering { .. } => {
                e.state = NameState::Registered;
                e.deadline = None;
                let name = e.name;
                self.events.push_back(Event::NameClaimed { name });
                if self.config.overwrite_demand {
                    self.send_owner_packet(i, OwnerPacket::Overwrite);
                }
            }
            NameState::Releasing { attempt } if attempt < count => {
                e.state = NameState::Releasing {
                    attempt: attempt + 1,
                };
                e.deadline = next;
                self.send_release(i);
            }
            NameState::Releasing { .. } => {
                let name = e.name;
                self.events.push_back(Event::NameReleased { name });
                return false;
            }
            NameState::Registered | NameState::Conflict => e.deadline = None,
        }
        true
    }

    fn release(&mut self, now: Instant, i: usize) {
        let e = &mut self.names[i];
        match e.state {
            NameState::Registered => {
                e.state = NameState::Releasing { attempt: 1 };
                e.deadline = Some(now + self.config.retry_timeout);
                self.send_release(i);
            }
            NameState::Releasing { .. } => {}
            NameState::Registering { .. } | NameState::Conflict => {
                let name = self.names.remove(i).name;
                self.events.push_back(Event::NameReleased { name });
            }
        }
    }

    fn find(&self, name: &NetbiosName) -> Option<usize> {
        self.names.iter().position(|e| e.name.eq_ignore_case(name))
    }

    /// A NAME_TRN_ID not used by any outstanding claim, release or query.
    fn trn_id(&mut self) -> u16 {
        loop {
            let id = self.next_trn_id;
            self.next_trn_id = id.wrapping_add(1);
            let busy = self
                .names
                .iter()
                .any(|e| e.trn_id == id && e.deadline.is_some())
                || self.queries.iter().any(|q| q.trn_id == id);
            if !busy {
                return id;
            }
        }
    }

    fn ont(&self) -> Ont {
        Ont::B
    }

    fn encoded(&self, name: NetbiosName) -> EncodedName<'_> {
        EncodedName {
            name,
            scope: self.config.scope(),
        }
    }

    fn owner(&self, group: bool) -> NbEntry {
        NbEntry::new(group, self.ont(), self.config.address)
    }

    fn send_registration(&mut self, i: usize) {
        self.send_owner_packet(i, OwnerPacket::Registration);
    }

    fn send_release(&mut self, i: usize) {
        self.send_owner_packet(i, OwnerPacket::Release);
    }

    /// Broadcasts a registration-type request for entry `i`: its
    /// NAME_TRN_ID, TTL 0, our NB entry.
    fn send_owner_packet(&mut self, i: usize, kind: OwnerPacket) {
        let e = &self.names[i];
        let (id, name, owner) = (e.trn_id, self.encoded(e.name), self.owner(e.group));
        let repr = match kind {
            OwnerPacket::Registration => {
                Repr::registration_request(id, name, INFINITE_TTL, owner, true)
            }
            OwnerPacket::Overwrite => Repr::overwrite_request(id, name, INFINITE_TTL, owner, true),
            OwnerPacket::Release => Repr::release_request(id, name, owner, true),
        };
        let bytes = repr.to_vec();
        self.queue(Destination::Broadcast, bytes);
    }

    /// Queues an encoded packet. Every packet built here is well under 576
    /// bytes, so encoding cannot fail; if it did, nothing would be sent.
    fn queue(&mut self, destination: Destination, bytes: crate::wire::Result<Vec<u8>>) {
        if let Ok(bytes) = bytes {
            self.transmits.push_back(Transmit { destination, bytes });
        }
    }
}
