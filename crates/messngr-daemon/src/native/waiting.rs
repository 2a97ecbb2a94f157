//! How many messages from the relay wait to be offered again.
//!
//! Why a budget: a message offered again later comes back every 10 s for
//! about 10 minutes, and while it waits it holds one of the 1 024 places
//! of this host's consumer (`max_ack_pending`): once they are all taken,
//! the stream hands this host nothing new. Any host on the bus can make
//! such messages, and publish one many times. So each stream message that
//! waits counts (a bundle once, however many of its frames wait), in one of
//! two pools, and past its pool's room it is dropped and counted:
//!
//! * [`Pool::Verified`]: an update whose message is not here yet
//!   (`relayed::waits`), signed by a host whose key is pinned: at most
//!   [`PER_HOST`] for one host an admin vetted, as many for all others
//!   together (under trust on first use a made-up host is pinned once it
//!   writes an entry), [`VERIFIED`] in all.
//! * [`Pool::Unverified`]: a frame signed on a host whose key is not known
//!   yet (`Inbound::introduce`: the directory does not answer, or the
//!   host just started and has not written its entry). Nothing in it is
//!   proven yet (not its host, not its time), so one pool of
//!   [`UNVERIFIED`] for all: made-up frames can fill it, and only it.
//!
//! A real one waits seconds, so budgets this size leave it alone.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Updates one pinned host may have waiting (all hosts no admin vetted
/// together: [`NOT_VETTED`]).
pub(crate) const PER_HOST: usize = 64;
/// The host the budget counts updates of unvetted hosts against.
pub(crate) const NOT_VETTED: &str = "(hosts not vetted)";
/// Updates of pinned hosts waiting, in all.
pub(crate) const VERIFIED: usize = 256;
/// Frames of hosts whose key is not known yet waiting, in all.
pub(crate) const UNVERIFIED: usize = 128;
// Both pools together leave most of the consumer's places to the rest.
const _: () = assert!(VERIFIED + UNVERIFIED <= 1024 / 2);

/// Why one was not kept waiting, for the log.
pub(crate) const SPENT: &str = "too many wait already (native::waiting: 64 updates per vetted host, 64 for all others, 256 in all; 128 frames of hosts not known yet)";
const _: () = assert!(PER_HOST == 64 && VERIFIED == 256 && UNVERIFIED == 128);

/// How long a message counts as waiting: longer than it is offered again
/// (60 tries, 10 s apart).
const WAITS_AT_MOST: Duration = Duration::from_secs(11 * 60);

/// Which pool a waiting message counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pool {
    /// Signed by a pinned host, checked.
    Verified,
    /// Its host's key not known yet: nothing checked.
    Unverified,
}

/// What waits: by stream sequence, its pool, host and since when.
#[derive(Default)]
pub(crate) struct Waiting(Mutex<HashMap<u64, (Pool, String, Instant)>>);

impl Waiting {
    /// Whether stream message `sequence`, signed on `host` (or claiming
    /// so), may wait (again) in `pool` at `now`: it waits already, or its
    /// pool has room (it counts then).
    pub(crate) fn admit(&self, pool: Pool, host: &str, sequence: u64, now: Instant) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, _, at)| now.saturating_duration_since(*at) < WAITS_AT_MOST);
        if map.contains_key(&sequence) {
            return true;
        }
        let in_pool = map.values().filter(|(p, _, _)| *p == pool).count();
        let room = match pool {
            Pool::Verified => {
                let mine = map
                    .values()
                    .filter(|(p, h, _)| *p == pool && h == host)
                    .count();
                in_pool < VERIFIED && mine < PER_HOST
            }
            Pool::Unverified => in_pool < UNVERIFIED,
        };
        if room {
            map.insert(sequence, (pool, host.to_owned(), now));
        }
        room
    }

    /// Stream message `sequence` waits no more (stored, or dropped).
    pub(crate) fn done(&self, sequence: u64) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&sequence);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_pool_has_its_room_and_a_message_offered_again_keeps_its_place() {
        let w = Waiting::default();
        let t0 = Instant::now();
        for seq in 0..PER_HOST as u64 {
            assert!(w.admit(Pool::Verified, "EVIL", seq, t0));
        }
        // One more from that host (the same update published again is
        // another stream message): dropped; one it has waiting: still waits.
        assert!(!w.admit(Pool::Verified, "EVIL", 1000, t0));
        assert!(w.admit(Pool::Verified, "EVIL", 3, t0 + Duration::from_secs(10)));
        // Other hosts have their own room, up to the pool's.
        let mut admitted = PER_HOST;
        for h in 0..1000 {
            if !w.admit(Pool::Verified, &format!("H{h}"), 2000 + h, t0) {
                break;
            }
            admitted += 1;
        }
        assert_eq!(admitted, VERIFIED);
        // Made-up frames fill their own pool, never the verified one.
        for seq in 5000..5000 + UNVERIFIED as u64 {
            assert!(w.admit(Pool::Unverified, "NOBODY", seq, t0));
        }
        assert!(!w.admit(Pool::Unverified, "ANYONE", 9999, t0));
        w.done(0);
        assert!(w.admit(Pool::Verified, "EVIL", 1000, t0));
        // Settled, or too old: room again.
        assert!(!w.admit(Pool::Verified, "EVIL", 1001, t0));
        assert!(w.admit(Pool::Verified, "EVIL", 1001, t0 + WAITS_AT_MOST));
        assert!(w.admit(Pool::Unverified, "ANYONE", 9999, t0 + WAITS_AT_MOST));
    }
}
