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
//!   Noise X), bound to the subject; the headers hold a digest of the uuid
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
/// Messages of this host checked and stored at once: the inbox commits
/// the ones that arrive together in one transaction.
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
        let stream = super::streams::open(js, wanted, MAX_AGE).await?;
        Ok(Mail {
            js: js.clone(),
            stream,
        })
    }

    /// Publishes `envelope` on `subject` with the message id `id` (see
    /// [`message_id`], [`bundle_id`]): JetStream stores a retry of it
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
            .map_err(nats)?
            .await
            .map_err(nats)?;
        Ok(ack.sequence)
    }

    /// Takes this host's messages, up to [`IN_FLIGHT`] at a time, handing
    /// each to `handle`, until the consumer's stream ends (an error: the
    /// caller opens again).
    pub(crate) async fn serve<F, Fut>(&self, host: &str, handle: F) -> Result<(), RelayError>
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
        consumer
            .messages()
            .await
            .map_err(nats)?
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

/// The `Nats-Msg-Id` of `what` (a message, a receipt) about the message
/// `uuid`, published on `subject`: one message to a user at two hosts is
/// two publishes, a retry of either is one. A digest of the uuid, not the
/// uuid: the uuid is what the receiver stores the message under, and must
/// not be learnt on the bus (someone could take it first).
pub(crate) fn message_id(uuid: [u8; 16], what: &str, subject: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"messngr relay message id\0");
    h.update(uuid);
    h.update(what.as_bytes());
    h.update(b"\0");
    h.update(subject.as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// The `Nats-Msg-Id` of a bundle of `items` (uuid, what) on `subject`:
/// a retry of the same bundle is stored once.
pub(crate) fn bundle_id<'a>(
    items: impl Iterator<Item = ([u8; 16], &'a str)>,
    subject: &str,
) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"messngr relay bundle id\0");
    h.update(subject.as_bytes());
    for (uuid, what) in items {
        h.update(b"\0");
        h.update(uuid);
        h.update(what.as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

/// The source a message the relay brought is stored with: this host's
/// address, port 0 (no TCP peer has it). The policy judges it as this
/// host's; a reader's receipt goes back through the relay.
pub(crate) fn relayed_source(address: std::net::Ipv4Addr) -> std::net::SocketAddr {
    std::net::SocketAddr::V4(std::net::SocketAddrV4::new(address, 0))
}

/// Whether a stored `source_addr` is [`relayed_source`]'s.
pub(crate) fn came_by_relay(source_addr: Option<&str>, address: std::net::Ipv4Addr) -> bool {
    source_addr.and_then(|s| s.parse().ok()) == Some(relayed_source(address))
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
    fn a_message_id_differs_by_subject_and_kind_and_not_by_retry() {
        let u = [7; 16];
        let (h2, h3) = (subject("H2", "ALICE"), subject("H3", "ALICE"));
        assert_eq!(message_id(u, "message", &h2), message_id(u, "message", &h2));
        assert_ne!(message_id(u, "message", &h2), message_id(u, "message", &h3));
        assert_ne!(message_id(u, "message", &h2), message_id(u, "read", &h2));
        assert_ne!(
            message_id(u, "message", &h2),
            message_id([8; 16], "message", &h2)
        );
    }

    #[test]
    fn a_bundle_id_differs_by_its_messages_and_their_order_and_not_by_retry() {
        let h2 = subject("H2", "ALICE");
        let ab = [([1; 16], "message"), ([2; 16], "message")];
        let ba = [([2; 16], "message"), ([1; 16], "message")];
        let id = |items: &[([u8; 16], &'static str)], s: &str| bundle_id(items.iter().copied(), s);
        assert_eq!(id(&ab, &h2), id(&ab, &h2));
        assert_ne!(id(&ab, &h2), id(&ba, &h2));
        assert_ne!(id(&ab, &h2), id(&ab, &subject("H3", "ALICE")));
        assert_ne!(id(&ab, &h2), id(&ab[..1], &h2));
        assert_ne!(id(&ab[..1], &h2), message_id([1; 16], "message", &h2));
    }
}
