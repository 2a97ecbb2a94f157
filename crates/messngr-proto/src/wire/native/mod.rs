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
//!  5  KIND     u8       1 Message, 2 Accepted, 3 Refused
//!  6  fields   TLV*     to the end of the NBSS payload:
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

use super::codec::{Reader, Writer};
use super::{Emit, Error, Result};

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
/// Largest NBSS frame (header included) a reader should buffer for a native
/// frame: a full-size text, names, and room for fields still to come
/// (signature, key).
pub const MAX_FRAME_LEN: usize = 80 * 1024;

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
    /// Any other value (a later version's), kept for logs.
    Unknown(u8),
}

impl From<u8> for Kind {
    fn from(v: u8) -> Self {
        match v {
            1 => Self::Message,
            2 => Self::Accepted,
            3 => Self::Refused,
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
            Kind::Unknown(v) => v,
        }
    }
}

/// How urgent the sender says a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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
    /// Any other value, kept so that it round-trips.
    Unknown(u8),
}

impl From<u8> for Reason {
    fn from(v: u8) -> Self {
        match v {
            1 => Self::BadMessage,
            2 => Self::NotHere,
            3 => Self::NoRoom,
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

/// A message for the receiver's inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// UUID (required): retries carry the same one.
    pub uuid: [u8; 16],
    /// SENT_AT (Unix ms), if the sender gave it.
    pub sent_at: Option<i64>,
    /// FROM (required, 1..=255 bytes).
    pub from: &'a str,
    /// TO (required, 1..=255 bytes).
    pub to: &'a str,
    /// TEXT (required, up to [`MAX_TEXT_LEN`] bytes).
    pub text: &'a str,
    /// PRIORITY (absent: normal).
    pub priority: Priority,
    /// POPUP_SECS (1..=[`MAX_POPUP_SECS`]).
    pub popup_secs: Option<u32>,
}

/// The meaning of one native frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    /// KIND 1.
    Message(Message<'a>),
    /// KIND 2: the message with this UUID is on the receiver's disk.
    Accepted {
        /// UUID (required).
        uuid: [u8; 16],
    },
    /// KIND 3: not stored.
    Refused {
        /// UUID of the refused message, when the receiver could read it.
        uuid: Option<[u8; 16]>,
        /// REASON (required).
        reason: Reason,
        /// REASON_TEXT (absent: empty).
        text: &'a str,
    },
}

/// The fields a frame may carry, as found (before the kind decides which
/// are required).
#[derive(Default)]
struct Found<'a> {
    uuid: Option<[u8; 16]>,
    sent_at: Option<i64>,
    from: Option<&'a str>,
    to: Option<&'a str>,
    text: Option<&'a str>,
    priority: Option<Priority>,
    popup_secs: Option<u32>,
    reason: Option<Reason>,
    reason_text: Option<&'a str>,
}

fn utf8<'a>(v: &'a [u8], max: usize, what: &'static str) -> Result<&'a str> {
    if v.len() > max {
        return Err(Error::TooLong(what));
    }
    core::str::from_utf8(v).map_err(|_| Error::Malformed("native text field is not UTF-8"))
}

fn set<T>(slot: &mut Option<T>, v: T) -> Result<()> {
    if slot.is_some() {
        return Err(Error::Malformed("native field given twice"));
    }
    *slot = Some(v);
    Ok(())
}

fn exact<const N: usize>(v: &[u8], what: &'static str) -> Result<[u8; N]> {
    v.try_into().map_err(|_| Error::Malformed(what))
}

impl<'a> Found<'a> {
    fn take(&mut self, f: Field<'a>) -> Result<()> {
        let v = f.value;
        match f.kind {
            field::UUID => set(&mut self.uuid, exact(v, "native UUID is not 16 bytes")?),
            field::SENT_AT => set(
                &mut self.sent_at,
                i64::from_be_bytes(exact(v, "native SENT_AT is not 8 bytes")?),
            ),
            field::FROM => set(&mut self.from, name(v, "native FROM")?),
            field::TO => set(&mut self.to, name(v, "native TO")?),
            field::TEXT => set(&mut self.text, utf8(v, MAX_TEXT_LEN, "native TEXT")?),
            field::PRIORITY => {
                let [p] = exact(v, "native PRIORITY is not 1 byte")?;
                set(&mut self.priority, Priority::from_u8(p)?)
            }
            field::POPUP_SECS => {
                let s = u32::from_be_bytes(exact(v, "native POPUP_SECS is not 4 bytes")?);
                if !(1..=MAX_POPUP_SECS).contains(&s) {
                    return Err(Error::Malformed("native POPUP_SECS not in 1..=86400"));
                }
                set(&mut self.popup_secs, s)
            }
            field::REASON => {
                let [r] = exact(v, "native REASON is not 1 byte")?;
                set(&mut self.reason, Reason::from(r))
            }
            field::REASON_TEXT => set(
                &mut self.reason_text,
                utf8(v, MAX_REASON_LEN, "native REASON_TEXT")?,
            ),
            k if k & CRITICAL != 0 => Err(Error::Unsupported("critical native field")),
            _ => Ok(()),
        }
    }
}

fn name<'a>(v: &'a [u8], what: &'static str) -> Result<&'a str> {
    let s = utf8(v, MAX_NAME_LEN, what)?;
    if s.is_empty() {
        return Err(Error::Malformed("native FROM or TO is empty"));
    }
    Ok(s)
}

impl<'a> Repr<'a> {
    /// Reads a native frame: the whole NBSS payload, every byte a field.
    pub fn parse(payload: &'a [u8]) -> Result<Self> {
        let packet = Packet::new_checked(payload)?;
        let mut found = Found::default();
        for f in packet.fields() {
            found.take(f?)?;
        }
        let missing = |what| Error::Malformed(what);
        match packet.kind() {
            Kind::Message => Ok(Self::Message(Message {
                uuid: found.uuid.ok_or(missing("native Message without UUID"))?,
                sent_at: found.sent_at,
                from: found.from.ok_or(missing("native Message without FROM"))?,
                to: found.to.ok_or(missing("native Message without TO"))?,
                text: found.text.ok_or(missing("native Message without TEXT"))?,
                priority: found.priority.unwrap_or_default(),
                popup_secs: found.popup_secs,
            })),
            Kind::Accepted => Ok(Self::Accepted {
                uuid: found.uuid.ok_or(missing("native Accepted without UUID"))?,
            }),
            Kind::Refused => Ok(Self::Refused {
                uuid: found.uuid,
                reason: found
                    .reason
                    .ok_or(missing("native Refused without REASON"))?,
                text: found.reason_text.unwrap_or_default(),
            }),
            Kind::Unknown(_) => Err(Error::Unsupported("native frame kind")),
        }
    }

    /// The KIND this frame is sent with.
    pub const fn kind(&self) -> Kind {
        match self {
            Self::Message(_) => Kind::Message,
            Self::Accepted { .. } => Kind::Accepted,
            Self::Refused { .. } => Kind::Refused,
        }
    }

    /// Calls `each` with every field this frame emits, in TYPE order.
    fn each_field(&self, mut each: impl FnMut(u8, FieldValue<'_>) -> Result<()>) -> Result<()> {
        match self {
            Self::Message(m) => {
                each(field::UUID, FieldValue::Bytes(&m.uuid))?;
                if let Some(t) = m.sent_at {
                    each(field::SENT_AT, FieldValue::I64(t))?;
                }
                each(field::FROM, FieldValue::Text(m.from, MAX_NAME_LEN))?;
                each(field::TO, FieldValue::Text(m.to, MAX_NAME_LEN))?;
                each(field::TEXT, FieldValue::Text(m.text, MAX_TEXT_LEN))?;
                each(field::PRIORITY, FieldValue::U8(m.priority.to_u8()))?;
                if let Some(s) = m.popup_secs {
                    each(field::POPUP_SECS, FieldValue::U32(s))?;
                }
            }
            Self::Accepted { uuid } => each(field::UUID, FieldValue::Bytes(uuid))?,
            Self::Refused { uuid, reason, text } => {
                if let Some(u) = uuid {
                    each(field::UUID, FieldValue::Bytes(u))?;
                }
                each(field::REASON, FieldValue::U8((*reason).into()))?;
                if !text.is_empty() {
                    each(field::REASON_TEXT, FieldValue::Text(text, MAX_REASON_LEN))?;
                }
            }
        }
        Ok(())
    }

    /// Checks what [`Repr::parse`] would refuse, so that nothing is emitted
    /// that a receiver must reject.
    fn check(&self) -> Result<()> {
        if let Self::Message(m) = self {
            if m.from.is_empty() || m.to.is_empty() {
                return Err(Error::Malformed("native FROM or TO is empty"));
            }
            if m.popup_secs
                .is_some_and(|s| !(1..=MAX_POPUP_SECS).contains(&s))
            {
                return Err(Error::Malformed("native POPUP_SECS not in 1..=86400"));
            }
        }
        self.each_field(|_, v| match v {
            FieldValue::Text(s, max) if s.len() > max => Err(Error::TooLong("native text field")),
            _ => Ok(()),
        })
    }
}

/// A value to emit.
enum FieldValue<'a> {
    Bytes(&'a [u8]),
    Text(&'a str, usize),
    U8(u8),
    U32(u32),
    I64(i64),
}

impl FieldValue<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Bytes(b) => b.len(),
            Self::Text(s, _) => s.len(),
            Self::U8(_) => 1,
            Self::U32(_) => 4,
            Self::I64(_) => 8,
        }
    }
}

impl Emit for Repr<'_> {
    fn buffer_len(&self) -> usize {
        let mut n = HEADER_LEN;
        let _ = self.each_field(|_, v| {
            n += FIELD_HEADER_LEN + v.len();
            Ok(())
        });
        n
    }

    /// Writes the frame; a field over its limit is [`Error::TooLong`], an
    /// empty name or a `popup_secs` out of range [`Error::Malformed`].
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        self.check()?;
        let need = self.buffer_len();
        let have = buf.len();
        let out = buf
            .get_mut(..need)
            .ok_or(Error::BufferTooSmall { need, have })?;
        let mut w = Writer::new(out);
        w.bytes(&MAGIC)?;
        w.u8(VERSION)?;
        w.u8(self.kind().into())?;
        self.each_field(|kind, v| {
            w.u8(kind)?;
            let len = u16::try_from(v.len()).map_err(|_| Error::TooLong("native field"))?;
            w.u16_be(len)?;
            match v {
                FieldValue::Bytes(b) => w.bytes(b),
                FieldValue::Text(s, _) => w.bytes(s.as_bytes()),
                FieldValue::U8(x) => w.u8(x),
                FieldValue::U32(x) => w.u32_be(x),
                FieldValue::I64(x) => w.bytes(&x.to_be_bytes()),
            }
        })?;
        Ok(w.position())
    }
}

/// Where the first NBSS frame in `buf` ends, for a reader that accepts
/// native frames up to [`MAX_FRAME_LEN`] and every other frame up to
/// `max_other` (the SMB limit). Like [`super::nbss::frame_len`], but a
/// SESSION MESSAGE longer than `max_other` is waited for until its first
/// four payload bytes show whether it is native. Does not allocate.
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
    match buf.get(nbss::HEADER_LEN..nbss::HEADER_LEN + MAGIC.len()) {
        None => Ok(None),
        Some(m) if m == MAGIC => nbss::frame_len(buf, MAX_FRAME_LEN),
        Some(_) => nbss::frame_len(buf, max_other),
    }
}

#[cfg(test)]
mod tests;
