//! Tracking a sent message: who got it, who read it (`messngr track`,
//! `messngr send --wait`).
//!
//! Why a request of its own: a message sent to many (`/users`, several
//! hosts) has one state per recipient, reported by receipts the daemon
//! records as they come; the sender asks for them by the id `send`
//! returned, and may wait until everyone has read it, like `msg /W`.

use serde::{Deserialize, Serialize};

/// The most seconds one [`Track`] may wait.
pub const MAX_WAIT_SECS: u32 = 86_400;

/// Show the receipts of a message the caller sent (root: any sent
/// message). With `wait_secs`, answer once every recipient has read it or
/// that many seconds passed, whichever comes first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    /// The sent message's id (`SendView::id`).
    pub id: i64,
    /// Wait up to this many seconds (1..=[`MAX_WAIT_SECS`]) for every read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_secs: Option<u32>,
}

/// One recipient's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientView {
    /// `H2`, or `ALICE@H2` for a name H2 holds.
    pub name: String,
    /// `sent`, `delivered` or `read`.
    pub state: String,
    /// When it reached that state (Unix ms).
    pub at_ms: i64,
}

impl RecipientView {
    /// Whether this recipient has read the message.
    pub fn is_read(&self) -> bool {
        self.state == "read"
    }
}

/// A sent message and its recipients' receipts: "2 of 3 read".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackView {
    /// The sent message's id.
    pub id: i64,
    /// Its uuid, the same at every recipient.
    pub uuid: String,
    /// The target as written (`H2`, `/users`).
    pub to: String,
    /// The text sent.
    pub text: String,
    /// When it was sent (Unix ms).
    pub sent_at_ms: i64,
    /// Recipients recorded.
    pub total: u64,
    /// Of those, delivered or read.
    pub delivered: u64,
    /// Of those, read.
    pub read: u64,
    /// Each recipient, by name.
    pub recipients: Vec<RecipientView>,
}

impl TrackView {
    /// Whether every recipient has read it (and there is one).
    pub fn all_read(&self) -> bool {
        self.total > 0 && self.read == self.total
    }
}
