//! Wire formats: bytes ⇄ typed values, one module per format.
//!
//! # The contract every module keeps
//!
//! * A `Packet<T: AsRef<[u8]>>` (where a format has a fixed header) is a
//!   zero-copy view. `Packet::new_checked` validates lengths once; after it
//!   succeeds **no accessor panics**, whatever the bytes are.
//! * A `Repr` is the validated meaning of a packet. `Repr::parse` borrows from
//!   the input (no allocation when decoding) and returns [`Error`] on anything
//!   it cannot make sense of. It never panics on any input: this is what the
//!   fuzz targets check.
//! * `Repr::buffer_len` is the exact size `Repr::emit` writes, and `emit`
//!   writes into a caller's `&mut [u8]` of at least that length and returns the
//!   number of bytes written. Emitting never panics; a short buffer is
//!   [`Error::BufferTooSmall`].
//! * Emitting what was parsed gives the same bytes back, except where a
//!   module documents a normalisation (e.g. an NBNS compression pointer).
//!
//! Integers are big-endian in the NetBIOS layers (NBNS, NBDGM, NBSS) and
//! little-endian in SMB and (in practice) DCE/RPC.

pub mod codec;
pub mod dcerpc;
pub mod name;
pub mod native;
pub mod nbdgm;
pub mod nbns;
pub mod nbss;
pub mod smb;

/// Why bytes could not be decoded, or a value could not be encoded.
///
/// One small error type for the whole wire layer, so that a caller can log
/// *what* was wrong with a packet without caring which layer said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input ended before a field did.
    #[error("truncated: need {need} bytes, have {have}")]
    Truncated {
        /// Bytes the field needs, counted from the start of the buffer.
        need: usize,
        /// Bytes there were.
        have: usize,
    },
    /// A field holds a value the format does not allow.
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// A well-formed value this implementation does not handle.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// A value is too long for the field that carries it.
    #[error("too long: {0}")]
    TooLong(&'static str),
    /// The output buffer given to `emit` is shorter than `buffer_len()`.
    #[error("output buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
}

/// Result of a wire operation.
pub type Result<T> = core::result::Result<T, Error>;

/// Something that has an exact encoded size and can write itself.
///
/// Every `Repr` implements this, which gives them [`Emit::to_vec`] for free.
pub trait Emit {
    /// Exact number of bytes [`Emit::emit`] writes.
    fn buffer_len(&self) -> usize;
    /// Writes the encoding into `buf` (at least `buffer_len()` long) and
    /// returns the number of bytes written.
    fn emit(&self, buf: &mut [u8]) -> Result<usize>;
    /// Encodes into a new vector of exactly the right size.
    fn to_vec(&self) -> Result<Vec<u8>> {
        let mut v = vec![0; self.buffer_len()];
        let n = self.emit(&mut v)?;
        v.truncate(n);
        Ok(v)
    }
}
