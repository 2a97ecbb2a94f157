//! Logging a refused source at most once per interval.
//!
//! Why: every refusal is worth one log line, but ten thousand spoofed
//! datagrams are not worth ten thousand. The table is bounded like the rate
//! limiter's: entries older than the interval carry nothing and go first,
//! then the stalest. Sans-IO: time is passed in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use super::{LOG_INTERVAL, Refusal};

/// Sources remembered at once.
const MAX_SOURCES: usize = 4096;

/// When each (source, reason) was last logged.
#[derive(Debug, Default)]
pub(crate) struct LogOnce {
    last: HashMap<(IpAddr, Refusal), Instant>,
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
        if !self.last.contains_key(&key) && self.last.len() >= MAX_SOURCES {
            self.last
                .retain(|_, at| now.saturating_duration_since(*at) < LOG_INTERVAL);
            if self.last.len() >= MAX_SOURCES
                && let Some(stalest) = self.last.iter().min_by_key(|(_, at)| **at).map(|(k, _)| *k)
            {
                self.last.remove(&stalest);
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
            assert!(l.should_log(t, ip(n), Refusal::OffLan));
            assert!(l.len() <= MAX_SOURCES);
        }
    }
}
