//! messngr-to-messngr frames: what two messngr nodes say to each other
//! inside the NBT session a `net send` would use (docs/native.md).
//!
//! Why a format of our own: the SMB message commands carry a sender name, a
//! recipient name and text, nothing else. Priority, `msg.exe /TIME` and,
//! later, signatures, keys and receipts need a frame that can grow. It
//! travels as the payload of an NBSS SESSION MESSAGE after the session
//! request to `NAME<03>`, where an SMB would be; its magic tells it apart
//! (SMB1 is `FF 'SMB'`, SMB2 `FE 'SMB'`, transform `FD`, compressed `FC`).
//!
//! ```text
//!  0  MAGIC    4 bytes  FB 'M' 'N' 'G'
//!  4  VERSION  u8       1
//!  5  KIND     u8       1 Message, 2 Accepted, 3 Refused, 4 Handshake,
//!                       5 Sealed, 6 Receipt, 7 Bundle (see [`bundle`])
//!  6  fields   TLV*     to the end of the NBSS payload (Sealed: opaque
//!                       chunks instead, see [`chunks`]):
//!       TYPE   u8       bit 7 set: critical (a reader that does not know it
//!                       must refuse the frame); clear: skip it if unknown
//!       LENGTH u16 BE   bytes of VALUE
//!       VALUE  LENGTH bytes
//! ```
//!
//! Integers are big-endian. Text fields are UTF-8 (validated on parse).
//! Normalisations when emitting what was parsed: fields are written in
//! ascending TYPE order, unknown (non-critical) fields are dropped, and a
//! Message always carries PRIORITY.

use super::codec::Reader;
use super::{Error, Result};

pub mod bundle;
mod found;
mod hello;
mod repr;
pub use hello::Hello;
pub use repr::{Alert, Message, Receipt, ReceiptState, Repr, Signer};

/// The first four bytes of every native frame.
pub const MAGIC: [u8; 4] = *b"\xFBMNG";
/// The only version this implementation speaks.
pub const VERSION: u8 = 1;
/// Bytes before the first field: magic, version, kind.
pub const HEADER_LEN: usize = 6;
/// Bytes of a field's TYPE and LENGTH.
pub const FIELD_HEADER_LEN: usize = 3;
/// TYPE bit 7: a reader that does not know the field must refuse the frame.
pub const CRITICAL: u8 = 0x80;

/// Longest text: 64 KiB, the SMB receiver's whole-message limit (less one
/// byte, so that it fits the u16 LENGTH).
pub const MAX_TEXT_LEN: usize = 0xFFFF;
/// Longest sender or recipient name, as the SMB receiver's.
pub const MAX_NAME_LEN: usize = 255;
/// Longest refusal text.
pub const MAX_REASON_LEN: usize = 1024;
/// Longest `popup_secs`: one day (`msg.exe /TIME` has no upper bound; a
/// pop-up that outlives a day is a pop-up that never closes).
pub const MAX_POPUP_SECS: u32 = 86_400;
/// Longest AUTHOR (an account name).
pub const MAX_AUTHOR_LEN: usize = 64;
/// Longest alert title (ALERT).
pub const MAX_TITLE_LEN: usize = 255;
/// Longest HOST: a NetBIOS name without its suffix byte.
pub const MAX_HOST_LEN: usize = 15;
/// Largest NBSS frame (header included) a reader should buffer for a
/// plaintext native frame: a full-size text, names, signer fields
/// (about 300 bytes), and room for fields still to come. The inner frame of
/// a SEALED frame is held to the same limit (its payload at most
/// `MAX_FRAME_LEN - 4` bytes).
pub const MAX_FRAME_LEN: usize = 80 * 1024;
/// Bytes of a SEALED chunk's LENGTH.
pub const CHUNK_HEADER_LEN: usize = 2;
/// Bytes of the authentication tag in every chunk (ChaChaPoly).
pub const TAG_LEN: usize = 16;
/// Longest chunk (a Noise transport message): its LENGTH is a u16.
pub const MAX_CHUNK_LEN: usize = 0xFFFF;
/// Most plaintext one chunk carries. A sender fills each chunk before it
/// starts the next, so an inner frame up to [`MAX_FRAME_LEN`] takes at most
/// two chunks.
pub const MAX_CHUNK_PLAINTEXT: usize = MAX_CHUNK_LEN - TAG_LEN;
/// What sealing adds to an inner frame of at most [`MAX_FRAME_LEN`]: the
/// SEALED header and two chunk headers and tags (6 + 2 * (2 + 16) = 42).
pub const SEALED_OVERHEAD: usize = HEADER_LEN + 2 * (CHUNK_HEADER_LEN + TAG_LEN);
/// Largest NBSS frame (header included) a reader should buffer for a SEALED
/// frame: a sealed inner frame of the largest size.
pub const MAX_SEALED_LEN: usize = MAX_FRAME_LEN + SEALED_OVERHEAD;
/// What a signature covers: this, then the frame emitted without its
/// SIGNATURE field ([`Repr::signed_bytes`]).
pub const SIGNED_PREFIX: &[u8] = b"messngr signed v1\0";

/// Field TYPE values.
pub mod field {
    /// 16 bytes: the message's uuid, the same on every node (dedupe).
    pub const UUID: u8 = 0x01;
    /// i64 BE: when the sender sent it (Unix ms).
    pub const SENT_AT: u8 = 0x02;
    /// UTF-8: the sender's name (`alice` or the host name).
    pub const FROM: u8 = 0x03;
    /// UTF-8: the recipient's name as the sender wrote it.
    pub const TO: u8 = 0x04;
    /// UTF-8: the text.
    pub const TEXT: u8 = 0x05;
    /// u8: 0 low, 1 normal, 2 urgent.
    pub const PRIORITY: u8 = 0x06;
    /// u32 BE, 1..=86400: seconds the pop-up stays (`msg.exe /TIME`).
    pub const POPUP_SECS: u8 = 0x07;
    /// u8: why a message was refused.
    pub const REASON: u8 = 0x08;
    /// UTF-8: the refusal, for a person.
    pub const REASON_TEXT: u8 = 0x09;
    /// UTF-8, 1..=64 bytes: the account that wrote a message or receipt.
    pub const AUTHOR: u8 = 0x0A;
    /// UTF-8 NetBIOS name, 1..=15 bytes: the author's host (HELLO: the
    /// sender's host).
    pub const HOST: u8 = 0x0B;
    /// 32 bytes: the author's Ed25519 public key.
    pub const AUTHOR_KEY: u8 = 0x0C;
    /// 32 bytes: the host's Ed25519 public key.
    pub const HOST_KEY: u8 = 0x0D;
    /// 64 bytes: the host's signature over the author's key.
    pub const CERT: u8 = 0x0E;
    /// 64 bytes: the author's signature over [`super::Repr::signed_bytes`].
    pub const SIGNATURE: u8 = 0x0F;
    /// 16 bytes: the UUID of an earlier message this one updates.
    pub const REPLACES: u8 = 0x10;
    /// 0 bytes: with REPLACES, withdraws that message.
    pub const RETRACT: u8 = 0x11;
    /// u8: 1 delivered, 2 read (Receipt).
    pub const STATE: u8 = 0x12;
    /// UTF-8, 1..=255 bytes: who read it (Receipt).
    pub const READER: u8 = 0x13;
    /// UTF-8, 0..=255 bytes: the message is an alert (the Alerter's), with
    /// this title (empty: none).
    pub const ALERT: u8 = 0x14;
    /// u32 BE, 2..: an alert raised this many times, collapsed into one
    /// message (requires ALERT).
    pub const REPEATS: u8 = 0x15;
    /// Critical, i64 BE, Unix ms: the sender's expiry; a receiver that
    /// cannot honour it must refuse the message, never show it late.
    pub const EXPIRES_AT: u8 = 0x96;
    /// Critical, UTF-8, 1..=255 bytes: a legacy message a gateway forwards
    /// (`smb from 10.0.0.7`): FROM is the legacy sender's word, not
    /// verified; the signer is the gateway that vouches for where it came
    /// from. Requires the signer fields.
    pub const VOUCHED: u8 = 0x97;
    /// Critical, 1..=65535 bytes: a Noise handshake message (Handshake).
    pub const NOISE: u8 = 0x8A;
    /// Critical, 6..=65535 bytes: one whole native frame (Bundle).
    pub const FRAME: u8 = 0x98;
}

/// An alert's text for a receiver that cannot carry ALERT (a legacy SMB
/// or mailslot receiver): led by a line `ALERT: TITLE` (or `ALERT`), as
/// the Windows Alerter's messages were plain Messenger text.
pub fn alert_legacy_text(title: &str, text: &str) -> String {
    let title = title.trim();
    if title.is_empty() {
        format!("ALERT\n{text}")
    } else {
        format!("ALERT: {title}\n{text}")
    }
}

/// KIND values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// 1: a message for the receiver's inbox.
    Message,
    /// 2: the message is stored (on disk) at the receiver.
    Accepted,
    /// 3: the message was not stored.
    Refused,
    /// 4: a Noise handshake message (NOISE).
    Handshake,
    /// 5: chunks of Noise transport messages, an inner frame encrypted.
    Sealed,
    /// 6: a signed delivery or read receipt.
    Receipt,
    /// 7: several whole frames for one receiver (FRAME each), carried in
    /// one relay envelope ([`bundle`]).
    Bundle,
    /// Any other value (a later version's), kept for logs.
    Unknown(u8),
}

impl From<u8> for Kind {
    fn from(v: u8) -> Self {
        match v {
            1 => Self::Message,
            2 => Self::Accepted,
            3 => Self::Refused,
            4 => Self::Handshake,
            5 => Self::Sealed,
            6 => Self::Receipt,
            7 => Self::Bundle,
            other => Self::Unknown(other),
        }
    }
}

impl From<Kind> for u8 {
    fn from(k: Kind) -> u8 {
        match k {
            Kind::Message => 1,
            Kind::Accepted => 2,
            Kind::Refused => 3,
            Kind::Handshake => 4,
            Kind::Sealed => 5,
            Kind::Receipt => 6,
            Kind::Bundle => 7,
            Kind::Unknown(v) => v,
        }
    }
}

/// How urgent the sender says a message is: the wire's PRIORITY field, and
/// the one priority every layer uses (stored as 0, 1, 2; shown as `low`,
/// `normal`, `urgent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum Priority {
    /// 0.
    Low,
    /// 1 (also what an absent PRIORITY field means).
    #[default]
    Normal,
    /// 2.
    Urgent,
}

impl Priority {
    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Low => 0,
            Self::Normal => 1,
            Self::Urgent => 2,
        }
    }

    /// The stored number (the wire value).
    pub const fn as_i64(self) -> i64 {
        self.to_u8() as i64
    }

    /// The priority of a stored number.
    pub fn from_i64(n: i64) -> Option<Self> {
        u8::try_from(n).ok().and_then(|v| Self::from_u8(v).ok())
    }

    /// The name shown: `low`, `normal`, `urgent`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::Urgent => "urgent",
        }
    }

    /// The priority of a wire value.
    pub fn from_u8(v: u8) -> Result<Self> {
        match v {
            0 => Ok(Self::Low),
            1 => Ok(Self::Normal),
            2 => Ok(Self::Urgent),
            _ => Err(Error::Malformed("native PRIORITY is not 0, 1 or 2")),
        }
    }
}

/// Why a receiver did not store a message (REASON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// 1: the frame or a field was not acceptable.
    BadMessage,
    /// 2: the recipient is not a name the receiver holds.
    NotHere,
    /// 3: the inbox is full or cannot be written now: try later.
    NoRoom,
    /// 4: the receiver's policy does not accept messages from this sender
    /// (its address, its name, or a group message it may not send).
    Denied,
    /// 5: a signature or certificate does not verify.
    BadSignature,
    /// 6: the receiver has pinned another key for the sender's host.
    KeyChanged,
    /// 7: the receiver accepts messages only in a secure session (SEALED),
    /// and this one is plaintext.
    SecureRequired,
    /// Any other value, kept so that it round-trips.
    Unknown(u8),
}

impl From<u8> for Reason {
    fn from(v: u8) -> Self {
        match v {
            1 => Self::BadMessage,
            2 => Self::NotHere,
            3 => Self::NoRoom,
            4 => Self::Denied,
            5 => Self::BadSignature,
            6 => Self::KeyChanged,
            7 => Self::SecureRequired,
            other => Self::Unknown(other),
        }
    }
}

impl From<Reason> for u8 {
    fn from(r: Reason) -> u8 {
        match r {
            Reason::BadMessage => 1,
            Reason::NotHere => 2,
            Reason::NoRoom => 3,
            Reason::Denied => 4,
            Reason::BadSignature => 5,
            Reason::KeyChanged => 6,
            Reason::SecureRequired => 7,
            Reason::Unknown(v) => v,
        }
    }
}

/// Whether an NBSS payload is a native frame (starts with [`MAGIC`]).
pub fn is_native(payload: &[u8]) -> bool {
    payload.starts_with(&MAGIC)
}

/// A view of a native frame: magic, version and kind checked, fields
/// reachable through [`Packet::fields`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors may panic on a short
    /// buffer until [`Packet::check`] has succeeded.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`Packet::check`].
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check()?;
        Ok(p)
    }

    /// Checks the length of the header, the magic and the version.
    pub fn check(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated {
                need: HEADER_LEN,
                have: b.len(),
            });
        }
        if !is_native(b) {
            return Err(Error::Malformed("not a messngr frame (magic)"));
        }
        if self.version() != VERSION {
            return Err(Error::Unsupported("messngr frame version"));
        }
        Ok(())
    }

    /// VERSION.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[4]
    }

    /// KIND.
    pub fn kind(&self) -> Kind {
        Kind::from(self.buffer.as_ref()[5])
    }
}

impl<'a> Packet<&'a [u8]> {
    /// The fields, in wire order (each checked as it is reached), borrowed
    /// from the buffer.
    pub fn fields(&self) -> Fields<'a> {
        Fields {
            r: Reader::new(self.buffer.get(HEADER_LEN..).unwrap_or_default()),
        }
    }
}

/// One TLV field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// TYPE.
    pub kind: u8,
    /// VALUE.
    pub value: &'a [u8],
}

/// Iterator over the fields of a frame; a truncated field is an `Err` item,
/// after which it stops.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    r: Reader<'a>,
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.r.remaining() == 0 {
            return None;
        }
        let field = (|| {
            let kind = self.r.u8()?;
            let len = self.r.u16_be()?;
            let value = self.r.bytes(usize::from(len))?;
            Ok(Field { kind, value })
        })();
        if field.is_err() {
            self.r = Reader::new(&[]);
        }
        Some(field)
    }
}

/// Where the first NBSS frame in `buf` ends, for a reader that accepts
/// native frames up to [`MAX_FRAME_LEN`], SEALED ones up to
/// [`MAX_SEALED_LEN`], and every other frame up to `max_other` (the SMB
/// limit). Like [`super::nbss::frame_len`], but a SESSION MESSAGE longer
/// than `max_other` is waited for until its payload's magic shows whether it
/// is native (and, past [`MAX_FRAME_LEN`], until its KIND shows whether it
/// is SEALED). Does not allocate.
pub fn frame_len(buf: &[u8], max_other: usize) -> Result<Option<usize>> {
    use super::nbss;
    let Some(header) = buf.get(..nbss::HEADER_LEN) else {
        return Ok(None);
    };
    let packet = nbss::Packet::new_unchecked(header);
    packet.check_flags()?;
    let total = packet.total_len();
    if total <= max_other
        || total < nbss::HEADER_LEN + MAGIC.len()
        || packet.packet_type() != nbss::PacketType::SessionMessage
    {
        return nbss::frame_len(buf, max_other);
    }
    let payload = buf.get(nbss::HEADER_LEN..).unwrap_or_default();
    let Some(magic) = payload.get(..MAGIC.len()) else {
        return Ok(None);
    };
    if magic != MAGIC {
        return nbss::frame_len(buf, max_other);
    }
    if total <= MAX_FRAME_LEN {
        return nbss::frame_len(buf, MAX_FRAME_LEN);
    }
    match payload.get(5) {
        None => Ok(None),
        Some(&k) if Kind::from(k) == Kind::Sealed => nbss::frame_len(buf, MAX_SEALED_LEN),
        Some(_) => nbss::frame_len(buf, MAX_FRAME_LEN),
    }
}

/// The chunks of a SEALED frame's body (`u16 LENGTH, LENGTH bytes`, each a
/// Noise transport message), borrowed. A chunk shorter than [`TAG_LEN`] or
/// cut short is an `Err` item, after which the iterator stops.
pub fn chunks(body: &[u8]) -> Chunks<'_> {
    Chunks {
        r: Reader::new(body),
    }
}

/// Iterator returned by [`chunks`].
#[derive(Debug, Clone)]
pub struct Chunks<'a> {
    r: Reader<'a>,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = Result<&'a [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.r.remaining() == 0 {
            return None;
        }
        let chunk = self
            .r
            .u16_be()
            .and_then(|len| self.r.bytes(usize::from(len)))
            .and_then(|c| {
                if c.len() < TAG_LEN {
                    Err(Error::Malformed("SEALED chunk shorter than its tag"))
                } else {
                    Ok(c)
                }
            });
        if chunk.is_err() {
            self.r = Reader::new(&[]);
        }
        Some(chunk)
    }
}

/// Bytes of a SEALED frame's body carrying `plaintext` bytes of inner frame
/// in full chunks (a sender's layout): one header and tag per
/// [`MAX_CHUNK_PLAINTEXT`] bytes begun.
pub const fn sealed_body_len(plaintext: usize) -> usize {
    let n = if plaintext == 0 {
        1
    } else {
        plaintext.div_ceil(MAX_CHUNK_PLAINTEXT)
    };
    plaintext + n * (CHUNK_HEADER_LEN + TAG_LEN)
}

#[cfg(test)]
mod secure_tests;
#[cfg(test)]
mod signed_tests;
#[cfg(test)]
mod tests;
