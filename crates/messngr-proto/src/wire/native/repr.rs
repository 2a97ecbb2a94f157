//! The decoded form of a native frame ([`Repr`]), what each kind requires,
//! its encoder (fields in TYPE order), and the bytes a signature covers.

use super::found::{FieldValue, Found, check_name, check_signer, signer_fields};
use super::{
    HEADER_LEN, Kind, MAGIC, MAX_FRAME_LEN, MAX_NAME_LEN, MAX_POPUP_SECS, MAX_REASON_LEN,
    MAX_SEALED_LEN, MAX_TEXT_LEN, MAX_TITLE_LEN, Packet, Priority, Reason, SIGNED_PREFIX, VERSION,
    field,
};
use crate::wire::codec::Writer;
use crate::wire::{Emit, Error, Result, nbss};

/// Longest body of a SEALED frame: what fits [`MAX_SEALED_LEN`].
const MAX_SEALED_BODY_LEN: usize = MAX_SEALED_LEN - nbss::HEADER_LEN - HEADER_LEN;

/// Who signs a message or receipt: the author's account and key, and the
/// host that certifies the key (the five signer fields besides SIGNATURE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signer<'a> {
    /// AUTHOR (1..=64 bytes of UTF-8): the account, `alice`.
    pub author: &'a str,
    /// HOST (a NetBIOS name, 1..=15 printable ASCII, no space).
    pub host: &'a str,
    /// AUTHOR_KEY: the author's Ed25519 public key.
    pub author_key: [u8; 32],
    /// HOST_KEY: the host's Ed25519 public key.
    pub host_key: [u8; 32],
    /// CERT: the host's signature over the author's key.
    pub cert: [u8; 64],
}

/// The alert mark of a message (ALERT, REPEATS): inside the signed bytes,
/// so a relay cannot make a message an alert or hide that it is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert<'a> {
    /// ALERT: the title, 0..=[`MAX_TITLE_LEN`] bytes (empty: none).
    pub title: &'a str,
    /// REPEATS: how many times it was raised (1: the field is absent; it
    /// is at least 2 when present).
    pub repeats: u32,
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
    /// TEXT (required, up to [`MAX_TEXT_LEN`] bytes; empty only with
    /// `retract`).
    pub text: &'a str,
    /// PRIORITY (absent: normal).
    pub priority: Priority,
    /// POPUP_SECS (1..=[`MAX_POPUP_SECS`]).
    pub popup_secs: Option<u32>,
    /// AUTHOR, HOST, AUTHOR_KEY, HOST_KEY, CERT: given with `signature`,
    /// or neither is.
    pub signer: Option<Signer<'a>>,
    /// SIGNATURE: the author's, over [`Repr::signed_bytes`].
    pub signature: Option<[u8; 64]>,
    /// REPLACES: the UUID of an earlier message this one updates.
    pub replaces: Option<[u8; 16]>,
    /// RETRACT: withdraws `replaces` (which it requires).
    pub retract: bool,
    /// ALERT and REPEATS: the message is an alert.
    pub alert: Option<Alert<'a>>,
    /// EXPIRES_AT (Unix ms, critical): the sender's expiry (`--expires`),
    /// inside the signed bytes; after it the message is never shown.
    pub expires_at: Option<i64>,
    /// VOUCHED (critical): forwarded by a gateway from a legacy sender,
    /// with where it came from; FROM is then not verified.
    pub vouched: Option<&'a str>,
}

/// What a receipt says happened to a message (STATE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReceiptState {
    /// 1: stored at the receiver.
    Delivered,
    /// 2: read by the recipient.
    Read,
}

impl ReceiptState {
    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Delivered => 1,
            Self::Read => 2,
        }
    }

    /// The state of a wire value.
    pub fn from_u8(v: u8) -> Result<Self> {
        match v {
            1 => Ok(Self::Delivered),
            2 => Ok(Self::Read),
            _ => Err(Error::Malformed("native STATE is not 1 or 2")),
        }
    }

    /// The name shown: `delivered`, `read`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Read => "read",
        }
    }
}

/// KIND 6: a signed delivery or read receipt (every field required).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt<'a> {
    /// UUID: the message it is about.
    pub uuid: [u8; 16],
    /// STATE.
    pub state: ReceiptState,
    /// READER (1..=255 bytes): the account that read it, or the host.
    pub reader: &'a str,
    /// SENT_AT: when (Unix ms).
    pub at: i64,
    /// The reader's signer fields.
    pub signer: Signer<'a>,
    /// SIGNATURE: the reader's, over [`Repr::signed_bytes`].
    pub signature: [u8; 64],
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
    /// KIND 4: one Noise handshake message.
    Handshake {
        /// NOISE (required, critical, 1..=65535 bytes), opaque here.
        noise: &'a [u8],
    },
    /// KIND 5: an encrypted inner frame.
    Sealed {
        /// Everything after the header (not TLV: the chunks, see
        /// [`super::chunks`]), opaque here; not empty.
        body: &'a [u8],
    },
    /// KIND 6.
    Receipt(Receipt<'a>),
}

impl<'a> Repr<'a> {
    /// Reads a native frame: the whole NBSS payload, every byte a field
    /// (SEALED: every byte the body).
    pub fn parse(payload: &'a [u8]) -> Result<Self> {
        let packet = Packet::new_checked(payload)?;
        if packet.kind() == Kind::Sealed {
            let body = payload.get(HEADER_LEN..).unwrap_or_default();
            if body.is_empty() {
                return Err(Error::Malformed("native SEALED without chunks"));
            }
            if body.len() > MAX_SEALED_BODY_LEN {
                return Err(Error::TooLong("native SEALED"));
            }
            return Ok(Self::Sealed { body });
        }
        if packet.kind() == Kind::Bundle {
            return Err(Error::Unsupported(
                "native BUNDLE (read it with bundle::Bundle::parse)",
            ));
        }
        let mut found = Found::default();
        for f in packet.fields() {
            found.take(f?)?;
        }
        let missing = Error::Malformed;
        match packet.kind() {
            Kind::Message => {
                let signed = found.signer()?;
                let m = Message {
                    uuid: found.uuid.ok_or(missing("native Message without UUID"))?,
                    sent_at: found.sent_at,
                    from: found.from.ok_or(missing("native Message without FROM"))?,
                    to: found.to.ok_or(missing("native Message without TO"))?,
                    text: found.text.ok_or(missing("native Message without TEXT"))?,
                    priority: found.priority.unwrap_or_default(),
                    popup_secs: found.popup_secs,
                    signer: signed.map(|(s, _)| s),
                    signature: signed.map(|(_, sig)| sig),
                    replaces: found.replaces,
                    retract: found.retract.is_some(),
                    alert: match (found.alert, found.repeats) {
                        (Some(title), repeats) => Some(Alert {
                            title,
                            repeats: repeats.unwrap_or(1),
                        }),
                        (None, None) => None,
                        (None, Some(_)) => {
                            return Err(missing("native REPEATS without ALERT"));
                        }
                    },
                    expires_at: found.expires_at,
                    vouched: found.vouched,
                };
                check_message(&m, false)?;
                Ok(Self::Message(m))
            }
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
            Kind::Handshake => Ok(Self::Handshake {
                noise: found
                    .noise
                    .ok_or(missing("native Handshake without NOISE"))?,
            }),
            Kind::Receipt => {
                let (signer, signature) = found
                    .signer()?
                    .ok_or(missing("native Receipt without signer fields"))?;
                Ok(Self::Receipt(Receipt {
                    uuid: found.uuid.ok_or(missing("native Receipt without UUID"))?,
                    state: found.state.ok_or(missing("native Receipt without STATE"))?,
                    reader: found
                        .reader
                        .ok_or(missing("native Receipt without READER"))?,
                    at: found
                        .sent_at
                        .ok_or(missing("native Receipt without SENT_AT"))?,
                    signer,
                    signature,
                }))
            }
            Kind::Sealed | Kind::Bundle | Kind::Unknown(_) => {
                Err(Error::Unsupported("native frame kind"))
            }
        }
    }

    /// The KIND this frame is sent with.
    pub const fn kind(&self) -> Kind {
        match self {
            Self::Message(_) => Kind::Message,
            Self::Accepted { .. } => Kind::Accepted,
            Self::Refused { .. } => Kind::Refused,
            Self::Handshake { .. } => Kind::Handshake,
            Self::Sealed { .. } => Kind::Sealed,
            Self::Receipt(_) => Kind::Receipt,
        }
    }

    /// What the author signs (and a receiver verifies): [`SIGNED_PREFIX`],
    /// then this frame as emitted without its SIGNATURE field. Emission is
    /// canonical (fields in TYPE order, unknown ones dropped), so a parsed
    /// frame gives the same bytes as the `Repr` it was emitted from. Only a
    /// Message with a signer, or a Receipt, is signed; the signature itself
    /// may be absent (it is about to be made) and is ignored.
    pub fn signed_bytes(&self) -> Result<Vec<u8>> {
        match self {
            Self::Message(m) if m.signer.is_none() => {
                return Err(Error::Malformed("native Message without signer fields"));
            }
            Self::Message(_) | Self::Receipt(_) => {}
            _ => return Err(Error::Unsupported("native frame kind is not signed")),
        }
        let frame_len = self.len(false);
        let mut v = vec![0; SIGNED_PREFIX.len() + frame_len];
        let (prefix, frame) = v.split_at_mut(SIGNED_PREFIX.len());
        prefix.copy_from_slice(SIGNED_PREFIX);
        self.write(frame, false)?;
        Ok(v)
    }

    /// Calls `each` with every field this frame emits, in TYPE order; the
    /// SIGNATURE only `with_signature`. SEALED has none.
    fn each_field<'s>(
        &'s self,
        with_signature: bool,
        mut each: impl FnMut(u8, FieldValue<'s>) -> Result<()>,
    ) -> Result<()> {
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
                if let Some(s) = &m.signer {
                    signer_fields(s, &mut each)?;
                }
                if let Some(sig) = m.signature.as_ref().filter(|_| with_signature) {
                    each(field::SIGNATURE, FieldValue::Bytes(sig))?;
                }
                if let Some(r) = &m.replaces {
                    each(field::REPLACES, FieldValue::Bytes(r))?;
                }
                if m.retract {
                    each(field::RETRACT, FieldValue::Bytes(&[]))?;
                }
                if let Some(a) = &m.alert {
                    each(field::ALERT, FieldValue::Text(a.title, MAX_TITLE_LEN))?;
                    if a.repeats > 1 {
                        each(field::REPEATS, FieldValue::U32(a.repeats))?;
                    }
                }
                if let Some(t) = m.expires_at {
                    each(field::EXPIRES_AT, FieldValue::I64(t))?;
                }
                if let Some(v) = m.vouched {
                    each(field::VOUCHED, FieldValue::Text(v, MAX_NAME_LEN))?;
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
            Self::Handshake { noise } => each(field::NOISE, FieldValue::Bytes(noise))?,
            Self::Sealed { .. } => {}
            Self::Receipt(r) => {
                each(field::UUID, FieldValue::Bytes(&r.uuid))?;
                each(field::SENT_AT, FieldValue::I64(r.at))?;
                signer_fields(&r.signer, &mut each)?;
                if with_signature {
                    each(field::SIGNATURE, FieldValue::Bytes(&r.signature))?;
                }
                each(field::STATE, FieldValue::U8(r.state.to_u8()))?;
                each(field::READER, FieldValue::Text(r.reader, MAX_NAME_LEN))?;
            }
        }
        Ok(())
    }

    /// Checks what [`Repr::parse`] would refuse, so that nothing is emitted
    /// that a receiver must reject. `signing`: the signature may be absent.
    fn check(&self, signing: bool) -> Result<()> {
        match self {
            Self::Message(m) => check_message(m, signing)?,
            Self::Receipt(r) => {
                check_name(r.reader)?;
                check_signer(&r.signer)?;
            }
            Self::Handshake { noise: [] } => {
                return Err(Error::Malformed("native NOISE is empty"));
            }
            Self::Sealed { body: [] } => {
                return Err(Error::Malformed("native SEALED without chunks"));
            }
            Self::Sealed { body } if body.len() > MAX_SEALED_BODY_LEN => {
                return Err(Error::TooLong("native SEALED"));
            }
            _ => {}
        }
        self.each_field(true, |_, v| v.check())
    }

    /// Bytes of the frame, with or without its SIGNATURE field.
    fn len(&self, with_signature: bool) -> usize {
        let mut n = HEADER_LEN;
        if let Self::Sealed { body } = self {
            return n + body.len();
        }
        let _ = self.each_field(with_signature, |_, v| {
            n += super::FIELD_HEADER_LEN + v.len();
            Ok(())
        });
        n
    }

    /// Checks, then writes the frame into `buf`.
    fn write(&self, buf: &mut [u8], with_signature: bool) -> Result<usize> {
        self.check(!with_signature)?;
        let need = self.len(with_signature);
        let have = buf.len();
        let out = buf
            .get_mut(..need)
            .ok_or(Error::BufferTooSmall { need, have })?;
        let mut w = Writer::new(out);
        w.bytes(&MAGIC)?;
        w.u8(VERSION)?;
        w.u8(self.kind().into())?;
        if let Self::Sealed { body } = self {
            w.bytes(body)?;
        }
        self.each_field(with_signature, |kind, v| v.write(kind, &mut w))?;
        Ok(w.position())
    }
}

/// A Message's own rules (beyond each field's): names not empty, POPUP_SECS
/// in range, signer fields all or none (`signing`: SIGNATURE may be
/// missing), RETRACT only with REPLACES, TEXT empty only with RETRACT, an
/// alert raised at least once.
fn check_message(m: &Message<'_>, signing: bool) -> Result<()> {
    check_name(m.from)?;
    check_name(m.to)?;
    if m.popup_secs
        .is_some_and(|s| !(1..=MAX_POPUP_SECS).contains(&s))
    {
        return Err(Error::Malformed("native POPUP_SECS not in 1..=86400"));
    }
    if let Some(s) = &m.signer {
        check_signer(s)?;
    }
    if m.signer.is_none() && m.signature.is_some()
        || (m.signer.is_some() && m.signature.is_none() && !signing)
    {
        return Err(Error::Malformed(
            "native signer fields (AUTHOR, HOST, AUTHOR_KEY, HOST_KEY, CERT, SIGNATURE) come all or none",
        ));
    }
    if m.vouched.is_some() && m.signer.is_none() {
        return Err(Error::Malformed("native VOUCHED without signer fields"));
    }
    if m.vouched.is_some() && (m.replaces.is_some() || m.retract || m.alert.is_some()) {
        return Err(Error::Malformed(
            "native VOUCHED with REPLACES, RETRACT or ALERT (a forward changes nothing else)",
        ));
    }
    if m.vouched.is_some_and(str::is_empty) {
        return Err(Error::Malformed("native VOUCHED is empty"));
    }
    if m.retract && m.replaces.is_none() {
        return Err(Error::Malformed("native RETRACT without REPLACES"));
    }
    if m.alert.is_some_and(|a| a.repeats == 0) {
        return Err(Error::Malformed("native REPEATS is 0"));
    }
    if m.text.is_empty() && !m.retract {
        return Err(Error::Malformed(
            "native TEXT is empty (allowed only with RETRACT)",
        ));
    }
    Ok(())
}

impl Emit for Repr<'_> {
    fn buffer_len(&self) -> usize {
        self.len(true)
    }

    /// Writes the frame; a field over its limit is [`Error::TooLong`], a
    /// frame [`Repr::parse`] would refuse (an empty name, `popup_secs` out of
    /// range, signer fields not all or none, RETRACT without REPLACES, an
    /// empty TEXT, NOISE or SEALED body) [`Error::Malformed`].
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        self.write(buf, true)
    }
}

/// Keeps [`MAX_FRAME_LEN`] and the SEALED limit in step: the body limit is
/// what sealing an inner frame of the largest size takes.
const _: () =
    assert!(MAX_SEALED_BODY_LEN == super::sealed_body_len(MAX_FRAME_LEN - nbss::HEADER_LEN));
