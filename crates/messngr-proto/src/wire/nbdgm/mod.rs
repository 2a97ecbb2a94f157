//! The NetBIOS datagram service on UDP 138 (RFC 1002 §4.4, §5.3): the
//! carrier of every mailslot write, and so of `\MAILSLOT\MESSNGR` messages.
//!
//! Every packet starts with the same 10 bytes (MSG_TYPE, FLAGS, DGM_ID,
//! SOURCE_IP, SOURCE_PORT; big-endian). What follows depends on MSG_TYPE:
//!
//! ```text
//! 0x10 DIRECT_UNIQUE, 0x11 DIRECT_GROUP, 0x12 BROADCAST (§4.4.2)
//!   10 DGM_LENGTH u16   12 PACKET_OFFSET u16
//!   14 SOURCE_NAME, DESTINATION_NAME (first fragment only), USER_DATA
//! 0x13 DATAGRAM ERROR (§4.4.3)
//!   10 ERROR_CODE u8
//! 0x14 QUERY REQUEST, 0x15 POSITIVE / 0x16 NEGATIVE QUERY RESPONSE (§4.4.4)
//!   10 DESTINATION_NAME
//! ```
//!
//! [`Packet`] is the zero-copy view of the fixed fields; [`Repr`] is the
//! decoded packet (names and user data borrowed from the input).
//!
//! # Leniency
//!
//! * **DGM_LENGTH is not trusted.** impacket writes the SMB length only
//!   (153 instead of 221, `mailslot-messngr-impacket.hex`), so the user data
//!   is always "the rest of the UDP payload". A DGM_LENGTH that differs from
//!   what the packet holds is kept in [`Data::dgm_length`] so the packet
//!   re-emits byte-identically; everything messngr builds has `None` there,
//!   and emit then writes the RFC value (names + user data of this packet).
//! * **Which packets carry names.** RFC 1002 §5.3.1 repeats only the 14-byte
//!   header in a second fragment, so a packet with FIRST clear carries user
//!   data only — unless its PACKET_OFFSET is 0: a continuation always has a
//!   non-zero offset, so such a packet is read as an unfragmented datagram
//!   from a sender that forgot the FIRST bit (Samba and Wireshark ignore the
//!   bit altogether and always read names).
//! * The SNT value 0x0C is an ordinary sender: Windows H-nodes put it there
//!   ([MS-MAIL] endnote <13>). Reserved flag bits are kept, not checked.
//! * Bytes after an error code or a query's name are ignored (not re-emitted).
//!
//! # Contract
//!
//! After [`Packet::new_checked`] succeeds no accessor panics; the fields that
//! only some message types have return `Option`. [`Repr::parse`] never
//! panics and never allocates; [`Emit::emit`](super::Emit::emit) never panics and writes exactly
//! [`Emit::buffer_len`](super::Emit::buffer_len) bytes.

use core::fmt;
use core::time::Duration;
use std::net::Ipv4Addr;

use super::{Error, Result};

mod repr;
#[cfg(test)]
mod tests;

pub use repr::{Body, Data, DatagramKind, Header, Names, Repr};

/// DGM_SRVC_UDP_PORT: the datagram service port (RFC 1002 §6).
pub const DGM_SRVC_UDP_PORT: u16 = 138;
/// MAX_DATAGRAM_LENGTH: the largest IP datagram sent without NetBIOS
/// fragmentation, IP and UDP headers included (RFC 1002 §6, §5.3.1).
pub const MAX_DATAGRAM_LENGTH: usize = 576;
/// IPv4 (20, no options) plus UDP (8) header bytes.
pub const IP_UDP_HEADER_LEN: usize = 28;
/// The largest NBDGM packet (UDP payload) that needs no fragmentation:
/// [`MAX_DATAGRAM_LENGTH`] − [`IP_UDP_HEADER_LEN`] = 548.
pub const MAX_UNFRAGMENTED_LEN: usize = MAX_DATAGRAM_LENGTH - IP_UDP_HEADER_LEN;
/// FRAGMENT_TO: how long a receiver keeps an incomplete datagram (RFC 1002 §6).
pub const FRAGMENT_TO: Duration = Duration::from_secs(2);

/// Bytes every datagram service packet starts with (MSG_TYPE … SOURCE_PORT).
pub const HEADER_LEN: usize = field::SOURCE_PORT.end;
/// Header bytes of a direct unique / direct group / broadcast datagram
/// (up to and including PACKET_OFFSET).
pub const DATAGRAM_HEADER_LEN: usize = field::PACKET_OFFSET.end;
/// Length of a DATAGRAM ERROR packet (RFC 1002 §4.4.3).
pub const ERROR_PACKET_LEN: usize = field::ERROR_CODE + 1;

/// Byte ranges of the fixed fields (RFC 1002 §4.4.1–§4.4.3).
mod field {
    pub type Field = core::ops::Range<usize>;

    pub const MSG_TYPE: usize = 0;
    pub const FLAGS: usize = 1;
    pub const DGM_ID: Field = 2..4;
    pub const SOURCE_IP: Field = 4..8;
    pub const SOURCE_PORT: Field = 8..10;
    // Direct unique, direct group and broadcast datagrams.
    pub const DGM_LENGTH: Field = 10..12;
    pub const PACKET_OFFSET: Field = 12..14;
    // Datagram error.
    pub const ERROR_CODE: usize = 10;
}

/// MSG_TYPE (RFC 1002 §4.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 0x10 DIRECT_UNIQUE DATAGRAM: to a unique name.
    DirectUnique,
    /// 0x11 DIRECT_GROUP DATAGRAM: to a group name.
    DirectGroup,
    /// 0x12 BROADCAST DATAGRAM: to `*`, every node.
    Broadcast,
    /// 0x13 DATAGRAM ERROR.
    Error,
    /// 0x14 DATAGRAM QUERY REQUEST (to an NBDD).
    QueryRequest,
    /// 0x15 DATAGRAM POSITIVE QUERY RESPONSE.
    PositiveQueryResponse,
    /// 0x16 DATAGRAM NEGATIVE QUERY RESPONSE.
    NegativeQueryResponse,
    /// Any other value, kept so that it round-trips.
    Unknown(u8),
}

impl From<u8> for MessageType {
    fn from(v: u8) -> Self {
        match v {
            0x10 => Self::DirectUnique,
            0x11 => Self::DirectGroup,
            0x12 => Self::Broadcast,
            0x13 => Self::Error,
            0x14 => Self::QueryRequest,
            0x15 => Self::PositiveQueryResponse,
            0x16 => Self::NegativeQueryResponse,
            other => Self::Unknown(other),
        }
    }
}

impl From<MessageType> for u8 {
    fn from(t: MessageType) -> u8 {
        match t {
            MessageType::DirectUnique => 0x10,
            MessageType::DirectGroup => 0x11,
            MessageType::Broadcast => 0x12,
            MessageType::Error => 0x13,
            MessageType::QueryRequest => 0x14,
            MessageType::PositiveQueryResponse => 0x15,
            MessageType::NegativeQueryResponse => 0x16,
            MessageType::Unknown(v) => v,
        }
    }
}

impl MessageType {
    /// `true` for the three types that carry user data (0x10–0x12), which
    /// have DGM_LENGTH and PACKET_OFFSET.
    pub const fn is_datagram(self) -> bool {
        matches!(
            self,
            Self::DirectUnique | Self::DirectGroup | Self::Broadcast
        )
    }

    /// Bytes of fixed fields this type has (its fields up to the first name).
    pub const fn fixed_len(self) -> usize {
        match self {
            Self::DirectUnique | Self::DirectGroup | Self::Broadcast => DATAGRAM_HEADER_LEN,
            Self::Error => ERROR_PACKET_LEN,
            _ => HEADER_LEN,
        }
    }
}

/// SNT, the source end-node type in FLAGS (RFC 1002 §4.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeType {
    /// 00: B node (broadcast).
    B,
    /// 01: P node (point-to-point, uses a name server).
    P,
    /// 10: M node (mixed). nmbd puts this although it registers as a B node.
    M,
    /// 11: NBDD in the RFC; Windows H-nodes put it too ([MS-MAIL] <13>), so
    /// it does not mean the packet was relayed.
    Nbdd,
}

/// The FLAGS byte (RFC 1002 §4.4.1), kept whole so reserved bits round-trip.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    /// M: more fragments follow.
    pub const MORE: u8 = 0x01;
    /// F: this is the first (and possibly only) fragment.
    pub const FIRST: u8 = 0x02;
    /// SNT: source end-node type.
    pub const SNT_MASK: u8 = 0x0C;
    /// Reserved: sent as 0, ignored on receipt.
    pub const RESERVED_MASK: u8 = 0xF0;

    /// Flags from the raw byte.
    pub const fn from_bits(bits: u8) -> Self {
        Self(bits)
    }

    /// Flags with the given node type, FIRST and MORE; reserved bits zero.
    pub const fn new(node_type: NodeType, first: bool, more: bool) -> Self {
        let snt = match node_type {
            NodeType::B => 0x00,
            NodeType::P => 0x04,
            NodeType::M => 0x08,
            NodeType::Nbdd => 0x0C,
        };
        Self(snt | if first { Self::FIRST } else { 0 } | if more { Self::MORE } else { 0 })
    }

    /// The raw byte.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// M: more fragments follow.
    pub const fn more(self) -> bool {
        self.0 & Self::MORE != 0
    }

    /// F: first fragment.
    pub const fn first(self) -> bool {
        self.0 & Self::FIRST != 0
    }

    /// SNT: the sender's node type.
    pub const fn node_type(self) -> NodeType {
        match self.0 & Self::SNT_MASK {
            0x00 => NodeType::B,
            0x04 => NodeType::P,
            0x08 => NodeType::M,
            _ => NodeType::Nbdd,
        }
    }

    /// The reserved high nibble.
    pub const fn reserved(self) -> u8 {
        self.0 & Self::RESERVED_MASK
    }

    /// The same flags with FIRST and MORE set as given.
    pub const fn with_fragment(self, first: bool, more: bool) -> Self {
        let rest = self.0 & !(Self::FIRST | Self::MORE);
        Self(rest | if first { Self::FIRST } else { 0 } | if more { Self::MORE } else { 0 })
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Flags({:#04x}: {:?}{}{})",
            self.0,
            self.node_type(),
            if self.first() { " F" } else { "" },
            if self.more() { " M" } else { "" }
        )
    }
}

/// ERROR_CODE of a DATAGRAM ERROR (RFC 1002 §4.4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0x82 DESTINATION NAME NOT PRESENT.
    DestinationNameNotPresent,
    /// 0x83 INVALID SOURCE NAME FORMAT.
    InvalidSourceNameFormat,
    /// 0x84 INVALID DESTINATION NAME FORMAT.
    InvalidDestinationNameFormat,
    /// Any other value, kept so that it round-trips.
    Unknown(u8),
}

impl From<u8> for ErrorCode {
    fn from(v: u8) -> Self {
        match v {
            0x82 => Self::DestinationNameNotPresent,
            0x83 => Self::InvalidSourceNameFormat,
            0x84 => Self::InvalidDestinationNameFormat,
            other => Self::Unknown(other),
        }
    }
}

impl From<ErrorCode> for u8 {
    fn from(c: ErrorCode) -> u8 {
        match c {
            ErrorCode::DestinationNameNotPresent => 0x82,
            ErrorCode::InvalidSourceNameFormat => 0x83,
            ErrorCode::InvalidDestinationNameFormat => 0x84,
            ErrorCode::Unknown(v) => v,
        }
    }
}

/// A zero-copy view of a datagram service packet's fixed fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking its length.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds the fixed fields of its message type
    /// (10 bytes, 14 for 0x10–0x12, 11 for 0x13). After it succeeds no
    /// accessor panics.
    pub fn check_len(&self) -> Result<()> {
        let have = self.buffer.as_ref().len();
        let need = match self.buffer.as_ref().first() {
            Some(&t) => MessageType::from(t).fixed_len(),
            None => HEADER_LEN,
        };
        if have < need {
            return Err(Error::Truncated { need, have });
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// MSG_TYPE.
    pub fn msg_type(&self) -> MessageType {
        MessageType::from(self.buffer.as_ref()[field::MSG_TYPE])
    }

    /// FLAGS.
    pub fn flags(&self) -> Flags {
        Flags(self.buffer.as_ref()[field::FLAGS])
    }

    /// DGM_ID.
    pub fn dgm_id(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::DGM_ID])
    }

    /// SOURCE_IP: the original sender, even when an NBDD relayed the packet.
    pub fn source_ip(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::SOURCE_IP];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// SOURCE_PORT.
    pub fn source_port(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::SOURCE_PORT])
    }

    /// DGM_LENGTH, for message types 0x10–0x12 (`None` otherwise).
    pub fn dgm_length(&self) -> Option<u16> {
        self.msg_type()
            .is_datagram()
            .then(|| read_u16(self.buffer.as_ref(), field::DGM_LENGTH))
            .flatten()
    }

    /// PACKET_OFFSET, for message types 0x10–0x12 (`None` otherwise).
    pub fn packet_offset(&self) -> Option<u16> {
        self.msg_type()
            .is_datagram()
            .then(|| read_u16(self.buffer.as_ref(), field::PACKET_OFFSET))
            .flatten()
    }

    /// ERROR_CODE, for a DATAGRAM ERROR (`None` otherwise).
    pub fn error_code(&self) -> Option<ErrorCode> {
        (self.msg_type() == MessageType::Error)
            .then(|| self.buffer.as_ref().get(field::ERROR_CODE).copied())
            .flatten()
            .map(ErrorCode::from)
    }

    /// The bytes after the fixed fields of this message type: names and
    /// user data, the error packet's trailer, or the query's name.
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        b.get(self.msg_type().fixed_len()..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets MSG_TYPE.
    pub fn set_msg_type(&mut self, t: MessageType) {
        self.buffer.as_mut()[field::MSG_TYPE] = t.into();
    }

    /// Sets FLAGS.
    pub fn set_flags(&mut self, flags: Flags) {
        self.buffer.as_mut()[field::FLAGS] = flags.bits();
    }

    /// Sets DGM_ID.
    pub fn set_dgm_id(&mut self, id: u16) {
        self.buffer.as_mut()[field::DGM_ID].copy_from_slice(&id.to_be_bytes());
    }

    /// Sets SOURCE_IP.
    pub fn set_source_ip(&mut self, ip: Ipv4Addr) {
        self.buffer.as_mut()[field::SOURCE_IP].copy_from_slice(&ip.octets());
    }

    /// Sets SOURCE_PORT.
    pub fn set_source_port(&mut self, port: u16) {
        self.buffer.as_mut()[field::SOURCE_PORT].copy_from_slice(&port.to_be_bytes());
    }

    /// Sets DGM_LENGTH (message types 0x10–0x12; the buffer must hold 14 bytes).
    pub fn set_dgm_length(&mut self, len: u16) {
        self.buffer.as_mut()[field::DGM_LENGTH].copy_from_slice(&len.to_be_bytes());
    }

    /// Sets PACKET_OFFSET (message types 0x10–0x12; the buffer must hold 14 bytes).
    pub fn set_packet_offset(&mut self, offset: u16) {
        self.buffer.as_mut()[field::PACKET_OFFSET].copy_from_slice(&offset.to_be_bytes());
    }

    /// Sets ERROR_CODE (message type 0x13; the buffer must hold 11 bytes).
    pub fn set_error_code(&mut self, code: ErrorCode) {
        self.buffer.as_mut()[field::ERROR_CODE] = code.into();
    }

    /// The bytes after the fixed fields of the current message type.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.msg_type().fixed_len();
        self.buffer.as_mut().get_mut(start..).unwrap_or(&mut [])
    }
}

/// A big-endian `u16` from a two-byte field of a checked packet.
fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// A big-endian `u16` from a field that may lie past the end of `buf`.
fn read_u16(buf: &[u8], f: field::Field) -> Option<u16> {
    let b = buf.get(f)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}
