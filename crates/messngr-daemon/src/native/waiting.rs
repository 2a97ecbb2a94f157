//! How many updates from the relay wait for their message, per host.
//!
//! Why a budget: an update whose message is not here yet is offered again
//! every 10 s for about 10 minutes (`relayed::waits`), and while it waits
//! it holds one of the 1 024 places of this host's consumer
//! (`max_ack_pending`): once they are all taken, the stream hands this host
//! nothing new. Any host on the bus can sign updates of messages that do
//! not exist; without a budget, two a second would stop this host's
//! mail. So each signing host may have [`PER_HOST`] updates waiting, all of
//! them together [`IN_ALL`]; past that an update is dropped and counted,
//! as if its message had never come. A real update waits seconds (it was
//! taken side by side with its message), so a budget this size leaves it
//! alone.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Updates one host may have waiting.
pub(crate) const PER_HOST: usize = 64;
/// Updates waiting over all hosts (well under the consumer's 1 024).
pub(crate) const IN_ALL: usize = 256;
/// How long an update counts as waiting: longer than it is offered again
/// (60 tries, 10 s apart).
const WAITS_AT_MOST: Duration = Duration::from_secs(11 * 60);

/// One host's updates waiting: each its uuid and when it first waited.
type Queue = VecDeque<([u8; 16], Instant)>;

/// The updates waiting, by host.
#[derive(Default)]
pub(crate) struct Waiting(Mutex<HashMap<String, Queue>>);

impl Waiting {
    /// Whether update `uuid` from `host` may wait (again) at `now`: it
    /// waits already, or both budgets have room (it is counted then).
    pub(crate) fn admit(&self, host: &str, uuid: [u8; 16], now: Instant) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, q| {
            while q
                .front()
                .is_some_and(|(_, at)| now.saturating_duration_since(*at) >= WAITS_AT_MOST)
            {
                q.pop_front();
            }
            !q.is_empty()
        });
        if map
            .get(host)
            .is_some_and(|q| q.iter().any(|(u, _)| *u == uuid))
        {
            return true;
        }
        let all: usize = map.values().map(Queue::len).sum();
        let mine = map.get(host).map_or(0, Queue::len);
        if mine >= PER_HOST || all >= IN_ALL {
            return false;
        }
        map.entry(host.to_owned())
            .or_default()
            .push_back((uuid, now));
        true
    }

    /// Update `uuid` from `host` waits no more (stored, or dropped).
    pub(crate) fn done(&self, host: &str, uuid: [u8; 16]) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(q) = map.get_mut(host) {
            q.retain(|(u, _)| *u != uuid);
            if q.is_empty() {
                map.remove(host);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uuid(i: usize) -> [u8; 16] {
        let mut u = [0u8; 16];
        u[..8].copy_from_slice(&(i as u64).to_be_bytes());
        u
    }

    #[test]
    fn each_host_and_all_hosts_have_a_budget_and_an_update_offered_again_keeps_its_place() {
        let w = Waiting::default();
        let t0 = Instant::now();
        for i in 0..PER_HOST {
            assert!(w.admit("EVIL", uuid(i), t0));
        }
        // One more from that host: dropped; one it has waiting: still waits.
        assert!(!w.admit("EVIL", uuid(PER_HOST), t0));
        assert!(w.admit("EVIL", uuid(3), t0 + Duration::from_secs(10)));
        // Another host has its own budget, up to the total.
        let mut admitted = PER_HOST;
        for h in 0.. {
            let host = format!("H{h}");
            if !w.admit(&host, uuid(0), t0) {
                break;
            }
            admitted += 1;
        }
        assert_eq!(admitted, IN_ALL);
        // One stored makes room; so does time.
        w.done("EVIL", uuid(0));
        assert!(w.admit("EVIL", uuid(PER_HOST), t0));
        assert!(!w.admit("EVIL", uuid(PER_HOST + 1), t0));
        assert!(w.admit("EVIL", uuid(PER_HOST + 1), t0 + WAITS_AT_MOST));
    }
}
