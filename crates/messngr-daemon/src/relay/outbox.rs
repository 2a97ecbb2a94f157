//! Messages kept here while the relay was down, sent when it is back.
//!
//! Why here, and why by name: while the relay is down nobody can say which
//! hosts hold a name on another site, so `send` keeps the signed frame and
//! the name (`messngr_store::Queued`), answers "kept here", and this task
//! looks the name up and seals a copy to each holder once the relay
//! answers again, oldest first. A name no site holds (or whose holders'
//! entries are refused) is tried again each round for [`GIVE_UP`], since a
//! host renews its entry late after an outage; then it is dropped, logged
//! with the message's uuid. The frame's own time and expiry still
//! hold at the receiver (`native::relayed`), so a message kept longer than
//! the relay would keep one is refused there, as a replay would be.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use messngr_store::{Queued, StoreHandle};

use super::Relay;
use crate::secure::Secure;

/// How often the outbox is looked at.
const CHECK: Duration = Duration::from_secs(2);
/// Messages taken per look.
const BATCH: u32 = 64;
/// How long a kept message whose name nobody holds is tried again.
const GIVE_UP: Duration = Duration::from_secs(3600);

/// What became of one kept message.
enum Sent {
    /// The relay took it (or it can never be sent: logged): forget it.
    Done,
    /// Not now (the relay went away again): keep it, stop this round.
    Later,
    /// Not now (nobody holds its name yet): keep it, go on to the next.
    Skip,
}

impl Relay {
    /// Sends what the outbox keeps whenever the relay is connected, for
    /// ever; keeps the count `messngr status` shows.
    pub(super) async fn send_kept(self: &Arc<Self>, store: &StoreHandle, secure: &Arc<Secure>) {
        // Where the next round reads on from: a page of messages whose
        // names nobody holds (kept for an hour) must not hold back those
        // behind them, so each round takes the next page, and the first
        // again after the last.
        let mut after = 0;
        loop {
            tokio::time::sleep(CHECK).await;
            match store.read(|s| s.outbox_len()).await {
                Ok(n) => self.kept.store(n, Ordering::Relaxed),
                Err(e) => {
                    tracing::warn!("relay: cannot read the outbox: {e}");
                    continue;
                }
            }
            if self.kept.load(Ordering::Relaxed) == 0
                || !self.connected()
                || self.mail.get().is_none()
                || self.refused(super::mail::STREAM)
            {
                continue;
            }
            let kept = match store.read(move |s| s.outbox(after, BATCH)).await {
                Ok(k) => k,
                Err(e) => {
                    tracing::warn!("relay: cannot read the outbox: {e}");
                    continue;
                }
            };
            let last_page = kept.len() < BATCH as usize;
            after = if last_page {
                0
            } else {
                kept.last().map_or(0, |q| q.id)
            };
            for mut q in kept {
                // Marked as leaving first, then read again (withdrawn or
                // changed since this page was read: `send::kept` changes
                // it first, then asks whether it is leaving, so one of the
                // two always sees the other).
                self.leaving.start(&q.uuid);
                let uuid = q.uuid.clone();
                let sent = match store.read(move |s| s.outbox_frame(&uuid)).await {
                    Ok(Some(frame)) => {
                        q.frame = frame;
                        Some(self.send_one(store, secure, &q).await)
                    }
                    Ok(None) => None,
                    // Not the page's copy (it may have changed since):
                    // the next round begins with it.
                    Err(e) => {
                        tracing::warn!("relay: cannot read the outbox: {e}");
                        Some(Sent::Later)
                    }
                };
                let go_on = match sent {
                    Some(Sent::Done) => {
                        let id = q.id;
                        let removed = store.run(move |s| s.outbox_remove(id)).await;
                        if let Err(e) = &removed {
                            tracing::warn!("relay: a sent message stays in the outbox: {e}");
                        } else {
                            self.kept.fetch_sub(1, Ordering::Relaxed);
                        }
                        removed.is_ok()
                    }
                    // The next round begins with it.
                    Some(Sent::Later) => {
                        after = q.id.saturating_sub(1);
                        false
                    }
                    Some(Sent::Skip) | None => true,
                };
                self.leaving.end(&q.uuid);
                if !go_on {
                    break;
                }
            }
        }
    }

    /// Looks up `q`'s name and hands a sealed copy to each holder.
    async fn send_one(
        self: &Arc<Self>,
        store: &StoreHandle,
        secure: &Arc<Secure>,
        q: &Queued,
    ) -> Sent {
        // Its receiver would refuse it now (sent longer ago than the
        // stream keeps messages: a replay, to it).
        let age = super::now_ms().saturating_sub(q.queued_at);
        if age > i64::try_from(super::MAX_AGE.as_millis()).unwrap_or(i64::MAX) {
            tracing::warn!(
                "relay: message {} kept here for {} since {} dropped: older than the relay keeps messages ({} days)",
                q.uuid,
                messngr_proto::text::sanitize_line(&q.target),
                messngr_api::time::rfc3339(q.queued_at),
                super::MAX_AGE.as_secs() / 86_400
            );
            return Sent::Done;
        }
        let holders = match self.lookup(secure, &q.target).await {
            Ok(found) => found,
            Err(e) if e.is_transient() => {
                return Sent::Later;
            }
            Err(e)
                if super::now_ms().saturating_sub(q.queued_at)
                    < i64::try_from(GIVE_UP.as_millis()).unwrap_or(i64::MAX) =>
            {
                tracing::debug!("relay: message {} waits here still: {e}", q.uuid);
                return Sent::Skip;
            }
            Err(e) => {
                tracing::warn!(
                    "relay: message {} kept here for {} since {} dropped after {} s: {e}",
                    q.uuid,
                    messngr_proto::text::sanitize_line(&q.target),
                    messngr_api::time::rfc3339(q.queued_at),
                    GIVE_UP.as_secs()
                );
                return Sent::Done;
            }
        };
        for f in &holders {
            match self.post(secure, &f.host, &q.target, &q.frame).await {
                Ok(seq) => {
                    tracing::info!(
                        "relay: message {} kept here while the relay was away, queued for {} at {} (stream sequence {seq})",
                        q.uuid,
                        q.target.to_ascii_uppercase(),
                        f.host
                    );
                    // Tracked at once: a holder after it may have to wait
                    // (and `retract` then finds who has it).
                    let label = crate::recipient::recipient(&q.target, &f.host);
                    let (uuid_hex, at) = (q.uuid.clone(), super::now_ms());
                    if let Err(e) = store.add_recipients(uuid_hex, vec![label], at).await {
                        tracing::info!(
                            "relay: message {} sent; its sender's copy is not tracked: {e}",
                            q.uuid
                        );
                    }
                }
                Err(e) if e.is_away() => {
                    tracing::info!("relay: message {} waits here still: {e}", q.uuid);
                    return Sent::Later;
                }
                // This one cannot go now (no pin for its host, a publish
                // refused): the others behind it still may.
                Err(e) => {
                    tracing::warn!(
                        "relay: message {} for {} waits here still: {e}",
                        q.uuid,
                        f.host
                    );
                    return Sent::Skip;
                }
            }
        }
        Sent::Done
    }

    /// Whether kept message `uuid` is being sent right now.
    pub(crate) fn is_leaving(&self, uuid: &str) -> bool {
        self.leaving.contains(uuid)
    }
}

/// The kept messages being sent right now, by uuid.
#[derive(Default)]
pub(super) struct Leaving(std::sync::Mutex<std::collections::HashSet<String>>);

impl Leaving {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn start(&self, uuid: &str) {
        self.lock().insert(uuid.to_owned());
    }

    fn end(&self, uuid: &str) {
        self.lock().remove(uuid);
    }

    fn contains(&self, uuid: &str) -> bool {
        self.lock().contains(uuid)
    }
}
