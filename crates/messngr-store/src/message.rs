//! A stored message, what a receiver hands in, and their JSON shape.
//!
//! The JSON form is the contract of `messngr inbox --json` and of the
//! export: `id`, `uuid`, `from`, `to`, `text`, `received_at` (RFC 3339 UTC)
//! with `received_at_ms` (Unix ms), `transport`, `verified`, and the rest of
//! the columns. Every time is given both ways; the `_ms` number is the
//! authority when JSON is read back. `raw` (the bytes as they arrived) is
//! lowercase hex.

use serde::{Deserialize, Serialize};

pub use messngr_proto::{Priority, Transport};

use crate::clock;

/// Whether the message was received here or sent from here (sent ones are
/// kept for replies and for their receipts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Received: the inbox.
    #[default]
    In,
    /// Sent from this host.
    Out,
}

impl Direction {
    /// The stored name, `in` or `out`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// What a receiver hands to [`crate::Store::insert`]. The store adds the
/// id (and a uuid when none is given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// A uuid the sender gave (messngr peers, for end-to-end deduplication);
    /// `None` for legacy transports: the store makes one.
    pub uuid: Option<String>,
    /// Received or sent.
    pub direction: Direction,
    /// When it was received (Unix ms).
    pub received_at: i64,
    /// The wire.
    pub transport: Transport,
    /// The peer, as the transport knows it (`192.0.2.7:1040`).
    pub source_addr: Option<String>,
    /// The sender's name as given on the wire (decoded).
    pub from: String,
    /// The recipient name it was addressed to.
    pub to: String,
    /// The decoded text (UTF-8, line breaks as LF, control characters kept).
    pub text: String,
    /// The text bytes as they arrived, before decoding.
    pub raw: Vec<u8>,
    /// The code page the bytes were decoded with (`cp850`, `utf-8`).
    pub codepage: Option<String>,
    /// Some bytes could not be decoded and became U+FFFD.
    pub lossy: bool,
    /// The sender was authenticated (only possible on [`Transport::Messngr`]).
    pub verified: bool,
    /// The sender's key fingerprint (messngr-to-messngr signed messages).
    pub sender_key: Option<String>,
    /// Priority.
    pub priority: Priority,
    /// When the message stops being relevant (Unix ms).
    pub expires_at: Option<i64>,
    /// The local user whose inbox it is (`None`: the host's).
    pub owner_user: Option<String>,
    /// The sender's id for a live notice that may be updated or retracted.
    pub notice_id: Option<String>,
    /// The stored message this one answers.
    pub in_reply_to: Option<i64>,
    /// The local account that sent it through this host's daemon (its uid,
    /// from SO_PEERCRED); `None` for anything from the network.
    pub sender_uid: Option<u32>,
    /// Seconds the pop-up stays before it closes itself (`msg.exe /TIME`);
    /// `None`: the desktop's default.
    pub popup_secs: Option<u32>,
}

impl NewMessage {
    /// A message received now on a legacy transport: not verified, normal
    /// priority, the host's inbox; the caller fills in the rest.
    pub fn received(transport: Transport, from: &str, to: &str, text: &str, raw: &[u8]) -> Self {
        NewMessage {
            uuid: None,
            direction: Direction::In,
            received_at: clock::now_ms(),
            transport,
            source_addr: None,
            from: from.to_owned(),
            to: to.to_owned(),
            text: text.to_owned(),
            raw: raw.to_vec(),
            codepage: None,
            lossy: false,
            verified: false,
            sender_key: None,
            priority: Priority::Normal,
            expires_at: None,
            owner_user: None,
            notice_id: None,
            in_reply_to: None,
            sender_uid: None,
            popup_secs: None,
        }
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "MessageJson", try_from = "MessageJson")]
pub struct Message {
    /// The local id (`messngr read ID`); never reused, even after a delete.
    pub id: i64,
    /// 32 lowercase hex digits, the same on every node that holds it.
    pub uuid: String,
    /// Received or sent.
    pub direction: Direction,
    /// Unix ms.
    pub received_at: i64,
    /// The wire.
    pub transport: Transport,
    /// The peer's address.
    pub source_addr: Option<String>,
    /// Sender name.
    pub from: String,
    /// Recipient name.
    pub to: String,
    /// Decoded text.
    pub text: String,
    /// Original bytes.
    pub raw: Vec<u8>,
    /// Code page of `raw`.
    pub codepage: Option<String>,
    /// Decoding replaced undecodable bytes.
    pub lossy: bool,
    /// The sender was authenticated.
    pub verified: bool,
    /// Sender key fingerprint.
    pub sender_key: Option<String>,
    /// Priority.
    pub priority: Priority,
    /// Expiry (Unix ms).
    pub expires_at: Option<i64>,
    /// When it was first read (Unix ms); `None`: unread.
    pub read_at: Option<i64>,
    /// Owning local user.
    pub owner_user: Option<String>,
    /// Live notice id.
    pub notice_id: Option<String>,
    /// The message this one answers.
    pub in_reply_to: Option<i64>,
    /// The local sender's uid (sent through this host's daemon).
    pub sender_uid: Option<u32>,
    /// Seconds its pop-up stays.
    pub popup_secs: Option<u32>,
}

impl Message {
    /// Not read yet.
    pub fn is_unread(&self) -> bool {
        self.read_at.is_none()
    }

    /// Urgent and sent by root on this host: the one kind of message that
    /// may be written on a terminal whose user said `mesg n` (as `wall`
    /// run by root does).
    pub fn urgent_from_root(&self) -> bool {
        self.priority == Priority::Urgent && self.sender_uid == Some(0)
    }
}

/// The JSON shape of a [`Message`] (see the module doc).
#[derive(Serialize, Deserialize)]
struct MessageJson {
    id: i64,
    uuid: String,
    direction: Direction,
    from: String,
    to: String,
    text: String,
    #[serde(default)]
    received_at: String,
    received_at_ms: i64,
    transport: Transport,
    verified: bool,
    source_addr: Option<String>,
    codepage: Option<String>,
    lossy: bool,
    raw: String,
    sender_key: Option<String>,
    priority: Priority,
    #[serde(default)]
    expires_at: Option<String>,
    expires_at_ms: Option<i64>,
    #[serde(default)]
    read_at: Option<String>,
    read_at_ms: Option<i64>,
    owner_user: Option<String>,
    notice_id: Option<String>,
    in_reply_to: Option<i64>,
    #[serde(default)]
    sender_uid: Option<u32>,
    #[serde(default)]
    popup_secs: Option<u32>,
}

impl From<Message> for MessageJson {
    fn from(m: Message) -> Self {
        MessageJson {
            id: m.id,
            uuid: m.uuid,
            direction: m.direction,
            from: m.from,
            to: m.to,
            text: m.text,
            received_at: clock::rfc3339(m.received_at),
            received_at_ms: m.received_at,
            transport: m.transport,
            verified: m.verified,
            source_addr: m.source_addr,
            codepage: m.codepage,
            lossy: m.lossy,
            raw: hex(&m.raw),
            sender_key: m.sender_key,
            priority: m.priority,
            expires_at: m.expires_at.map(clock::rfc3339),
            expires_at_ms: m.expires_at,
            read_at: m.read_at.map(clock::rfc3339),
            read_at_ms: m.read_at,
            owner_user: m.owner_user,
            notice_id: m.notice_id,
            in_reply_to: m.in_reply_to,
            sender_uid: m.sender_uid,
            popup_secs: m.popup_secs,
        }
    }
}

impl TryFrom<MessageJson> for Message {
    type Error = String;

    fn try_from(j: MessageJson) -> Result<Self, String> {
        Ok(Message {
            id: j.id,
            uuid: j.uuid,
            direction: j.direction,
            received_at: j.received_at_ms,
            transport: j.transport,
            source_addr: j.source_addr,
            from: j.from,
            to: j.to,
            text: j.text,
            raw: unhex(&j.raw).ok_or("raw: not an even number of hex digits")?,
            codepage: j.codepage,
            lossy: j.lossy,
            verified: j.verified,
            sender_key: j.sender_key,
            priority: j.priority,
            expires_at: j.expires_at_ms,
            read_at: j.read_at_ms,
            owner_user: j.owner_user,
            notice_id: j.notice_id,
            in_reply_to: j.in_reply_to,
            sender_uid: j.sender_uid,
            popup_secs: j.popup_secs,
        })
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let digits = s.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|p| {
            let hi = char::from(p[0]).to_digit(16)?;
            let lo = char::from(p[1]).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

/// A fresh uuid: 128 random bits as 32 lowercase hex digits.
pub(crate) fn new_uuid() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(hex(&bytes))
}

/// Whether `s` has the uuid form (32 lowercase hex digits).
pub(crate) fn is_uuid(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
