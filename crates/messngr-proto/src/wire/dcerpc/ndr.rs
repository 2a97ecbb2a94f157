//! The part of NDR, the DCE/RPC transfer syntax (C706 ch. 14), that MS-MSRP
//! needs: aligned integers, pointers, and conformant varying strings.
//!
//! NDR aligns every primitive to its own size, counted from the start of the
//! stub (C706 §14.2.2), and writes integers in the byte order of the PDU's
//! `drep`. A `[string] char *` or `[string] wchar_t *` is a *conformant
//! varying string* (C706 §14.3.4.2):
//!
//! ```text
//! MaximumCount u32 | Offset u32 | ActualCount u32 | ActualCount elements (incl. the NUL)
//! ```
//!
//! with 1-byte elements for `char` and 2-byte (UTF-16) elements for
//! `wchar_t`; padding to the next 4-byte boundary comes before whatever is
//! next. A top-level `[ref]` pointer (how [MS-MSRP] passes its `LPSTR`s) puts
//! nothing on the wire; a `[unique]` pointer puts a 4-byte referent id, 0 for
//! NULL (C706 §14.3.10). Pointers embedded in structures defer their
//! referents; that is not needed here and not handled.
//!
//! [`Decoder`] never allocates: strings come back as [`NdrString`], a view of
//! the raw elements; turning one into a `String` is an explicit step
//! ([`NdrString::decode_utf16`], or the OEM code page for `char` strings).
//! Pad bytes are skipped without being checked, so a stub with non-zero
//! padding decodes to the same value as one with zeros (the encoder writes
//! zeros).

use core::num::NonZeroU32;

use crate::wire::codec::{Reader, Writer};
use crate::wire::{Error, Result};

use super::cl::Drep;
use super::uuid::ByteOrder;

/// `pos` rounded up to a multiple of `align` (a power of two).
pub const fn align_up(pos: usize, align: usize) -> usize {
    (pos + align - 1) & !(align - 1)
}

/// Element type of a conformant varying string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CharWidth {
    /// `char`: 1 byte per element (MS-MSRP's OEM `LPSTR`).
    Char,
    /// `wchar_t`: 2 bytes per element, UTF-16 in the stream's byte order.
    WChar,
}

impl CharWidth {
    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            Self::Char => 1,
            Self::WChar => 2,
        }
    }
}

/// A conformant varying string as found in the stub, borrowed from it.
///
/// `data` holds the elements without the final NUL element; `terminated`
/// says whether that NUL was there (a missing one is accepted,
/// msrp-rpc.md §4). Counts are kept as received so that the string
/// re-encodes to the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdrString<'a> {
    /// Element type.
    pub width: CharWidth,
    /// Byte order of `wchar_t` elements in `data` (ignored for `char`).
    pub order: ByteOrder,
    /// MaximumCount: size of the array the sender allocated, in elements.
    pub max_count: u32,
    /// Offset of the first element sent (0 in practice).
    pub offset: u32,
    /// The elements sent, raw, without the final NUL element.
    pub data: &'a [u8],
    /// Whether a NUL element followed `data`.
    pub terminated: bool,
}

impl<'a> NdrString<'a> {
    /// A NUL-terminated `[string] char *` of `bytes` (no NUL inside), with
    /// MaximumCount = ActualCount and Offset 0, as every client sends.
    pub fn char(bytes: &'a [u8]) -> Self {
        let count = u32::try_from(bytes.len()).map_or(u32::MAX, |n| n.saturating_add(1));
        Self {
            width: CharWidth::Char,
            order: ByteOrder::Little,
            max_count: count,
            offset: 0,
            data: bytes,
            terminated: true,
        }
    }

    /// A NUL-terminated `[string] wchar_t *` from UTF-16LE bytes (even
    /// length, no terminator), counts as in [`NdrString::char`]. See
    /// [`utf16le`] to produce the bytes from a `&str`.
    pub fn wchar_le(utf16le: &'a [u8]) -> Self {
        let units = utf16le.len() / 2 + utf16le.len() % 2;
        let count = u32::try_from(units).map_or(u32::MAX, |n| n.saturating_add(1));
        Self {
            width: CharWidth::WChar,
            order: ByteOrder::Little,
            max_count: count,
            offset: 0,
            data: utf16le,
            terminated: true,
        }
    }

    /// The raw elements, without the final NUL.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.data
    }

    /// ActualCount: elements on the wire, the NUL included.
    pub fn actual_count(&self) -> Result<u32> {
        let n = self.data.len() / self.width.size() + usize::from(self.terminated);
        u32::try_from(n).map_err(|_| Error::TooLong("NDR string (ActualCount is 32 bits)"))
    }

    /// The `wchar_t` elements as UTF-16 code units (empty for `char`
    /// strings, whose elements are bytes: use [`NdrString::as_bytes`]).
    pub fn utf16_units(&self) -> impl Iterator<Item = u16> + 'a {
        let order = self.order;
        let data = match self.width {
            CharWidth::WChar => self.data,
            CharWidth::Char => &[],
        };
        data.chunks_exact(2).map(move |u| match order {
            ByteOrder::Little => u16::from_le_bytes([u[0], u[1]]),
            ByteOrder::Big => u16::from_be_bytes([u[0], u[1]]),
        })
    }

    /// Decodes a `wchar_t` string into a `String` (allocates). Fails on an
    /// unpaired surrogate and on a `char` string.
    pub fn decode_utf16(&self) -> Result<String> {
        if self.width != CharWidth::WChar {
            return Err(Error::Unsupported("decode_utf16 on a char string"));
        }
        char::decode_utf16(self.utf16_units())
            .collect::<core::result::Result<String, _>>()
            .map_err(|_| Error::Malformed("NDR wchar_t string with an unpaired surrogate"))
    }

    /// Bytes this string takes when it starts at stub offset `pos`
    /// (alignment padding included).
    pub const fn encoded_len(&self, pos: usize) -> usize {
        let data = self.data.len()
            + if self.terminated {
                self.width.size()
            } else {
                0
            };
        align_up(pos, 4) - pos + 12 + data
    }
}

/// UTF-16LE bytes of `s`, for [`NdrString::wchar_le`].
pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Reads NDR from a stub (a request or response body). Offsets for
/// alignment count from the start of the stub.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    r: Reader<'a>,
    order: ByteOrder,
}

impl<'a> Decoder<'a> {
    /// A decoder at the start of `stub`, which is in representation `drep`.
    /// EBCDIC characters are refused ([`Error::Unsupported`]).
    pub fn new(stub: &'a [u8], drep: Drep) -> Result<Self> {
        if drep.char_rep() != 0 {
            return Err(Error::Unsupported("NDR EBCDIC character representation"));
        }
        Ok(Self {
            r: Reader::new(stub),
            order: drep.byte_order(),
        })
    }

    /// Offset of the next byte in the stub.
    pub const fn position(&self) -> usize {
        self.r.position()
    }

    /// Bytes not yet read.
    pub const fn remaining(&self) -> usize {
        self.r.remaining()
    }

    /// Skips padding up to the next multiple of `align` (a power of two).
    pub fn align(&mut self, align: usize) -> Result<()> {
        let pos = self.r.position();
        self.r.skip(align_up(pos, align) - pos)
    }

    /// An aligned `unsigned short`.
    pub fn u16(&mut self) -> Result<u16> {
        self.align(2)?;
        let b = self.r.array()?;
        Ok(match self.order {
            ByteOrder::Little => u16::from_le_bytes(b),
            ByteOrder::Big => u16::from_be_bytes(b),
        })
    }

    /// An aligned `unsigned long` (32 bits).
    pub fn u32(&mut self) -> Result<u32> {
        self.align(4)?;
        let b = self.r.array()?;
        Ok(match self.order {
            ByteOrder::Little => u32::from_le_bytes(b),
            ByteOrder::Big => u32::from_be_bytes(b),
        })
    }

    /// A `[unique]` or `[ptr]` pointer's referent id; `None` for NULL.
    pub fn pointer(&mut self) -> Result<Option<NonZeroU32>> {
        Ok(NonZeroU32::new(self.u32()?))
    }

    /// An embedded `[ref]` pointer's referent id, which must not be NULL.
    pub fn ref_pointer(&mut self) -> Result<NonZeroU32> {
        self.pointer()?
            .ok_or(Error::Malformed("NULL [ref] pointer"))
    }

    /// A conformant varying string. Offset + ActualCount must not exceed
    /// MaximumCount and the elements must be in the stub.
    pub fn string(&mut self, width: CharWidth) -> Result<NdrString<'a>> {
        let max_count = self.u32()?;
        let offset = self.u32()?;
        let actual = self.u32()?;
        if offset.checked_add(actual).is_none_or(|end| end > max_count) {
            return Err(Error::Malformed(
                "NDR string: Offset + ActualCount > MaximumCount",
            ));
        }
        let unit = width.size();
        let len = usize::try_from(actual)
            .ok()
            .and_then(|n| n.checked_mul(unit))
            .ok_or(Error::TooLong("NDR string"))?;
        let all = self.r.bytes(len)?;
        let (data, terminated) = match all.len().checked_sub(unit) {
            Some(cut)
                if all
                    .get(cut..)
                    .is_some_and(|nul| nul.iter().all(|&b| b == 0)) =>
            {
                (all.get(..cut).unwrap_or_default(), true)
            }
            _ => (all, false),
        };
        Ok(NdrString {
            width,
            order: self.order,
            max_count,
            offset,
            data,
            terminated,
        })
    }

    /// A top-level `[unique, string]` pointer: referent id, then the string
    /// unless NULL.
    pub fn unique_string(
        &mut self,
        width: CharWidth,
    ) -> Result<Option<(NonZeroU32, NdrString<'a>)>> {
        match self.pointer()? {
            None => Ok(None),
            Some(id) => Ok(Some((id, self.string(width)?))),
        }
    }
}

/// Writes NDR into a stub buffer. Offsets for alignment count from the
/// start of `buf`, which must be the start of the stub.
#[derive(Debug)]
pub struct Encoder<'a> {
    w: Writer<'a>,
    order: ByteOrder,
}

impl<'a> Encoder<'a> {
    /// An encoder at the start of `stub`, writing integers in `drep`'s order.
    pub fn new(stub: &'a mut [u8], drep: Drep) -> Self {
        Self {
            w: Writer::new(stub),
            order: drep.byte_order(),
        }
    }

    /// Bytes written so far.
    pub const fn position(&self) -> usize {
        self.w.position()
    }

    /// Writes zero padding up to the next multiple of `align`.
    pub fn align(&mut self, align: usize) -> Result<()> {
        let pos = self.w.position();
        self.w.zeros(align_up(pos, align) - pos)
    }

    /// An aligned `unsigned short`.
    pub fn u16(&mut self, v: u16) -> Result<()> {
        self.align(2)?;
        match self.order {
            ByteOrder::Little => self.w.u16_le(v),
            ByteOrder::Big => self.w.u16_be(v),
        }
    }

    /// An aligned `unsigned long`.
    pub fn u32(&mut self, v: u32) -> Result<()> {
        self.align(4)?;
        match self.order {
            ByteOrder::Little => self.w.u32_le(v),
            ByteOrder::Big => self.w.u32_be(v),
        }
    }

    /// A pointer's referent id (0 for NULL).
    pub fn pointer(&mut self, id: Option<NonZeroU32>) -> Result<()> {
        self.u32(id.map_or(0, NonZeroU32::get))
    }

    /// A conformant varying string. `wchar_t` elements are written in the
    /// encoder's byte order (swapped if the string came from the other one).
    pub fn string(&mut self, s: &NdrString<'_>) -> Result<()> {
        let actual = s.actual_count()?;
        if !s.data.len().is_multiple_of(s.width.size()) {
            return Err(Error::Malformed("NDR wchar_t string of odd byte length"));
        }
        if s.offset
            .checked_add(actual)
            .is_none_or(|end| end > s.max_count)
        {
            return Err(Error::Malformed(
                "NDR string: Offset + ActualCount > MaximumCount",
            ));
        }
        self.u32(s.max_count)?;
        self.u32(s.offset)?;
        self.u32(actual)?;
        match s.width {
            CharWidth::WChar if s.order != self.order => {
                for u in s.data.chunks_exact(2) {
                    self.w.bytes(&[u[1], u[0]])?;
                }
            }
            _ => self.w.bytes(s.data)?,
        }
        if s.terminated {
            self.w.zeros(s.width.size())?;
        }
        Ok(())
    }

    /// A top-level `[unique, string]` pointer: referent id, then the string.
    pub fn unique_string(&mut self, s: Option<(NonZeroU32, &NdrString<'_>)>) -> Result<()> {
        self.pointer(s.map(|(id, _)| id))?;
        match s {
            Some((_, s)) => self.string(s),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
