//! Rate limits and the per-source session cap of UDP 138 and TCP 139.
//!
//! Why one sans-IO table: every receiver asks the same three questions (may
//! this source send one more datagram, open one more session, deliver one
//! more message?) and the answers must hold across tasks, so they live here
//! behind one lock, with time passed in, and are tested with a fake clock.
//! A source is first held to its own bucket, then to the global one: a
//! single flooder spends only its own tokens, a spoofed flood (every packet
//! from a new address) meets the global bucket. Deadlines and size caps are
//! the transports' (`session.rs`, `datagram.rs`); this file only counts.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use super::Refusal;
use crate::limit::{Bucket, DEFAULT_MAX_SOURCES, SourceLimiter};

/// One rate: a bucket per source, then a global one (either may be off).
#[derive(Debug)]
struct Rate {
    per_source: Option<SourceLimiter>,
    total: Option<(Bucket, f64)>,
}

impl Rate {
    fn new(per_source: u32, total: u32, now: Instant) -> Self {
        let rate = |n: u32| f64::from(n);
        Self {
            per_source: (per_source > 0).then(|| {
                SourceLimiter::new(rate(per_source), rate(per_source), DEFAULT_MAX_SOURCES)
            }),
            total: (total > 0).then(|| (Bucket::full(rate(total), now), rate(total))),
        }
    }

    fn allow(&mut self, now: Instant, src: IpAddr) -> bool {
        if let Some(l) = &mut self.per_source
            && !l.allow(now, src)
        {
            return false;
        }
        match &mut self.total {
            Some((b, r)) => b.take(now, *r, *r),
            None => true,
        }
    }
}

#[derive(Debug)]
struct Rates {
    datagrams: Rate,
    mailslot_messages: Rate,
    new_sessions: Rate,
    session_messages: Rate,
}

/// The limits' values (per second, bursts of one second's worth; 0 = off),
/// as the `[limits]` table of the configuration resolves them. The defaults
/// live here, once; `config::Limits` fills in what the user left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LimitRates {
    /// `datagrams_per_source`.
    pub(crate) datagrams_per_source: u32,
    /// `datagrams_total`.
    pub(crate) datagrams_total: u32,
    /// `mailslot_messages_per_source`.
    pub(crate) mailslot_messages_per_source: u32,
    /// `mailslot_messages_total`.
    pub(crate) mailslot_messages_total: u32,
    /// `new_sessions_per_source`.
    pub(crate) new_sessions_per_source: u32,
    /// `new_sessions_total`.
    pub(crate) new_sessions_total: u32,
    /// `sessions_per_source`.
    pub(crate) sessions_per_source: u32,
    /// `session_messages_per_source`.
    pub(crate) session_messages_per_source: u32,
    /// `session_messages_total`.
    pub(crate) session_messages_total: u32,
}

impl LimitRates {
    /// The defaults: ceilings against runaway or hostile hosts that leave a
    /// busy LAN alone (see `config::Limits`).
    pub(crate) const DEFAULT: LimitRates = LimitRates {
        datagrams_per_source: 1000,
        datagrams_total: 20_000,
        mailslot_messages_per_source: 20,
        mailslot_messages_total: 200,
        new_sessions_per_source: 10_000,
        new_sessions_total: 20_000,
        sessions_per_source: 16,
        session_messages_per_source: 20_000,
        session_messages_total: 50_000,
    };
}

/// The limits in force and their state, shared by every receiver (inside
/// `Policy`).
#[derive(Debug)]
pub(crate) struct Limits {
    rates: Mutex<Rates>,
    sessions_per_source: u32,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(&LimitRates::DEFAULT, Instant::now())
    }
}

impl Limits {
    /// The limits of `cfg`, with full buckets at `now`.
    pub(crate) fn new(cfg: &LimitRates, now: Instant) -> Self {
        Self {
            rates: Mutex::new(Rates {
                datagrams: Rate::new(cfg.datagrams_per_source, cfg.datagrams_total, now),
                mailslot_messages: Rate::new(
                    cfg.mailslot_messages_per_source,
                    cfg.mailslot_messages_total,
                    now,
                ),
                new_sessions: Rate::new(cfg.new_sessions_per_source, cfg.new_sessions_total, now),
                session_messages: Rate::new(
                    cfg.session_messages_per_source,
                    cfg.session_messages_total,
                    now,
                ),
            }),
            sessions_per_source: cfg.sessions_per_source,
            open: Arc::default(),
        }
    }

    fn with_rates(&self, f: impl FnOnce(&mut Rates) -> bool) -> Result<(), Refusal> {
        let mut rates = self.rates.lock().unwrap_or_else(PoisonError::into_inner);
        if f(&mut rates) {
            Ok(())
        } else {
            Err(Refusal::RateLimited)
        }
    }

    /// One UDP 138 datagram from `src`.
    pub(crate) fn datagram(&self, now: Instant, src: IpAddr) -> Result<(), Refusal> {
        self.with_rates(|r| r.datagrams.allow(now, src))
    }

    /// One mailslot message from `src` about to be handed to the inbox.
    pub(crate) fn mailslot_message(&self, now: Instant, src: IpAddr) -> Result<(), Refusal> {
        self.with_rates(|r| r.mailslot_messages.allow(now, src))
    }

    /// One complete message (SMB or messngr) on a TCP 139 session from `src`.
    pub(crate) fn session_message(&self, now: Instant, src: IpAddr) -> Result<(), Refusal> {
        self.with_rates(|r| r.session_messages.allow(now, src))
    }

    /// A new TCP 139 session from `src`: over the per-source cap of
    /// concurrent sessions is [`Refusal::TooManySessions`], over the rate of
    /// new sessions [`Refusal::RateLimited`]. The session counts until the
    /// returned permit is dropped.
    pub(crate) fn open_session(&self, now: Instant, src: IpAddr) -> Result<SessionPermit, Refusal> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let held = open.get(&src).copied().unwrap_or(0);
        if self.sessions_per_source > 0 && held >= self.sessions_per_source {
            return Err(Refusal::TooManySessions);
        }
        self.with_rates(|r| r.new_sessions.allow(now, src))?;
        open.insert(src, held + 1);
        Ok(SessionPermit {
            src,
            open: self.open.clone(),
        })
    }

    /// Sessions `src` holds now.
    #[cfg(test)]
    fn sessions_of(&self, src: IpAddr) -> u32 {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&src).copied().unwrap_or(0)
    }
}

/// One open session counted against its source; dropping it ends the count.
#[derive(Debug)]
pub(crate) struct SessionPermit {
    src: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

impl Drop for SessionPermit {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.src) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.src);
            }
        }
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

    fn cfg(f: impl FnOnce(&mut LimitRates)) -> LimitRates {
        let mut c = LimitRates::DEFAULT;
        f(&mut c);
        c
    }

    #[test]
    fn one_source_is_held_to_its_rate_and_others_pass() {
        let t = Instant::now();
        let l = Limits::new(
            &cfg(|c| {
                c.datagrams_per_source = 10;
                c.datagrams_total = 1000;
            }),
            t,
        );
        let passed = (0..100).filter(|_| l.datagram(t, ip(1)).is_ok()).count();
        assert_eq!(passed, 10, "one second's burst");
        assert_eq!(l.datagram(t, ip(1)), Err(Refusal::RateLimited));
        assert!(l.datagram(t, ip(2)).is_ok(), "another source");
        assert!(l.datagram(t + Duration::from_millis(100), ip(1)).is_ok());
    }

    #[test]
    fn a_spoofed_flood_meets_the_global_limit() {
        let t = Instant::now();
        let l = Limits::new(&cfg(|c| c.mailslot_messages_total = 50), t);
        let passed = (0..10_000)
            .filter(|n| l.mailslot_message(t, ip(*n)).is_ok())
            .count();
        assert_eq!(passed, 50, "every packet from a new address");
        assert!(
            l.mailslot_message(t + Duration::from_millis(100), ip(99_999))
                .is_ok()
        );
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let t = Instant::now();
        let l = Limits::new(
            &cfg(|c| {
                c.session_messages_per_source = 0;
                c.session_messages_total = 0;
                c.sessions_per_source = 0;
                c.new_sessions_per_source = 0;
                c.new_sessions_total = 0;
            }),
            t,
        );
        assert!((0..100_000).all(|_| l.session_message(t, ip(1)).is_ok()));
        let permits: Vec<_> = (0..1000).map(|_| l.open_session(t, ip(1))).collect();
        assert!(permits.iter().all(Result::is_ok));
    }

    #[test]
    fn sessions_are_capped_per_source_until_one_ends() {
        let t = Instant::now();
        let l = Limits::new(&cfg(|c| c.sessions_per_source = 3), t);
        let held: Vec<_> = (0..3).map(|_| l.open_session(t, ip(1)).unwrap()).collect();
        assert_eq!(
            l.open_session(t, ip(1)).unwrap_err(),
            Refusal::TooManySessions
        );
        assert!(l.open_session(t, ip(2)).is_ok(), "another host");
        assert_eq!(l.sessions_of(ip(2)), 0, "its permit was dropped");
        drop(held);
        assert_eq!(l.sessions_of(ip(1)), 0);
        assert!(l.open_session(t, ip(1)).is_ok());
    }

    #[test]
    fn new_sessions_are_rate_limited() {
        let t = Instant::now();
        let l = Limits::new(
            &cfg(|c| {
                c.new_sessions_per_source = 5;
                c.sessions_per_source = 0;
            }),
            t,
        );
        let ok = (0..20).filter(|_| l.open_session(t, ip(1)).is_ok()).count();
        assert_eq!(ok, 5);
        assert_eq!(l.open_session(t, ip(1)).unwrap_err(), Refusal::RateLimited);
    }

    #[test]
    fn the_defaults_let_a_benchmark_host_through() {
        // bench/messages.sh: ~10 000 messages/s from one host over 8
        // sessions; one second of it at the defaults passes whole.
        let t = Instant::now();
        let l = Limits::default();
        let held: Vec<_> = (0..8).map(|_| l.open_session(t, ip(1)).unwrap()).collect();
        assert!((0..10_000).all(|_| l.session_message(t, ip(1)).is_ok()));
        assert_eq!(held.len(), 8);
    }
}
