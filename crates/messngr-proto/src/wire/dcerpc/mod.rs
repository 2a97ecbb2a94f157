//! Connectionless DCE/RPC on UDP 135 and MS-MSRP `NetrSendMessage`: the
//! third message path of the Windows Messenger, off by default (msrp-rpc.md
//! §1; [MS-MSRP]; C706 ch. 12 and 14).
//!
//! Windows 2000/XP/2003 `net send` falls back to this path when SMB delivery
//! fails; 2002–2003 pop-up spam used it directly. messngr serves only the
//! `msgsvcsend` interface (5A7B91F8-FF00-11D0-A9B2-00C04FB6E6FC v1.0, opnum
//! 0) and can send through it as a client.
//!
//! * [`uuid`]: [`Uuid`], with the DCE text form and the `drep`-dependent
//!   wire form.
//! * [`cl`]: the 80-byte connectionless PDU header ([`cl::Packet`] view,
//!   [`cl::Header`], [`cl::Repr`] = header + borrowed body), both byte orders.
//! * [`ndr`]: the NDR pieces MS-MSRP needs (aligned integers, pointers,
//!   conformant varying `char`/`wchar_t` strings), decoded without allocation.
//! * [`msrp`]: the `NetrSendMessage` stub and request PDU, the
//!   response/fault/reject/working/nocall/ping/ack PDUs ([`msrp::ShortPdu`]),
//!   interface UUIDs and status codes.
//! * [`server`]: what a minimal server answers ([`server::screen`], a pure
//!   function) and the sans-IO [`server::MsrpServer`] that delivers each call
//!   once and resends its response to repeats.
//!
//! All decoding borrows from the datagram and never panics; see
//! [`crate::wire`] for the contract.

/// The endpoint mapper's UDP port, where `msgsvcsend` calls are sent
/// directly (`ncadg_ip_udp`; msrp-rpc.md §7).
pub const RPC_PORT: u16 = 135;

pub mod cl;
pub mod msrp;
pub mod ndr;
pub mod server;
pub mod uuid;

pub use cl::{Header, Packet, PacketType, Repr};
pub use msrp::{NetrSendMessage, Request, ShortPdu};
pub use server::MsrpServer;
pub use uuid::Uuid;
