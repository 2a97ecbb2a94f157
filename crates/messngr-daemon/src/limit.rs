//! Per-source rate limiting, so that one flooding host cannot starve the
//! answers every other host is waiting for.
//!
//! A token bucket per source address: `burst` packets at once, refilled at
//! `rate` per second. The table is bounded; when it is full, buckets idle long
//! enough to be full again are dropped (they carry no information), and if
//! none is (a flood of spoofed sources), the whole table is forgotten: that
//! only hands out fresh bursts, costs O(1) per packet amortised (finding the
//! stalest of thousands per packet would make a spoofed flood expensive), and
//! the callers' global [`Bucket`] still holds. Sans-IO: time is passed in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Default packets per second one source may send.
pub const DEFAULT_RATE: f64 = 200.0;
/// Default burst.
pub const DEFAULT_BURST: f64 = 400.0;
/// Default number of sources tracked at once.
pub const DEFAULT_MAX_SOURCES: usize = 4096;

/// One token bucket: `burst` at once, refilled at `rate` per second (a
/// global limit is one of these; [`SourceLimiter`] keeps one per source).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket at `now`.
    pub(crate) fn full(burst: f64, now: Instant) -> Self {
        Self {
            tokens: burst,
            at: now,
        }
    }

    /// Takes one token at `now` if there is one.
    pub(crate) fn take(&mut self, now: Instant, rate: f64, burst: f64) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.at = self.at.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Token buckets keyed by source address.
#[derive(Debug)]
pub struct SourceLimiter {
    rate: f64,
    burst: f64,
    max_sources: usize,
    buckets: HashMap<IpAddr, Bucket>,
}

impl Default for SourceLimiter {
    fn default() -> Self {
        Self::new(DEFAULT_RATE, DEFAULT_BURST, DEFAULT_MAX_SOURCES)
    }
}

impl SourceLimiter {
    /// `rate` packets per second with bursts of `burst`, for at most
    /// `max_sources` sources at once.
    pub fn new(rate: f64, burst: f64, max_sources: usize) -> Self {
        Self {
            rate,
            burst,
            max_sources: max_sources.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Whether a packet from `src` at `now` may be processed.
    pub fn allow(&mut self, now: Instant, src: IpAddr) -> bool {
        if !self.buckets.contains_key(&src) && self.buckets.len() >= self.max_sources {
            self.evict(now);
        }
        let (rate, burst) = (self.rate, self.burst);
        self.buckets
            .entry(src)
            .or_insert(Bucket::full(burst, now))
            .take(now, rate, burst)
    }

    fn evict(&mut self, now: Instant) {
        let refill = Duration::try_from_secs_f64(self.burst / self.rate.max(f64::MIN_POSITIVE))
            .unwrap_or(Duration::MAX);
        self.buckets
            .retain(|_, b| now.saturating_duration_since(b.at) < refill);
        // Still three quarters full: forget them all rather than sweep the
        // table again for the next new source.
        if self.buckets.len() >= self.max_sources - self.max_sources / 4 {
            self.buckets.clear();
        }
    }

    /// Sources currently tracked.
    #[cfg(test)]
    fn sources(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
    }

    #[test]
    fn a_flooder_is_cut_off_while_others_pass() {
        let mut l = SourceLimiter::new(10.0, 5.0, 16);
        let t = Instant::now();
        let passed = (0..100).filter(|_| l.allow(t, ip(1))).count();
        assert_eq!(passed, 5, "only the burst gets through at once");
        assert!(l.allow(t, ip(2)), "another host is not affected");
        assert!(!l.allow(t + Duration::from_millis(50), ip(1)));
        assert!(
            l.allow(t + Duration::from_millis(100), ip(1)),
            "one token per 100 ms"
        );
    }

    #[test]
    fn a_global_bucket_refills_at_its_rate() {
        let t = Instant::now();
        let mut b = Bucket::full(3.0, t);
        assert_eq!((0..10).filter(|_| b.take(t, 10.0, 3.0)).count(), 3);
        assert!(!b.take(t + Duration::from_millis(50), 10.0, 3.0));
        assert!(b.take(t + Duration::from_millis(100), 10.0, 3.0));
        assert!(!b.take(t, 10.0, 3.0), "time going backwards gives nothing");
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut l = SourceLimiter::new(10.0, 5.0, 8);
        let t = Instant::now();
        for n in 0..100 {
            assert!(l.allow(t, ip(n)), "a new source gets its burst");
            assert!(l.sources() <= 8);
        }
    }
}
