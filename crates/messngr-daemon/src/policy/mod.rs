//! Policy: who may put a message into this host, decided in one place for
//! every transport (UDP 137/138, TCP 139 SMB and native, the local API, and
//! later RPC and HTTP) before anything is stored or shown.
//!
//! Why one module: the Messenger service died of "anyone can put any text on
//! any screen". A rule that lives in each receiver is a rule one receiver
//! forgets. Every refusal goes through [`Policy::refuse`]: it is counted by
//! [`Refusal`] reason (shown by `messngr status`) and logged at most once per
//! source per [`LOG_INTERVAL`], so a flood cannot fill the journal either.

mod cidr;
mod limits;
mod log_once;
mod rules;

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use cidr::{NetList, subnet};
pub(crate) use limits::{LimitRates, Limits};
pub(crate) use log_once::LogOnce;
pub use rules::{NamePatterns, Rules};

use crate::flow::{Flow, Outcome};
use messngr_proto::Transport;

/// How often one source's refusals are logged (the rest are only counted).
pub(crate) const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Why something from the network (or a local caller) was refused.
///
/// The names are what `messngr status` prints; keep them stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Refusal {
    /// The source is not on the served interface's subnet and no
    /// `allow_from` rule admits it.
    OffLan,
    /// A `deny_from` rule matched the source.
    DeniedSource,
    /// A name rule refused the sender's name.
    DeniedName,
    /// The sender may not write to the workgroup or `*`.
    GroupNotAllowed,
    /// Over the per-source or global rate.
    RateLimited,
    /// Too many concurrent sessions from one address, or in all.
    TooManySessions,
    /// A deadline passed (no session request in time, idle).
    Timeout,
    /// Larger than the configured cap.
    TooLarge,
    /// The inbox is over its quota (total or the recipient's).
    QuotaFull,
    /// The message could not be stored (disk full, store error).
    NotStored,
    /// Malformed input ended the exchange.
    Malformed,
    /// Not for a name this host holds.
    NotHere,
    /// A messngr handshake failed (malformed, or a replayed session).
    HandshakeFailed,
    /// An encrypted frame did not decrypt: tampered, replayed or reordered.
    Tampered,
    /// A signature did not verify against the pins (forged, re-signed).
    Forged,
    /// A host showed another key than its pin.
    KeyChanged,
    /// A host with no pin under `trust = "file"`.
    Untrusted,
    /// A signed message already stored, or stored and deleted since, sent
    /// again.
    Replayed,
    /// A live notice's update made no later than the one shown (late, or
    /// again): not applied.
    Superseded,
    /// Plain text where `require_secure` or `require_verified_*` wants a
    /// verified sender.
    Unverified,
}

impl Refusal {
    /// Every reason, in the order `status` lists them.
    pub(crate) const ALL: [Refusal; 20] = [
        Refusal::OffLan,
        Refusal::DeniedSource,
        Refusal::DeniedName,
        Refusal::GroupNotAllowed,
        Refusal::RateLimited,
        Refusal::TooManySessions,
        Refusal::Timeout,
        Refusal::TooLarge,
        Refusal::QuotaFull,
        Refusal::NotStored,
        Refusal::Malformed,
        Refusal::NotHere,
        Refusal::HandshakeFailed,
        Refusal::Tampered,
        Refusal::Forged,
        Refusal::KeyChanged,
        Refusal::Untrusted,
        Refusal::Replayed,
        Refusal::Superseded,
        Refusal::Unverified,
    ];

    /// The reason's stable name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Refusal::OffLan => "off_lan",
            Refusal::DeniedSource => "denied_source",
            Refusal::DeniedName => "denied_name",
            Refusal::GroupNotAllowed => "group_not_allowed",
            Refusal::RateLimited => "rate_limited",
            Refusal::TooManySessions => "too_many_sessions",
            Refusal::Timeout => "timeout",
            Refusal::TooLarge => "too_large",
            Refusal::QuotaFull => "quota_full",
            Refusal::NotStored => "not_stored",
            Refusal::Malformed => "malformed",
            Refusal::NotHere => "not_here",
            Refusal::HandshakeFailed => "handshake_failed",
            Refusal::Tampered => "tampered",
            Refusal::Forged => "forged",
            Refusal::KeyChanged => "key_changed",
            Refusal::Untrusted => "untrusted",
            Refusal::Replayed => "replayed",
            Refusal::Superseded => "superseded",
            Refusal::Unverified => "unverified",
        }
    }

    fn index(self) -> usize {
        Refusal::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// Refusals counted by reason, for `messngr status`.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    counts: [AtomicU64; Refusal::ALL.len()],
}

impl Refusals {
    /// Counts one refusal.
    pub(crate) fn add(&self, reason: Refusal) {
        self.counts[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// How many refusals `reason` had.
    pub(crate) fn get(&self, reason: Refusal) -> u64 {
        self.counts[reason.index()].load(Ordering::Relaxed)
    }

    /// Every reason with a count above zero, by name.
    pub(crate) fn snapshot(&self) -> std::collections::BTreeMap<String, u64> {
        Refusal::ALL
            .iter()
            .map(|r| (r.as_str().to_owned(), self.get(*r)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// The daemon's policy: rules, counters and the log limiter, shared by
/// every receiver (`Arc<Policy>`).
#[derive(Debug, Default)]
pub(crate) struct Policy {
    /// Who may send (policy/rules.rs); swapped whole on SIGHUP.
    rules: arc_swap::ArcSwap<Rules>,
    refusals: Refusals,
    log: Mutex<LogOnce>,
    limits: Limits,
    /// Messages by route and outcome, shared with the inbox.
    flow: Arc<Flow>,
}

impl Policy {
    /// A policy of these rules and limits (counters and log limiter new).
    pub(crate) fn new(rules: Rules, limits: Limits) -> Self {
        Self {
            rules: arc_swap::ArcSwap::from_pointee(rules),
            limits,
            ..Self::default()
        }
    }

    /// The same policy, counting messages into `flow` (the inbox's).
    pub(crate) fn with_flow(mut self, flow: Arc<Flow>) -> Self {
        self.flow = flow;
        self
    }

    /// Replaces the rules (SIGHUP); counters, rate buckets and the log
    /// limiter stay. A message being judged meets the old rules or the new.
    pub(crate) fn set_rules(&self, rules: Rules) {
        self.rules.store(std::sync::Arc::new(rules));
    }

    /// Messages by route and outcome.
    pub(crate) fn flow(&self) -> &Flow {
        &self.flow
    }

    /// Whether the verified author `user@HOST` may send urgent messages.
    pub(crate) fn may_send_urgent(&self, author: &str) -> bool {
        self.rules.load().may_send_urgent(author)
    }

    /// The rate limits and session caps (`policy/limits.rs`).
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The counters.
    pub(crate) fn refusals(&self) -> &Refusals {
        &self.refusals
    }

    /// [`Policy::refuse`] for a complete message that came by `transport`:
    /// also counted as that transport's `refused` message.
    pub(crate) fn refuse_message(
        &self,
        transport: Transport,
        reason: Refusal,
        source: IpAddr,
        what: std::fmt::Arguments<'_>,
    ) {
        self.flow.add_transport(transport, Outcome::Refused);
        self.refuse(reason, source, what);
    }

    /// Records a refusal of something from `source`: counts it and logs
    /// `what` (already escaped by the caller when it holds peer strings) at
    /// most once per source per [`LOG_INTERVAL`].
    pub(crate) fn refuse(&self, reason: Refusal, source: IpAddr, what: std::fmt::Arguments<'_>) {
        self.refusals.add(reason);
        let first = self
            .log
            .lock()
            .map(|mut l| l.should_log(Instant::now(), source, reason))
            .unwrap_or(true);
        if first {
            tracing::info!(
                "refused from {source} ({}): {what} (further refusals from {source} are counted in `messngr status`, logged again in {} s)",
                reason.as_str(),
                LOG_INTERVAL.as_secs()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn refusals_are_counted_by_reason_and_named_stably() {
        let p = Policy::default();
        let src = IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1));
        p.refuse(Refusal::OffLan, src, format_args!("x"));
        p.refuse(Refusal::OffLan, src, format_args!("x"));
        p.refuse(Refusal::QuotaFull, src, format_args!("y"));
        let s = p.refusals().snapshot();
        assert_eq!(s.get("off_lan"), Some(&2));
        assert_eq!(s.get("quota_full"), Some(&1));
        assert_eq!(s.len(), 2, "reasons without refusals are left out: {s:?}");
        let names: std::collections::HashSet<_> = Refusal::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), Refusal::ALL.len(), "names are distinct");
        for (i, r) in Refusal::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }
}
