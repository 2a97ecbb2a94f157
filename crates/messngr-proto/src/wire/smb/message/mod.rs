//! The SMB message commands of the Messenger service ([MS-MSRP] §2.2.3,
//! [MS-CIFS] §2.2.4.x): SMB_COM_SEND_MESSAGE (0xD0), SEND_START_MB_MESSAGE
//! (0xD5), SEND_TEXT_MB_MESSAGE (0xD7) and SEND_END_MB_MESSAGE (0xD6), their
//! replies, and the error reply every command may get.
//!
//! They are what `net send` and `smbclient -M` speak over an NBT session on
//! TCP 139 (nbt-session-and-smb-messages.md §5). Each request and reply is
//! one [`Smb`] frame; this module gives its words and bytes their meaning.
//!
//! ```text
//! 0xD0 request  WC 0  | 04 Originator NUL  04 Destination NUL  01 DataLength(u16) Data
//! 0xD5 request  WC 0  | 04 Originator NUL  04 Destination NUL
//! 0xD7 request  WC 1 MessageGroupId | 01 DataLength(u16) Data
//! 0xD6 request  WC 1 MessageGroupId | (no bytes)
//! 0xD5 reply    WC 1 MessageGroupId | (Windows, messngr)   or WC 0 (smbd)
//! other replies WC 0 | BC 0; errors the same, with Status in the header
//! ```
//!
//! Names and text are kept as raw OEM bytes; turning them into text is the
//! job of [`crate::text`].
//!
//! # Limits: lenient on parse, strict on emit
//!
//! | Limit | Parse | Emit |
//! |---|---|---|
//! | buffer-format bytes (0x04, 0x04, 0x01) | checked | written |
//! | NUL after each name, DataLength within ByteCount | checked | written |
//! | WordCount ≥ 1 for 0xD7 and 0xD6 requests | checked | exactly 1 |
//! | name length ≤ [`MAX_NAME_LEN`] (15) | **not** checked: smbclient sends the host as typed and any `-U` name | checked ([`Error::TooLong`]) |
//! | NUL inside a name | impossible (it ends the name) | [`Error::Malformed`] |
//! | text per block ≤ [`MAX_BLOCK_LEN`] (128) | **not** checked: the receiver applies its own, larger cap ([`crate::assembly`]) | checked ([`Error::TooLong`]) |
//! | WordCount of 0xD0/0xD5 requests and replies, bytes after the last field | ignored | canonical (WC as above, nothing after) |
//! | words and bytes of an error reply | ignored | WC 0, BC 0 |
//!
//! Parsing then emitting is therefore byte-identical for canonical frames
//! (every captured vector); a frame with extra words or bytes comes back in
//! canonical form, and a request over an emit limit does not emit at all
//! ([`Request::check_limits`] says which).

mod request;

pub use request::Request;

use crate::wire::codec::Writer;
use crate::wire::{Emit, Error, Result};

use super::header::{Command, HEADER_LEN, Header, SMB_FLAGS2_NT_STATUS, Smb, Status};

/// Buffer format 0x01: a data block, u16 length then the bytes ([MS-CIFS] §2.2.1.1).
pub const BUFFER_FORMAT_DATA_BLOCK: u8 = 0x01;
/// Buffer format 0x02: a dialect string ([MS-CIFS] §2.2.1.1).
pub const BUFFER_FORMAT_DIALECT: u8 = 0x02;
/// Buffer format 0x03: a path name ([MS-CIFS] §2.2.1.1).
pub const BUFFER_FORMAT_PATHNAME: u8 = 0x03;
/// Buffer format 0x04: a NUL-terminated string ([MS-CIFS] §2.2.1.1).
pub const BUFFER_FORMAT_STRING: u8 = 0x04;
/// Buffer format 0x05: a variable block ([MS-CIFS] §2.2.1.1).
pub const BUFFER_FORMAT_VARIABLE_BLOCK: u8 = 0x05;

/// Longest OriginatorName / DestinationName on emit, NUL not counted
/// ([MS-MSRP] §2.2.3.1.1, §2.2.3.2.1).
pub const MAX_NAME_LEN: usize = 15;
/// Longest text of one 0xD0 or 0xD7 block on emit ([MS-MSRP] §2.2.3.1.1,
/// §2.2.3.3.1).
pub const MAX_BLOCK_LEN: usize = 128;

/// A reply to a message command. The Status it carries is in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reply {
    /// Success for 0xD0, 0xD7 or 0xD6: WordCount 0, ByteCount 0.
    Ack,
    /// Success for 0xD5: WordCount 1 with the MessageGroupId (Windows,
    /// messngr), or WordCount 0 without one (smbd; the sender then uses 0).
    Start {
        /// MessageGroupId, if the reply had one.
        group_id: Option<u16>,
    },
    /// An error reply to any command: WordCount 0, ByteCount 0, the Status
    /// (DOS or NT form) in the header.
    Error,
}

impl Reply {
    /// Reads the reply body of `smb`. A non-success Status makes it
    /// [`Reply::Error`] whatever the body; a success reply to 0xD5 with
    /// WordCount ≥ 1 carries the group id in word 0 (extra words ignored, as
    /// smbclient does); other words and bytes of success replies are ignored.
    /// A success reply to a command other than 0xD0/0xD5–0xD7 is
    /// [`Error::Unsupported`].
    pub fn parse(smb: &Smb<'_>) -> Result<Self> {
        if !smb.header.status.is_success() {
            return Ok(Self::Error);
        }
        match smb.header.command {
            Command::SendStartMbMessage => Ok(Self::Start {
                group_id: smb.word(0),
            }),
            Command::SendMessage | Command::SendTextMbMessage | Command::SendEndMbMessage => {
                Ok(Self::Ack)
            }
            _ => Err(Error::Unsupported(
                "success reply to a command other than 0xD0/0xD5-0xD7",
            )),
        }
    }

    /// Bytes of SMB_Parameters.Words.
    const fn words_len(&self) -> usize {
        match self {
            Self::Start { group_id: Some(_) } => 2,
            _ => 0,
        }
    }

    fn check(&self, header: &Header) -> Result<()> {
        let ok = header.status.is_success();
        let fits = match self {
            Self::Ack => {
                ok && matches!(
                    header.command,
                    Command::SendMessage | Command::SendTextMbMessage | Command::SendEndMbMessage
                )
            }
            Self::Start { .. } => ok && header.command == Command::SendStartMbMessage,
            Self::Error => !ok,
        };
        if fits {
            Ok(())
        } else {
            Err(Error::Malformed(
                "reply kind does not match the header's Command/Status",
            ))
        }
    }
}

/// What a message SMB carries: a request or a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// A request (sender → receiver).
    Request(Request<'a>),
    /// A reply (receiver → sender).
    Reply(Reply),
}

/// One message-command SMB: its header and its typed body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// The SMB header; Command and Status must agree with `body`.
    pub header: Header,
    /// Words and bytes, typed.
    pub body: Body<'a>,
}

impl<'a> Repr<'a> {
    /// A request with the header [MS-MSRP] asks for: everything zero but
    /// Command.
    pub const fn request(request: Request<'a>) -> Self {
        Self {
            header: Header::request(request.command()),
            body: Body::Request(request),
        }
    }

    /// The success reply to `request` for 0xD0, 0xD7 or 0xD6 (WC 0, BC 0).
    pub const fn ack(request: &Header) -> Repr<'static> {
        Repr {
            header: request.reply(Status::SUCCESS),
            body: Body::Reply(Reply::Ack),
        }
    }

    /// The success reply to a 0xD5 `request`, with a group id (WC 1) or
    /// without one (WC 0, as smbd).
    pub const fn start_reply(request: &Header, group_id: Option<u16>) -> Repr<'static> {
        Repr {
            header: request.reply(Status::SUCCESS),
            body: Body::Reply(Reply::Start { group_id }),
        }
    }

    /// The error reply to `request` (any command): WC 0, BC 0, `status`
    /// (which must not be success), Flags2 NT bit set for an NTSTATUS.
    pub const fn error(request: &Header, status: Status) -> Repr<'static> {
        Repr {
            header: request.reply(status),
            body: Body::Reply(Reply::Error),
        }
    }

    /// Reads a message SMB, taking it for a reply when Flags has
    /// SMB_FLAGS_REPLY. Use [`Repr::parse_request`] or [`Repr::parse_reply`]
    /// when the direction is known: [MS-MSRP] read literally has replies with
    /// Flags 0.
    pub fn parse(buf: &'a [u8]) -> Result<Self> {
        let smb = Smb::parse(buf)?;
        if smb.header.is_reply() {
            Self::from_reply(&smb)
        } else {
            Self::from_request(&smb)
        }
    }

    /// Reads `buf` as a request.
    pub fn parse_request(buf: &'a [u8]) -> Result<Self> {
        Self::from_request(&Smb::parse(buf)?)
    }

    /// Reads `buf` as a reply.
    pub fn parse_reply(buf: &'a [u8]) -> Result<Self> {
        Self::from_reply(&Smb::parse(buf)?)
    }

    /// Types a parsed SMB as a request.
    pub fn from_request(smb: &Smb<'a>) -> Result<Self> {
        Ok(Self {
            header: smb.header,
            body: Body::Request(Request::parse(smb)?),
        })
    }

    /// Types a parsed SMB as a reply.
    pub fn from_reply(smb: &Smb<'a>) -> Result<Self> {
        Ok(Self {
            header: smb.header,
            body: Body::Reply(Reply::parse(smb)?),
        })
    }

    /// The Status of the header.
    pub const fn status(&self) -> Status {
        self.header.status
    }

    fn words_len(&self) -> usize {
        match &self.body {
            Body::Request(r) => r.words_len(),
            Body::Reply(r) => r.words_len(),
        }
    }

    fn bytes_len(&self) -> usize {
        match &self.body {
            Body::Request(r) => r.bytes_len(),
            Body::Reply(_) => 0,
        }
    }
}

impl Emit for Repr<'_> {
    fn buffer_len(&self) -> usize {
        HEADER_LEN + 1 + self.words_len() + 2 + self.bytes_len()
    }

    /// Writes the SMB. Fails with [`Error::Malformed`] when the header's
    /// Command or Status does not fit the body, or the Status form does not
    /// match Flags2's NT-status bit, and with [`Error::TooLong`] /
    /// [`Error::Malformed`] when a request breaks [`Request::check_limits`].
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let nt_flag = self.header.flags2 & SMB_FLAGS2_NT_STATUS != 0;
        if nt_flag != matches!(self.header.status, Status::Nt(_)) {
            return Err(Error::Malformed(
                "Status form does not match Flags2 NT_STATUS",
            ));
        }
        let mut w = Writer::new(buf);
        match &self.body {
            Body::Request(r) => {
                if self.header.command != r.command() {
                    return Err(Error::Malformed(
                        "header Command does not match the request",
                    ));
                }
                r.check_limits()?;
                self.header.emit(&mut w)?;
                r.emit_body(&mut w)?;
            }
            Body::Reply(r) => {
                r.check(&self.header)?;
                self.header.emit(&mut w)?;
                w.u8((r.words_len() / 2) as u8)?;
                if let Reply::Start {
                    group_id: Some(gid),
                } = r
                {
                    w.u16_le(*gid)?;
                }
                w.u16_le(0)?;
            }
        }
        Ok(w.position())
    }
}

#[cfg(test)]
mod tests;
