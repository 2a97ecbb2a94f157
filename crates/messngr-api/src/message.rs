//! A message as the API shows it: what `messngr inbox --json`, `read
//! --json`, `export` and the agent's follow stream carry.
//!
//! The JSON shape is a contract with scripts (`jq '.[] | .text'`): every
//! time is given both ways, RFC 3339 UTC (`received_at`) and Unix ms
//! (`received_at_ms`, the authority), and `raw`, the bytes as they came,
//! is lowercase hex. Fields are only ever added.

use serde::{Deserialize, Serialize};

use crate::{Priority, Transport};

/// Received here or sent from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Received: the inbox.
    #[default]
    In,
    /// Sent from this host.
    Out,
}

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    /// The local id (`messngr read ID`); never reused.
    pub id: i64,
    /// 32 lowercase hex digits, the same on every node that holds it.
    pub uuid: String,
    /// Received or sent.
    pub direction: Direction,
    /// The sender's name as given on the wire (decoded).
    pub from: String,
    /// The recipient name it was addressed to.
    pub to: String,
    /// The decoded text (UTF-8, LF line breaks). May hold control
    /// characters: show it through `sanitize_for_display`.
    pub text: String,
    /// When it was received, RFC 3339 UTC with milliseconds.
    #[serde(default)]
    pub received_at: String,
    /// When it was received, Unix ms.
    pub received_at_ms: i64,
    /// The wire it came by.
    pub transport: Transport,
    /// The sender was authenticated (a local account, later a signed
    /// messngr peer); never on a legacy transport.
    pub verified: bool,
    /// The peer's address (`10.0.0.7:1040`), if it came from the network.
    pub source_addr: Option<String>,
    /// The code page the bytes were decoded with.
    pub codepage: Option<String>,
    /// Some bytes could not be decoded and became U+FFFD.
    pub lossy: bool,
    /// The text bytes as they arrived, lowercase hex.
    #[serde(with = "hex")]
    pub raw: Vec<u8>,
    /// The sender's key fingerprint (signed messngr messages).
    pub sender_key: Option<String>,
    /// How urgent the sender says it is.
    pub priority: Priority,
    /// When it stops being relevant, RFC 3339.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// When it stops being relevant, Unix ms.
    pub expires_at_ms: Option<i64>,
    /// When it was first read, RFC 3339; `None`: unread.
    #[serde(default)]
    pub read_at: Option<String>,
    /// When it was first read, Unix ms.
    pub read_at_ms: Option<i64>,
    /// The local user whose inbox it is (`None`: the host's).
    pub owner_user: Option<String>,
    /// A live notice's id.
    pub notice_id: Option<String>,
    /// The message this one answers.
    pub in_reply_to: Option<i64>,
    /// The local account that sent it through this host's daemon.
    #[serde(default)]
    pub sender_uid: Option<u32>,
    /// Seconds its pop-up stays (`msg.exe /TIME`); `None`: the desktop's
    /// default.
    #[serde(default)]
    pub popup_secs: Option<u32>,
}

impl MessageView {
    /// Not read yet.
    pub fn is_unread(&self) -> bool {
        self.read_at_ms.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_shape_is_the_documented_one() {
        let m = MessageView {
            id: 7,
            uuid: "00112233445566778899aabbccddeeff".into(),
            direction: Direction::In,
            from: "H2".into(),
            to: "H1".into(),
            text: "hi".into(),
            received_at: crate::time::rfc3339(1_795_773_600_123),
            received_at_ms: 1_795_773_600_123,
            transport: Transport::Smb,
            verified: false,
            source_addr: Some("10.77.0.2:1040".into()),
            codepage: Some("cp850".into()),
            lossy: false,
            raw: b"hi\0".to_vec(),
            sender_key: None,
            priority: Priority::Normal,
            expires_at: None,
            expires_at_ms: None,
            read_at: None,
            read_at_ms: None,
            owner_user: None,
            notice_id: None,
            in_reply_to: None,
            sender_uid: None,
            popup_secs: None,
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["received_at"], "2026-11-27T10:00:00.123Z");
        assert_eq!(v["transport"], "smb");
        assert_eq!(v["priority"], "normal");
        assert_eq!(v["direction"], "in");
        assert_eq!(v["raw"], "686900");
        assert!(v["read_at"].is_null());
        let back: MessageView = serde_json::from_value(v).unwrap();
        assert_eq!(back, m);
        assert!(back.is_unread());
    }
}
