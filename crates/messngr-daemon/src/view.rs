//! A stored message as the API shows it (`messngr_api::MessageView`): what
//! the API server sends and what a hook reads on its stdin, so both carry
//! the one JSON shape `inbox --json` has.

use messngr_api::{Direction, MessageView};
use messngr_store::Message;

/// A stored message as clients see it.
pub(crate) fn message(m: &Message) -> MessageView {
    let time = messngr_api::time::rfc3339;
    MessageView {
        id: m.id,
        uuid: m.uuid.clone(),
        direction: match m.direction {
            messngr_store::Direction::In => Direction::In,
            messngr_store::Direction::Out => Direction::Out,
        },
        from: m.from.clone(),
        to: m.to.clone(),
        text: m.text.clone(),
        received_at: time(m.received_at),
        received_at_ms: m.received_at,
        transport: m.transport,
        verified: m.verified,
        source_addr: m.source_addr.clone(),
        codepage: m.codepage.clone(),
        lossy: m.lossy,
        raw: m.raw.clone(),
        sender_key: m.sender_key.clone(),
        priority: m.priority,
        expires_at: m.expires_at.map(time),
        expires_at_ms: m.expires_at,
        read_at: m.read_at.map(time),
        read_at_ms: m.read_at,
        owner_user: m.owner_user.clone(),
        notice_id: m.notice_id.clone(),
        in_reply_to: m.in_reply_to,
        sender_uid: m.sender_uid,
        popup_secs: m.popup_secs,
    }
}
