//! How fast each local uid may make API requests.
//!
//! Why: the socket is open to every local user (mode 0666), and each
//! request costs the daemon work (a store query, a name lookup, a send).
//! The per-uid connection cap ([`super::slots`]) bounds how many
//! connections one user holds; this bounds how fast they talk. A token
//! bucket per uid: `burst` requests at once, refilled at `rate` per second.
//! A request over the rate is not refused — nothing a client asked for is
//! lost — but answered late: the connection waits until the uid's bucket
//! has a token again, so a loop in one user's script slows that user only
//! and every other user's requests are answered as before. Root and the
//! daemon's own user are exempt (they administer the daemon, and hand
//! messages over as `messngr deliver`). The first wait of a uid is logged
//! at most once a minute.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The burst is this many times the rate.
pub(crate) const BURST_FACTOR: u32 = 4;
/// How often one uid's throttling is logged at most.
const LOG_EVERY: Duration = Duration::from_secs(60);
/// Buckets kept before full (idle) ones are dropped.
const MAX_TRACKED: usize = 1024;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens left; below zero: requests already promised a later answer.
    tokens: f64,
    at: Instant,
    logged: Option<Instant>,
}

/// Token buckets per uid, shared by every connection.
#[derive(Debug, Clone)]
pub(crate) struct Rates {
    rate: f64,
    burst: f64,
    buckets: Arc<Mutex<HashMap<u32, Bucket>>>,
}

impl Rates {
    /// `rate` requests per second per uid, bursts of [`BURST_FACTOR`] times
    /// that; 0: unlimited.
    pub(crate) fn new(rate: u32) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(rate.saturating_mul(BURST_FACTOR)),
            buckets: Arc::default(),
        }
    }

    /// How long a request of `uid` arriving at `now` must wait before it
    /// is answered (zero: now). Each call takes one token.
    pub(crate) fn delay(&self, uid: u32, now: Instant) -> Duration {
        if self.rate <= 0.0 || crate::access::is_root_or_daemon(uid) {
            return Duration::ZERO;
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return Duration::ZERO;
        };
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&uid) {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
        }
        let b = buckets.entry(uid).or_insert(Bucket {
            tokens: self.burst,
            at: now,
            logged: None,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate).min(self.burst) - 1.0;
        b.at = now;
        if b.tokens >= 0.0 {
            return Duration::ZERO;
        }
        if b.logged.is_none_or(|t| now.duration_since(t) >= LOG_EVERY) {
            b.logged = Some(now);
            tracing::warn!(
                "api: uid {uid} makes more than {} requests/s; its requests are answered late",
                self.rate
            );
        }
        Duration::from_secs_f64(-b.tokens / self.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A uid that is not root and not the daemon's (the tests may run as
    /// either).
    fn someone() -> u32 {
        if nix::unistd::getuid().as_raw() == 61_000 {
            61_001
        } else {
            61_000
        }
    }

    #[test]
    fn a_burst_is_free_then_requests_wait_for_the_rate() {
        let rates = Rates::new(50);
        let (t0, uid) = (Instant::now(), someone());
        for _ in 0..200 {
            assert_eq!(rates.delay(uid, t0), Duration::ZERO);
        }
        assert_eq!(rates.delay(uid, t0), Duration::from_millis(20));
        assert_eq!(rates.delay(uid, t0), Duration::from_millis(40));
        // A second later, 50 tokens came back: the two owed and 48 more.
        let t1 = t0 + Duration::from_secs(1);
        for _ in 0..48 {
            assert_eq!(rates.delay(uid, t1), Duration::ZERO);
        }
        assert!(rates.delay(uid, t1) > Duration::ZERO);
    }

    #[test]
    fn other_users_and_root_are_not_slowed() {
        let rates = Rates::new(1);
        let t = Instant::now();
        for _ in 0..10 {
            rates.delay(someone(), t);
        }
        assert!(rates.delay(someone(), t) > Duration::ZERO);
        assert_eq!(rates.delay(someone() + 7, t), Duration::ZERO);
        for _ in 0..100 {
            assert_eq!(rates.delay(0, t), Duration::ZERO);
        }
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let rates = Rates::new(0);
        let t = Instant::now();
        for _ in 0..10_000 {
            assert_eq!(rates.delay(someone(), t), Duration::ZERO);
        }
    }
}
