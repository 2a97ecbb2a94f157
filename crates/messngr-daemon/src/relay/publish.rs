//! Handing a signed frame to the relay: it waits for its subject's lane
//! (`lanes`), whose driver seals what waits there to the receiving host's
//! pinned key, alone or as a bundle (to a host whose entry says it takes
//! them), and publishes it.
//!
//! Why a driver task per busy lane and not the sender's own task: a
//! sender whose message went out must get its answer then, not after it
//! has published everyone else's that queued behind it. The driver lives
//! while its lane has messages, and ends with it. A message waits
//! [`FAILOVER_WAIT`] at most from when it was handed over, in its lane and
//! its publish together, as a publish alone did before lanes.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use messngr_proto::wire::native::bundle::{Bundle, MAX_FRAMES};
use tokio::sync::oneshot;

use super::error::RelayError;
use super::lanes::{Item, gather};
use super::{Relay, mail};
use crate::secure::Secure;

/// How long a send waits for the relay to come back (a server gone, a
/// stream's new leader elected) before it fails.
const FAILOVER_WAIT: Duration = Duration::from_secs(10);

/// Why nothing is published while the message stream is refused (the
/// sender keeps the message).
const REFUSED: RelayError =
    RelayError::NotReady("message stream (the cluster's is made otherwise: see `messngr status`)");

impl Relay {
    /// Hands the signed `frame` for `name` at `host` (on another site) to
    /// the relay, sealed to `host`'s pinned key; the stream's sequence
    /// number once the cluster stored it (alone, or in a bundle with
    /// others for the same name at the same host).
    pub(crate) async fn post(
        self: &Arc<Self>,
        secure: &Arc<Secure>,
        host: &str,
        name: &str,
        frame: &[u8],
    ) -> Result<u64, RelayError> {
        // A failover (a server gone, the client moving to another) takes
        // a second or two: a send waits that long rather than failing.
        // (So does one right after a start, until the message stream is
        // open; not one while it is refused: kept at once.)
        let queued_at = Instant::now();
        loop {
            match self.mail.get() {
                _ if self.refused(mail::STREAM) => return Err(REFUSED),
                Some(_) if self.connected() => break,
                _ if queued_at.elapsed() >= FAILOVER_WAIT => return Err(self.away()),
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        if secure.trust().pinned(host).is_none() {
            return Err(RelayError::NoPin(host.to_owned()));
        }
        let subject = mail::subject(host, name);
        let (done, outcome) = oneshot::channel();
        let item = Item {
            frame: frame.to_vec(),
            queued_at,
            done,
        };
        if self.lanes.push(&subject, item) {
            let driver = self.clone().drive(secure.clone(), host.to_owned(), subject);
            tokio::spawn(driver);
        }
        outcome.await.unwrap_or(Err(RelayError::Stopped))
    }

    /// Publishes what waits in `subject`'s lane (for `host`) until it is
    /// empty.
    async fn drive(self: Arc<Self>, secure: Arc<Secure>, host: String, subject: String) {
        // Should this task end early (a panic, the runtime shutting down),
        // the lane must not stay busy with nobody driving it: its senders
        // are told, and the next message starts a driver anew.
        let mut abandon = Abandon {
            relay: &self,
            subject: &subject,
            armed: true,
        };
        let max_frames = if self.takes_bundles(&host) {
            MAX_FRAMES
        } else {
            1
        };
        // After a publish failed, one whose messages have all waited their
        // time already fails at once, without trying: the lane drains in
        // one failover time, not one per publish behind it.
        let mut failing = false;
        // How many to wait for (`lanes`' doc): as many as the last
        // publish answered, for `lanes::LINGER` at most.
        let mut want = 1;
        while let Some(batch) = gather(&self.lanes, &subject, max_frames, want).await {
            let deadline = batch
                .iter()
                .map(|i| i.queued_at)
                .min()
                .unwrap_or_else(Instant::now)
                + FAILOVER_WAIT;
            let outcome = if failing && Instant::now() >= deadline {
                Err(self.away())
            } else {
                self.publish(&secure, &host, &subject, &batch, deadline)
                    .await
            };
            failing = outcome.is_err();
            want = if failing { 1 } else { batch.len() };
            for item in batch {
                let _ = item.done.send(match &outcome {
                    Ok(seq) => Ok(*seq),
                    Err(e) => Err(e.again()),
                });
            }
        }
        // The lane ended with the last `next`; one made since is another
        // driver's.
        abandon.armed = false;
    }

    /// Seals `batch` (one frame as it is, several as a bundle) to `host`'s
    /// pinned key, bound to `subject`, and publishes it, tried again until
    /// `deadline`.
    async fn publish(
        &self,
        secure: &Secure,
        host: &str,
        subject: &str,
        batch: &[Item],
        deadline: Instant,
    ) -> Result<u64, RelayError> {
        let mail = self
            .mail
            .get()
            .ok_or(RelayError::NotReady("message stream"))?;
        // Refused while this batch waited in its lane.
        if self.refused(mail::STREAM) {
            return Err(REFUSED);
        }
        let key = secure
            .trust()
            .pinned(host)
            .ok_or_else(|| RelayError::NoPin(host.to_owned()))?;
        let frames: Vec<&[u8]> = batch.iter().map(|i| &i.frame[..]).collect();
        let plaintext = match &frames[..] {
            [one] => Cow::Borrowed(*one),
            _ => Cow::Owned(
                Bundle::new(frames.clone())
                    .map_err(RelayError::Bundle)?
                    .to_vec(),
            ),
        };
        let id = mail::message_id(&self.id_key, subject, &frames);
        let envelope = messngr_secure::seal(secure.host(), &key, subject.as_bytes(), &plaintext)?;
        // While the stream elects a new leader (its node gone) a publish
        // finds "no stream"; it is tried again with the same message id,
        // which JetStream stores once however many tries got through.
        loop {
            match mail.post(subject.to_owned(), &id, envelope.clone()).await {
                Ok(seq) => return Ok(seq),
                // Not tried again: kept by its sender, and the stream
                // refused until it passes a check (`loops`).
                Err(e @ RelayError::MadeOtherwise { .. }) => {
                    self.checked(mail::STREAM, Err(e.again()));
                    return Err(e);
                }
                Err(e) if Instant::now() < deadline && !self.refused(mail::STREAM) => {
                    tracing::debug!("relay: publish failed ({e}); trying again");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => return Err(self.away_or(e)),
            }
        }
    }

    /// Why the relay cannot take a message now: not connected, or its
    /// message stream not open yet.
    fn away(&self) -> RelayError {
        self.away_or(RelayError::NotReady("message stream"))
    }

    /// [`RelayError::NotConnected`] while the relay is not connected (the
    /// sender keeps the message for later), else `e`.
    fn away_or(&self, e: RelayError) -> RelayError {
        if self.connected() {
            e
        } else {
            RelayError::NotConnected
        }
    }
}

/// Ends `subject`'s lane when dropped while armed (its driver stopped
/// early): its waiting senders get [`RelayError::Stopped`].
struct Abandon<'a> {
    relay: &'a Relay,
    subject: &'a str,
    armed: bool,
}

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.relay.lanes.abandon(self.subject);
        }
    }
}
