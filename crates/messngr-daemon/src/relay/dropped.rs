//! What the relay brought and this host dropped: counted each, logged at
//! most once a minute.
//!
//! Why throttled: anyone who may publish on the bus can send envelopes
//! that fail to open, or frames signed by nobody, as fast as the cluster
//! takes them; a warning for each would flood the journal and push out
//! what an admin needs. The count (`messngr status`'s relay line) keeps
//! every one; the log says the first of each minute, and how many it left
//! out since, for each [`Kind`] apart: a flood of envelopes nobody can
//! open (anyone's to make) does not hide that a signed message of a host
//! was refused.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often a drop of each kind is logged at most.
const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// What was dropped, each logged on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An envelope that did not open, or whose frames are not what its
    /// signer may send (before any signature is believed).
    Envelope,
    /// A signed message the receiving checks refused (its signature, its
    /// host's key, the policy).
    Refused,
}

/// When a drop of one kind was last logged, with how many were not.
type Last = Option<(Instant, u64)>;

/// The count, and for each kind when a drop was last logged with how many
/// were not.
#[derive(Default)]
pub(super) struct Dropped {
    count: AtomicU64,
    log: Mutex<[Last; 2]>,
}

impl Dropped {
    /// Counts one, without a log line (the caller says why itself).
    pub(super) fn count(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// How many were counted.
    pub(super) fn total(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Counts one, and whether to log it at `now`: the first of its kind,
    /// and then one a minute; with how many of its kind were left out of
    /// the log since.
    pub(super) fn should_log(&self, kind: Kind, now: Instant) -> Option<u64> {
        self.count();
        let mut all = self.log.lock().unwrap_or_else(|p| p.into_inner());
        let log = &mut all[kind as usize];
        match log {
            Some((at, left_out)) if now.saturating_duration_since(*at) < LOG_INTERVAL => {
                *left_out += 1;
                None
            }
            _ => {
                let left_out = log.map_or(0, |(_, n)| n);
                *log = Some((now, 0));
                Some(left_out)
            }
        }
    }
}

impl super::Relay {
    /// Counts an entry or message refused.
    pub(crate) fn count_dropped(&self) {
        self.dropped.count();
    }

    /// Counts a message from the relay dropped (`why`), and logs it: the
    /// first of its kind each minute, with how many were not logged since.
    pub(crate) fn drop_logged(&self, kind: Kind, why: std::fmt::Arguments<'_>) {
        match self.dropped.should_log(kind, std::time::Instant::now()) {
            Some(0) => tracing::warn!(
                "relay: dropped {why} (further drops are counted in `messngr status`, logged again in a minute)"
            ),
            Some(n) => tracing::warn!(
                "relay: dropped {why} ({n} more dropped since the last of these lines, counted in `messngr status`)"
            ),
            None => tracing::debug!("relay: dropped {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drop_is_counted_and_one_a_minute_of_each_kind_logged_with_those_left_out() {
        let d = Dropped::default();
        let t0 = Instant::now();
        assert_eq!(d.should_log(Kind::Envelope, t0), Some(0));
        for i in 1..=1000 {
            let at = t0 + Duration::from_millis(i);
            assert_eq!(d.should_log(Kind::Envelope, at), None);
        }
        // A flood of junk envelopes does not hide a refusal.
        let t1 = t0 + Duration::from_millis(1001);
        assert_eq!(d.should_log(Kind::Refused, t1), Some(0));
        assert_eq!(d.should_log(Kind::Refused, t1), None);
        d.count();
        assert_eq!(d.total(), 1004);
        assert_eq!(d.should_log(Kind::Envelope, t0 + LOG_INTERVAL), Some(1000));
        assert_eq!(d.should_log(Kind::Envelope, t0 + LOG_INTERVAL), None);
        assert_eq!(d.should_log(Kind::Refused, t1 + LOG_INTERVAL), Some(1));
    }
}
