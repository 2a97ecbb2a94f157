//! The NetBIOS session service on TCP 139 (RFC 1002 §4.3): the 4-byte
//! packet header, the session setup packets and the framing of a byte stream.
//!
//! Every message SMB travels inside a SESSION MESSAGE, after the caller has
//! asked for a session to `RECIPIENT<03>` with a SESSION REQUEST
//! (nbt-session-and-smb-messages.md §1–2). This module turns those packets
//! into typed values and back, and tells a TCP reader where one packet ends
//! ([`frame_len`]), so that the daemon can cut its stream without knowing
//! anything else about the protocol.
//!
//! ```text
//!  0  TYPE    u8       packet type (RFC 1002 §4.3.1)
//!  1  FLAGS   u8       0x01 = E, the 17th bit of LENGTH; 0xFE reserved, zero
//!  2  LENGTH  u16 BE   trailer bytes after this header (with E: up to 131071)
//!  4  trailer
//! ```
//!
//! All integers are big-endian. Names in a SESSION REQUEST are full encoded
//! names without compression pointers; a scope is allowed.

use core::net::Ipv4Addr;
use core::time::Duration;

use super::codec::{Reader, Writer};
use super::name::EncodedName;
use super::{Emit, Error, Result};

/// SSN_SRVC_TCP_PORT: the session service port (RFC 1002 §6).
pub const SSN_SRVC_TCP_PORT: u16 = 139;
/// SSN_RETRY_COUNT: retargets a caller follows (RFC 1002 §6).
pub const SSN_RETRY_COUNT: usize = 4;
/// SSN_CLOSE_TIMEOUT: how long to wait for a session to close (RFC 1002 §6).
pub const SSN_CLOSE_TIMEOUT: Duration = Duration::from_secs(30);
/// SSN_KEEP_ALIVE_TIMEOUT: the optional keep-alive interval (RFC 1002 §6).
pub const SSN_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(60);

/// Bytes of the packet header.
pub const HEADER_LEN: usize = 4;
/// FLAGS bit E: the 17th (most significant) bit of LENGTH (RFC 1002 §4.3.1).
pub const FLAG_E: u8 = 0x01;
/// FLAGS bits that RFC 1002 §4.3.1 reserves; they must be zero.
pub const FLAGS_RESERVED: u8 = 0xFE;
/// Largest LENGTH the header can express: 17 bits.
pub const MAX_LENGTH: usize = 0x1_FFFF;
/// LENGTH of a SESSION REQUEST with two scope-less names (RFC 1002 §4.3.2).
pub const SESSION_REQUEST_LEN: usize = 68;
/// LENGTH of a RETARGET SESSION RESPONSE: IP address and port (RFC 1002 §4.3.5).
pub const RETARGET_LEN: usize = 6;

/// A frame-size cap for [`frame_len`] that fits every message SMB messngr
/// accepts (blocks up to 1024 bytes, names up to 255, headers) with room to
/// spare, while keeping a hostile peer from making the reader buffer 128 KiB.
pub const DEFAULT_MAX_FRAME_LEN: usize = 8192;

/// Byte ranges of the header fields.
pub mod calling;

mod field {
    use core::ops::{Range, RangeFrom};

    pub const TYPE: usize = 0;
    pub const FLAGS: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const TRAILER: RangeFrom<usize> = 4..;
}

/// The TYPE byte (RFC 1002 §4.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 0x00 SESSION MESSAGE (§4.3.6): the trailer is one SMB.
    SessionMessage,
    /// 0x81 SESSION REQUEST (§4.3.2): called and calling name.
    SessionRequest,
    /// 0x82 POSITIVE SESSION RESPONSE (§4.3.3): no trailer.
    PositiveSessionResponse,
    /// 0x83 NEGATIVE SESSION RESPONSE (§4.3.4): one ERROR_CODE byte.
    NegativeSessionResponse,
    /// 0x84 RETARGET SESSION RESPONSE (§4.3.5): IP address and port.
    RetargetSessionResponse,
    /// 0x85 SESSION KEEP ALIVE (§4.3.7): no trailer.
    SessionKeepAlive,
    /// Any other value, kept so that it round-trips.
    Unknown(u8),
}

impl From<u8> for PacketType {
    fn from(v: u8) -> Self {
        match v {
            0x00 => Self::SessionMessage,
            0x81 => Self::SessionRequest,
            0x82 => Self::PositiveSessionResponse,
            0x83 => Self::NegativeSessionResponse,
            0x84 => Self::RetargetSessionResponse,
            0x85 => Self::SessionKeepAlive,
            other => Self::Unknown(other),
        }
    }
}

impl From<PacketType> for u8 {
    fn from(t: PacketType) -> u8 {
        match t {
            PacketType::SessionMessage => 0x00,
            PacketType::SessionRequest => 0x81,
            PacketType::PositiveSessionResponse => 0x82,
            PacketType::NegativeSessionResponse => 0x83,
            PacketType::RetargetSessionResponse => 0x84,
            PacketType::SessionKeepAlive => 0x85,
            PacketType::Unknown(v) => v,
        }
    }
}

/// ERROR_CODE of a NEGATIVE SESSION RESPONSE (RFC 1002 §4.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0x80 Not listening **on** called name: the name is ours but not
    /// accepting sessions (e.g. receiving paused).
    NotListeningOnCalledName,
    /// 0x81 Not listening **for** calling name: policy rejects the caller.
    NotListeningForCallingName,
    /// 0x82 Called name not present: not one of our names.
    CalledNameNotPresent,
    /// 0x83 Called name present, but insufficient resources.
    InsufficientResources,
    /// 0x8F Unspecified error.
    UnspecifiedError,
    /// Any other value, kept so that it round-trips.
    Unknown(u8),
}

impl From<u8> for ErrorCode {
    fn from(v: u8) -> Self {
        match v {
            0x80 => Self::NotListeningOnCalledName,
            0x81 => Self::NotListeningForCallingName,
            0x82 => Self::CalledNameNotPresent,
            0x83 => Self::InsufficientResources,
            0x8F => Self::UnspecifiedError,
            other => Self::Unknown(other),
        }
    }
}

impl From<ErrorCode> for u8 {
    fn from(c: ErrorCode) -> u8 {
        match c {
            ErrorCode::NotListeningOnCalledName => 0x80,
            ErrorCode::NotListeningForCallingName => 0x81,
            ErrorCode::CalledNameNotPresent => 0x82,
            ErrorCode::InsufficientResources => 0x83,
            ErrorCode::UnspecifiedError => 0x8F,
            ErrorCode::Unknown(v) => v,
        }
    }
}

/// A read/write view of one NBSS packet: header plus trailer.
///
/// After [`Packet::new_checked`] succeeds the buffer holds the whole packet
/// (it may hold more: bytes after [`Packet::total_len`] are not part of it)
/// and no accessor panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors may panic on a short
    /// buffer until [`Packet::check_len`] has succeeded.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`Packet::check_len`] and [`Packet::check_flags`].
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        packet.check_flags()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the header and the LENGTH bytes it announces.
    pub fn check_len(&self) -> Result<()> {
        let have = self.buffer.as_ref().len();
        if have < HEADER_LEN {
            return Err(Error::Truncated {
                need: HEADER_LEN,
                have,
            });
        }
        let need = self.total_len();
        if have < need {
            return Err(Error::Truncated { need, have });
        }
        Ok(())
    }

    /// Checks that the reserved FLAGS bits are zero (RFC 1002 §4.3.1).
    pub fn check_flags(&self) -> Result<()> {
        if self.flags() & FLAGS_RESERVED != 0 {
            return Err(Error::Malformed("NBSS reserved FLAGS bits set"));
        }
        Ok(())
    }

    /// Consumes the view and returns the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// TYPE.
    pub fn packet_type(&self) -> PacketType {
        PacketType::from(self.buffer.as_ref()[field::TYPE])
    }

    /// FLAGS, E bit included.
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// The 17-bit LENGTH: `(FLAGS & E) << 16 | LENGTH`.
    pub fn length(&self) -> usize {
        let b = self.buffer.as_ref();
        let low = u16::from_be_bytes([b[field::LENGTH.start], b[field::LENGTH.start + 1]]);
        usize::from(self.flags() & FLAG_E) << 16 | usize::from(low)
    }

    /// Header plus trailer.
    pub fn total_len(&self) -> usize {
        HEADER_LEN + self.length()
    }
}

impl<'a> Packet<&'a [u8]> {
    /// The trailer (LENGTH bytes after the header), borrowed from the buffer.
    pub fn trailer(&self) -> &'a [u8] {
        let end = self.total_len();
        &self.buffer[field::TRAILER][..end - HEADER_LEN]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets TYPE.
    pub fn set_packet_type(&mut self, t: PacketType) {
        self.buffer.as_mut()[field::TYPE] = t.into();
    }

    /// Sets FLAGS as given (E bit included).
    pub fn set_flags(&mut self, flags: u8) {
        self.buffer.as_mut()[field::FLAGS] = flags;
    }

    /// Sets the 17-bit LENGTH: the low 16 bits in LENGTH and bit 16 in FLAGS'
    /// E bit (the other FLAGS bits are cleared). Bits above 16 are dropped;
    /// callers check against [`MAX_LENGTH`].
    pub fn set_length(&mut self, len: usize) {
        let b = self.buffer.as_mut();
        b[field::FLAGS] = ((len >> 16) & usize::from(FLAG_E)) as u8;
        b[field::LENGTH].copy_from_slice(&((len & 0xFFFF) as u16).to_be_bytes());
    }

    /// The trailer, mutable.
    pub fn trailer_mut(&mut self) -> &mut [u8] {
        let end = self.total_len();
        &mut self.buffer.as_mut()[field::TRAILER][..end - HEADER_LEN]
    }
}

/// Tells a stream reader whether `buf` starts with a complete NBSS packet.
///
/// Returns `Ok(Some(n))` when the first `n` bytes are one whole packet,
/// `Ok(None)` when more bytes are needed (fewer than 4, or a trailer not yet
/// complete), and an error when the stream cannot be a session any more:
/// reserved FLAGS bits set ([`Error::Malformed`]) or a packet longer than
/// `max_frame_len` bytes, header included ([`Error::TooLong`]; reported as
/// soon as the header is in, before any of the trailer is buffered). Either
/// error means the caller should close the connection. Does not allocate.
pub fn frame_len(buf: &[u8], max_frame_len: usize) -> Result<Option<usize>> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let packet = Packet::new_unchecked(header);
    packet.check_flags()?;
    let total = packet.total_len();
    if total > max_frame_len {
        return Err(Error::TooLong("NBSS packet exceeds the frame-size limit"));
    }
    Ok((buf.len() >= total).then_some(total))
}

/// Splits the first complete packet off `buf`: `Ok(Some((packet, rest)))`,
/// or `Ok(None)` when more bytes are needed. Same rules as [`frame_len`].
pub fn split_frame(buf: &[u8], max_frame_len: usize) -> Result<Option<(&[u8], &[u8])>> {
    Ok(frame_len(buf, max_frame_len)?.and_then(|n| buf.split_at_checked(n)))
}

/// The meaning of one NBSS packet (RFC 1002 §4.3.2–4.3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    /// SESSION MESSAGE: the payload is one SMB, borrowed.
    SessionMessage {
        /// The SMB.
        payload: &'a [u8],
    },
    /// SESSION REQUEST: who the caller wants, and who it is.
    SessionRequest {
        /// CALLED_NAME, e.g. `RECIPIENT<03>`.
        called: EncodedName<'a>,
        /// CALLING_NAME, e.g. `SENDERBOX<00>`.
        calling: EncodedName<'a>,
    },
    /// POSITIVE SESSION RESPONSE.
    PositiveSessionResponse,
    /// NEGATIVE SESSION RESPONSE.
    NegativeSessionResponse {
        /// Why the session was refused.
        error_code: ErrorCode,
    },
    /// RETARGET SESSION RESPONSE: try again at another address.
    RetargetSessionResponse {
        /// RETARGET_IP_ADDRESS.
        address: Ipv4Addr,
        /// PORT.
        port: u16,
    },
    /// SESSION KEEP ALIVE.
    SessionKeepAlive,
}

impl<'a> Repr<'a> {
    /// Reads the packet at the start of `buf` (bytes after it are ignored).
    pub fn parse(buf: &'a [u8]) -> Result<Self> {
        Self::parse_packet(&Packet::new_checked(buf)?)
    }

    /// Reads a checked packet. Each type's trailer must have exactly the
    /// length RFC 1002 gives it; a SESSION REQUEST must hold exactly two
    /// names, without compression pointers. Unknown types are
    /// [`Error::Unsupported`].
    pub fn parse_packet(packet: &Packet<&'a [u8]>) -> Result<Self> {
        packet.check_len()?;
        packet.check_flags()?;
        let trailer = packet.trailer();
        let exact = |n: usize, what: &'static str| {
            if trailer.len() == n {
                Ok(())
            } else {
                Err(Error::Malformed(what))
            }
        };
        match packet.packet_type() {
            PacketType::SessionMessage => Ok(Self::SessionMessage { payload: trailer }),
            PacketType::SessionRequest => {
                let (called, n) = EncodedName::parse_plain(trailer)?;
                let rest = trailer.get(n..).unwrap_or_default();
                let (calling, m) = EncodedName::parse_plain(rest)?;
                exact(n + m, "bytes after the calling name of a SESSION REQUEST")?;
                Ok(Self::SessionRequest { called, calling })
            }
            PacketType::PositiveSessionResponse => {
                exact(0, "POSITIVE SESSION RESPONSE with a trailer")?;
                Ok(Self::PositiveSessionResponse)
            }
            PacketType::NegativeSessionResponse => {
                exact(1, "NEGATIVE SESSION RESPONSE LENGTH is not 1")?;
                let mut r = Reader::new(trailer);
                Ok(Self::NegativeSessionResponse {
                    error_code: ErrorCode::from(r.u8()?),
                })
            }
            PacketType::RetargetSessionResponse => {
                exact(RETARGET_LEN, "RETARGET SESSION RESPONSE LENGTH is not 6")?;
                let mut r = Reader::new(trailer);
                Ok(Self::RetargetSessionResponse {
                    address: Ipv4Addr::from(r.u32_be()?),
                    port: r.u16_be()?,
                })
            }
            PacketType::SessionKeepAlive => {
                exact(0, "SESSION KEEP ALIVE with a trailer")?;
                Ok(Self::SessionKeepAlive)
            }
            PacketType::Unknown(_) => Err(Error::Unsupported("NBSS packet type")),
        }
    }

    /// The TYPE this packet is sent with.
    pub const fn packet_type(&self) -> PacketType {
        match self {
            Self::SessionMessage { .. } => PacketType::SessionMessage,
            Self::SessionRequest { .. } => PacketType::SessionRequest,
            Self::PositiveSessionResponse => PacketType::PositiveSessionResponse,
            Self::NegativeSessionResponse { .. } => PacketType::NegativeSessionResponse,
            Self::RetargetSessionResponse { .. } => PacketType::RetargetSessionResponse,
            Self::SessionKeepAlive => PacketType::SessionKeepAlive,
        }
    }

    /// Bytes of the trailer (the LENGTH field's value).
    pub const fn trailer_len(&self) -> usize {
        match self {
            Self::SessionMessage { payload } => payload.len(),
            Self::SessionRequest { called, calling } => called.buffer_len() + calling.buffer_len(),
            Self::PositiveSessionResponse | Self::SessionKeepAlive => 0,
            Self::NegativeSessionResponse { .. } => 1,
            Self::RetargetSessionResponse { .. } => RETARGET_LEN,
        }
    }
}

impl Emit for Repr<'_> {
    fn buffer_len(&self) -> usize {
        HEADER_LEN + self.trailer_len()
    }

    /// Writes the packet with the E bit set only when LENGTH needs it.
    /// A trailer over [`MAX_LENGTH`] is [`Error::TooLong`].
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.trailer_len();
        if len > MAX_LENGTH {
            return Err(Error::TooLong("NBSS trailer over 131071 bytes"));
        }
        let total = HEADER_LEN + len;
        let have = buf.len();
        let out = buf
            .get_mut(..total)
            .ok_or(Error::BufferTooSmall { need: total, have })?;
        let mut packet = Packet::new_unchecked(&mut *out);
        packet.set_packet_type(self.packet_type());
        packet.set_length(len);
        let mut w = Writer::new(packet.trailer_mut());
        match self {
            Self::SessionMessage { payload } => w.bytes(payload)?,
            Self::SessionRequest { called, calling } => {
                called.emit(&mut w)?;
                calling.emit(&mut w)?;
            }
            Self::PositiveSessionResponse | Self::SessionKeepAlive => {}
            Self::NegativeSessionResponse { error_code } => w.u8((*error_code).into())?,
            Self::RetargetSessionResponse { address, port } => {
                w.bytes(&address.octets())?;
                w.u16_be(*port)?;
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests;
