//! Incoming datagrams (RFC 1002 §5.1.1.5; netbios-names.md §5.2 item 4).

use std::net::SocketAddrV4;
use std::time::Instant;

use super::{Destination, NameService, NameState};
use crate::wire::Emit;
use crate::wire::name::EncodedName;
use crate::wire::nbns::{
    CLASS_IN, NameFlags, NbEntries, NodeName, NodeNames, Opcode, Rcode, RecordType, Repr,
    statistics,
};

impl NameService {
    /// Takes one datagram received on UDP 137 from `from`.
    ///
    /// Answers are queued for [`NameService::poll_transmit`], outcomes for
    /// [`NameService::poll_event`]. Input that does not parse is counted in
    /// [`super::Counters::malformed`] and otherwise ignored.
    pub fn handle(&mut self, now: Instant, from: SocketAddrV4, bytes: &[u8]) {
        self.counters.received += 1;
        if *from.ip() == self.config.address {
            self.counters.own += 1;
            return;
        }
        let Ok(repr) = Repr::parse(bytes) else {
            self.counters.malformed += 1;
            return;
        };
        let handled = if repr.flags.response {
            if self.on_wins_response(now, from, &repr) {
                return;
            }
            match repr.flags.opcode {
                Opcode::Registration
                | Opcode::MultiHomedRegistration
                | Opcode::Refresh
                | Opcode::RefreshAlt => self.on_registration_response(now, from, &repr),
                Opcode::Query => self.on_query_response(now, from, &repr),
                _ => false,
            }
        } else {
            self.on_request(from, &repr)
        };
        if !handled {
            self.counters.ignored += 1;
        }
    }

    /// `true` when `name` is in our scope.
    pub(super) fn in_scope(&self, name: &EncodedName<'_>) -> bool {
        name.scope.eq_ignore_case(&self.config.scope())
    }

    fn on_request(&mut self, from: SocketAddrV4, repr: &Repr<'_>) -> bool {
        let Some(q) = repr.question else {
            return false;
        };
        if q.class != CLASS_IN || !self.in_scope(&q.name) {
            return false;
        }
        match (repr.flags.opcode, q.qtype) {
            (Opcode::Query, RecordType::Nb) => self.answer_query(from, repr.trn_id, q.name),
            (Opcode::Query, RecordType::NbStat) => {
                self.answer_node_status(from, repr.trn_id, q.name)
            }
            (Opcode::Registration | Opcode::MultiHomedRegistration, RecordType::Nb) => {
                self.defend(from, repr, q.name)
            }
            (Opcode::Release, RecordType::Nb) => self.on_foreign_release(q.name),
            _ => false,
        }
    }

    /// Positive query response for a registered name; silence otherwise.
    fn answer_query(&mut self, from: SocketAddrV4, trn_id: u16, asked: EncodedName<'_>) -> bool {
        let Some(i) = self.find(&asked.name) else {
            return false;
        };
        let e = &self.names[i];
        if e.state != NameState::Registered {
            return false;
        }
        let owner = NbEntries::one(self.owner(e.group));
        let bytes =
            Repr::positive_query_response(trn_id, asked, self.config.ttl, owner, true).to_vec();
        self.queue(Destination::Unicast(from), bytes);
        self.counters.queries_answered += 1;
        true
    }

    /// Node status for `*<00>` or any name in the table: every name we hold.
    fn answer_node_status(
        &mut self,
        from: SocketAddrV4,
        trn_id: u16,
        asked: EncodedName<'_>,
    ) -> bool {
        if !asked.name.is_wildcard() && self.find(&asked.name).is_none() {
            return false;
        }
        let ont = self.ont();
        let names: Vec<NodeName> = self
            .names
            .iter()
            .map(|e| {
                let mut flags = NameFlags::new(e.group, ont);
                match e.state {
                    NameState::Conflict => flags = flags.with(NameFlags::CONFLICT),
                    NameState::Releasing { .. } => flags = flags.with(NameFlags::DEREGISTERING),
                    NameState::Registering { .. } | NameState::Registered => {}
                }
                NodeName {
                    name: e.name,
                    flags,
                }
            })
            .collect();
        let stats = statistics(self.config.unit_id);
        let bytes =
            Repr::node_status_response(trn_id, asked, NodeNames::from_slice(&names), &stats)
                .to_vec();
        self.queue(Destination::Unicast(from), bytes);
        self.counters.node_status_answered += 1;
        true
    }

    /// Refuses a registration of a name we hold, unless both sides are groups.
    fn defend(&mut self, from: SocketAddrV4, repr: &Repr<'_>, asked: EncodedName<'_>) -> bool {
        let Some(i) = self.find(&asked.name) else {
            return false;
        };
        let e = &self.names[i];
        if e.state != NameState::Registered {
            return false;
        }
        let Some(rr) = repr.additional.first() else {
            return false;
        };
        let Some(&requested) = rr.nb_entries() else {
            return false;
        };
        let group_request = requested.first().is_some_and(|o| o.flags.group());
        if e.group && group_request {
            return true;
        }
        // ACT_ERR, TTL 0, the request's RDATA echoed (what nmbd does).
        let bytes =
            Repr::registration_response(repr.trn_id, asked, 0, requested, Rcode::ActErr).to_vec();
        self.queue(Destination::Unicast(from), bytes);
        self.counters.defended += 1;
        true
    }
}
