//! Messages through the relay: a JetStream stream holds each one, sealed
//! to its recipient host's key, until that host has stored it.
//!
//! Why this shape:
//!
//! * **One subject per recipient, one durable consumer per host**:
//!   `messngr.mail.HOST.NAME` (both in hex, as the directory's keys), and
//!   the consumer `mail-HOST` filtered on `messngr.mail.HOST.>`. A host
//!   that is down finds its messages waiting when it starts: the consumer
//!   remembers what was acknowledged, the stream keeps the rest (for
//!   `MAX_AGE`).
//! * **Acknowledged only once stored**: the receiver acks after its inbox
//!   committed the message, so a crash in between redelivers it, and the
//!   inbox's unique uuid keeps the redelivery (or a relay's replay) to one
//!   message, counted as `replayed`.
//! * **The relay sees routing only**: the payload is the signed native
//!   frame sealed to the recipient host's key (`messngr_secure::seal`,
//!   Noise X), bound to the subject; the headers hold a digest of the frames
//!   for JetStream's de-duplication (`Nats-Msg-Id`) and nothing else.
//! * **Taken means gone**: the stream is a work queue, so a message leaves
//!   it once acknowledged, and the receiver refuses frames sent longer ago
//!   than the stream keeps them (`native::relayed`).

use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer, stream};
use futures_util::{StreamExt, TryStreamExt};

use super::error::{RelayError, nats};
use crate::config::Relay as RelayConfig;

/// The stream.
pub(crate) const STREAM: &str = "MESSNGR_MAIL";
/// How long an undelivered message waits.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// How often a message is offered to its host before the relay gives up
/// on it (10 s apart when the host says "later": about 10 minutes).
pub(crate) const MAX_DELIVER: i64 = 60;
/// Envelopes of this host opened, checked and stored at once: the inbox
/// commits the messages that arrive together in one transaction. (The
/// frames of bundles among them share a limit of their own,
/// `native::FRAMES_IN_FLIGHT`.)
const IN_FLIGHT: usize = 64;
/// The largest envelope carried (a sealed frame).
pub(crate) const MAX_ENVELOPE: usize = messngr_secure::MAX_SEALED + 112;

/// The subject of messages for `name` at `host`.
pub(crate) fn subject(host: &str, name: &str) -> String {
    format!(
        "messngr.mail.{}.{}",
        super::hex_name(host),
        super::hex_name(name)
    )
}

/// The durable consumer of `host`'s messages (`mail-4832`).
pub(crate) fn consumer(host: &str) -> String {
    format!("mail-{}", super::hex_name(host))
}

/// What `host`'s consumer takes: every subject of its messages.
pub(crate) fn filter(host: &str) -> String {
    format!("messngr.mail.{}.>", super::hex_name(host))
}

/// The stream, opened (made when missing).
pub(crate) struct Mail {
    js: jetstream::Context,
    stream: stream::Stream,
    /// How it is made, to make it again ([`Mail::reopen`]).
    wanted: stream::Config,
}

/// One message taken from the stream, to be settled with [`Taken::done`].
pub(crate) struct Taken {
    pub(crate) subject: String,
    pub(crate) payload: bytes::Bytes,
    message: jetstream::Message,
}

/// What became of a message taken.
pub(crate) enum Settle {
    /// Stored (or already stored): remove it from this host's queue.
    Done,
    /// Refused for good (forged, not ours, policy): remove it.
    Drop,
    /// Not now (the inbox is full or slow): offer it again later.
    Later,
}

impl Mail {
    pub(crate) async fn open(
        js: &jetstream::Context,
        cfg: &RelayConfig,
    ) -> Result<Mail, RelayError> {
        let wanted = stream::Config {
            name: STREAM.into(),
            // A message leaves the stream once its host acknowledged
            // it: nothing stored there can be offered again (by a
            // consumer made anew from the start) after it was taken.
            retention: stream::RetentionPolicy::WorkQueue,
            description: Some("messngr: sealed messages waiting for their hosts".into()),
            subjects: vec!["messngr.mail.>".into()],
            max_age: MAX_AGE,
            max_message_size: i32::try_from(MAX_ENVELOPE).unwrap_or(i32::MAX),
            storage: stream::StorageType::File,
            num_replicas: cfg.replicas(),
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        };
        let stream = super::streams::open(js, wanted.clone(), MAX_AGE).await?;
        Ok(Mail {
            js: js.clone(),
            stream,
            wanted,
        })
    }

    /// Makes the stream again if it is gone (an admin deleted it, or the
    /// cluster came back with empty stores), checked as when opened (a
    /// caller refuses one made otherwise: `loops`). The handle names the
    /// stream only, so it serves the new one as it is.
    pub(crate) async fn reopen(&self) -> Result<(), RelayError> {
        super::streams::open(&self.js, self.wanted.clone(), MAX_AGE)
            .await
            .map(drop)
    }

    /// Publishes `envelope` on `subject` with the message id `id` (see
    /// [`message_id`]): JetStream stores a retry of it
    /// once; returns once the stream stored it (on as many replicas as it
    /// has).
    pub(crate) async fn post(
        &self,
        subject: String,
        id: &str,
        envelope: Vec<u8>,
    ) -> Result<u64, RelayError> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, id);
        let ack = self
            .js
            .publish_with_headers(subject, headers, envelope.into())
            .await
            .map_err(publish_error)?
            .await
            .map_err(publish_error)?;
        // Another stream that took this subject (made while this one was
        // gone) stores what was meant for this one.
        if ack.stream != STREAM {
            // Its name is the answer's (anyone's): cut short, one line.
            let found: String = ack.stream.chars().take(64).collect();
            let found = messngr_proto::text::sanitize_line(&found).into_owned();
            return Err(RelayError::MadeOtherwise {
                why: format!(
                    "the stream {found} on the cluster took a message meant for {STREAM}: check it (`nats stream info {found}`) and delete it; messngr makes {STREAM} again"
                ),
                found,
            });
        }
        Ok(ack.sequence)
    }

    /// Takes this host's messages, up to [`IN_FLIGHT`] at a time, handing
    /// each to `handle`, until the consumer's stream ends (an error: the
    /// caller opens again).
    pub(crate) async fn serve<F, Fut>(
        &self,
        host: &str,
        ready: impl FnOnce(),
        handle: F,
    ) -> Result<(), RelayError>
    where
        F: Fn(Taken) -> Fut,
        Fut: std::future::Future<Output = (Taken, Settle)>,
    {
        let name = consumer(host);
        let consumer: consumer::PullConsumer = self
            .stream
            .get_or_create_consumer(
                &name,
                consumer::pull::Config {
                    durable_name: Some(name.clone()),
                    filter_subject: filter(host),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(60),
                    deliver_policy: consumer::DeliverPolicy::All,
                    max_ack_pending: 1024,
                    max_deliver: MAX_DELIVER,
                    ..Default::default()
                },
            )
            .await
            .map_err(nats)?;
        let handle = &handle;
        let messages = consumer.messages().await.map_err(nats)?;
        ready();
        messages
            .map(|m| m.map_err(nats))
            .try_for_each_concurrent(IN_FLIGHT, |message| async move {
                let taken = Taken {
                    subject: message.subject.to_string(),
                    payload: message.payload.clone(),
                    message,
                };
                let (taken, settle) = handle(taken).await;
                taken.done(settle).await;
                Ok(())
            })
            .await?;
        Err(RelayError::Ended)
    }
}

impl Taken {
    /// Its stream sequence (0 if the server did not say).
    pub(crate) fn sequence(&self) -> u64 {
        self.message.info().map_or(0, |i| i.stream_sequence)
    }

    /// Whether this is its first offer (not one again after a wait).
    pub(crate) fn first_offer(&self) -> bool {
        self.message.info().is_ok_and(|i| i.delivered <= 1)
    }

    /// Tells the stream what became of it; a lost answer only means it is
    /// offered again, and the inbox keeps it once.
    async fn done(self, settle: Settle) {
        let kind = match settle {
            Settle::Done | Settle::Drop => AckKind::Ack,
            Settle::Later => AckKind::Nak(Some(Duration::from_secs(10))),
        };
        if let Err(e) = self.message.double_ack_with(kind).await {
            tracing::warn!("relay: settling a message failed ({e}); it will be offered again");
        }
    }
}

/// A failed publish: [`RelayError::Unanswered`] when the cluster may
/// yet take it (no answer, no stream leader, the connection lost under
/// it: the sender keeps it for later), else what JetStream said.
fn publish_error(e: jetstream::context::PublishError) -> RelayError {
    use jetstream::context::PublishErrorKind as Kind;
    match e.kind() {
        Kind::TimedOut | Kind::StreamNotFound | Kind::BrokenPipe | Kind::MaxAckPending => {
            RelayError::Unanswered(e.to_string())
        }
        _ => nats(e),
    }
}

/// The `Nats-Msg-Id` of a publish of `frames` (one, or a bundle's) on
/// `subject`, keyed with this host's `key` ([`id_key`]): a retry (the
/// same frames: a frame is signed once, and the outbox keeps it) is
/// stored once, and two hosts' receipts of one message (the same uuid,
/// the same subject: a group's members each read it) are two. Keyed, so
/// that no other host can foretell it: a member of a group has the frame
/// sealed to the others too, and could otherwise publish first, under
/// their copies' ids, something JetStream keeps instead of them (it drops
/// the real publish as a duplicate, and its sender believes it stored).
pub(crate) fn message_id(key: &[u8; 64], subject: &str, frames: &[&[u8]]) -> String {
    use hmac::Mac;
    // A key of SHA-256's block size, as HMAC takes it.
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new(key.into());
    mac.update(b"messngr relay message id v3\0");
    mac.update(subject.as_bytes());
    for frame in frames {
        mac.update(&u64::try_from(frame.len()).unwrap_or(u64::MAX).to_be_bytes());
        mac.update(frame);
    }
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// This host's key for [`message_id`]: its host key's signature of a fixed
/// text (Ed25519 signs deterministically, so it is the same after a
/// restart, and only the host key makes it).
pub(crate) fn id_key(host: &messngr_secure::Identity) -> [u8; 64] {
    host.sign(b"messngr relay message id key v1")
}

/// The source a message the relay brought is stored with: this host's
/// address, port 0 (no TCP peer has it). The policy judges it as this
/// host's; a reader's receipt goes back through the relay.
pub(crate) fn relayed_source(address: std::net::Ipv4Addr) -> std::net::SocketAddr {
    std::net::SocketAddr::V4(std::net::SocketAddrV4::new(address, 0))
}

/// Whether a stored `source_addr` is one the relay brought (port 0, as
/// [`relayed_source`] gives it: no TCP peer or datagram has it), whatever
/// this host's address was then.
pub(crate) fn is_relayed_source(source_addr: &str) -> bool {
    source_addr
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.port() == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_names_host_and_recipient_in_hex() {
        assert_eq!(subject("h2", "ops2"), "messngr.mail.4832.4F505332");
        assert_eq!(subject("H2", "A.B*"), "messngr.mail.4832.412E422A");
    }

    #[test]
    fn a_message_id_differs_by_subject_and_frames_and_their_order_not_by_retry() {
        let k = [7u8; 64];
        let id = |s: &str, f: &[&[u8]]| message_id(&k, s, f);
        let (h2, h3) = (subject("H2", "ALICE"), subject("H3", "ALICE"));
        let (a, b): (&[u8], &[u8]) = (b"frame a", b"frame b");
        assert_eq!(id(&h2, &[a]), id(&h2, &[a]));
        assert_eq!(id(&h2, &[a]).len(), 32);
        assert_ne!(id(&h2, &[a]), id(&h3, &[a]));
        assert_ne!(id(&h2, &[a]), id(&h2, &[b]));
        assert_ne!(id(&h2, &[a, b]), id(&h2, &[b, a]));
        assert_ne!(id(&h2, &[a, b]), id(&h2, &[a]));
        // Where one frame ends is part of it.
        assert_ne!(id(&h2, &[b"ab", b"c"]), id(&h2, &[b"a", b"bc"]));
        // Another host's key (all another host knows) gives another id.
        assert_ne!(id(&h2, &[a]), message_id(&[8u8; 64], &h2, &[a]));
        // The key is the host key's, the same each time.
        let host = messngr_secure::Identity::generate().unwrap();
        assert_eq!(id_key(&host), id_key(&host));
        let other = messngr_secure::Identity::generate().unwrap();
        assert_ne!(id_key(&host), id_key(&other));
    }
}
