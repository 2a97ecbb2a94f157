//! A stored message and what a receiver hands in: data only. How a
//! message is shown (its JSON shape, local times, the text export) is the
//! API's and the clients' business (`messngr_api::MessageView`).

pub use messngr_proto::{Priority, Transport};

use crate::clock;

/// Whether the message was received here or sent from here (sent ones are
/// kept for replies and for their receipts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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
    /// Who signed it, `account@HOST` (`alice@H2`); also set for a message
    /// a local account sent through this host's daemon. Only with
    /// `verified` or `sender_uid` ([`crate::StoreError::Invalid`]
    /// otherwise), 1 to [`crate::MAX_AUTHOR`] bytes.
    pub author: Option<String>,
    /// The signed frame as received, so that its signature can be checked
    /// again later or the message relayed. Only with `verified`, at most
    /// [`crate::MAX_SIGNED`] bytes.
    pub signed: Option<Vec<u8>>,
    /// The message is an alert (`messngr alert`, issue 12).
    pub alert: Option<AlertMark>,
    /// Forwarded by a relay gateway from a legacy sender: the gateway and
    /// where it says the message came from (never verified).
    pub gateway: Option<String>,
    /// A message sent from here (`Direction::Out`): the recipients it
    /// reached, recorded `delivered` in the same transaction (what
    /// [`crate::Store::add_recipients`] and [`crate::Store::set_receipt`]
    /// do one by one), so that keeping a sent message costs one COMMIT.
    pub delivered_to: Vec<String>,
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
            author: None,
            signed: None,
            alert: None,
            delivered_to: Vec::new(),
            gateway: None,
        }
    }
}

/// What marks a message as an alert: its title, and how many times it was
/// raised (identical alerts within the collapse window are one message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMark {
    /// The title (`None`: none), at most [`crate::MAX_TITLE`] bytes.
    pub title: Option<String>,
    /// Times raised, at least 1.
    pub repeats: u32,
}

impl From<messngr_proto::wire::native::Alert<'_>> for AlertMark {
    /// The mark a native frame's ALERT and REPEATS give (an empty title is
    /// none).
    fn from(a: messngr_proto::wire::native::Alert<'_>) -> Self {
        AlertMark {
            title: (!a.title.trim().is_empty()).then(|| a.title.to_owned()),
            repeats: a.repeats,
        }
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Who signed it (`alice@H2`), or the local account that sent it.
    pub author: Option<String>,
    /// The signed frame as received (of the last update or the retraction,
    /// once there was one).
    pub signed: Option<Vec<u8>>,
    /// When its author last updated it (a live notice; Unix ms).
    pub updated_at: Option<i64>,
    /// When its author withdrew it (Unix ms); its text is then empty.
    pub retracted_at: Option<i64>,
    /// An alert's mark.
    pub alert: Option<AlertMark>,
    /// Forwarded by a relay gateway (`GW: smb from 10.0.0.7`).
    pub gateway: Option<String>,
}

impl Message {
    /// Not read yet.
    pub fn is_unread(&self) -> bool {
        self.read_at.is_none()
    }

    /// Withdrawn by its author (live notices).
    pub fn is_retracted(&self) -> bool {
        self.retracted_at.is_some()
    }
}

/// A fresh message uuid: 32 lowercase hex digits, a UUIDv7 (RFC 9562):
/// the time in milliseconds, then 74 random bits.
///
/// Why time first: the uuid is a key of the `messages` uuid index, of the
/// receipts and of the live-notice links. A random (v4) key lands on a
/// random page of each of those B-trees, so every message read and rewrote
/// a page per index, a cost that grows with the inbox; a key that grows
/// with time is appended at each tree's right edge, on pages already in
/// the cache. The time it shows is the one the message carries anyway.
pub fn new_uuid() -> String {
    uuid::Uuid::from_bytes(new_uuid_bytes())
        .simple()
        .to_string()
}

/// [`new_uuid`] as the 16 bytes a native frame carries.
pub fn new_uuid_bytes() -> [u8; 16] {
    uuid::Uuid::now_v7().into_bytes()
}

/// Whether `s` has the uuid form (32 lowercase hex digits).
pub(crate) fn is_uuid(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
