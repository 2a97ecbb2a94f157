//! A message on its way from a transport to the inbox, and the answer the
//! transport waits for.
//!
//! Why a channel and not a direct call: the receivers (TCP 139 sessions,
//! UDP 138, later RPC) run as many tasks; the inbox is one writer. Each
//! receiver hands over an [`Incoming`] and, where the sender waits for an
//! acknowledgement (SMB), holds its reply until the inbox says the message
//! is on disk ([`Stored`]) or could not be kept ([`NotStored`]).

use std::net::SocketAddr;
use std::time::SystemTime;

pub use messngr_proto::Transport;
use tokio::sync::{mpsc, oneshot};

/// A message as received: raw legacy bytes, nothing decoded yet.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// How it came.
    pub transport: Transport,
    /// Who sent it (IP and port).
    pub source: SocketAddr,
    /// The sender's name, raw OEM bytes.
    pub from: Vec<u8>,
    /// The recipient as the sender wrote it, raw.
    pub to: Vec<u8>,
    /// The text, raw, as its blocks concatenated.
    pub text: Vec<u8>,
    /// Where each block ends in `text` (for per-block charset detection).
    pub block_ends: Vec<usize>,
    /// When it was complete.
    pub received_at: SystemTime,
    /// What only a messngr peer sends (`None` for the legacy transports).
    pub native: Option<Native>,
}

/// The fields of a messngr-to-messngr message the legacy ones lack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Native {
    /// The sender's uuid: a retry carries the same one and is stored once.
    pub uuid: [u8; 16],
    /// How urgent the sender says it is.
    pub priority: messngr_store::Priority,
    /// Seconds its pop-up stays (`msg.exe /TIME`).
    pub popup_secs: Option<u32>,
    /// The sender's expiry (Unix ms): never shown after it.
    pub expires_at: Option<i64>,
    /// When its author sent it (Unix ms, the author's clock; SENT_AT, in
    /// the signed frame): orders an author's live notices.
    pub sent_at: Option<i64>,
    /// Forwarded by a relay gateway: `GW: smb from 10.0.0.7` (then never
    /// verified: `origin` is `None`).
    pub gateway: Option<String>,
    /// Verified: who signed it (`alice@H2`), the author key's fingerprint,
    /// and the signed frame; `None`: unsigned (an older messngr node).
    pub origin: Option<(String, String, Vec<u8>)>,
    /// A live notice: the uuid of the author's earlier message this one
    /// changes (its new text), or withdraws (`retract`). Not stored as a
    /// message of its own.
    pub replaces: Option<[u8; 16]>,
    /// With `replaces`: withdraw it.
    pub retract: bool,
    /// An alert's title and repeat count (ALERT, REPEATS).
    pub alert: Option<messngr_store::AlertMark>,
    /// Addressed to a group this host is in (the workgroup, or one it
    /// joined): a broadcast's signed copy, whose datagram follows.
    pub to_group: bool,
}

/// The message is on disk under this inbox id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored(pub i64, pub Again);

/// Whether a stored message was already on disk before this delivery: a
/// sender's retry after a lost answer, or (signed messages) a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Again {
    /// Stored now.
    New,
    /// The same uuid and content were stored before: kept once.
    Duplicate,
}

/// The message could not be kept (over the quota, disk full, store
/// unavailable); the sender must be told so, never acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message not stored: {reason}")]
pub struct NotStored {
    /// Why, in the terms the policy counts.
    pub kind: NotStoredKind,
    /// Why, for the log and a local caller.
    pub reason: String,
}

/// What kind of "not stored" it was: the sender hears "no room" either
/// way, `messngr status` counts them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotStoredKind {
    /// The inbox (or the recipient's share of it) is at its quota.
    QuotaFull,
    /// Anything else: disk full, store unavailable, shut down.
    Failed,
    /// A live notice for a message this inbox does not hold (from that
    /// author).
    NoSuchMessage,
    /// A signed message that came before and was deleted since: a replay,
    /// or a sender's retry of one. Not stored again; the sender may hear
    /// it was.
    Replayed,
    /// A live notice's update made no later than the one shown (it came
    /// late, or again): not applied; the sender may hear it was.
    Superseded,
}

impl NotStored {
    /// A failure other than the quota.
    pub fn failed(reason: impl Into<String>) -> Self {
        NotStored {
            kind: NotStoredKind::Failed,
            reason: reason.into(),
        }
    }

    /// The store's refusal, kept apart when it is the quota, a replay or a
    /// late update.
    pub fn from_store(e: &messngr_store::StoreError) -> Self {
        NotStored {
            kind: match e {
                messngr_store::StoreError::QuotaFull { .. } => NotStoredKind::QuotaFull,
                messngr_store::StoreError::Replayed { .. } => NotStoredKind::Replayed,
                messngr_store::StoreError::Superseded { .. } => NotStoredKind::Superseded,
                _ => NotStoredKind::Failed,
            },
            reason: e.to_string(),
        }
    }

    /// The reason the policy counts it under.
    pub(crate) fn refusal(&self) -> crate::policy::Refusal {
        match self.kind {
            NotStoredKind::QuotaFull => crate::policy::Refusal::QuotaFull,
            NotStoredKind::Failed => crate::policy::Refusal::NotStored,
            NotStoredKind::NoSuchMessage => crate::policy::Refusal::NotHere,
            NotStoredKind::Replayed => crate::policy::Refusal::Replayed,
            NotStoredKind::Superseded => crate::policy::Refusal::Superseded,
        }
    }
}

/// How far a signed message's SENT_AT may be from now here: clocks differ
/// a little (the relay refuses a frame further in the future, or older
/// than it keeps messages by more; an update further ahead is refused).
pub const CLOCK_SKEW: std::time::Duration = std::time::Duration::from_secs(600);

/// Whether SENT_AT `sent` (Unix ms) is further ahead of this host's clock
/// than [`CLOCK_SKEW`].
pub(crate) fn from_the_future(sent: i64) -> bool {
    let skew = i64::try_from(CLOCK_SKEW.as_millis()).unwrap_or(i64::MAX);
    sent > messngr_store::clock::now_ms().saturating_add(skew)
}

/// How long a receiver that answers its sender waits for the inbox before
/// it says "not stored" (a store that hangs must not hold a sender, nor
/// its place, forever).
pub const STORE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// One hand-over to the inbox.
#[derive(Debug)]
pub struct Delivery {
    /// The message.
    pub message: Incoming,
    /// Where the inbox answers; dropped unanswered means "not stored".
    pub done: Option<oneshot::Sender<Result<Stored, NotStored>>>,
}

/// The sending side of the inbox channel.
pub type InboxSender = mpsc::Sender<Delivery>;

/// Hands `message` to the inbox and waits until it is stored (or not).
pub async fn store(inbox: &InboxSender, message: Incoming) -> Result<Stored, NotStored> {
    let (tx, rx) = oneshot::channel();
    inbox
        .send(Delivery {
            message,
            done: Some(tx),
        })
        .await
        .map_err(|_| NotStored::failed("the inbox is shut down"))?;
    rx.await
        .unwrap_or_else(|_| Err(NotStored::failed("the inbox dropped the message")))
}
