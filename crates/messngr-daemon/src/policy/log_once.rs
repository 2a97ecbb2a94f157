//! Logging a refused source at most once per interval.
//!
//! Why: every refusal is worth one log line, but ten thousand spoofed
//! datagrams are not worth ten thousand. The table is bounded like the rate
//! limiter's: entries older than the interval carry nothing and go first,
//! then, if it is still mostly full (a spoofed flood), all of them. And a
//! flood from thousands of (spoofed) sources is still one flood: at most
//! [`MAX_LINES`] lines per interval in all. Sans-IO: time is passed in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use super::{LOG_INTERVAL, Refusal};

/// Sources remembered at once.
const MAX_SOURCES: usize = 4096;
/// Lines logged per interval over all sources.
pub(crate) const MAX_LINES: u32 = 100;

/// When each (source, reason) was last logged.
#[derive(Debug, Default)]
pub(crate) struct LogOnce {
    last: HashMap<(IpAddr, Refusal), Instant>,
    /// The current interval's start and the lines logged in it.
    window: Option<(Instant, u32)>,
}

impl LogOnce {
    /// Whether a refusal of `source` for `reason` at `now` should be logged
    /// (and, if so, remembers that it was).
    pub(crate) fn should_log(&mut self, now: Instant, source: IpAddr, reason: Refusal) -> bool {
        let key = (source, reason);
        if let Some(at) = self.last.get(&key)
            && now.saturating_duration_since(*at) < LOG_INTERVAL
        {
            return false;
        }
        let window = match self.window {
            Some((start, n)) if now.saturating_duration_since(start) < LOG_INTERVAL => (start, n),
            _ => (now, 0),
        };
        if window.1 >= MAX_LINES {
            return false;
        }
        self.window = Some((window.0, window.1 + 1));
        if !self.last.contains_key(&key) && self.last.len() >= MAX_SOURCES {
            self.last
                .retain(|_, at| now.saturating_duration_since(*at) < LOG_INTERVAL);
            if self.last.len() >= MAX_SOURCES - MAX_SOURCES / 4 {
                self.last.clear();
            }
        }
        self.last.insert(key, now);
        true
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.last.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::Duration;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn once_per_source_and_reason_per_interval() {
        let mut l = LogOnce::default();
        let t = Instant::now();
        assert!(l.should_log(t, ip(1), Refusal::OffLan));
        assert!(!l.should_log(t + Duration::from_secs(1), ip(1), Refusal::OffLan));
        assert!(
            l.should_log(t, ip(1), Refusal::RateLimited),
            "another reason"
        );
        assert!(l.should_log(t, ip(2), Refusal::OffLan), "another source");
        assert!(l.should_log(t + LOG_INTERVAL, ip(1), Refusal::OffLan));
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut l = LogOnce::default();
        let t = Instant::now();
        for n in 0..(MAX_SOURCES as u32 * 3) {
            // A new interval for each, so that the line budget does not end it.
            let at = t + LOG_INTERVAL * n;
            assert!(l.should_log(at, ip(n), Refusal::OffLan));
            assert!(l.len() <= MAX_SOURCES);
        }
    }

    #[test]
    fn a_spoofed_flood_logs_a_bounded_number_of_lines() {
        let mut l = LogOnce::default();
        let t = Instant::now();
        let logged = (0..10_000)
            .filter(|n| l.should_log(t, ip(*n), Refusal::RateLimited))
            .count();
        assert_eq!(logged, MAX_LINES as usize);
        assert!(l.should_log(t + LOG_INTERVAL, ip(20_000), Refusal::RateLimited));
    }
}
