//! The H-node part: registration with, and refresh at, a WINS server
//! (RFC 1002 §5.1.2 for the P-node exchange; netbios-names.md §5.3).
//!
//! * Claim: unicast 0x2900 (TTL = [`Config::ttl`](super::Config::ttl)) up to
//!   `unicast_retry_count` times, `unicast_retry_timeout` apart. A positive
//!   response (0xAD80) makes the name ours and starts the refresh timer; a
//!   negative one (0xAD8x) is a conflict; a WACK (0xBC00) extends the wait by
//!   its TTL (at most [`MAX_WACK_WAIT`]); silence falls back to the broadcast
//!   claim of a B-node.
//! * End-node challenge (0xAD00): WINS names another owner. The full
//!   procedure (ask that owner, then send an update request) is not done:
//!   the claim ends in a conflict with that owner.
//! * Refresh: unicast 0x4000 (opcode 8) every half granted TTL, at least
//!   every [`MIN_REFRESH_INTERVAL`]; a TTL of 0 (infinite) needs none. If
//!   WINS stays silent the name is kept and the next round starts one
//!   interval later; a negative answer is a conflict (claimed again later,
//!   see `conflict.rs`).
//! * Release: unicast 0x3000 to WINS, as well as the broadcasts.
//!
//! Only responses whose source address is the WINS server's, to a request
//! in flight (its NAME_TRN_ID), are taken here; anything else that claims
//! to answer us is ignored and counted by `incoming.rs`.

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use super::{Event, MAX_WACK_WAIT, MIN_REFRESH_INTERVAL, NameService, NameState, OwnerPacket};
use crate::wire::nbns::{Opcode, Rcode, Repr};

/// When to refresh a lease of `ttl` seconds (`None`: never, TTL 0 is infinite).
fn refresh_interval(ttl: u32) -> Option<Duration> {
    (ttl != 0).then(|| (Duration::from_secs(u64::from(ttl)) / 2).max(MIN_REFRESH_INTERVAL))
}

impl NameService {
    /// One more registration request to WINS, or the fall-back to broadcast.
    pub(super) fn wins_registration_timeout(&mut self, now: Instant, i: usize) {
        let (ucount, utimeout) = (
            self.config.unicast_retry_count,
            self.config.unicast_retry_timeout,
        );
        let btimeout = self.config.retry_timeout;
        let e = &mut self.names[i];
        let NameState::Registering { attempt } = e.state else {
            return;
        };
        if attempt < ucount {
            e.state = NameState::Registering {
                attempt: attempt + 1,
            };
            e.deadline = Some(now + utimeout);
        } else {
            e.via_wins = false;
            e.state = NameState::Registering { attempt: 1 };
            e.deadline = Some(now + btimeout);
            self.counters.wins_fallbacks += 1;
        }
        self.send_registration(i);
    }

    /// The refresh timer of a name registered with WINS fired.
    pub(super) fn refresh_timeout(&mut self, now: Instant, i: usize) {
        let (ucount, utimeout) = (
            self.config.unicast_retry_count,
            self.config.unicast_retry_timeout,
        );
        if self.names[i].refresh_attempt >= ucount {
            // WINS did not answer this round: keep the name, try again later.
            let e = &mut self.names[i];
            e.refresh_attempt = 0;
            e.deadline = Some(now + MIN_REFRESH_INTERVAL);
            return;
        }
        if self.names[i].refresh_attempt == 0 {
            let id = self.trn_id();
            self.names[i].trn_id = id;
        }
        let e = &mut self.names[i];
        e.refresh_attempt += 1;
        e.deadline = Some(now + utimeout);
        self.send_owner_packet(i, OwnerPacket::Refresh, true);
    }

    /// A response from the WINS server to a registration or refresh of ours
    /// (positive, negative, challenge, or WACK). `false` if it is none of those.
    pub(super) fn on_wins_response(
        &mut self,
        now: Instant,
        from: SocketAddrV4,
        repr: &Repr<'_>,
    ) -> bool {
        if self.wins().is_none_or(|w| w.ip() != from.ip()) {
            return false;
        }
        let waiting = |e: &super::Entry| {
            e.trn_id == repr.trn_id
                && e.via_wins
                && match e.state {
                    NameState::Registering { .. } => true,
                    NameState::Registered => e.refresh_attempt > 0,
                    NameState::Conflict | NameState::Releasing { .. } => false,
                }
        };
        let Some(i) = self.names.iter().position(waiting) else {
            return false;
        };
        let Some(rr) = repr.answers.first() else {
            return false;
        };
        let e = &mut self.names[i];
        match repr.flags.opcode {
            Opcode::Wack => {
                let wait = Duration::from_secs(u64::from(rr.ttl)).min(MAX_WACK_WAIT);
                e.deadline = Some(now + wait);
                return true;
            }
            Opcode::Registration | Opcode::Refresh | Opcode::RefreshAlt => {}
            _ => return false,
        }
        let registering = matches!(e.state, NameState::Registering { .. });
        let by = match repr.flags.rcode {
            Rcode::NoError if registering && !repr.flags.recursion_available => {
                // End-node challenge: WINS names the current owner.
                let owner = rr.nb_entries().and_then(|o| o.first());
                owner.map_or(*from.ip(), |o| o.address)
            }
            Rcode::NoError => {
                e.state = NameState::Registered;
                e.refresh_attempt = 0;
                e.claimed();
                e.deadline = refresh_interval(rr.ttl).map(|d| now + d);
                if registering {
                    let name = e.name;
                    self.events.push_back(Event::NameClaimed { name });
                }
                return true;
            }
            _ => *from.ip(),
        };
        self.lose(now, i, by);
        true
    }
}
