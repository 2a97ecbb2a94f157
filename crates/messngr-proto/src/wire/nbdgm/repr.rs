//! The decoded form of a datagram service packet, and its encoder.

use std::net::Ipv4Addr;

use super::{
    DATAGRAM_HEADER_LEN, DGM_SRVC_UDP_PORT, ERROR_PACKET_LEN, ErrorCode, Flags, HEADER_LEN,
    MessageType, NodeType, Packet,
};
use crate::wire::codec::Writer;
use crate::wire::name::EncodedName;
use crate::wire::{Emit, Error, Result};

/// The fields every packet has, MSG_TYPE aside (it follows from [`Body`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// FLAGS: node type, FIRST, MORE (and reserved bits, kept as received).
    pub flags: Flags,
    /// DGM_ID: chosen by the sender; with SOURCE_IP it ties fragments together.
    pub dgm_id: u16,
    /// SOURCE_IP: the original sender (use it, not the UDP source, to
    /// identify the sender: an NBDD may have relayed the packet).
    pub source_ip: Ipv4Addr,
    /// SOURCE_PORT: normally [`DGM_SRVC_UDP_PORT`].
    pub source_port: u16,
}

impl Header {
    /// A header from `source_ip` port 138 with FIRST set and MORE clear: an
    /// unfragmented datagram (`flags` 0x02 for a B node).
    pub const fn new(node_type: NodeType, dgm_id: u16, source_ip: Ipv4Addr) -> Self {
        Self {
            flags: Flags::new(node_type, true, false),
            dgm_id,
            source_ip,
            source_port: DGM_SRVC_UDP_PORT,
        }
    }
}

/// The three message types that carry user data (RFC 1002 §4.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatagramKind {
    /// 0x10: to a unique name (WinPopup / `net send` to one host).
    DirectUnique,
    /// 0x11: to a group name (`net send *`, `/domain`), sent by broadcast.
    DirectGroup,
    /// 0x12: to `*`, every node of the scope.
    Broadcast,
}

impl DatagramKind {
    /// Its MSG_TYPE.
    pub const fn message_type(self) -> MessageType {
        match self {
            Self::DirectUnique => MessageType::DirectUnique,
            Self::DirectGroup => MessageType::DirectGroup,
            Self::Broadcast => MessageType::Broadcast,
        }
    }

    /// The kind of a MSG_TYPE, if it is one of 0x10–0x12.
    pub const fn from_message_type(t: MessageType) -> Option<Self> {
        match t {
            MessageType::DirectUnique => Some(Self::DirectUnique),
            MessageType::DirectGroup => Some(Self::DirectGroup),
            MessageType::Broadcast => Some(Self::Broadcast),
            _ => None,
        }
    }
}

/// SOURCE_NAME and DESTINATION_NAME of a first (or only) fragment. They are
/// never compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Names<'a> {
    /// SOURCE_NAME: the sending NetBIOS name (e.g. `SENDERBOX<00>`).
    pub source: EncodedName<'a>,
    /// DESTINATION_NAME: the name addressed (`RECVBOX<03>`, `MLAN<03>`, `*`).
    pub destination: EncodedName<'a>,
}

impl Names<'_> {
    /// Bytes of both encoded names.
    pub const fn buffer_len(&self) -> usize {
        self.source.buffer_len() + self.destination.buffer_len()
    }
}

/// The variable part of a direct unique, direct group or broadcast datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Data<'a> {
    /// DGM_LENGTH as received when it is **not** the length of this
    /// packet's names and user data (impacket sends the SMB length only; an
    /// RFC 1002 §5.3.1 fragment may repeat the whole datagram's length).
    /// Kept only so that such a packet re-emits byte-identically; `None`
    /// (what builders set) makes emit write the computed length.
    pub dgm_length: Option<u16>,
    /// PACKET_OFFSET: 0 unless this is a continuation fragment. What real
    /// senders put in a continuation is an open point (interop U22);
    /// [`crate::reassembly`] does not trust it.
    pub packet_offset: u16,
    /// The names: present on a first (or only) fragment, absent on a
    /// continuation.
    pub names: Option<Names<'a>>,
    /// USER_DATA: here normally one SMB_COM_TRANSACTION mailslot write. On
    /// parse, everything after the names, whatever DGM_LENGTH says.
    pub user_data: &'a [u8],
}

impl Data<'_> {
    /// DGM_LENGTH as RFC 1002 §4.4.2 defines it for this packet: the bytes
    /// of its names and user data.
    pub fn computed_dgm_length(&self) -> Result<u16> {
        let names = self.names.map_or(0, |n| n.buffer_len());
        u16::try_from(names + self.user_data.len())
            .map_err(|_| Error::TooLong("NBDGM names and user data (DGM_LENGTH)"))
    }

    /// The DGM_LENGTH emit writes: [`Data::dgm_length`] if set, else
    /// [`Data::computed_dgm_length`].
    pub fn wire_dgm_length(&self) -> Result<u16> {
        match self.dgm_length {
            Some(v) => Ok(v),
            None => self.computed_dgm_length(),
        }
    }
}

/// Whether a data packet with these flags and offset carries the two names:
/// always with FIRST; without it only when PACKET_OFFSET is 0 (see the
/// module documentation).
const fn has_names(flags: Flags, packet_offset: u16) -> bool {
    flags.first() || packet_offset == 0
}

/// What follows the common header, by message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body<'a> {
    /// 0x10–0x12: a datagram or one fragment of it.
    Datagram {
        /// Unique, group or broadcast.
        kind: DatagramKind,
        /// Lengths, names and user data.
        data: Data<'a>,
    },
    /// 0x13 DATAGRAM ERROR.
    Error(ErrorCode),
    /// 0x14 DATAGRAM QUERY REQUEST: can the NBDD reach this name?
    QueryRequest(EncodedName<'a>),
    /// 0x15 DATAGRAM POSITIVE QUERY RESPONSE.
    PositiveQueryResponse(EncodedName<'a>),
    /// 0x16 DATAGRAM NEGATIVE QUERY RESPONSE.
    NegativeQueryResponse(EncodedName<'a>),
    /// Any other MSG_TYPE: the bytes after the common header, uninterpreted.
    Unknown {
        /// MSG_TYPE (not one of 0x10–0x16).
        msg_type: u8,
        /// Everything after SOURCE_PORT.
        payload: &'a [u8],
    },
}

impl Body<'_> {
    /// MSG_TYPE of this body.
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::Datagram { kind, .. } => kind.message_type(),
            Self::Error(_) => MessageType::Error,
            Self::QueryRequest(_) => MessageType::QueryRequest,
            Self::PositiveQueryResponse(_) => MessageType::PositiveQueryResponse,
            Self::NegativeQueryResponse(_) => MessageType::NegativeQueryResponse,
            Self::Unknown { msg_type, .. } => MessageType::from(*msg_type),
        }
    }
}

/// A decoded datagram service packet (RFC 1002 §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr<'a> {
    /// FLAGS, DGM_ID, SOURCE_IP, SOURCE_PORT.
    pub header: Header,
    /// The type-specific rest.
    pub body: Body<'a>,
}

impl<'a> Repr<'a> {
    /// Decodes one UDP payload. Never panics, never allocates; see the
    /// module documentation for what is tolerated.
    pub fn parse(buf: &'a [u8]) -> Result<Self> {
        let packet = Packet::new_checked(buf)?;
        let header = Header {
            flags: packet.flags(),
            dgm_id: packet.dgm_id(),
            source_ip: packet.source_ip(),
            source_port: packet.source_port(),
        };
        let msg_type = packet.msg_type();
        let body = if let Some(kind) = DatagramKind::from_message_type(msg_type) {
            let wire_len = packet.dgm_length().ok_or(Error::Truncated {
                need: DATAGRAM_HEADER_LEN,
                have: buf.len(),
            })?;
            let packet_offset = packet.packet_offset().unwrap_or_default();
            let mut pos = DATAGRAM_HEADER_LEN;
            let names = if has_names(header.flags, packet_offset) {
                let (source, end) = EncodedName::parse(buf, pos, false)?;
                let (destination, end) = EncodedName::parse(buf, end, false)?;
                pos = end;
                Some(Names {
                    source,
                    destination,
                })
            } else {
                None
            };
            let mut data = Data {
                dgm_length: None,
                packet_offset,
                names,
                user_data: buf.get(pos..).unwrap_or(&[]),
            };
            if data.computed_dgm_length() != Ok(wire_len) {
                data.dgm_length = Some(wire_len);
            }
            Body::Datagram { kind, data }
        } else {
            match msg_type {
                MessageType::Error => Body::Error(
                    packet
                        .error_code()
                        .ok_or(Error::Malformed("datagram error without ERROR_CODE"))?,
                ),
                MessageType::QueryRequest => {
                    Body::QueryRequest(EncodedName::parse(buf, HEADER_LEN, false)?.0)
                }
                MessageType::PositiveQueryResponse => {
                    Body::PositiveQueryResponse(EncodedName::parse(buf, HEADER_LEN, false)?.0)
                }
                MessageType::NegativeQueryResponse => {
                    Body::NegativeQueryResponse(EncodedName::parse(buf, HEADER_LEN, false)?.0)
                }
                _ => Body::Unknown {
                    msg_type: msg_type.into(),
                    payload: buf.get(HEADER_LEN..).unwrap_or(&[]),
                },
            }
        };
        Ok(Self { header, body })
    }

    /// An unfragmented datagram from `source` to `destination` (RFC 1002
    /// §5.3.1): FIRST set and MORE clear in `header.flags`, PACKET_OFFSET 0,
    /// DGM_LENGTH computed on emit.
    pub fn datagram(
        kind: DatagramKind,
        header: Header,
        source: EncodedName<'a>,
        destination: EncodedName<'a>,
        user_data: &'a [u8],
    ) -> Self {
        Self {
            header: Header {
                flags: header.flags.with_fragment(true, false),
                ..header
            },
            body: Body::Datagram {
                kind,
                data: Data {
                    dgm_length: None,
                    packet_offset: 0,
                    names: Some(Names {
                        source,
                        destination,
                    }),
                    user_data,
                },
            },
        }
    }

    /// A DATAGRAM ERROR with FIRST and MORE clear (RFC 1002 §5.3.3); the
    /// header names the node that reports it (its IP, port 138).
    pub fn error(header: Header, code: ErrorCode) -> Self {
        Self {
            header: Header {
                flags: header.flags.with_fragment(false, false),
                ..header
            },
            body: Body::Error(code),
        }
    }

    /// A DATAGRAM QUERY REQUEST for `destination` (RFC 1002 §4.4.4).
    pub const fn query_request(header: Header, destination: EncodedName<'a>) -> Self {
        Self {
            header,
            body: Body::QueryRequest(destination),
        }
    }

    /// A DATAGRAM POSITIVE QUERY RESPONSE for `destination`.
    pub const fn positive_query_response(header: Header, destination: EncodedName<'a>) -> Self {
        Self {
            header,
            body: Body::PositiveQueryResponse(destination),
        }
    }

    /// A DATAGRAM NEGATIVE QUERY RESPONSE for `destination`.
    pub const fn negative_query_response(header: Header, destination: EncodedName<'a>) -> Self {
        Self {
            header,
            body: Body::NegativeQueryResponse(destination),
        }
    }

    /// Splits an unfragmented datagram into the UDP payloads RFC 1002
    /// §5.3.1 sends when it is longer than `max_len` bytes (normally
    /// [`super::MAX_UNFRAGMENTED_LEN`]): returns it unchanged with `None` if
    /// it fits, else a first fragment (FIRST, MORE, names, as much user data
    /// as fits) and a continuation (neither flag, the 14-byte header and the
    /// rest of the data).
    ///
    /// The continuation's PACKET_OFFSET is written as the offset of its
    /// data in the whole user data. The RFC's pseudo-code says "DGM_LENGTH
    /// minus the name and data bytes of the first packet" instead; which one
    /// real senders use is open (interop U22), and receivers here ignore it.
    /// Each fragment's DGM_LENGTH is its own names + data. messngr itself
    /// never fragments on send: this exists for tests and tools.
    ///
    /// Fails on anything but an unfragmented datagram, and with `TooLong`
    /// when two packets of `max_len` cannot hold it (the RFC sends at most two).
    pub fn split(&self, max_len: usize) -> Result<(Self, Option<Self>)> {
        let Body::Datagram { kind, data } = self.body else {
            return Err(Error::Unsupported("only datagrams are fragmented"));
        };
        let Some(names) = data.names else {
            return Err(Error::Unsupported("splitting a continuation fragment"));
        };
        if self.header.flags.more() || data.packet_offset != 0 {
            return Err(Error::Unsupported("splitting a fragment"));
        }
        if self.buffer_len() <= max_len {
            return Ok((*self, None));
        }
        let first_room = max_len.saturating_sub(DATAGRAM_HEADER_LEN + names.buffer_len());
        let (head, tail) = data
            .user_data
            .split_at_checked(first_room)
            .ok_or(Error::Malformed("datagram shorter than its split point"))?;
        if head.is_empty() || DATAGRAM_HEADER_LEN + tail.len() > max_len {
            return Err(Error::TooLong("datagram needs more than two fragments"));
        }
        let offset = u16::try_from(head.len()).map_err(|_| Error::TooLong("PACKET_OFFSET"))?;
        let first = Self {
            header: Header {
                flags: self.header.flags.with_fragment(true, true),
                ..self.header
            },
            body: Body::Datagram {
                kind,
                data: Data {
                    dgm_length: None,
                    packet_offset: 0,
                    names: Some(names),
                    user_data: head,
                },
            },
        };
        let second = Self {
            header: Header {
                flags: self.header.flags.with_fragment(false, false),
                ..self.header
            },
            body: Body::Datagram {
                kind,
                data: Data {
                    dgm_length: None,
                    packet_offset: offset,
                    names: None,
                    user_data: tail,
                },
            },
        };
        Ok((first, Some(second)))
    }
}

impl Emit for Repr<'_> {
    fn buffer_len(&self) -> usize {
        match &self.body {
            Body::Datagram { data, .. } => {
                DATAGRAM_HEADER_LEN
                    + data.names.map_or(0, |n| n.buffer_len())
                    + data.user_data.len()
            }
            Body::Error(_) => ERROR_PACKET_LEN,
            Body::QueryRequest(name)
            | Body::PositiveQueryResponse(name)
            | Body::NegativeQueryResponse(name) => HEADER_LEN + name.buffer_len(),
            Body::Unknown { payload, .. } => HEADER_LEN + payload.len(),
        }
    }

    /// Writes the packet. Refuses what would not parse back the same: names
    /// on a packet read as a continuation (FIRST clear, PACKET_OFFSET ≠ 0)
    /// or none on one read as a first fragment, an `Unknown` body with a
    /// known MSG_TYPE, and names + data over 65 535 bytes.
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        let have = buf.len();
        let out = buf
            .get_mut(..len)
            .ok_or(Error::BufferTooSmall { need: len, have })?;
        let msg_type = self.body.message_type();
        let fixed = msg_type.fixed_len();
        match &self.body {
            Body::Datagram { data, .. } => {
                if data.names.is_some() != has_names(self.header.flags, data.packet_offset) {
                    return Err(Error::Malformed(
                        "NBDGM names must be present exactly when FIRST is set or PACKET_OFFSET is 0",
                    ));
                }
                data.wire_dgm_length()?;
            }
            Body::Unknown { msg_type, .. }
                if MessageType::from(*msg_type) != MessageType::Unknown(*msg_type) =>
            {
                return Err(Error::Malformed("Unknown NBDGM body with a known MSG_TYPE"));
            }
            _ => {}
        }

        let mut packet = Packet::new_unchecked(&mut *out);
        packet.set_msg_type(msg_type);
        packet.set_flags(self.header.flags);
        packet.set_dgm_id(self.header.dgm_id);
        packet.set_source_ip(self.header.source_ip);
        packet.set_source_port(self.header.source_port);
        match &self.body {
            Body::Datagram { data, .. } => {
                packet.set_dgm_length(data.wire_dgm_length()?);
                packet.set_packet_offset(data.packet_offset);
            }
            Body::Error(code) => packet.set_error_code(*code),
            _ => {}
        }

        let mut w = Writer::new(out.get_mut(fixed..).unwrap_or(&mut []));
        match &self.body {
            Body::Datagram { data, .. } => {
                if let Some(names) = &data.names {
                    names.source.emit(&mut w)?;
                    names.destination.emit(&mut w)?;
                }
                w.bytes(data.user_data)?;
            }
            Body::Error(_) => {}
            Body::QueryRequest(name)
            | Body::PositiveQueryResponse(name)
            | Body::NegativeQueryResponse(name) => name.emit(&mut w)?,
            Body::Unknown { payload, .. } => w.bytes(payload)?,
        }
        Ok(len)
    }
}
