//! The two requests answered by a stream of lines instead of one reply:
//! `Follow` (the agent's live feed) and `Export`.
//!
//! Why typed events: a follower must tell a new message from a change of
//! its quiet setting and from "you missed some" — before, "lagged" arrived
//! as an error inside a success stream. Each line is now one
//! [`FollowEvent`]; the connection's first answer is a [`Following`] reply.

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::inbox::QuietChange;
use crate::message::MessageView;

/// Keep the connection open and stream every newly stored message the
/// caller may see, and the caller's quiet changes (`messngr agent`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Follow {}

/// The first answer to [`Follow`]: the subscription is in place; from
/// here on each line is a [`FollowEvent`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Following {}

/// One line of the follow stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowEvent {
    /// A message was stored (only those the follower may see).
    Message(Box<MessageView>),
    /// The follower's own do-not-disturb changed.
    Quiet(QuietChange),
    /// A recipient of a message the follower sent got or read it.
    Receipt(ReceiptEvent),
    /// The follower fell behind and missed `missed` events: it should ask
    /// the inbox for what is unread, and ask whether it is quiet.
    Lagged {
        /// How many it missed.
        missed: u64,
    },
}

/// A receipt, as the sender's follow stream carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptEvent {
    /// The sent message's id (`messngr track ID`).
    pub id: i64,
    /// Its uuid.
    pub uuid: String,
    /// The recipient and its new state.
    pub recipient: crate::track::RecipientView,
}

/// One line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportItem {
    /// The next message, oldest first.
    Message(Box<MessageView>),
    /// The export is complete: this many messages.
    End {
        /// How many were sent.
        count: u64,
    },
    /// The export stopped here.
    Error(ApiError),
}
