//! A message the relay brought for this host: opened, checked, stored.
//! (Here, beside the session's receiving half, and handed to the relay as
//! its [`Deliver`]: the relay knows nothing of native frames.)
//!
//! Why every check is here again, though the sender's host checked its
//! own: the relay is another party, and any daemon on the bus may publish
//! on any subject. So an envelope is only believed when it opens with this
//! host's key under the subject it came on, holds a frame signed by an
//! author whose host key is pinned (the directory may introduce it, never
//! replace it), and was sealed by that same host. Then it goes through
//! the very path a message from a secure session takes
//! (`native::accept`): the policy, our names, the store. Anything else is
//! dropped, counted and logged, and removed from the queue.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use messngr_proto::wire::native::bundle::Bundle;
use messngr_proto::wire::native::{Kind, Packet, Reason, Repr};

use super::Origin;
use crate::intake::{CLOCK_SKEW, InboxSender};
use crate::policy::Policy;
use crate::registry::Registry;
use crate::relay::{Deliver, MAX_ENVELOPE, Relay, Settle, Taken};
use crate::secure::{Certified, CertifiedAuthor, Secure};

/// How long after a start a message for a name not held is kept for
/// later (NetBIOS claims the names in the first seconds).
const CLAIM_GRACE: Duration = Duration::from_secs(120);

// A frame is accepted until MAX_AGE + CLOCK_SKEW after it was sent, so at
// most that and another CLOCK_SKEW after it came: the inbox remembers the
// uuids of signed messages gone since for longer, to refuse a replay.
const _: () = assert!(
    crate::relay::MAX_AGE.as_millis() + 2 * CLOCK_SKEW.as_millis()
        < messngr_store::REMEMBERED_MS as u128
);

/// What a message from the relay is checked and stored with.
pub(crate) struct Inbound {
    pub(crate) secure: Arc<Secure>,
    pub(crate) registry: Registry,
    pub(crate) policy: Arc<Policy>,
    pub(crate) inbox: InboxSender,
    /// The store, for receipts: of messages sent from here, and of
    /// messages a user read at another of their hosts.
    pub(crate) receipts: crate::inbox::receipts::Recorder,
    /// The relay groups this host is in (`[relay] groups`, upper case).
    pub(crate) groups: Vec<String>,
    /// This host's address: what the policy judges a relayed message as
    /// coming from.
    pub(crate) address: Ipv4Addr,
    /// When the daemon started.
    pub(crate) started: Instant,
    /// Bundled frames checked and stored at once, over every bundle
    /// ([`FRAMES_IN_FLIGHT`] permits).
    pub(crate) frames: tokio::sync::Semaphore,
    /// The authors whose certificates (their key, signed by their host's)
    /// were checked last, by host and account: a stream of messages from
    /// one author costs each message its own signature check only, as in
    /// a secure session (bounded: [`MAX_AUTHORS`], then begun again).
    pub(crate) authors:
        std::sync::Mutex<std::collections::HashMap<(String, String), CertifiedAuthor>>,
    /// Messages waiting to be offered again (budgeted).
    pub(crate) waiting: super::waiting::Waiting,
}

/// Authors' certificates kept at most.
const MAX_AUTHORS: usize = 1024;

/// Bundled frames checked and stored at once: as many as envelopes
/// (`relay::mail`'s), so that bundles ask no more of the inbox than as
/// many single messages would.
pub(crate) const FRAMES_IN_FLIGHT: usize = 64;

/// Why a message sent at `sent_at` (Unix ms) is too old (older than the
/// stream keeps messages: a replay) or from the future; `None` if fine.
pub(super) fn stale(sent_at: Option<i64>) -> Option<String> {
    stale_by(sent_at, crate::relay::MAX_AGE)
}

/// [`stale`], with `age` (and the clocks' skew) as the oldest it may be.
fn stale_by(sent_at: Option<i64>, age: Duration) -> Option<String> {
    let Some(sent) = sent_at else {
        return Some("it carries no time of sending".into());
    };
    let now = messngr_store::clock::now_ms();
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    if sent < now - ms(age + CLOCK_SKEW) {
        return Some("it was sent longer ago than the relay keeps messages (a replay)".into());
    }
    if crate::intake::from_the_future(sent) {
        return Some("it claims to be sent in the future (check both hosts' clocks)".into());
    }
    None
}

impl Deliver for Inbound {
    fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Checks and stores `taken`; what the stream should do with it.
    fn deliver<'a>(
        &'a self,
        relay: &'a Relay,
        taken: &'a Taken,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Settle> + Send + 'a>> {
        Box::pin(async move {
            let sequence = taken.sequence();
            let settle = match self.check_and_store(relay, taken, sequence).await {
                Ok(settle) => settle,
                Err(why) => {
                    relay.drop_logged(
                        crate::relay::DropKind::Envelope,
                        format_args!("a message on {}: {why}", taken.subject),
                    );
                    Settle::Drop
                }
            };
            // (Only a message offered again can be waiting.)
            if !matches!(settle, Settle::Later) && !taken.first_offer() {
                self.waiting.done(sequence);
            }
            settle
        })
    }
}

impl Inbound {
    /// Opens `taken`'s envelope, then checks and stores the frame in it,
    /// or each frame of the bundle in it as if it had come alone.
    async fn check_and_store(
        &self,
        relay: &Relay,
        taken: &Taken,
        sequence: u64,
    ) -> Result<Settle, String> {
        if taken.payload.len() > MAX_ENVELOPE {
            return Err(format!("{} bytes, oversized", taken.payload.len()));
        }
        let (sealer, inner) =
            messngr_secure::open(self.secure.host(), taken.subject.as_bytes(), &taken.payload)
                .map_err(|e| e.to_string())?;
        if Packet::new_checked(&inner[..]).is_ok_and(|p| p.kind() == Kind::Bundle) {
            let bundle = Bundle::parse(&inner).map_err(|e| format!("a bad bundle: {e}"))?;
            return self.bundle(relay, taken, sealer, &bundle, sequence).await;
        }
        self.frame(relay, sealer, &inner, sequence).await
    }

    /// The certificate last checked for `signer`'s host and account, if any
    /// (`verify_cached` uses it only if every signer field is the same).
    fn certified(&self, signer: Option<&messngr_proto::wire::native::Signer<'_>>) -> Certified {
        let signer = signer?;
        let authors = self.authors.lock().unwrap_or_else(|p| p.into_inner());
        authors
            .get(&(signer.host.to_owned(), signer.author.to_owned()))
            .cloned()
    }

    /// Keeps the certificate `verify_cached` checked (or found), for the
    /// next message of the same author.
    fn remember(&self, certified: Certified) {
        let Some(c) = certified else { return };
        let (host, author) = c.who();
        let key = (host.to_owned(), author.to_owned());
        let mut authors = self.authors.lock().unwrap_or_else(|p| p.into_inner());
        if authors.len() >= MAX_AUTHORS && !authors.contains_key(&key) {
            authors.clear();
        }
        authors.insert(key, c);
    }

    /// Looks `host` (the signer of a `what` from the relay, stream message
    /// `sequence`)
    /// up by its own directory entry, which may introduce its key: true
    /// once its key is pinned; false when to try again later (the
    /// directory cannot be asked now, or a `fresh` frame's host has not
    /// written its entry yet: it just started), within the budget of
    /// `native::waiting`; an error when it has no entry (made up, or gone),
    /// one not to be believed, or the budget is spent.
    pub(super) async fn introduce(
        &self,
        relay: &Relay,
        host: &str,
        what: &str,
        fresh: bool,
        sequence: u64,
    ) -> Result<bool, String> {
        match relay.host_entry(&self.secure, host).await {
            Ok(_) if self.secure.trust().pinned(host).is_some() => Ok(true),
            Ok(_) => Err(format!("a {what} from {host}: its key was not pinned")),
            Err(e)
                if e.is_transient()
                    || (fresh && matches!(e, crate::relay::LookupError::Absent(_))) =>
            {
                let pool = super::waiting::Pool::Unverified;
                if !self.waiting.admit(pool, host, sequence, Instant::now()) {
                    return Err(format!(
                        "a {what} from {host}, whose key is not known here ({e}), not kept waiting: {}",
                        super::waiting::SPENT
                    ));
                }
                // (At debug: a host could make up frames that each wait.)
                tracing::debug!(
                    "relay: a {what} from {host} waits: its host key is not known here ({e})"
                );
                Ok(false)
            }
            Err(e) => Err(format!("a {what} from {host}, not believed: {e}")),
        }
    }

    /// One frame from the relay, sealed by `sealer`: checked and stored.
    pub(super) async fn frame(
        &self,
        relay: &Relay,
        sealer: [u8; 32],
        inner: &[u8],
        sequence: u64,
    ) -> Result<Settle, String> {
        let repr = Repr::parse(inner).map_err(|e| format!("not a native frame: {e}"))?;
        let m = match &repr {
            Repr::Message(m) => m,
            Repr::Receipt(r) => return self.receipt(relay, *r, sealer).await,
            other => return Err(format!("a {:?} frame, not a message", other.kind())),
        };
        let signer_host = m
            .signer
            .as_ref()
            .map(|s| s.host.to_ascii_uppercase())
            .ok_or("the message is not signed")?;
        if let Some(why) = stale(m.sent_at) {
            return Err(why);
        }
        // An author's host not pinned yet is looked up in the directory,
        // which may introduce its key.
        let mut certified = self.certified(m.signer.as_ref());
        let verified = match self.secure.verify_cached(&repr, &mut certified) {
            Err(crate::secure::Forged::UnknownHost(_)) => {
                let fresh = stale_by(m.sent_at, CLAIM_GRACE).is_none();
                if !self
                    .introduce(relay, &signer_host, "message", fresh, sequence)
                    .await?
                {
                    return Ok(Settle::Later);
                }
                self.secure.verify_cached(&repr, &mut certified)
            }
            other => other,
        }
        .map_err(|e| e.to_string())?;
        self.remember(certified);
        let pinned = self
            .secure
            .trust()
            .pinned(&verified.host)
            .ok_or("its author's host has no pin")?;
        if pinned.x25519() != sealer {
            return Err(format!(
                "sealed by another key than {}'s, which signed it",
                verified.host
            ));
        }
        let relay_group = crate::relay::is_relay_group(m.to, &self.groups);
        let origin = Origin {
            relay_group,
            via_relay: true,
            verified,
            signed: inner.to_vec(),
        };
        // No network source: the relay is how it came. It is judged as
        // from this host's own address (a relayed message needs no
        // allow_from; the names, rates and quotas still apply), its
        // author proven by the checks above.
        let peer = crate::relay::relayed_source(self.address);
        let answer = super::accept(
            m,
            peer,
            &self.registry,
            &self.policy,
            &self.inbox,
            Some(origin),
        )
        .await;
        let update = m.replaces.is_some();
        let settle = match Repr::parse(&answer.reply) {
            Ok(Repr::Accepted { .. }) => Settle::Done,
            Ok(Repr::Refused {
                reason: reason @ (Reason::NoRoom | Reason::NotHere),
                text,
                ..
            }) if waits(reason, self.started.elapsed(), update, m.sent_at) => {
                // An update whose message is not here yet waits within the
                // budget (not in the first minutes after a start, while
                // this host claims its names: any message may wait then).
                let budgeted =
                    reason == Reason::NotHere && update && self.started.elapsed() >= CLAIM_GRACE;
                // Under trust on first use any host on the bus is pinned
                // once it writes an entry: hosts no admin vetted share one
                // host's room, so made-up ones cannot fill the pool.
                let pool = super::waiting::Pool::Verified;
                let budget = if self.secure.trust().vetted(&signer_host) {
                    signer_host.as_str()
                } else {
                    super::waiting::NOT_VETTED
                };
                if budgeted && !self.waiting.admit(pool, budget, sequence, Instant::now()) {
                    return Err(format!(
                        "an update from {signer_host}, not kept waiting ({text}): {}",
                        super::waiting::SPENT
                    ));
                }
                // (An update waiting for its message is said at debug: a
                // host could make up updates that each wait 10 minutes.)
                if reason == Reason::NotHere && update {
                    tracing::debug!("relay: an update from {signer_host} waits: {text}");
                } else {
                    tracing::info!(
                        "relay: a message from {signer_host} waits ({reason:?}): {text}"
                    );
                }
                Settle::Later
            }
            Ok(Repr::Refused { text, .. }) => {
                relay.drop_logged(
                    crate::relay::DropKind::Refused,
                    format_args!("a message from {signer_host}: {text}"),
                );
                Settle::Drop
            }
            _ => Settle::Later,
        };
        Ok(settle)
    }
}

/// Whether a message refused for `reason` is offered again later: the
/// inbox full; or, in the first minutes after a start, a name this host
/// is claiming again; or an update (a `notice`) made in the last minutes,
/// whose message is not here yet (taken side by side with it, or bundled
/// with it). Offered again for `mail::MAX_DELIVER` tries at most.
fn waits(reason: Reason, since_start: Duration, notice: bool, sent_at: Option<i64>) -> bool {
    reason == Reason::NoRoom
        || (reason == Reason::NotHere
            && (since_start < CLAIM_GRACE || (notice && stale_by(sent_at, CLAIM_GRACE).is_none())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_older_than_the_stream_keeps_or_from_the_future_is_refused() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let day = 86_400_000;
        assert!(stale(Some(now)).is_none());
        assert!(stale(Some(now - 6 * day)).is_none());
        assert!(stale(Some(now - 8 * day)).unwrap().contains("replay"));
        assert!(stale(Some(now + day)).unwrap().contains("future"));
        assert!(stale(None).is_some());
        // An update waits for its message only while it is fresh.
        let minute = 60_000;
        assert!(stale_by(Some(now - 5 * minute), CLAIM_GRACE).is_none());
        assert!(stale_by(Some(now - 13 * minute), CLAIM_GRACE).is_some());
    }

    #[test]
    fn an_update_whose_message_is_not_here_yet_waits_while_fresh() {
        let now = messngr_store::clock::now_ms();
        let (long_up, minute) = (Duration::from_secs(3600), 60_000);
        assert!(waits(Reason::NotHere, long_up, true, Some(now - minute)));
        assert!(!waits(
            Reason::NotHere,
            long_up,
            true,
            Some(now - 20 * minute)
        ));
        // A message (no update) for a name not here, long after a start:
        // refused; just after one: later.
        assert!(!waits(Reason::NotHere, long_up, false, Some(now)));
        assert!(waits(
            Reason::NotHere,
            Duration::from_secs(5),
            false,
            Some(now)
        ));
        assert!(waits(Reason::NoRoom, long_up, false, Some(now)));
    }
}
