//! HELLO: who a handshake's sender is. It is the Noise payload of handshake
//! messages 2 and 3 — a bare list of TLV fields, no frame header — naming
//! the sender's host and its Ed25519 key, which the receiver checks against
//! the Noise static key and its pin.

use super::found::{FieldValue, Found, check_host};
use super::{FIELD_HEADER_LEN, Fields, MAX_HOST_LEN, field};
use crate::wire::codec::{Reader, Writer};
use crate::wire::{Emit, Error, Result};

/// The HELLO payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello<'a> {
    /// HOST (required): the sender's NetBIOS name (1..=15 printable ASCII,
    /// no space).
    pub host: &'a str,
    /// HOST_KEY (required): the sender's Ed25519 public key.
    pub host_key: [u8; 32],
}

impl<'a> Hello<'a> {
    /// Reads a HELLO: every byte a field. Unknown fields are skipped, unknown
    /// critical ones refused, and other known fields ignored, as in a frame.
    pub fn parse(payload: &'a [u8]) -> Result<Self> {
        let mut found = Found::default();
        for f in (Fields {
            r: Reader::new(payload),
        }) {
            found.take(f?)?;
        }
        Ok(Self {
            host: found
                .host
                .ok_or(Error::Malformed("native HELLO without HOST"))?,
            host_key: found
                .host_key
                .ok_or(Error::Malformed("native HELLO without HOST_KEY"))?,
        })
    }

    fn fields(&self) -> [(u8, FieldValue<'_>); 2] {
        [
            (field::HOST, FieldValue::Text(self.host, MAX_HOST_LEN)),
            (field::HOST_KEY, FieldValue::Bytes(&self.host_key)),
        ]
    }
}

impl Emit for Hello<'_> {
    fn buffer_len(&self) -> usize {
        self.fields()
            .iter()
            .map(|(_, v)| FIELD_HEADER_LEN + v.len())
            .sum()
    }

    /// Writes HOST and HOST_KEY; a HOST that is not a NetBIOS name is
    /// [`Error::Malformed`] (too long: [`Error::TooLong`]).
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        check_host(self.host)?;
        let need = self.buffer_len();
        let have = buf.len();
        let out = buf
            .get_mut(..need)
            .ok_or(Error::BufferTooSmall { need, have })?;
        let mut w = Writer::new(out);
        for (kind, v) in self.fields() {
            v.write(kind, &mut w)?;
        }
        Ok(w.position())
    }
}
