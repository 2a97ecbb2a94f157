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
    /// Who signed it, `alice@H2` (verified messngr messages, and local
    /// senders: `alice@` this host).
    #[serde(default)]
    pub author: Option<String>,
    /// Forwarded through the relay by a secure gateway from a legacy
    /// sender (`GW: smb from 10.0.0.7`): never verified; the gateway
    /// vouches for where it came from, not for who wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// When its author last changed it (a live notice), Unix ms.
    #[serde(default)]
    pub updated_at_ms: Option<i64>,
    /// When its author withdrew it (its text is gone), Unix ms.
    #[serde(default)]
    pub retracted_at_ms: Option<i64>,
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
    /// An alert (`messngr alert`, the Alerter), not a person's message.
    #[serde(default)]
    pub alert: bool,
    /// An alert's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// How many times an alert was raised and collapsed into this message
    /// (1 for every other message).
    #[serde(default = "one")]
    pub repeats: u32,
}

fn one() -> u32 {
    1
}

impl MessageView {
    /// Not read yet.
    pub fn is_unread(&self) -> bool {
        self.read_at_ms.is_none()
    }

    /// An alert's mark as people read it before the text: `ALERT`,
    /// `ALERT: TITLE`, with `(3 times)` once collapsed; `None` for a
    /// message that is no alert. The title is the sender's: sanitised.
    pub fn alert_mark(&self) -> Option<String> {
        if !self.alert {
            return None;
        }
        let mut s = match self.title.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(t) => format!("ALERT: {}", messngr_proto::text::sanitize_line(t)),
            None => "ALERT".to_owned(),
        };
        if self.repeats > 1 {
            s.push_str(&format!(" ({} times)", self.repeats));
        }
        Some(s)
    }

    /// Where the message came from and whether that is verified, as one
    /// short line people read before the text: `verified alice@H2` (a
    /// signature checked against H2's pinned key, or a local account sending
    /// through this host's daemon), `UNVERIFIED smb from 10.0.0.7:1040`,
    /// `UNVERIFIED samba hand-over`. Terminals, pop-ups, the tray, `messngr
    /// inbox` and `messngr read` show it where the text cannot push it out
    /// of view (before the text). Everything from the legacy network is
    /// unverified, and so is a messngr message that came unsigned.
    pub fn provenance(&self) -> String {
        let line = |s: &str| messngr_proto::text::sanitize_line(s).into_owned();
        match (
            self.verified,
            &self.author,
            self.sender_uid,
            &self.sender_key,
        ) {
            (true, Some(author), ..) => format!("verified {}", line(author)),
            (true, None, Some(uid), _) => format!("verified: local uid {uid}"),
            (true, None, None, Some(key)) => format!("verified: key {}", line(key)),
            (true, None, None, None) => format!("verified: {}", self.transport),
            (false, ..) if self.gateway.is_some() => format!(
                "UNVERIFIED, forwarded by gateway {}",
                line(self.gateway.as_deref().unwrap_or_default())
            ),
            (false, ..) => match (&self.source_addr, self.transport) {
                (Some(addr), t) => format!("UNVERIFIED {t} from {}", line(addr)),
                (None, crate::Transport::Samba) => "UNVERIFIED samba hand-over".to_owned(),
                (None, t) => format!("UNVERIFIED {t}"),
            },
        }
    }

    /// May break through do-not-disturb (and, on terminals, `mesg n`):
    /// urgent, received, and sent through this host's daemon by a local
    /// account (`sender_uid`, no source address). The daemon stores a local
    /// sender's urgent message as urgent only when the sender is root or in
    /// `admin_group` (decided from the API socket's peer uid when it is
    /// sent). From the network only a signed one interrupts: the receiving
    /// daemon keeps urgent only for verified authors in `urgent_senders`
    /// (default `root@*`), so an unsigned or unauthorised urgent message
    /// arrives as normal.
    pub fn interrupts(&self) -> bool {
        let local = self.sender_uid.is_some() && self.source_addr.is_none();
        let signed = self.verified && self.author.is_some() && self.retracted_at_ms.is_none();
        self.direction == Direction::In
            && self.priority == crate::Priority::Urgent
            && (local || signed)
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
            author: None,
            updated_at_ms: None,
            retracted_at_ms: None,
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
            alert: false,
            title: None,
            repeats: 1,
            gateway: None,
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
        // Urgent from the network never interrupts; from a local account
        // (stored urgent only for root and admin_group) it does.
        let urgent = MessageView {
            priority: Priority::Urgent,
            ..m.clone()
        };
        assert!(!urgent.interrupts());
        let local = MessageView {
            sender_uid: Some(0),
            source_addr: None,
            ..urgent.clone()
        };
        assert!(local.interrupts());
        let spoofed = MessageView {
            sender_uid: Some(0),
            ..urgent
        };
        assert!(
            !spoofed.interrupts(),
            "a message with a source address came from the network"
        );
        assert_eq!(local.provenance(), "UNVERIFIED smb");
        assert!(
            !MessageView {
                priority: Priority::Normal,
                ..local
            }
            .interrupts()
        );
        assert_eq!(m.provenance(), "UNVERIFIED smb from 10.77.0.2:1040");
        assert_eq!(m.alert_mark(), None);
        let alert = MessageView {
            alert: true,
            title: Some("disk\n\u{1b}[2J".into()),
            repeats: 3,
            ..m.clone()
        };
        assert_eq!(
            alert.alert_mark().as_deref(),
            Some("ALERT: disk^J^[[2J (3 times)")
        );
        let v = serde_json::to_value(&alert).unwrap();
        assert_eq!(
            (v["alert"].as_bool(), v["repeats"].as_u64()),
            (Some(true), Some(3))
        );
        // An older daemon's JSON (no alert fields) reads as no alert.
        let mut old = serde_json::to_value(&m).unwrap();
        for k in ["alert", "title", "repeats"] {
            old.as_object_mut().unwrap().remove(k);
        }
        let back: MessageView = serde_json::from_value(old).unwrap();
        assert_eq!((back.alert, back.repeats), (false, 1));
        let verified = MessageView {
            verified: true,
            sender_uid: Some(1000),
            source_addr: None,
            transport: Transport::Messngr,
            ..m.clone()
        };
        assert_eq!(verified.provenance(), "verified: local uid 1000");
        let handed = MessageView {
            transport: Transport::Samba,
            source_addr: None,
            ..m.clone()
        };
        assert_eq!(handed.provenance(), "UNVERIFIED samba hand-over");
        let odd = MessageView {
            source_addr: Some("x\n\u{1b}[2J".into()),
            ..m.clone()
        };
        assert_eq!(odd.provenance(), "UNVERIFIED smb from x^J^[[2J");
    }
}
