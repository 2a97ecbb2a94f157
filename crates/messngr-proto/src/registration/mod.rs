//! The name service of a B-node (RFC 1002 §5.1.1; netbios-names.md §5), or of
//! an H-node with a WINS server, as a sans-IO state machine in the style of
//! quinn-proto.
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
//! * **Conflicts** (in `conflict.rs`): only an answer to our own
//!   registration takes a name away: a negative response carrying the
//!   NAME_TRN_ID of our claim while it runs, or WINS's answer to a
//!   registration or refresh in flight. A conflict demand (0xAD87) or
//!   negative response at any other time, and a name release request from
//!   another host for a unique name we hold, are ignored and counted (like
//!   Windows' `NoNameReleaseOnDemand`): anybody on the LAN can send those.
//!   A lost name is in [`NameState::Conflict`], neither answered nor
//!   defended, and claimed again after [`Config::reclaim_after`], the wait
//!   doubling per loss up to [`Config::reclaim_max`].
//! * **Release** ([`NameService::remove_name`], [`NameService::shutdown`]):
//!   broadcast 0x3010 (TTL 0) on the claim schedule, then
//!   [`Event::NameReleased`].
//! * **Resolve** ([`NameService::query`], in `resolver.rs`): broadcast 0x0110
//!   on the same schedule until the first positive answer.
//! * **H-node** ([`Config::with_wins`], in `wins.rs`): claim, refresh and
//!   release at the WINS server first (unicast, [`UCAST_REQ_RETRY_TIMEOUT`]),
//!   queries too; broadcast when WINS is silent.
//!
//! Ignored: packets from our own address (we hear our own broadcasts),
//! other hosts' releases, responses that match nothing outstanding. Input that does not
//! parse is dropped and counted ([`Counters`]); nothing is ever answered to it.

mod conflict;
mod incoming;
mod resolver;
mod types;
mod wins;

use std::collections::VecDeque;
use std::net::SocketAddrV4;
use std::time::Instant;

use crate::wire::Emit;
use crate::wire::name::{EncodedName, NetbiosName};
use crate::wire::nbns::{INFINITE_TTL, NbEntry, Ont, Repr};

pub use resolver::QueryId;
pub use types::{
    BCAST_REQ_RETRY_COUNT, BCAST_REQ_RETRY_TIMEOUT, Config, Counters, DEFAULT_TTL, Destination,
    Event, MAX_NAMES, MAX_WACK_WAIT, MIN_REFRESH_INTERVAL, NameError, NameInfo, NameState,
    NodeType, RECLAIM_AFTER, RECLAIM_MAX, Transmit, UCAST_REQ_RETRY_COUNT, UCAST_REQ_RETRY_TIMEOUT,
};

#[derive(Debug, Clone, Copy)]
enum OwnerPacket {
    Registration,
    Overwrite,
    Refresh,
    Release,
}

#[derive(Debug, Clone)]
struct Entry {
    name: NetbiosName,
    group: bool,
    state: NameState,
    trn_id: u16,
    deadline: Option<Instant>,
    /// H-node: registering with WINS (not yet by broadcast), or registered
    /// with WINS (a refresh timer runs).
    via_wins: bool,
    /// Refresh requests sent in the current refresh round (0: none running).
    refresh_attempt: u8,
    /// In conflict: who refused the name to us.
    held_by: Option<std::net::Ipv4Addr>,
    /// The wait before the next reclaim after a loss (zero: the first one,
    /// [`Config::reclaim_after`]).
    backoff: std::time::Duration,
}

/// The name service of one node on one interface. See the module documentation.
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
        config.unicast_retry_count = config.unicast_retry_count.max(1);
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
            held_by: e.held_by.filter(|_| e.state == NameState::Conflict),
            retry_at: e.deadline.filter(|_| e.state == NameState::Conflict),
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
        let (trn_id, via_wins, timeout) = self.new_transaction();
        self.names.push(Entry {
            name,
            group,
            state: NameState::Registering { attempt: 1 },
            trn_id,
            deadline: Some(now + timeout),
            via_wins,
            refresh_attempt: 0,
            held_by: None,
            backoff: std::time::Duration::ZERO,
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
        let mut i = 0;
        while i < self.names.len() {
            let before = self.names.len();
            self.release(now, i);
            if self.names.len() == before {
                i += 1;
            }
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
            NameState::Registering { .. } if e.via_wins => self.wins_registration_timeout(now, i),
            NameState::Registered if e.via_wins => self.refresh_timeout(now, i),
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
                e.claimed();
                let name = e.name;
                self.events.push_back(Event::NameClaimed { name });
                if self.config.overwrite_demand {
                    self.send_owner_packet(i, OwnerPacket::Overwrite, false);
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
            NameState::Conflict => self.reclaim(now, i),
            NameState::Registered => e.deadline = None,
        }
        true
    }

    fn release(&mut self, now: Instant, i: usize) {
        let e = &mut self.names[i];
        match e.state {
            NameState::Registered => {
                e.state = NameState::Releasing { attempt: 1 };
                e.deadline = Some(now + self.config.retry_timeout);
                if e.via_wins {
                    self.send_owner_packet(i, OwnerPacket::Release, true);
                }
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
        match self.config.node_type {
            NodeType::B => Ont::B,
            NodeType::H { .. } => Ont::H,
        }
    }

    /// The WINS server of an H-node.
    /// A new exchange (a claim, a reclaim or a query): its NAME_TRN_ID,
    /// whether it goes to the WINS server (H-node), and the retry timeout
    /// that fits (unicast to WINS, or broadcast).
    fn new_transaction(&mut self) -> (u16, bool, std::time::Duration) {
        let trn_id = self.trn_id();
        let via_wins = self.wins().is_some();
        let timeout = if via_wins {
            self.config.unicast_retry_timeout
        } else {
            self.config.retry_timeout
        };
        (trn_id, via_wins, timeout)
    }

    fn wins(&self) -> Option<SocketAddrV4> {
        match self.config.node_type {
            NodeType::B => None,
            NodeType::H { wins } => Some(wins),
        }
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

    /// A registration request for entry `i`: to WINS while it registers
    /// there, else by broadcast.
    fn send_registration(&mut self, i: usize) {
        self.send_owner_packet(i, OwnerPacket::Registration, self.names[i].via_wins);
    }

    fn send_release(&mut self, i: usize) {
        self.send_owner_packet(i, OwnerPacket::Release, false);
    }

    /// A registration-type request for entry `i` with its NAME_TRN_ID and our
    /// NB entry: broadcast with TTL 0, or unicast to WINS (`to_wins`, on an
    /// H-node) asking for the configured TTL.
    fn send_owner_packet(&mut self, i: usize, kind: OwnerPacket, to_wins: bool) {
        let wins = self.wins().filter(|_| to_wins);
        let (broadcast, ttl) = match wins {
            None => (true, INFINITE_TTL),
            Some(_) => (false, self.config.ttl),
        };
        let e = &self.names[i];
        let (id, name, owner) = (e.trn_id, self.encoded(e.name), self.owner(e.group));
        let repr = match kind {
            OwnerPacket::Registration => {
                Repr::registration_request(id, name, ttl, owner, broadcast)
            }
            OwnerPacket::Overwrite => Repr::overwrite_request(id, name, ttl, owner, broadcast),
            OwnerPacket::Refresh => Repr::refresh_request(id, name, ttl, owner),
            OwnerPacket::Release => Repr::release_request(id, name, owner, broadcast),
        };
        let bytes = repr.to_vec();
        self.queue(
            wins.map_or(Destination::Broadcast, Destination::Unicast),
            bytes,
        );
    }

    /// Queues an encoded packet. Every packet built here is well under 576
    /// bytes, so encoding cannot fail; if it did, nothing would be sent.
    fn queue(&mut self, destination: Destination, bytes: crate::wire::Result<Vec<u8>>) {
        if let Ok(bytes) = bytes {
            self.transmits.push_back(Transmit { destination, bytes });
        }
    }
}
