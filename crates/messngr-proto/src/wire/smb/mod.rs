//! SMB1 as the Messenger uses it: the 32-byte header ([`header`]), the
//! message commands 0xD0–0xD7 ([`message`]) carried in NBT sessions, and the
//! SMB_COM_TRANSACTION mailslot write carried in NBT datagrams ([`mailslot`]).
//!
//! All SMB integers are little-endian ([MS-CIFS] §2.2.1).

pub mod header;
pub mod mailslot;
pub mod message;

pub use header::{Command, HEADER_LEN, Header};
