//! What a local account sent, kept so that it can be tracked and changed:
//! one `out` message per send, with a receipt row per recipient.
//!
//! Why the sender keeps it: receipts (`messngr track`, `send --wait`) and
//! live notices (update, retract) name a message the sender sent, by the
//! uuid every recipient stored it under; the recipients are the ones it
//! reached, each as a label that also says which host may report on it
//! (`H2` for a host's own name, `ALICE@H2` for a name another host holds:
//! a receipt is believed only from that host). Only messages that can be
//! tracked are kept: messngr ones (encrypted, or stored here), not legacy
//! SMB or broadcast datagrams, whose receivers never answer.

use messngr_store::{Direction, NewMessage, Transport};

use super::SendContext;

pub(crate) use crate::recipient::{recipient, reports_on};

/// A sent message to keep.
pub(crate) struct Sent<'a> {
    /// The uuid every recipient stored it under (32 hex digits).
    pub(crate) uuid: String,
    /// The sender's uid and login name.
    pub(crate) uid: u32,
    pub(crate) login: &'a str,
    /// The target as written (`H2`, `/users`).
    pub(crate) target: &'a str,
    pub(crate) text: &'a str,
    /// Who it reached, each already delivered.
    pub(crate) recipients: Vec<String>,
    /// The signed frame (remote sends).
    pub(crate) signed: Option<Vec<u8>>,
    /// An alert's mark (its sender's copy counts the repeats too).
    pub(crate) alert: Option<messngr_proto::wire::native::Alert<'a>>,
}

/// Stores `sent` as an `out` message with its recipients delivered; its
/// id, or `None` (logged: the message itself was delivered, only tracking
/// is lost).
pub(crate) async fn keep(ctx: &SendContext, sent: Sent<'_>) -> Option<i64> {
    let uuid = sent.uuid.clone();
    kept(&uuid, ctx.inbox.handle().insert(copy(ctx, sent)).await)
}

/// `sent` as the `out` message to store, with its recipients delivered
/// (one insert, one COMMIT).
pub(crate) fn copy(ctx: &SendContext, sent: Sent<'_>) -> NewMessage {
    let mut m = NewMessage::received(
        Transport::Messngr,
        sent.login,
        sent.target,
        sent.text,
        sent.text.as_bytes(),
    );
    m.uuid = Some(sent.uuid.clone());
    m.direction = Direction::Out;
    m.codepage = Some("utf-8".into());
    m.verified = true;
    m.sender_uid = Some(sent.uid);
    m.author = Some(format!("{}@{}", sent.login, ctx.settings.netbios_name));
    m.owner_user = Some(sent.login.to_owned());
    m.signed = sent.signed;
    m.alert = sent.alert.map(messngr_store::AlertMark::from);
    m.delivered_to = sent.recipients;
    m
}

/// The id of the sender's copy of `uuid` as stored, or `None` (logged: the
/// message itself was delivered, only tracking is lost).
pub(crate) fn kept(
    uuid: &str,
    stored: messngr_store::Result<messngr_store::Message>,
) -> Option<i64> {
    match stored {
        Ok(s) => Some(s.id),
        Err(e) => {
            tracing::warn!("sent message {uuid} delivered but not kept for tracking: {e}");
            None
        }
    }
}
