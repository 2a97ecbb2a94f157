//! The decoded form of a native frame ([`Repr`]), what each kind requires,
//! and its encoder (fields in TYPE order).

use super::{
    CRITICAL, FIELD_HEADER_LEN, Field, HEADER_LEN, Kind, MAGIC, MAX_NAME_LEN, MAX_POPUP_SECS,
    MAX_REASON_LEN, MAX_TEXT_LEN, Packet, Priority, Reason, VERSION, field,
};
use crate::wire::codec::Writer;
use crate::wire::{Emit, Error, Result};

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
