//! # messngr-proto: the Messenger protocols as bytes and state
//!
//! This crate is everything messngr knows about the legacy wire, and nothing
//! else: it has **no sockets, no clock and no async runtime**. Bytes and time go
//! in; typed values, events and bytes come out. The daemon (`messngr daemon`)
//! owns every socket and timer and only moves bytes between them and this crate;
//! that keeps every protocol decision testable without a network and fuzzable.
//!
//! * [`wire`]: one module per wire format, in the style of smoltcp's `wire`:
//!   a typed view over a byte buffer with a checked constructor and field
//!   accessors, and a `Repr` that parses and emits. NetBIOS names
//!   ([`wire::name`]), NBNS on UDP 137 ([`wire::nbns`]), NBT datagrams on UDP 138
//!   ([`wire::nbdgm`]), NBT sessions on TCP 139 ([`wire::nbss`]), SMB1 message
//!   commands and the mailslot write ([`wire::smb`]), connectionless DCE/RPC and
//!   MS-MSRP `NetrSendMessage` ([`wire::dcerpc`]).
//! * [`text`]: OEM code pages ⇄ UTF-8 and the legacy line-break conventions.
//! * Sans-IO state machines, in the style of quinn-proto:
//!   [`registration`] (B-node name claim and defence with RFC 1002 timers),
//!   [`assembly`] (multi-block SMB messages), [`reassembly`] (NBT datagram
//!   fragments).
//!
//! Names of types, fields and constants follow the specifications they come
//! from: RFC 1001/1002, [MS-CIFS], [MS-MAIL], [MS-MSRP], C706.
#![forbid(unsafe_code)]
// Network input must never panic the daemon: no unwrap/expect outside tests.
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![deny(missing_docs)]

pub mod assembly;
pub mod reassembly;
pub mod registration;
pub mod text;
mod transport;
pub mod wire;

pub use transport::Transport;
pub use wire::native::Priority;
