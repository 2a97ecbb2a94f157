//! How many messages from the relay wait to be offered again, per host.
//!
//! Why a budget: a message offered again later (an update whose message is
//! not here yet, `relayed::waits`; a frame signed on a host whose key is
//! not known yet, `Inbound::introduce`) comes back every 10 s for about 10
//! minutes, and while it waits it holds one of the 1 024 places of this
//! host's consumer (`max_ack_pending`): once they are all taken, the stream
//! hands this host nothing new. Any host on the bus can make such frames,
//! and publish one many times. So each stream message (and each frame of a
//! bundle) that waits counts, by the host that signed it (or claims to):
//! [`PER_HOST`] for one host, [`IN_ALL`] over all; past that it is dropped
//! and counted. A real one waits seconds (taken side by side with its
//! message, or while its host's entry is being written), so a budget this
//! size leaves it alone.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Updates one host may have waiting.
pub(crate) const PER_HOST: usize = 64;
/// Messages waiting over all hosts (well under the consumer's 1 024).
pub(crate) const IN_ALL: usize = 256;
/// Why one was not kept waiting, for the log.
pub(crate) const SPENT: &str =
    "its host has 64 messages waiting already, or all hosts 256 (native::waiting)";
const _: () = assert!(PER_HOST == 64 && IN_ALL == 256, "SPENT says so");

/// How long a message counts as waiting: longer than it is offered again
/// (60 tries, 10 s apart).
const WAITS_AT_MOST: Duration = Duration::from_secs(11 * 60);

/// Where a frame came: its stream message's sequence, and its place in a
/// bundle (0 for a frame alone, or the bundle itself).
pub(crate) type Place = (u64, usize);

/// What waits: by place, the host and since when.
#[derive(Default)]
pub(crate) struct Waiting(Mutex<HashMap<Place, (String, Instant)>>);

impl Waiting {
    /// Whether the frame at `place`, signed on `host`, may wait (again) at
    /// `now`: it waits already, or both budgets have room (it counts then).
    pub(crate) fn admit(&self, host: &str, place: Place, now: Instant) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, at)| now.saturating_duration_since(*at) < WAITS_AT_MOST);
        if map.contains_key(&place) {
            return true;
        }
        let mine = map.values().filter(|(h, _)| h == host).count();
        if mine >= PER_HOST || map.len() >= IN_ALL {
            return false;
        }
        map.insert(place, (host.to_owned(), now));
        true
    }

    /// The stream message `sequence` (each of its frames) waits no more.
    pub(crate) fn done(&self, sequence: u64) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !map.is_empty() {
            map.retain(|(s, _), _| *s != sequence);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_host_and_all_hosts_have_a_budget_and_a_message_offered_again_keeps_its_place() {
        let w = Waiting::default();
        let t0 = Instant::now();
        for seq in 0..PER_HOST as u64 {
            assert!(w.admit("EVIL", (seq, 0), t0));
        }
        // One more from that host (the same update published again is
        // another stream message): dropped; one it has waiting: still waits.
        assert!(!w.admit("EVIL", (1000, 0), t0));
        assert!(w.admit("EVIL", (3, 0), t0 + Duration::from_secs(10)));
        // Another host has its own budget, up to the total.
        let mut admitted = PER_HOST;
        for h in 0.. {
            if !w.admit(&format!("H{h}"), (2000 + h, 1), t0) {
                break;
            }
            admitted += 1;
        }
        assert_eq!(admitted, IN_ALL);
        // One settled makes room; so does time.
        w.done(0);
        assert!(w.admit("EVIL", (1000, 0), t0));
        assert!(!w.admit("EVIL", (1001, 0), t0));
        assert!(w.admit("EVIL", (1001, 0), t0 + WAITS_AT_MOST));
    }
}
