//! Handing a signed frame to the relay: it waits for its subject's lane
//! (`lanes`), whose driver seals what waits there to the receiving host's
//! pinned key, alone or as a bundle, and publishes it.
//!
//! Why a driver task per busy lane and not the sender's own task: a
//! sender whose message went out must get its answer then, not after it
//! has published everyone else's that queued behind it. The driver lives
//! while its lane has messages, and ends with it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use messngr_proto::wire::native::bundle::Bundle;
use tokio::sync::oneshot;

use super::error::RelayError;
use super::lanes::Item;
use super::{Relay, mail};
use crate::secure::Secure;

/// How long a send waits for the relay to come back (a server gone, a
/// stream's new leader elected) before it fails.
const FAILOVER_WAIT: Duration = Duration::from_secs(10);

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
        uuid: [u8; 16],
        what: &str,
        frame: &[u8],
    ) -> Result<u64, RelayError> {
        // A failover (a server gone, the client moving to another) takes
        // a second or two: a send waits that long rather than failing.
        // (So does one right after a start, until the message stream is
        // open.)
        let waited = Instant::now();
        loop {
            match self.mail.get() {
                Some(_) if self.connected() => break,
                _ if waited.elapsed() >= FAILOVER_WAIT => {
                    return Err(if self.connected() {
                        RelayError::NotReady("message stream")
                    } else {
                        RelayError::NotConnected
                    });
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        if secure.trust().pinned(host).is_none() {
            return Err(RelayError::NoPin(host.to_owned()));
        }
        let subject = mail::subject(host, name);
        let (done, outcome) = oneshot::channel();
        let item = Item {
            uuid,
            what: what.to_owned(),
            frame: frame.to_vec(),
            done,
        };
        if self.lanes.push(&subject, host, item) {
            tokio::spawn(self.clone().drive(secure.clone(), subject));
        }
        outcome.await.unwrap_or(Err(RelayError::Ended))
    }

    /// Publishes what waits in `subject`'s lane until it is empty.
    async fn drive(self: Arc<Self>, secure: Arc<Secure>, subject: String) {
        while let Some((host, batch)) = self.lanes.next(&subject) {
            match self.publish(&secure, &host, &subject, &batch).await {
                Ok(seq) => {
                    for item in batch {
                        let _ = item.done.send(Ok(seq));
                    }
                }
                Err(e) => {
                    for item in batch {
                        let _ = item.done.send(Err(e.again()));
                    }
                }
            }
        }
    }

    /// Seals `batch` (one frame as it is, several as a bundle) to `host`'s
    /// pinned key, bound to `subject`, and publishes it.
    async fn publish(
        &self,
        secure: &Secure,
        host: &str,
        subject: &str,
        batch: &[Item],
    ) -> Result<u64, RelayError> {
        let mail = self
            .mail
            .get()
            .ok_or(RelayError::NotReady("message stream"))?;
        let key = secure
            .trust()
            .pinned(host)
            .ok_or_else(|| RelayError::NoPin(host.to_owned()))?;
        let (plaintext, id) = match batch {
            [one] => (
                std::borrow::Cow::Borrowed(&one.frame[..]),
                mail::message_id(one.uuid, &one.what, subject),
            ),
            several => {
                let frames = several.iter().map(|i| &i.frame[..]).collect();
                let bundle = Bundle::new(frames).map_err(RelayError::Bundle)?;
                let items = several.iter().map(|i| (i.uuid, i.what.as_str()));
                (
                    std::borrow::Cow::Owned(bundle.to_vec()),
                    mail::bundle_id(items, subject),
                )
            }
        };
        let envelope = messngr_secure::seal(secure.host(), &key, subject.as_bytes(), &plaintext)?;
        // While the stream elects a new leader (its node gone) a publish
        // finds "no stream"; it is tried again with the same message id,
        // which JetStream stores once however many tries got through.
        let waited = Instant::now();
        loop {
            match mail.post(subject.to_owned(), &id, envelope.clone()).await {
                Ok(seq) => return Ok(seq),
                Err(e) if waited.elapsed() < FAILOVER_WAIT => {
                    tracing::debug!("relay: publish failed ({e}); trying again");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}
