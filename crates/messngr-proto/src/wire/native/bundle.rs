//! BUNDLE (KIND 7): several whole native frames for one receiver in one.
//!
//! Why: the relay (docs/relay.md) seals each message to its host and
//! publishes it to a JetStream cluster, and on a busy relay each publish,
//! its replication, its delivery and its acknowledgement cost more than
//! the message itself. Messages that queue up for the same recipient while
//! one publish is under way go out together as one bundle, sealed once.
//! Each frame inside is still whole and signed by its author, and the
//! receiver checks each as if it had come alone: a bundle only saves the
//! envelope, it vouches for nothing.
//!
//! ```text
//!  0  MAGIC    4 bytes  FB 'M' 'N' 'G'
//!  4  VERSION  u8       1
//!  5  KIND     u8       7
//!  6  FRAME*   TLV      TYPE 0x98 (critical), LENGTH u16 BE, a whole
//!                       native frame (not itself a bundle); 2..=MAX_FRAMES
//! ```
//!
//! A bundle travels only inside a sealed relay envelope; a native session
//! has no use for one, and `Repr::parse` refuses it as unsupported.

use super::{CRITICAL, FIELD_HEADER_LEN, HEADER_LEN, Kind, MAGIC, Packet, VERSION, field};
use crate::wire::{Error, Result};

/// Most frames in one bundle: a publish's worth of queued messages, and a
/// bound on the work one envelope can ask of a receiver.
pub const MAX_FRAMES: usize = 64;
/// Shortest frame inside: a header.
const MIN_FRAME_LEN: usize = HEADER_LEN;

// FRAME is critical: a reader of another kind that met it refuses.
const _: () = assert!(field::FRAME & CRITICAL != 0);

/// A parsed bundle: its frames, borrowed, in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle<'a> {
    frames: Vec<&'a [u8]>,
}

impl<'a> Bundle<'a> {
    /// The bundle of `frames`, checked as [`Bundle::parse`] checks one.
    pub fn new(frames: Vec<&'a [u8]>) -> Result<Self> {
        if !(2..=MAX_FRAMES).contains(&frames.len()) {
            return Err(Error::Malformed("native BUNDLE holds 2 to 64 frames"));
        }
        for f in &frames {
            check_inner(f)?;
        }
        Ok(Bundle { frames })
    }

    /// Parses a BUNDLE frame: magic, version, kind, then FRAME fields only,
    /// each a native frame of another kind, 2 to [`MAX_FRAMES`] of them.
    pub fn parse(payload: &'a [u8]) -> Result<Self> {
        let packet = Packet::new_checked(payload)?;
        if packet.kind() != Kind::Bundle {
            return Err(Error::Malformed("not a native BUNDLE"));
        }
        let mut frames = Vec::new();
        for f in packet.fields() {
            let f = f?;
            if f.kind != field::FRAME {
                return Err(Error::Malformed(
                    "native BUNDLE holds a field other than FRAME",
                ));
            }
            if frames.len() == MAX_FRAMES {
                return Err(Error::TooLong("native BUNDLE"));
            }
            frames.push(f.value);
        }
        Bundle::new(frames)
    }

    /// The frames, in wire order.
    pub fn frames(&self) -> &[&'a [u8]] {
        &self.frames
    }

    /// Bytes of the emitted bundle.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + self
                .frames
                .iter()
                .map(|f| FIELD_HEADER_LEN + f.len())
                .sum::<usize>()
    }

    /// The bundle's bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buffer_len());
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(u8::from(Kind::Bundle));
        for f in &self.frames {
            out.push(field::FRAME);
            // check_inner held each to a u16 LENGTH.
            out.extend_from_slice(&u16::try_from(f.len()).unwrap_or(u16::MAX).to_be_bytes());
            out.extend_from_slice(f);
        }
        out
    }
}

/// Bytes a frame of `len` bytes adds to a bundle.
pub const fn frame_cost(len: usize) -> usize {
    FIELD_HEADER_LEN + len
}

/// Bytes of a bundle with no frames yet.
pub const EMPTY_LEN: usize = HEADER_LEN;

/// A frame a bundle may hold: a native frame of a known version, not a
/// bundle, whose length fits FRAME's LENGTH.
fn check_inner(frame: &[u8]) -> Result<()> {
    if frame.len() < MIN_FRAME_LEN || frame.len() > usize::from(u16::MAX) {
        return Err(Error::Malformed("native BUNDLE FRAME of a bad length"));
    }
    let inner = Packet::new_checked(frame)?;
    if inner.kind() == Kind::Bundle {
        return Err(Error::Malformed("native BUNDLE inside a BUNDLE"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u8) -> Vec<u8> {
        let mut f = MAGIC.to_vec();
        f.extend_from_slice(&[VERSION, 1, field::TEXT, 0, 1, n]);
        f
    }

    #[test]
    fn frames_round_trip_in_order() {
        let (a, b, c) = (frame(1), frame(2), frame(3));
        let bundle = Bundle::new(vec![&a, &b, &c]).unwrap();
        let bytes = bundle.to_vec();
        assert_eq!(bytes.len(), bundle.buffer_len());
        assert_eq!(&bytes[..6], b"\xFBMNG\x01\x07");
        assert_eq!(&bytes[6..9], &[0x98, 0, 10]);
        let parsed = Bundle::parse(&bytes).unwrap();
        assert_eq!(parsed.frames(), &[&a[..], &b[..], &c[..]]);
        assert_eq!(EMPTY_LEN + 3 * frame_cost(a.len()), bundle.buffer_len());
    }

    #[test]
    fn one_frame_none_or_too_many_are_refused() {
        let a = frame(1);
        assert!(Bundle::new(vec![&a]).is_err());
        assert!(Bundle::new(vec![]).is_err());
        assert!(Bundle::new(vec![&a[..]; MAX_FRAMES]).is_ok());
        assert!(Bundle::new(vec![&a[..]; MAX_FRAMES + 1]).is_err());
        // Emitted by hand past the limit: refused on parse.
        let mut bytes = Bundle::new(vec![&a[..]; MAX_FRAMES]).unwrap().to_vec();
        bytes.extend_from_slice(&[field::FRAME, 0, 10]);
        bytes.extend_from_slice(&a);
        assert_eq!(Bundle::parse(&bytes), Err(Error::TooLong("native BUNDLE")));
    }

    #[test]
    fn a_bundle_inside_another_field_or_garbage_is_refused() {
        let (a, b) = (frame(1), frame(2));
        let inner = Bundle::new(vec![&a, &b]).unwrap().to_vec();
        assert!(Bundle::new(vec![&a, &inner]).is_err());
        // Another field than FRAME.
        let mut bytes = Bundle::new(vec![&a, &b]).unwrap().to_vec();
        bytes.extend_from_slice(&[field::TEXT, 0, 1, b'x']);
        assert!(Bundle::parse(&bytes).is_err());
        // A FRAME that is not a native frame, or cut short.
        let mut bytes = Bundle::new(vec![&a, &b]).unwrap().to_vec();
        bytes.extend_from_slice(&[field::FRAME, 0, 6, 1, 2, 3, 4, 5, 6]);
        assert!(Bundle::parse(&bytes).is_err());
        let whole = Bundle::new(vec![&a, &b]).unwrap().to_vec();
        for cut in 0..whole.len() {
            assert!(Bundle::parse(&whole[..cut]).is_err(), "cut at {cut}");
        }
        // A message frame is not a bundle, and a bundle is no Repr.
        assert!(Bundle::parse(&a).is_err());
        assert_eq!(
            super::super::Repr::parse(&whole),
            Err(Error::Unsupported(
                "native BUNDLE (read it with bundle::Bundle::parse)"
            ))
        );
    }
}
