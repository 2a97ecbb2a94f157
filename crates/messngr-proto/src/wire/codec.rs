//! Bounds-checked cursors for reading and writing variable-length formats.
//!
//! Fixed headers use `Packet` views with field ranges; everything with a
//! variable layout (NBNS records, SMB byte blocks, NDR) walks the buffer with a
//! [`Reader`] or fills one with a [`Writer`]. Every read returns
//! [`Error::Truncated`] instead of panicking, so decoders can use `?` on each
//! field and stay panic-free on any input.

use super::{Error, Result};

/// A read cursor over a byte slice. Reads never panic.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A cursor at the start of `buf`.
    pub const fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// A cursor at `pos` in `buf` (which may be past the end: the next read fails).
    pub const fn at(buf: &'a [u8], pos: usize) -> Self {
        Self { buf, pos }
    }

    /// The whole underlying buffer (for compression pointers and offsets that
    /// are counted from the start of a packet).
    pub const fn buffer(&self) -> &'a [u8] {
        self.buf
    }

    /// Offset of the next byte to be read.
    pub const fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left to read.
    pub const fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// The bytes left to read, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// Takes the next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(Error::Truncated {
            need: usize::MAX,
            have: self.buf.len(),
        })?;
        let out = self.buf.get(self.pos..end).ok_or(Error::Truncated {
            need: end,
            have: self.buf.len(),
        })?;
        self.pos = end;
        Ok(out)
    }

    /// Takes the next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<()> {
        self.bytes(n).map(|_| ())
    }

    /// Takes one byte.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// Takes a big-endian `u16` (NetBIOS layers).
    pub fn u16_be(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Takes a big-endian `u32` (NetBIOS layers).
    pub fn u32_be(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Takes a little-endian `u16` (SMB, NDR).
    pub fn u16_le(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// Takes a little-endian `u32` (SMB, NDR).
    pub fn u32_le(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Takes bytes up to (not including) the next NUL and consumes the NUL.
    pub fn cstr(&mut self) -> Result<&'a [u8]> {
        let rest = self.rest();
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(Error::Malformed("string without NUL terminator"))?;
        let s = self.bytes(len)?;
        self.skip(1)?;
        Ok(s)
    }
}

/// A write cursor over a mutable byte slice. Writes never panic.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// A cursor at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes written so far (= offset of the next byte).
    pub const fn position(&self) -> usize {
        self.pos
    }

    /// What has been written so far.
    pub fn written(&self) -> &[u8] {
        &self.buf[..self.pos]
    }

    /// Writes `data`.
    pub fn bytes(&mut self, data: &[u8]) -> Result<()> {
        let end = self.pos + data.len();
        let have = self.buf.len();
        let dst = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(Error::BufferTooSmall { need: end, have })?;
        dst.copy_from_slice(data);
        self.pos = end;
        Ok(())
    }

    /// Writes `n` zero bytes.
    pub fn zeros(&mut self, n: usize) -> Result<()> {
        let end = self.pos + n;
        let have = self.buf.len();
        self.buf
            .get_mut(self.pos..end)
            .ok_or(Error::BufferTooSmall { need: end, have })?
            .fill(0);
        self.pos = end;
        Ok(())
    }

    /// Writes one byte.
    pub fn u8(&mut self, v: u8) -> Result<()> {
        self.bytes(&[v])
    }

    /// Writes a big-endian `u16`.
    pub fn u16_be(&mut self, v: u16) -> Result<()> {
        self.bytes(&v.to_be_bytes())
    }

    /// Writes a big-endian `u32`.
    pub fn u32_be(&mut self, v: u32) -> Result<()> {
        self.bytes(&v.to_be_bytes())
    }

    /// Writes a little-endian `u16`.
    pub fn u16_le(&mut self, v: u16) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    /// Writes a little-endian `u32`.
    pub fn u32_le(&mut self, v: u32) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }

    /// Overwrites a big-endian `u16` at an earlier offset (back-patching a
    /// length once the body is written).
    pub fn patch_u16_be(&mut self, at: usize, v: u16) -> Result<()> {
        let have = self.buf.len();
        self.buf
            .get_mut(at..at + 2)
            .ok_or(Error::BufferTooSmall { need: at + 2, have })?
            .copy_from_slice(&v.to_be_bytes());
        Ok(())
    }

    /// Overwrites a little-endian `u16` at an earlier offset.
    pub fn patch_u16_le(&mut self, at: usize, v: u16) -> Result<()> {
        let have = self.buf.len();
        self.buf
            .get_mut(at..at + 2)
            .ok_or(Error::BufferTooSmall { need: at + 2, have })?
            .copy_from_slice(&v.to_le_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_reports_truncation_instead_of_panicking() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16_be(), Ok(0x0102));
        assert_eq!(r.u16_be(), Err(Error::Truncated { need: 4, have: 3 }));
        assert_eq!(r.u8(), Ok(3));
        assert_eq!(r.remaining(), 0);
        assert!(r.bytes(usize::MAX).is_err());
    }

    #[test]
    fn cstr_needs_a_terminator() {
        let mut r = Reader::new(b"ab\0cd");
        assert_eq!(r.cstr(), Ok(&b"ab"[..]));
        assert_eq!(
            r.cstr(),
            Err(Error::Malformed("string without NUL terminator"))
        );
    }

    #[test]
    fn writer_refuses_to_overrun() {
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        w.u16_le(0x0201).unwrap();
        assert_eq!(w.u16_le(1), Err(Error::BufferTooSmall { need: 4, have: 3 }));
        w.patch_u16_be(0, 0xAABB).unwrap();
        assert_eq!(w.written(), &[0xAA, 0xBB]);
    }
}
