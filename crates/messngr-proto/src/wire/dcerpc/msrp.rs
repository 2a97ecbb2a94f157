//! MS-MSRP `NetrSendMessage` over connectionless DCE/RPC ([MS-MSRP] §3.2.4.1,
//! §6.1; msrp-rpc.md §2–§5): the request stub, the PDUs a server answers
//! with, and the status codes they carry.
//!
//! ```text
//! error_status_t NetrSendMessage([in] handle_t hRpcBinding,
//!                                [in, string] LPSTR From,
//!                                [in, string] LPSTR To,
//!                                [in, string] LPSTR Text);
//! ```
//!
//! The stub is three conformant varying `char` strings (OEM bytes, counts in
//! bytes including the NUL), each 4-aligned ([`super::ndr`]). The reply is a
//! response, fault or reject PDU whose body is one u32 ([`ShortPdu`]).

use crate::wire::name::{NetbiosName, suffix};
use crate::wire::{Emit, Error, Result};

use super::cl::{Drep, Flags1, Flags2, HEADER_LEN, Header, NO_HINT, PacketType, Repr};
use super::ndr::{CharWidth, Decoder, Encoder, NdrString};
use super::uuid::{ByteOrder, Uuid};

/// `msgsvcsend` 5A7B91F8-FF00-11D0-A9B2-00C04FB6E6FC, the interface of
/// `NetrSendMessage` ([MS-MSRP] §1.9, §6.1).
pub const MSGSVCSEND: Uuid = Uuid::from_bytes([
    0x5A, 0x7B, 0x91, 0xF8, 0xFF, 0x00, 0x11, 0xD0, 0xA9, 0xB2, 0x00, 0xC0, 0x4F, 0xB6, 0xE6, 0xFC,
]);
/// `msgsvcsend` interface version 1.0 as `if_vers` (major 1, minor 0).
pub const MSGSVCSEND_VERSION: u32 = 1;
/// `msgsvc` 17FDD703-1827-4E34-79D4-24A55C53BB37 ([MS-MSRP] §1.9): alias
/// management, served only on `\PIPE\MSGSVC`; messngr rejects it on UDP.
pub const MSGSVC: Uuid = Uuid::from_bytes([
    0x17, 0xFD, 0xD7, 0x03, 0x18, 0x27, 0x4E, 0x34, 0x79, 0xD4, 0x24, 0xA5, 0x5C, 0x53, 0xBB, 0x37,
]);
/// The endpoint mapper E1AF8308-5D1F-11C9-91A4-08002B14A0FA v3.0 (C706
/// appendix O; msrp-rpc.md §7).
pub const EPM: Uuid = Uuid::from_bytes([
    0xE1, 0xAF, 0x83, 0x08, 0x5D, 0x1F, 0x11, 0xC9, 0x91, 0xA4, 0x08, 0x00, 0x2B, 0x14, 0xA0, 0xFA,
]);
/// Operation number of `NetrSendMessage` in `msgsvcsend` ([MS-MSRP] §3.2.4).
pub const OPNUM_NETR_SEND_MESSAGE: u16 = 0;
/// Longest `From` or `To` accepted, in bytes with the NUL (msrp-rpc.md §4).
pub const MAX_NAME_COUNT: u32 = 256;
/// Longest `Text` accepted, in bytes with the NUL (msrp-rpc.md §4).
pub const MAX_TEXT_COUNT: u32 = 64 * 1024;

/// Reject and fault status codes (C706 appendix E; values as in Wireshark's
/// `packet-dcerpc.c`, msrp-rpc.md §5).
pub mod nca {
    /// The RPC protocol version is not supported.
    pub const NCA_RPC_VERSION_MISMATCH: u32 = 0x1C00_0008;
    /// The operation number is out of range for the interface.
    pub const NCA_OP_RNG_ERROR: u32 = 0x1C01_0002;
    /// The server does not export the interface (UUID and version).
    pub const NCA_UNK_IF: u32 = 0x1C01_0003;
    /// The request carries another server boot time.
    pub const NCA_WRONG_BOOT_TIME: u32 = 0x1C01_0006;
    /// Protocol error (messngr: a fragmented request, not reassembled).
    pub const NCA_PROTO_ERROR: u32 = 0x1C01_000B;
    /// The server is too busy (rate limit).
    pub const NCA_SERVER_TOO_BUSY: u32 = 0x1C01_0014;
    /// The stub data could not be unmarshalled (fault).
    pub const NCA_S_FAULT_NDR: u32 = 0x0000_06F7;
}

/// `NetrSendMessage` return values ([MS-MSRP] §3.2.4.1; msrp-rpc.md §5).
pub mod status {
    /// Stored in the inbox.
    pub const ERROR_SUCCESS: u32 = 0;
    /// Policy refuses the sender.
    pub const ERROR_ACCESS_DENIED: u32 = 0x05;
    /// What Windows Vista and later answer.
    pub const ERROR_NOT_SUPPORTED: u32 = 0x32;
    /// Empty or oversize fields.
    pub const ERROR_INVALID_PARAMETER: u32 = 0x57;
    /// Network error.
    pub const NERR_NETWORK_ERROR: u32 = 0x858;
    /// `To` is none of our names.
    pub const NERR_NAME_NOT_FOUND: u32 = 0x8E1;
    /// Group message processor error.
    pub const NERR_GRP_MSG_PROCESSOR: u32 = 0x8E8;
    /// Receiving paused.
    pub const NERR_PAUSED_REMOTE: u32 = 0x8E9;
    /// Bad receive.
    pub const NERR_BAD_RECEIVE: u32 = 0x8EA;
    /// Name in use.
    pub const NERR_NAME_IN_USE: u32 = 0x8EB;
    /// Not a local name.
    pub const NERR_NOT_LOCAL_NAME: u32 = 0x8ED;
    /// Broadcast message truncated.
    pub const NERR_TRUNCATED_BROADCAST: u32 = 0x8F1;
    /// Duplicate name.
    pub const NERR_DUPLICATE_NAME: u32 = 0x8F9;
}

/// The `[in]` parameters of `NetrSendMessage`, borrowed from the stub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetrSendMessage<'a> {
    /// Sender's name (Wireshark calls it "Server").
    pub from: NdrString<'a>,
    /// Recipient's message name (Wireshark: "Client").
    pub to: NdrString<'a>,
    /// Message text, OEM code page (Wireshark: "Message").
    pub text: NdrString<'a>,
}

impl<'a> NetrSendMessage<'a> {
    /// A call with NUL-terminated strings as a Windows client sends them.
    /// The bytes are OEM text without NUL.
    pub fn new(from: &'a [u8], to: &'a [u8], text: &'a [u8]) -> Self {
        Self {
            from: NdrString::char(from),
            to: NdrString::char(to),
            text: NdrString::char(text),
        }
    }

    /// Decodes a request stub in representation `drep`. Strings over
    /// [`MAX_NAME_COUNT`]/[`MAX_TEXT_COUNT`] are [`Error::TooLong`]; bytes
    /// after `Text` are ignored.
    pub fn parse(stub: &'a [u8], drep: Drep) -> Result<Self> {
        let mut d = Decoder::new(stub, drep)?;
        let call = Self {
            from: d.string(CharWidth::Char)?,
            to: d.string(CharWidth::Char)?,
            text: d.string(CharWidth::Char)?,
        };
        call.check()?;
        Ok(call)
    }

    fn check(&self) -> Result<()> {
        for (s, max, what) in [
            (&self.from, MAX_NAME_COUNT, "NetrSendMessage From"),
            (&self.to, MAX_NAME_COUNT, "NetrSendMessage To"),
            (&self.text, MAX_TEXT_COUNT, "NetrSendMessage Text"),
        ] {
            if s.width != CharWidth::Char {
                return Err(Error::Malformed("NetrSendMessage strings are char strings"));
            }
            if s.actual_count()? > max {
                return Err(Error::TooLong(what));
            }
        }
        Ok(())
    }

    /// `To` as the NetBIOS Messenger name it addresses: first 15 bytes,
    /// upper-cased, suffix 0x03 (msrp-rpc.md §6 step 2).
    pub fn recipient(&self) -> NetbiosName {
        NetbiosName::truncated(self.to.as_bytes(), suffix::MESSENGER)
    }

    /// Bytes of the encoded stub.
    pub const fn stub_len(&self) -> usize {
        let a = self.from.encoded_len(0);
        let b = a + self.to.encoded_len(a);
        b + self.text.encoded_len(b)
    }

    /// Writes the stub into `stub` in representation `drep`; returns its length.
    pub fn emit_stub(&self, stub: &mut [u8], drep: Drep) -> Result<usize> {
        self.check()?;
        let mut e = Encoder::new(stub, drep);
        e.string(&self.from)?;
        e.string(&self.to)?;
        e.string(&self.text)?;
        Ok(e.position())
    }
}

/// A `NetrSendMessage` request PDU: CL header plus the decoded stub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The CL header (`len` is the stub's length).
    pub header: Header,
    /// The call's parameters.
    pub call: NetrSendMessage<'a>,
}

impl<'a> Request<'a> {
    /// The request a messngr client sends (msrp-rpc.md §8): msgsvcsend v1.0,
    /// opnum 0, flags1 idempotent (so that no callback is expected),
    /// server_boot 0, no hints. Retransmissions reuse `act_id` and `seqnum`.
    pub fn new(act_id: Uuid, seqnum: u32, call: NetrSendMessage<'a>) -> Self {
        let mut header = Header::new(PacketType::Request);
        header.flags1 = Flags1::IDEMPOTENT;
        header.if_id = MSGSVCSEND;
        header.if_vers = MSGSVCSEND_VERSION;
        header.act_id = act_id;
        header.seqnum = seqnum;
        header.opnum = OPNUM_NETR_SEND_MESSAGE;
        Self { header, call }
    }

    /// Reads a `NetrSendMessage` request out of a parsed PDU. Anything else
    /// (another type, interface or opnum) is [`Error::Unsupported`]; a stub
    /// that does not decode is the error [`NetrSendMessage::parse`] gives.
    pub fn parse(repr: &Repr<'a>) -> Result<Self> {
        let h = &repr.header;
        if h.ptype != PacketType::Request {
            return Err(Error::Unsupported("CL PDU is not a request"));
        }
        if h.if_id != MSGSVCSEND || h.opnum != OPNUM_NETR_SEND_MESSAGE {
            return Err(Error::Unsupported(
                "request is not msgsvcsend NetrSendMessage",
            ));
        }
        Ok(Self {
            header: repr.header,
            call: NetrSendMessage::parse(repr.body, h.drep)?,
        })
    }
}

impl Emit for Request<'_> {
    fn buffer_len(&self) -> usize {
        HEADER_LEN + self.call.stub_len()
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.call.stub_len();
        let mut packet = self.header.emit_into(buf, len)?;
        self.call.emit_stub(packet.body_mut(), self.header.drep)?;
        Ok(HEADER_LEN + len)
    }
}

/// A PDU whose body is one u32 status or nothing: the response to
/// `NetrSendMessage`, fault and reject (with a status); working and nocall
/// from a server, ping and ack from a client (without).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShortPdu {
    /// The CL header.
    pub header: Header,
    /// The body's status, in `header.drep` byte order.
    pub status: Option<u32>,
}

impl ShortPdu {
    /// A server reply to `request` (msrp-rpc.md §5): the request's object,
    /// interface and version, activity, sequence number and opnum; flags 0;
    /// little-endian `drep`; our `server_boot`; no hints; fragment 0.
    pub fn reply(
        request: &Header,
        ptype: PacketType,
        server_boot: u32,
        status: Option<u32>,
    ) -> Self {
        let mut header = Header::new(ptype);
        header.object = request.object;
        header.if_id = request.if_id;
        header.if_vers = request.if_vers;
        header.act_id = request.act_id;
        header.seqnum = request.seqnum;
        header.opnum = request.opnum;
        header.server_boot = server_boot;
        Self { header, status }
    }

    /// The response to `NetrSendMessage`, carrying its return value ([`status`]).
    pub fn response(request: &Header, server_boot: u32, status: u32) -> Self {
        Self::reply(request, PacketType::Response, server_boot, Some(status))
    }

    /// A fault: the call ran (or its stub was read) and failed ([`nca`]).
    pub fn fault(request: &Header, server_boot: u32, status: u32) -> Self {
        Self::reply(request, PacketType::Fault, server_boot, Some(status))
    }

    /// A reject: the call was refused before it ran ([`nca`]).
    pub fn reject(request: &Header, server_boot: u32, status: u32) -> Self {
        Self::reply(request, PacketType::Reject, server_boot, Some(status))
    }

    /// "Still working on it", the answer to a ping for a call in progress.
    pub fn working(ping: &Header, server_boot: u32) -> Self {
        Self::reply(ping, PacketType::Working, server_boot, None)
    }

    /// "No such call", the answer to a ping for a call the server does not know.
    pub fn nocall(ping: &Header, server_boot: u32) -> Self {
        Self::reply(ping, PacketType::Nocall, server_boot, None)
    }

    /// A client's ping for `request` (same identifiers, no body).
    pub fn ping(request: &Header) -> Self {
        let mut header = *request;
        header.ptype = PacketType::Ping;
        header.flags1 = Flags1(0);
        header.flags2 = Flags2(0);
        Self {
            header,
            status: None,
        }
    }

    /// A client's ack of `response` (same identifiers and server boot time),
    /// telling the server to forget the call (msrp-rpc.md §8).
    pub fn ack(response: &Header) -> Self {
        let mut header = *response;
        header.ptype = PacketType::Ack;
        header.flags1 = Flags1(0);
        header.flags2 = Flags2(0);
        header.ihint = NO_HINT;
        header.ahint = NO_HINT;
        Self {
            header,
            status: None,
        }
    }

    /// Reads a short PDU: response, fault and reject must carry exactly 4
    /// body bytes; ping, working, nocall, ack and cancel_ack none. Other
    /// types are [`Error::Unsupported`].
    pub fn parse(repr: &Repr<'_>) -> Result<Self> {
        let status = match repr.header.ptype {
            PacketType::Response | PacketType::Fault | PacketType::Reject => {
                let b: [u8; 4] = repr
                    .body
                    .try_into()
                    .map_err(|_| Error::Malformed("status body is not 4 bytes"))?;
                Some(match repr.header.drep.byte_order() {
                    ByteOrder::Little => u32::from_le_bytes(b),
                    ByteOrder::Big => u32::from_be_bytes(b),
                })
            }
            PacketType::Ping
            | PacketType::Working
            | PacketType::Nocall
            | PacketType::Ack
            | PacketType::CancelAck => {
                if !repr.body.is_empty() {
                    return Err(Error::Unsupported("body on a ping/working/nocall/ack PDU"));
                }
                None
            }
            _ => return Err(Error::Unsupported("CL PDU type without a short body")),
        };
        Ok(Self {
            header: repr.header,
            status,
        })
    }
}

impl Emit for ShortPdu {
    fn buffer_len(&self) -> usize {
        HEADER_LEN + if self.status.is_some() { 4 } else { 0 }
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let body = self.status.map(|s| match self.header.drep.byte_order() {
            ByteOrder::Little => s.to_le_bytes(),
            ByteOrder::Big => s.to_be_bytes(),
        });
        let body: &[u8] = body.as_ref().map_or(&[], |b| b);
        Repr {
            header: self.header,
            body,
        }
        .emit(buf)
    }
}

#[cfg(test)]
mod tests;
