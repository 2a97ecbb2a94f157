//! Who may take a name away from us, and claiming lost names again.
//!
//! Why a module of its own: RFC 1002 lets any node send a NAME CONFLICT
//! DEMAND (0xAD87) or a negative registration response, and nothing on a
//! B-node authenticates either; taken at face value, one forged datagram
//! takes a name away for good. The rule kept here: only an answer to our own
//! registration counts (a negative response carrying our claim's
//! NAME_TRN_ID while the claim runs, or WINS's answer to a request in
//! flight, see `wins.rs`); everything else is counted and ignored, and a
//! name that was really lost is claimed again later, so a host that held it
//! only for a while cannot keep it from us either.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use super::{Entry, Event, NameService, NameState};
use crate::wire::name::EncodedName;
use crate::wire::nbns::{Opcode, Rcode, Repr};

impl Entry {
    /// The name is ours (again): the next loss waits the first interval.
    pub(super) fn claimed(&mut self) {
        self.held_by = None;
        self.backoff = Duration::ZERO;
    }
}

impl NameService {
    /// Entry `i` is lost to `by`: state `Conflict`, [`Event::NameConflict`],
    /// and the next claim scheduled (first [`super::Config::reclaim_after`],
    /// doubling per loss up to [`super::Config::reclaim_max`]).
    pub(super) fn lose(&mut self, now: Instant, i: usize, by: Ipv4Addr) {
        let (first, max) = (self.config.reclaim_after, self.config.reclaim_max);
        let e = &mut self.names[i];
        e.state = NameState::Conflict;
        e.refresh_attempt = 0;
        e.held_by = Some(by);
        e.deadline = first.map(|first| {
            let max = max.max(first);
            let wait = if e.backoff.is_zero() {
                first
            } else {
                e.backoff.min(max)
            };
            e.backoff = wait.checked_mul(2).unwrap_or(max).min(max);
            now + wait
        });
        let name = e.name;
        self.events.push_back(Event::NameConflict { name, by });
        self.counters.conflicts += 1;
    }

    /// The retry timer of lost entry `i` fired: claim it again from the
    /// start (at WINS first on an H-node), with a new NAME_TRN_ID.
    pub(super) fn reclaim(&mut self, now: Instant, i: usize) {
        let (trn_id, via_wins, timeout) = self.new_transaction();
        let e = &mut self.names[i];
        e.trn_id = trn_id;
        e.via_wins = via_wins;
        e.refresh_attempt = 0;
        e.state = NameState::Registering { attempt: 1 };
        e.deadline = Some(now + timeout);
        self.send_registration(i);
    }

    /// A registration-type response not taken by `wins.rs`: a negative
    /// answer to our broadcast claim loses the name; any other negative
    /// response for a name we hold or claim (a conflict demand, a refusal of
    /// a claim or refresh we never sent) is counted and ignored.
    pub(super) fn on_registration_response(
        &mut self,
        now: Instant,
        from: SocketAddrV4,
        repr: &Repr<'_>,
    ) -> bool {
        let rcode = repr.flags.rcode;
        if rcode == Rcode::NoError {
            return false;
        }
        let Some(i) = repr
            .answers
            .first()
            .and_then(|rr| self.ours(rr.name.netbios()))
        else {
            return false;
        };
        let e = &self.names[i];
        let answers_our_claim = matches!(e.state, NameState::Registering { .. })
            && !e.via_wins
            && e.trn_id == repr.trn_id
            && repr.flags.opcode == Opcode::Registration
            && matches!(rcode, Rcode::ActErr | Rcode::CftErr);
        if answers_our_claim {
            self.lose(now, i, *from.ip());
            return true;
        }
        match e.state {
            NameState::Registered | NameState::Registering { .. } => {
                self.counters.conflict_demands_ignored += 1;
                true
            }
            NameState::Conflict | NameState::Releasing { .. } => false,
        }
    }

    /// A name release request from another host: only the owner of a name
    /// may release it, so one naming a unique name we hold is counted and
    /// ignored (we keep no cache of other hosts' names to forget).
    pub(super) fn on_foreign_release(&mut self, asked: EncodedName<'_>) -> bool {
        let Some(i) = self.find(&asked.name) else {
            return false;
        };
        let e = &self.names[i];
        if e.group || e.state != NameState::Registered {
            return false;
        }
        self.counters.releases_ignored += 1;
        true
    }

    /// The index of a name of ours in our scope.
    fn ours(&self, name: Option<&EncodedName<'_>>) -> Option<usize> {
        name.filter(|n| self.in_scope(n))
            .and_then(|n| self.find(&n.name))
    }
}
