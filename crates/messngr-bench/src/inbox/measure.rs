//! Timing and memory for `inbox-bench`: a latency histogram per figure
//! (HdrHistogram, so p99 and max are exact enough however many samples),
//! and the process's resident memory from `/proc/self/status`.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::{Value, json};

/// The latencies of one figure, in nanoseconds.
pub struct Stat {
    /// What was measured, for the report.
    pub name: String,
    hist: Histogram<u64>,
}

impl Stat {
    /// An empty figure.
    pub fn new(name: impl Into<String>) -> anyhow::Result<Stat> {
        // 1 ns to 10 min, three significant digits.
        let hist = Histogram::new_with_bounds(1, 600_000_000_000, 3)
            .map_err(|e| anyhow::anyhow!("histogram: {e}"))?;
        Ok(Stat {
            name: name.into(),
            hist,
        })
    }

    /// Adds one sample (saturated to the histogram's range).
    pub fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.hist.saturating_record(ns.max(1));
    }

    /// Times `f` once and records it.
    pub fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        self.record(t.elapsed());
        out
    }

    fn us(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }

    /// Samples.
    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    /// One line: samples, p50, p99, max in µs.
    pub fn line(&self) -> String {
        format!(
            "  {:<44} n={:<5} p50 {:>9.1} µs  p99 {:>9.1} µs  max {:>9.1} µs",
            self.name,
            self.len(),
            self.us(0.5),
            self.us(0.99),
            self.hist.max() as f64 / 1000.0
        )
    }

    /// The figure as JSON.
    pub fn json(&self) -> Value {
        json!({
            "name": self.name,
            "n": self.len(),
            "p50_us": self.us(0.5),
            "p99_us": self.us(0.99),
            "max_us": self.hist.max() as f64 / 1000.0,
        })
    }
}

/// The resident set of this process in KiB (`VmRSS`), 0 if unknown.
pub fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

/// The peak resident set of this process in KiB (`VmHWM`), 0 if unknown.
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_memory_are_read() {
        let mut s = Stat::new("x").unwrap();
        for us in 1..=100 {
            s.record(Duration::from_micros(us));
        }
        let j = s.json();
        assert_eq!(j["n"], 100);
        let p50 = j["p50_us"].as_f64().unwrap();
        assert!((49.0..=51.0).contains(&p50), "{p50}");
        assert!(j["max_us"].as_f64().unwrap() >= 99.9);
        assert!(rss_kib() > 0);
        assert!(peak_rss_kib() >= rss_kib());
    }
}
