//! The four message-command requests ([MS-MSRP] §2.2.3.1–2.2.3.4) and the
//! buffer formats of their bytes ([MS-CIFS] §2.2.1.1).

use crate::wire::codec::{Reader, Writer};
use crate::wire::smb::header::{Command, Smb};
use crate::wire::{Error, Result};

use super::{BUFFER_FORMAT_DATA_BLOCK, BUFFER_FORMAT_STRING, MAX_BLOCK_LEN, MAX_NAME_LEN};

/// A message-command request: what a sender asks of a receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// SMB_COM_SEND_MESSAGE 0xD0 ([MS-MSRP] §2.2.3.1): a whole message in
    /// one request.
    SendMessage {
        /// OriginatorName: the sender, raw OEM bytes without the NUL.
        originator: &'a [u8],
        /// DestinationName: the recipient, raw OEM bytes without the NUL.
        destination: &'a [u8],
        /// The data block, raw; may end with the NUL the spec describes.
        text: &'a [u8],
    },
    /// SMB_COM_SEND_START_MB_MESSAGE 0xD5 ([MS-MSRP] §2.2.3.2): opens a
    /// multi-block message.
    SendStart {
        /// OriginatorName, raw OEM bytes without the NUL.
        originator: &'a [u8],
        /// DestinationName, raw OEM bytes without the NUL.
        destination: &'a [u8],
    },
    /// SMB_COM_SEND_TEXT_MB_MESSAGE 0xD7 ([MS-MSRP] §2.2.3.3): one block of
    /// text.
    SendText {
        /// MessageGroupId from the START reply (0 after smbd's WC-0 reply).
        group_id: u16,
        /// The block, raw (no NUL).
        text: &'a [u8],
    },
    /// SMB_COM_SEND_END_MB_MESSAGE 0xD6 ([MS-MSRP] §2.2.3.4): the message is
    /// complete.
    SendEnd {
        /// MessageGroupId.
        group_id: u16,
    },
}

impl<'a> Request<'a> {
    /// The command this request is sent with.
    pub const fn command(&self) -> Command {
        match self {
            Self::SendMessage { .. } => Command::SendMessage,
            Self::SendStart { .. } => Command::SendStartMbMessage,
            Self::SendText { .. } => Command::SendTextMbMessage,
            Self::SendEnd { .. } => Command::SendEndMbMessage,
        }
    }

    /// Reads the request body of `smb` according to its header's Command.
    /// The reply flag is not looked at ([MS-MSRP] asks receivers to ignore
    /// every header field but Command). 0xD1–0xD4 and other commands are
    /// [`Error::Unsupported`]: messngr answers them without parsing them.
    pub fn parse(smb: &Smb<'a>) -> Result<Self> {
        let mut r = Reader::new(smb.bytes);
        match smb.header.command {
            Command::SendMessage => {
                let (originator, destination) = names(&mut r)?;
                let text = data_block(&mut r)?;
                Ok(Self::SendMessage {
                    originator,
                    destination,
                    text,
                })
            }
            Command::SendStartMbMessage => {
                let (originator, destination) = names(&mut r)?;
                Ok(Self::SendStart {
                    originator,
                    destination,
                })
            }
            Command::SendTextMbMessage => Ok(Self::SendText {
                group_id: group_id(smb)?,
                text: data_block(&mut r)?,
            }),
            Command::SendEndMbMessage => Ok(Self::SendEnd {
                group_id: group_id(smb)?,
            }),
            Command::SendBroadcastMessage
            | Command::ForwardUserName
            | Command::CancelForward
            | Command::GetMachineName => Err(Error::Unsupported(
                "0xD1-0xD4 request layouts are unknown (interop U6)",
            )),
            _ => Err(Error::Unsupported("not an SMB message command")),
        }
    }

    /// Checks the limits enforced on emit: names at most [`MAX_NAME_LEN`]
    /// bytes without NUL, text at most [`MAX_BLOCK_LEN`] bytes.
    pub fn check_limits(&self) -> Result<()> {
        let name = |n: &[u8]| {
            if n.len() > MAX_NAME_LEN {
                Err(Error::TooLong("message name over 15 bytes"))
            } else if n.contains(&0) {
                Err(Error::Malformed("NUL inside a message name"))
            } else {
                Ok(())
            }
        };
        let text = |t: &[u8]| {
            if t.len() > MAX_BLOCK_LEN {
                Err(Error::TooLong("message block over 128 bytes"))
            } else {
                Ok(())
            }
        };
        match self {
            Self::SendMessage {
                originator,
                destination,
                text: t,
            } => {
                name(originator)?;
                name(destination)?;
                text(t)
            }
            Self::SendStart {
                originator,
                destination,
            } => {
                name(originator)?;
                name(destination)
            }
            Self::SendText { text: t, .. } => text(t),
            Self::SendEnd { .. } => Ok(()),
        }
    }

    /// Bytes of SMB_Parameters.Words.
    pub(super) const fn words_len(&self) -> usize {
        match self {
            Self::SendMessage { .. } | Self::SendStart { .. } => 0,
            Self::SendText { .. } | Self::SendEnd { .. } => 2,
        }
    }

    /// Bytes of SMB_Data.Bytes (the ByteCount).
    pub(super) const fn bytes_len(&self) -> usize {
        match self {
            Self::SendMessage {
                originator,
                destination,
                text,
            } => names_len(originator, destination) + 3 + text.len(),
            Self::SendStart {
                originator,
                destination,
            } => names_len(originator, destination),
            Self::SendText { text, .. } => 3 + text.len(),
            Self::SendEnd { .. } => 0,
        }
    }

    pub(super) fn emit_body(&self, w: &mut Writer<'_>) -> Result<()> {
        self.check_limits()?;
        w.u8((self.words_len() / 2) as u8)?;
        if let Self::SendText { group_id, .. } | Self::SendEnd { group_id } = self {
            w.u16_le(*group_id)?;
        }
        let bc = u16::try_from(self.bytes_len()).map_err(|_| Error::TooLong("SMB ByteCount"))?;
        w.u16_le(bc)?;
        match self {
            Self::SendMessage {
                originator,
                destination,
                text,
            } => {
                emit_names(w, originator, destination)?;
                emit_data_block(w, text)
            }
            Self::SendStart {
                originator,
                destination,
            } => emit_names(w, originator, destination),
            Self::SendText { text, .. } => emit_data_block(w, text),
            Self::SendEnd { .. } => Ok(()),
        }
    }
}

/// `04 name NUL 04 name NUL`.
fn names<'a>(r: &mut Reader<'a>) -> Result<(&'a [u8], &'a [u8])> {
    let originator = string(r, "OriginatorName buffer format is not 0x04")?;
    let destination = string(r, "DestinationName buffer format is not 0x04")?;
    Ok((originator, destination))
}

fn string<'a>(r: &mut Reader<'a>, what: &'static str) -> Result<&'a [u8]> {
    if r.u8()? != BUFFER_FORMAT_STRING {
        return Err(Error::Malformed(what));
    }
    r.cstr()
}

/// `01 DataLength(u16 LE) Data`.
fn data_block<'a>(r: &mut Reader<'a>) -> Result<&'a [u8]> {
    if r.u8()? != BUFFER_FORMAT_DATA_BLOCK {
        return Err(Error::Malformed("message data buffer format is not 0x01"));
    }
    let len = r.u16_le()?;
    r.bytes(usize::from(len))
}

fn group_id(smb: &Smb<'_>) -> Result<u16> {
    smb.word(0).ok_or(Error::Malformed(
        "WordCount 0 where MessageGroupId is required",
    ))
}

const fn names_len(originator: &[u8], destination: &[u8]) -> usize {
    1 + originator.len() + 1 + 1 + destination.len() + 1
}

fn emit_names(w: &mut Writer<'_>, originator: &[u8], destination: &[u8]) -> Result<()> {
    for name in [originator, destination] {
        w.u8(BUFFER_FORMAT_STRING)?;
        w.bytes(name)?;
        w.u8(0)?;
    }
    Ok(())
}

fn emit_data_block(w: &mut Writer<'_>, data: &[u8]) -> Result<()> {
    let len =
        u16::try_from(data.len()).map_err(|_| Error::TooLong("data block over 65535 bytes"))?;
    w.u8(BUFFER_FORMAT_DATA_BLOCK)?;
    w.u16_le(len)?;
    w.bytes(data)
}
