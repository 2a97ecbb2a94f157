//! Name resolution by broadcast (RFC 1002 §5.1.1.3; netbios-names.md §5.2
//! item 2): 0x0110 up to [`super::BCAST_REQ_RETRY_COUNT`] times,
//! [`super::BCAST_REQ_RETRY_TIMEOUT`] apart, one NAME_TRN_ID; the first
//! positive answer wins, later copies (nmbd sends two per broadcast query)
//! and answers for finished queries are ignored.
//!
//! An H-node first asks its WINS server (unicast 0x0100 on the unicast
//! schedule) and falls back to broadcast when WINS stays silent or answers
//! with an error (netbios-names.md §5.3).

use std::net::SocketAddrV4;
use std::time::Instant;

use super::{Destination, Event, NameService, NameState};
use crate::wire::Emit;
use crate::wire::name::NetbiosName;
use crate::wire::nbns::{Rcode, Repr};

/// Identifies one [`NameService::query`] in its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueryId(pub u64);

#[derive(Debug, Clone)]
pub(super) struct Query {
    pub(super) id: QueryId,
    pub(super) name: NetbiosName,
    pub(super) trn_id: u16,
    attempt: u8,
    pub(super) deadline: Instant,
    /// Asking WINS (H-node), not broadcasting yet.
    via_wins: bool,
}

impl NameService {
    /// Starts resolving `name`; the outcome is [`Event::QueryResult`] or
    /// [`Event::QueryFailed`] with the returned id.
    ///
    /// Our own broadcasts are not answered by ourselves (their source is our
    /// address), so a unique name we hold is answered at once, locally.
    pub fn query(&mut self, now: Instant, name: NetbiosName) -> QueryId {
        let id = QueryId(self.next_query);
        self.next_query += 1;
        if self.shutting_down {
            self.events.push_back(Event::QueryFailed { id, name });
            return id;
        }
        let own = self.find(&name).map(|i| &self.names[i]);
        if own.is_some_and(|e| !e.group && e.state == NameState::Registered) {
            let addresses = vec![self.config.address];
            self.events.push_back(Event::QueryResult {
                id,
                name,
                addresses,
            });
            return id;
        }
        let (trn_id, via_wins, timeout) = self.new_transaction();
        self.queries.push(Query {
            id,
            name,
            trn_id,
            attempt: 1,
            deadline: now + timeout,
            via_wins,
        });
        self.send_query(trn_id, name, via_wins);
        id
    }

    /// Abandons a query without an event. Returns `false` if it had already
    /// finished.
    pub fn cancel_query(&mut self, id: QueryId) -> bool {
        let before = self.queries.len();
        self.queries.retain(|q| q.id != id);
        self.queries.len() != before
    }

    fn send_query(&mut self, trn_id: u16, name: NetbiosName, via_wins: bool) {
        let wins = self.wins().filter(|_| via_wins);
        let bytes = Repr::name_query_request(trn_id, self.encoded(name), wins.is_none()).to_vec();
        self.queue(
            wins.map_or(Destination::Broadcast, Destination::Unicast),
            bytes,
        );
    }

    /// Query `i` gives up on WINS and starts broadcasting (same NAME_TRN_ID).
    fn fall_back_to_broadcast(&mut self, now: Instant, i: usize) {
        let q = &mut self.queries[i];
        q.via_wins = false;
        q.attempt = 1;
        q.deadline = now + self.config.retry_timeout;
        let (trn_id, name) = (q.trn_id, q.name);
        self.counters.wins_fallbacks += 1;
        self.send_query(trn_id, name, false);
    }

    pub(super) fn queries_timeout(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.queries.len() {
            let q = &mut self.queries[i];
            let (count, timeout) = if q.via_wins {
                (
                    self.config.unicast_retry_count,
                    self.config.unicast_retry_timeout,
                )
            } else {
                (self.config.retry_count, self.config.retry_timeout)
            };
            if q.deadline > now {
                i += 1;
            } else if q.attempt < count {
                q.attempt += 1;
                q.deadline = now + timeout;
                let (trn_id, name, via_wins) = (q.trn_id, q.name, q.via_wins);
                self.send_query(trn_id, name, via_wins);
                i += 1;
            } else if q.via_wins {
                self.fall_back_to_broadcast(now, i);
                i += 1;
            } else {
                let q = self.queries.remove(i);
                self.events.push_back(Event::QueryFailed {
                    id: q.id,
                    name: q.name,
                });
            }
        }
    }

    /// A name query response: the answer to a pending query, or ignored.
    pub(super) fn on_query_response(
        &mut self,
        now: Instant,
        from: SocketAddrV4,
        repr: &Repr<'_>,
    ) -> bool {
        if repr.flags.rcode != Rcode::NoError {
            // Negative answers come only from NBNS servers: WINS saying "no"
            // sends an H-node to broadcast; otherwise keep listening for an
            // owner until the last timeout.
            let from_wins = self.wins().is_some_and(|w| w.ip() == from.ip());
            let asked = self
                .queries
                .iter()
                .position(|q| q.trn_id == repr.trn_id && q.via_wins);
            return match asked {
                Some(i) if from_wins => {
                    self.fall_back_to_broadcast(now, i);
                    true
                }
                _ => false,
            };
        }
        let Some(rr) = repr.answers.first() else {
            return false;
        };
        let (Some(name), Some(owners)) = (rr.name.netbios(), rr.nb_entries()) else {
            return false;
        };
        if owners.is_empty() || !self.in_scope(name) {
            return false;
        }
        let Some(i) = self
            .queries
            .iter()
            .position(|q| q.trn_id == repr.trn_id && q.name.eq_ignore_case(&name.name))
        else {
            return false;
        };
        let q = self.queries.remove(i);
        let addresses = owners.iter().map(|o| o.address).collect();
        self.events.push_back(Event::QueryResult {
            id: q.id,
            name: q.name,
            addresses,
        });
        true
    }
}
