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
        author: m.author.clone(),
        gateway: m.gateway.clone(),
        updated_at_ms: m.updated_at,
        retracted_at_ms: m.retracted_at,
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
        alert: m.alert.is_some(),
        title: m.alert.as_ref().and_then(|a| a.title.clone()),
        repeats: m.alert.as_ref().map_or(1, |a| a.repeats),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The keys `inbox --json`, `export` and a hook's stdin have always had,
    /// made from a stored message.
    #[test]
    fn a_stored_message_shows_as_inbox_json_always_did() {
        let mut m = crate::testing::message(1, "ALICE", "H1", "hi\u{0}there");
        m.received_at = 1_795_773_600_123;
        m.raw = vec![0x68, 0x69, 0x00, 0xff];
        m.priority = messngr_proto::Priority::Urgent;
        let v = serde_json::to_value(message(&m)).unwrap();
        assert_eq!(v["id"], 1);
        assert_eq!(v["from"], "ALICE");
        assert_eq!(v["received_at"], "2026-11-27T10:00:00.123Z");
        assert_eq!(v["received_at_ms"], 1_795_773_600_123_i64);
        assert_eq!(v["transport"], "smb");
        assert_eq!(v["direction"], "in");
        assert_eq!(v["verified"], false);
        assert_eq!(v["priority"], "urgent");
        assert_eq!(v["raw"], "686900ff");
        assert_eq!(v["read_at"], serde_json::Value::Null);
        assert_eq!(v["read_at_ms"], serde_json::Value::Null);
        for key in [
            "uuid",
            "to",
            "text",
            "source_addr",
            "codepage",
            "lossy",
            "sender_key",
            "expires_at",
            "expires_at_ms",
            "owner_user",
            "notice_id",
            "in_reply_to",
            "sender_uid",
            "popup_secs",
        ] {
            assert!(v.get(key).is_some(), "missing {key} in {v}");
        }
    }
}
