//! The calling side of an NBT session, sans-IO: the SESSION REQUEST to
//! write, what the answer means, and a buffer that cuts the byte stream
//! into whole packets.
//!
//! Why here: the daemon's senders (SMB and native, async) and the load
//! generator (blocking threads) open sessions the same way; only how they
//! move bytes differs. This is the part they share, so the opening rules
//! and the frame-size guard exist once.

use super::{ErrorCode, Repr, frame_len};
use crate::wire::name::{EncodedName, NetbiosName, Scope};
use crate::wire::{Emit, Result};

/// The SESSION REQUEST asking `called` for a session, from `calling`.
pub fn session_request(called: NetbiosName, calling: NetbiosName) -> Result<Vec<u8>> {
    session_request_in(called, calling, Scope::EMPTY)
}

/// [`session_request`] with both names in the NetBIOS scope `scope`.
pub fn session_request_in(
    called: NetbiosName,
    calling: NetbiosName,
    scope: Scope<'_>,
) -> Result<Vec<u8>> {
    Repr::SessionRequest {
        called: EncodedName {
            name: called,
            scope,
        },
        calling: EncodedName {
            name: calling,
            scope,
        },
    }
    .to_vec()
}

/// What the called side answered to a SESSION REQUEST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// POSITIVE SESSION RESPONSE: the session is open.
    Yes,
    /// NEGATIVE SESSION RESPONSE with its error code.
    Refused(ErrorCode),
    /// Some other packet (a retarget, a message): not an answer we follow.
    Unexpected(String),
}

/// Reads the answer `frame` (one whole packet from a [`Framer`]).
pub fn session_answer(frame: &[u8]) -> Result<Opened> {
    Ok(match Repr::parse(frame)? {
        Repr::PositiveSessionResponse => Opened::Yes,
        Repr::NegativeSessionResponse { error_code } => Opened::Refused(error_code),
        other => Opened::Unexpected(format!("a {:?} packet", other.packet_type())),
    })
}

/// Bytes received so far, cut into whole NBSS packets.
#[derive(Debug, Clone)]
pub struct Framer {
    buf: Vec<u8>,
    max_frame_len: usize,
}

impl Framer {
    /// A framer refusing packets longer than `max_frame_len`.
    pub fn new(max_frame_len: usize) -> Self {
        Self {
            buf: Vec::with_capacity(512),
            max_frame_len,
        }
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole packet, if one has arrived; an error for a packet
    /// that is malformed or too long (the session cannot go on).
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>> {
        Ok(frame_len(&self.buf, self.max_frame_len)?.map(|n| self.buf.drain(..n).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::name::suffix;

    #[test]
    fn a_stream_is_cut_into_packets_and_answers_are_read() {
        let called = NetbiosName::truncated(b"H2", suffix::MESSENGER);
        let calling = NetbiosName::truncated(b"H1", suffix::WORKSTATION);
        let request = session_request(called, calling).unwrap();
        assert_eq!(request[0], 0x81);
        let mut f = Framer::new(64);
        f.push(&[0x82, 0, 0]);
        assert_eq!(f.next_frame().unwrap(), None);
        f.push(&[0, 0x83, 0, 0, 1, 0x82]);
        let first = f.next_frame().unwrap().unwrap();
        assert_eq!(session_answer(&first).unwrap(), Opened::Yes);
        let second = f.next_frame().unwrap().unwrap();
        assert!(matches!(
            session_answer(&second).unwrap(),
            Opened::Refused(_)
        ));
        assert_eq!(f.next_frame().unwrap(), None);
        f.push(&[0x00, 0x00, 0x01, 0x00]);
        assert!(f.next_frame().is_err(), "256 bytes is over the 64 allowed");
    }
}
