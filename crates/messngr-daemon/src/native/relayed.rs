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
use messngr_proto::wire::native::{Kind, Packet, Reason, ReceiptState, Repr};

use super::Origin;
use crate::intake::{CLOCK_SKEW, InboxSender};
use crate::policy::Policy;
use crate::registry::Registry;
use crate::relay::{Deliver, LookupError, MAX_ENVELOPE, Relay, Settle, Taken};
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
}

/// Authors' certificates kept at most.
const MAX_AUTHORS: usize = 1024;

/// Bundled frames checked and stored at once: as many as envelopes
/// (`relay::mail`'s), so that bundles ask no more of the inbox than as
/// many single messages would.
pub(crate) const FRAMES_IN_FLIGHT: usize = 64;

/// Why a message sent at `sent_at` (Unix ms) is too old (older than the
/// stream keeps messages: a replay) or from the future; `None` if fine.
fn stale(sent_at: Option<i64>) -> Option<String> {
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
    if sent > now + ms(CLOCK_SKEW) {
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
            match self.check_and_store(relay, taken).await {
                Ok(settle) => settle,
                Err(why) => {
                    relay.count_dropped();
                    tracing::warn!("relay: dropped a message on {}: {why}", taken.subject);
                    Settle::Drop
                }
            }
        })
    }
}

impl Inbound {
    /// Opens `taken`'s envelope, then checks and stores the frame in it,
    /// or each frame of the bundle in it as if it had come alone.
    async fn check_and_store(&self, relay: &Relay, taken: &Taken) -> Result<Settle, String> {
        if taken.payload.len() > MAX_ENVELOPE {
            return Err(format!("{} bytes, oversized", taken.payload.len()));
        }
        let (sealer, inner) =
            messngr_secure::open(self.secure.host(), taken.subject.as_bytes(), &taken.payload)
                .map_err(|e| e.to_string())?;
        if Packet::new_checked(&inner[..]).is_ok_and(|p| p.kind() == Kind::Bundle) {
            let bundle = Bundle::parse(&inner).map_err(|e| format!("a bad bundle: {e}"))?;
            return self.bundle(relay, taken, sealer, &bundle).await;
        }
        self.frame(relay, sealer, &inner).await
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

    /// Looks `host` (the signer of a `what` from the relay) up in the
    /// directory, which may introduce its key: true once its key is
    /// pinned; false when to try again later (the directory cannot be
    /// asked now, has no entry, or gives the name to another host: its
    /// entry lapsed while it was away); an error when the directory
    /// refused it (not to be believed, this host's own).
    pub(super) async fn introduce(
        &self,
        relay: &Relay,
        host: &str,
        what: &str,
    ) -> Result<bool, String> {
        match relay.lookup(&self.secure, host).await {
            Ok(_) if self.secure.trust().pinned(host).is_some() => Ok(true),
            // The name answered for by another host (its own entry lapsed,
            // and someone else claims the name meanwhile): later.
            Ok(_) => {
                tracing::info!(
                    "relay: a {what} from {host} waits: the directory does not give its key now"
                );
                Ok(false)
            }
            Err(e) if e.is_transient() || matches!(e, LookupError::Absent(_)) => {
                tracing::info!(
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
                if !self.introduce(relay, &signer_host, "message").await? {
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
        let to = m.to.trim().to_ascii_uppercase();
        let relay_group = to == crate::relay::ORGANISATION || self.groups.contains(&to);
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
        Ok(match Repr::parse(&answer.reply) {
            Ok(Repr::Accepted { .. }) => Settle::Done,
            Ok(Repr::Refused {
                reason: reason @ (Reason::NoRoom | Reason::NotHere),
                text,
                ..
            }) if waits(
                reason,
                self.started.elapsed(),
                m.replaces.is_some(),
                m.sent_at,
            ) =>
            {
                // (An update waiting for its message is said at debug: a
                // host could make up updates that each wait 10 minutes.)
                if reason == Reason::NotHere && m.replaces.is_some() {
                    tracing::debug!("relay: an update from {signer_host} waits: {text}");
                } else {
                    tracing::info!(
                        "relay: a message from {signer_host} waits ({reason:?}): {text}"
                    );
                }
                Settle::Later
            }
            Ok(Repr::Refused { text, .. }) => {
                relay.count_dropped();
                tracing::warn!("relay: a message from {signer_host} refused: {text}");
                Settle::Drop
            }
            _ => Settle::Later,
        })
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

impl Inbound {
    /// A receipt through the relay: believed when signed by a host whose
    /// pinned key also sealed it. About a message sent from here, it is
    /// recorded as a receipt from a secure session is (`messngr track`);
    /// about a message this host received, it says that the same user read
    /// it at another of their hosts, which must hold the recipient name by
    /// its own directory entry: marked read here too.
    async fn receipt(
        &self,
        relay: &Relay,
        r: messngr_proto::wire::native::Receipt<'_>,
        sealer: [u8; 32],
    ) -> Result<Settle, String> {
        let host = r.signer.host.to_ascii_uppercase();
        if let Some(why) = stale(Some(r.at)) {
            return Err(format!("a receipt from {host}: {why}"));
        }
        if !crate::send::reports_on(r.reader, &host) {
            return Err(format!(
                "{host} sent a receipt for {}, a recipient it does not hold",
                messngr_proto::text::sanitize_line(r.reader)
            ));
        }
        let uuid = hex::encode(r.uuid);
        let m = match self.receipts.find_by_uuid(uuid.clone()).await {
            Ok(Some(m)) => m,
            Ok(None) => return Err(format!("a receipt for message {uuid}, which is not here")),
            Err(e) => {
                tracing::info!("relay: a receipt for {uuid} waits: {e}");
                return Ok(Settle::Later);
            }
        };
        // Only now, for a message that is here, is the signer's key looked
        // up (a receipt about nothing costs no directory work).
        let sealed_by_signer = || {
            self.secure
                .trust()
                .pinned(&host)
                .is_some_and(|k| k.x25519() == sealer)
        };
        if !sealed_by_signer() {
            // Not pinned yet: the directory may introduce its key.
            if relay.lookup(&self.secure, &host).await.is_err() || !sealed_by_signer() {
                return Err(format!(
                    "a receipt signed on {host} was sealed by another key"
                ));
            }
        }
        if m.direction == messngr_store::Direction::Out {
            let peer = crate::relay::relayed_source(self.address);
            let ctx = super::Ctx {
                names: &self.registry,
                policy: &self.policy,
                inbox: &self.inbox,
                secure: &self.secure,
                store: &self.receipts,
            };
            let answer = super::receipt::receive(r, &host, &mut None, peer, ctx).await;
            return match Repr::parse(&answer.reply) {
                // (A group's members each read for themselves.)
                Ok(Repr::Accepted { .. }) if !m.to.starts_with('/') => {
                    self.read_by_the_same(&uuid, r.reader, r.state, r.at).await;
                    Ok(Settle::Done)
                }
                Ok(Repr::Accepted { .. }) => Ok(Settle::Done),
                Ok(Repr::Refused {
                    reason: Reason::NoRoom,
                    ..
                }) => Ok(Settle::Later),
                Ok(Repr::Refused { text, .. }) => Err(text.to_owned()),
                _ => Ok(Settle::Later),
            };
        }
        // Read at another host of the same recipient: the reader's name is
        // this message's, and that host holds it by its signed entry.
        self.secure
            .verify_cached(&Repr::Receipt(r), &mut None)
            .map_err(|e| format!("a receipt from {host} refused: {e}"))?;
        let name = r.reader.rsplit_once('@').map_or(r.reader, |(n, _)| n);
        if !name.eq_ignore_ascii_case(m.to.trim()) || r.state != ReceiptState::Read {
            return Err(format!(
                "a receipt from {host} about message {}, which is not its reader's",
                m.id
            ));
        }
        // Read before the update shown here was made (a late receipt, or
        // one replayed): the update is not read yet. (Before the directory
        // is asked: a replay costs no lookup.)
        if m.updated_at
            .is_some_and(|u| r.at.min(messngr_store::clock::now_ms()) < u)
        {
            self.policy.refuse(
                crate::policy::Refusal::Superseded,
                crate::relay::relayed_source(self.address).ip(),
                format_args!(
                    "a read receipt from {host} for message {} is older than its update: left unread",
                    m.id
                ),
            );
            return Ok(Settle::Done);
        }
        match relay.lookup(&self.secure, name).await {
            Ok(holders) if holders.iter().any(|f| f.host == host) => {}
            Ok(_)
            | Err(crate::relay::LookupError::Absent(_) | crate::relay::LookupError::Ours(_)) => {
                return Err(format!(
                    "{host} reports {name} read, but the directory does not place {name} there"
                ));
            }
            Err(e) => {
                tracing::info!("relay: a read receipt from {host} waits: {e}");
                return Ok(Settle::Later);
            }
        }
        if m.read_at.is_none() {
            match self.receipts.mark_read(m.id).await {
                Ok(_) => tracing::info!(
                    "message {} was read at {host}, another host of {}: marked read here too",
                    m.id,
                    messngr_proto::text::sanitize_line(name)
                ),
                Err(e) => {
                    tracing::info!("relay: message {} not marked read yet: {e}", m.id);
                    return Ok(Settle::Later);
                }
            }
        }
        Ok(Settle::Done)
    }
}

impl Inbound {
    /// After `reader` (`ALICE@H2`) read sent message `uuid`: ALICE's other
    /// hosts (`ALICE@H3`) count as read too. One person at several sites
    /// reads a message once, and `track` and `send --wait` see that.
    async fn read_by_the_same(&self, uuid: &str, reader: &str, state: ReceiptState, at: i64) {
        let Some((name, _)) = reader.rsplit_once('@') else {
            return;
        };
        if state != ReceiptState::Read {
            return;
        }
        let Ok(rows) = self.receipts.receipts(uuid.to_owned()).await else {
            return;
        };
        let at = at.min(messngr_store::clock::now_ms());
        for row in rows {
            let same = row
                .recipient
                .rsplit_once('@')
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name));
            if same && row.recipient != reader && row.state != messngr_store::ReceiptState::Read {
                let (u, who) = (uuid.to_owned(), row.recipient.clone());
                if let Err(e) = self
                    .receipts
                    .record(u, who, messngr_store::ReceiptState::Read, at)
                    .await
                {
                    tracing::info!(
                        "relay: {} not marked read with {reader}: {e}",
                        row.recipient
                    );
                }
            }
        }
    }
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
