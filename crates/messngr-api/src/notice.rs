//! Live notices: change or withdraw a message you sent, everywhere it was
//! delivered; and remind those who have not read it.
//!
//! Why requests of their own: they name a *sent* message (`messngr send`
//! prints its id), act on each of its recipients, and report per recipient
//! what happened, like a send.

use serde::{Deserialize, Serialize};

/// Give sent message `id` new text at every recipient (its pop-up is
/// replaced in place, it becomes unread again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    /// The sent message (from `messngr send`'s output).
    pub id: i64,
    /// The new text.
    pub text: String,
}

/// Withdraw sent message `id` at every recipient: its text is deleted
/// there and its pop-up says it was withdrawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retract {
    /// The sent message.
    pub id: i64,
}

/// Alert again only the recipients of sent message `id` who have not read
/// it (it becomes unread there and pops up again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remind {
    /// The sent message.
    pub id: i64,
}

/// What a notice did, per recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeView {
    /// The sent message.
    pub id: i64,
    /// Its uuid.
    pub uuid: String,
    /// Recipients whose copy changed (`H2`, `ALICE@H2`).
    pub reached: Vec<String>,
    /// Recipients it did not reach, each with why.
    pub failed: Vec<NoticeFailure>,
    /// It was kept on this host for the relay (down then) and withdrawn
    /// before it left: it reached nobody, and never will.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withdrawn_unsent: bool,
    /// It was kept on this host for the relay (down then) and changed
    /// before it left: it goes with the new text when the relay is back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub changed_unsent: bool,
}

/// A recipient a notice did not reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeFailure {
    /// The recipient.
    pub recipient: String,
    /// Why, in one line.
    pub error: String,
}
