//! Latencies of a load: recorded into an HDR histogram per worker, merged,
//! and read off as the percentiles both load generators report.
//!
//! Why a histogram: a sorted vector of every latency grows with the run (a
//! fast server answers millions of queries) and costs a sort at the end; a
//! histogram has a fixed size, merges by adding counts, and keeps three
//! significant digits — exact below 2 048 µs, within 0.1 % above.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The slowest latency told apart; slower ones count as this (no answer
/// waits longer: both tools time out after at most 60 s).
pub const MAX_LATENCY: Duration = Duration::from_secs(60);

/// The latencies one worker (or, merged, a whole run) measured.
#[derive(Debug, Clone)]
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        let high = u64::try_from(MAX_LATENCY.as_micros()).unwrap_or(u64::MAX);
        // Constant, valid bounds (1 µs to 60 s, 3 digits): this cannot fail.
        let h = Histogram::new_with_bounds(1, high, 3).expect("constant histogram bounds");
        Latencies(h)
    }
}

impl Latencies {
    /// Records one latency (in µs; beyond [`MAX_LATENCY`] as that).
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(us);
    }

    /// Adds another worker's latencies.
    pub fn merge(&mut self, other: &Latencies) {
        // Both have the same bounds, so every value fits.
        let _ = self.0.add(&other.0);
    }

    /// How many were recorded.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// Whether none was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The percentiles (nearest rank); zeros when nothing was recorded.
    pub fn percentiles(&self) -> Latency {
        if self.0.is_empty() {
            return Latency::default();
        }
        let at = |q: f64| self.0.value_at_quantile(q);
        Latency {
            p50_us: at(0.50),
            p90_us: at(0.90),
            p99_us: at(0.99),
            max_us: self.0.max(),
        }
    }
}

/// Latency percentiles (µs), as the reports print them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_us: u64,
    /// p90.
    pub p90_us: u64,
    /// p99.
    pub p99_us: u64,
    /// Slowest.
    pub max_us: u64,
}

impl Latency {
    /// The report line (`  latency µs: p50 …  p90 …  p99 …  max …`).
    pub fn human(&self) -> String {
        format!(
            "  latency µs: p50 {}  p90 {}  p99 {}  max {}\n",
            self.p50_us, self.p90_us, self.p99_us, self.max_us
        )
    }
}

/// `count` per second of `elapsed` (0 for no time at all).
pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    let s = elapsed.as_secs_f64();
    if s > 0.0 { count as f64 / s } else { 0.0 }
}

/// `x` rounded to `digits` decimals, as the JSON reports carry it.
pub fn rounded(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(us: impl IntoIterator<Item = u64>) -> Latency {
        let mut l = Latencies::default();
        for v in us {
            l.record(Duration::from_micros(v));
        }
        l.percentiles()
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let l = of(1..=100);
        assert_eq!((l.p50_us, l.p90_us, l.p99_us, l.max_us), (50, 90, 99, 100));
        assert_eq!(
            of([5]),
            Latency {
                p50_us: 5,
                p90_us: 5,
                p99_us: 5,
                max_us: 5
            }
        );
        assert_eq!(of([]), Latency::default());
        // Order does not matter, and 0 µs is a latency too.
        assert_eq!(of([3, 0, 2, 1]).p50_us, 1);
    }

    #[test]
    fn large_values_keep_three_digits_and_merging_adds() {
        let (mut a, mut b) = (Latencies::default(), Latencies::default());
        a.record(Duration::from_micros(123_456));
        b.record(Duration::from_secs(3600));
        a.merge(&b);
        assert_eq!(a.len(), 2);
        let l = a.percentiles();
        assert!(l.p50_us.abs_diff(123_456) <= 123, "{l:?}");
        let max = u64::try_from(MAX_LATENCY.as_micros()).unwrap();
        assert!(l.max_us.abs_diff(max) <= max / 1000, "{l:?}");
    }

    #[test]
    fn rates_and_rounding() {
        assert_eq!(per_second(10, Duration::from_millis(500)), 20.0);
        assert_eq!(per_second(10, Duration::ZERO), 0.0);
        assert_eq!(rounded(2.345_67, 3), 2.346);
        assert_eq!(rounded(1234.56, 1), 1234.6);
    }
}
