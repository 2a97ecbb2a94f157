//! Values the unit tests of several modules share.

use messngr_store::Message;

/// A received SMB message `id` from `from` to `to`, unread, host-owned.
pub(crate) fn message(id: i64, from: &str, to: &str, text: &str) -> Message {
    Message {
        id,
        uuid: "0".repeat(32),
        direction: messngr_store::Direction::In,
        received_at: 1_795_780_800_000,
        transport: messngr_proto::Transport::Smb,
        source_addr: None,
        from: from.into(),
        to: to.into(),
        text: text.into(),
        raw: text.as_bytes().to_vec(),
        codepage: None,
        lossy: false,
        verified: false,
        sender_key: None,
        priority: messngr_proto::Priority::Normal,
        expires_at: None,
        read_at: None,
        owner_user: None,
        notice_id: None,
        in_reply_to: None,
        sender_uid: None,
        popup_secs: None,
        author: None,
        signed: None,
        updated_at: None,
        retracted_at: None,
        alert: None,
        gateway: None,
    }
}
