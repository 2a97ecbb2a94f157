//! The fields of a frame as found while parsing (before its kind decides
//! which are required), the checks every field value gets, and the value
//! type the encoder writes. Shared by [`super::Repr`] and [`super::Hello`].

use super::{
    CRITICAL, Field, MAX_AUTHOR_LEN, MAX_HOST_LEN, MAX_NAME_LEN, MAX_POPUP_SECS, MAX_REASON_LEN,
    MAX_TEXT_LEN, MAX_TITLE_LEN, Priority, Reason, ReceiptState, Signer, field,
};
use crate::wire::codec::Writer;
use crate::wire::{Error, Result};

/// Every field a frame may carry, as found.
#[derive(Default)]
pub(super) struct Found<'a> {
    pub uuid: Option<[u8; 16]>,
    pub sent_at: Option<i64>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub text: Option<&'a str>,
    pub priority: Option<Priority>,
    pub popup_secs: Option<u32>,
    pub reason: Option<Reason>,
    pub reason_text: Option<&'a str>,
    pub author: Option<&'a str>,
    pub host: Option<&'a str>,
    pub author_key: Option<[u8; 32]>,
    pub host_key: Option<[u8; 32]>,
    pub cert: Option<[u8; 64]>,
    pub signature: Option<[u8; 64]>,
    pub replaces: Option<[u8; 16]>,
    pub retract: Option<()>,
    pub state: Option<ReceiptState>,
    pub reader: Option<&'a str>,
    pub noise: Option<&'a [u8]>,
    pub alert: Option<&'a str>,
    pub repeats: Option<u32>,
    pub expires_at: Option<i64>,
    pub vouched: Option<&'a str>,
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

fn utf8<'a>(v: &'a [u8], max: usize, what: &'static str) -> Result<&'a str> {
    if v.len() > max {
        return Err(Error::TooLong(what));
    }
    core::str::from_utf8(v).map_err(|_| Error::Malformed("native text field is not UTF-8"))
}

fn name<'a>(v: &'a [u8], what: &'static str) -> Result<&'a str> {
    let s = utf8(v, MAX_NAME_LEN, what)?;
    check_name(s)?;
    Ok(s)
}

/// FROM, TO, READER: 1..=255 bytes.
pub(super) fn check_name(s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::Malformed("native FROM, TO or READER is empty"));
    }
    Ok(())
}

/// AUTHOR: 1..=64 bytes of UTF-8.
pub(super) fn check_author(s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::Malformed("native AUTHOR is empty"));
    }
    if s.len() > MAX_AUTHOR_LEN {
        return Err(Error::TooLong("native AUTHOR"));
    }
    Ok(())
}

/// HOST: a NetBIOS name, 1..=15 printable ASCII characters, no space.
pub(super) fn check_host(s: &str) -> Result<()> {
    if s.len() > MAX_HOST_LEN {
        return Err(Error::TooLong("native HOST"));
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::Malformed(
            "native HOST is not a NetBIOS name (printable ASCII, no space)",
        ));
    }
    Ok(())
}

/// The checks [`Found::take`] makes on a signer's text fields.
pub(super) fn check_signer(s: &Signer<'_>) -> Result<()> {
    check_author(s.author)?;
    check_host(s.host)
}

impl<'a> Found<'a> {
    /// Records one field, checking its value; a known field given twice, or
    /// an unknown critical one, is an error.
    pub fn take(&mut self, f: Field<'a>) -> Result<()> {
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
            field::AUTHOR => {
                let s = utf8(v, MAX_AUTHOR_LEN, "native AUTHOR")?;
                check_author(s)?;
                set(&mut self.author, s)
            }
            field::HOST => {
                let s = utf8(v, MAX_HOST_LEN, "native HOST")?;
                check_host(s)?;
                set(&mut self.host, s)
            }
            field::AUTHOR_KEY => set(
                &mut self.author_key,
                exact(v, "native AUTHOR_KEY is not 32 bytes")?,
            ),
            field::HOST_KEY => set(
                &mut self.host_key,
                exact(v, "native HOST_KEY is not 32 bytes")?,
            ),
            field::CERT => set(&mut self.cert, exact(v, "native CERT is not 64 bytes")?),
            field::SIGNATURE => set(
                &mut self.signature,
                exact(v, "native SIGNATURE is not 64 bytes")?,
            ),
            field::REPLACES => set(
                &mut self.replaces,
                exact(v, "native REPLACES is not 16 bytes")?,
            ),
            field::RETRACT => {
                if !v.is_empty() {
                    return Err(Error::Malformed("native RETRACT is not empty"));
                }
                set(&mut self.retract, ())
            }
            field::STATE => {
                let [s] = exact(v, "native STATE is not 1 byte")?;
                set(&mut self.state, ReceiptState::from_u8(s)?)
            }
            field::READER => set(&mut self.reader, name(v, "native READER")?),
            field::ALERT => set(&mut self.alert, utf8(v, MAX_TITLE_LEN, "native ALERT")?),
            field::REPEATS => {
                let n = u32::from_be_bytes(exact(v, "native REPEATS is not 4 bytes")?);
                if n < 2 {
                    return Err(Error::Malformed("native REPEATS is less than 2"));
                }
                set(&mut self.repeats, n)
            }
            field::VOUCHED => {
                let v = utf8(v, MAX_NAME_LEN, "native VOUCHED")?;
                if v.is_empty() {
                    return Err(Error::Malformed("native VOUCHED is empty"));
                }
                set(&mut self.vouched, v)
            }
            field::EXPIRES_AT => set(
                &mut self.expires_at,
                i64::from_be_bytes(exact(v, "native EXPIRES_AT is not 8 bytes")?),
            ),
            field::NOISE => {
                if v.is_empty() {
                    return Err(Error::Malformed("native NOISE is empty"));
                }
                set(&mut self.noise, v)
            }
            k if k & CRITICAL != 0 => Err(Error::Unsupported("critical native field")),
            _ => Ok(()),
        }
    }

    /// The six signer fields: all (the signer and the signature) or none.
    pub fn signer(&self) -> Result<Option<(Signer<'a>, [u8; 64])>> {
        match (
            self.author,
            self.host,
            self.author_key,
            self.host_key,
            self.cert,
            self.signature,
        ) {
            (Some(author), Some(host), Some(author_key), Some(host_key), Some(cert), Some(sig)) => {
                let signer = Signer {
                    author,
                    host,
                    author_key,
                    host_key,
                    cert,
                };
                Ok(Some((signer, sig)))
            }
            (None, None, None, None, None, None) => Ok(None),
            _ => Err(Error::Malformed(
                "native signer fields (AUTHOR, HOST, AUTHOR_KEY, HOST_KEY, CERT, SIGNATURE) come all or none",
            )),
        }
    }
}

/// A value to emit.
pub(super) enum FieldValue<'a> {
    Bytes(&'a [u8]),
    Text(&'a str, usize),
    U8(u8),
    U32(u32),
    I64(i64),
}

impl FieldValue<'_> {
    pub fn len(&self) -> usize {
        match self {
            Self::Bytes(b) => b.len(),
            Self::Text(s, _) => s.len(),
            Self::U8(_) => 1,
            Self::U32(_) => 4,
            Self::I64(_) => 8,
        }
    }

    /// A text over its limit is [`Error::TooLong`].
    pub fn check(&self) -> Result<()> {
        match self {
            Self::Text(s, max) if s.len() > *max => Err(Error::TooLong("native text field")),
            _ => Ok(()),
        }
    }

    /// Writes TYPE, LENGTH and VALUE.
    pub fn write(&self, kind: u8, w: &mut Writer<'_>) -> Result<()> {
        w.u8(kind)?;
        let len = u16::try_from(self.len()).map_err(|_| Error::TooLong("native field"))?;
        w.u16_be(len)?;
        match self {
            Self::Bytes(b) => w.bytes(b),
            Self::Text(s, _) => w.bytes(s.as_bytes()),
            Self::U8(x) => w.u8(*x),
            Self::U32(x) => w.u32_be(*x),
            Self::I64(x) => w.bytes(&x.to_be_bytes()),
        }
    }
}

/// Calls `each` with a signer's fields (AUTHOR..CERT, TYPE order).
pub(super) fn signer_fields<'s>(
    s: &'s Signer<'_>,
    each: &mut impl FnMut(u8, FieldValue<'s>) -> Result<()>,
) -> Result<()> {
    each(field::AUTHOR, FieldValue::Text(s.author, MAX_AUTHOR_LEN))?;
    each(field::HOST, FieldValue::Text(s.host, MAX_HOST_LEN))?;
    each(field::AUTHOR_KEY, FieldValue::Bytes(&s.author_key))?;
    each(field::HOST_KEY, FieldValue::Bytes(&s.host_key))?;
    each(field::CERT, FieldValue::Bytes(&s.cert))
}
