//! The SMB1 header ([MS-CIFS] §2.2.3.1) and the parameter/data blocks that
//! follow it.
//!
//! ```text
//!  0  Protocol   FF 'S' 'M' 'B'
//!  4  Command    u8
//!  5  Status     u32 (NTSTATUS, or ErrorClass u8, reserved u8, ErrorCode u16)
//!  9  Flags      u8       10 Flags2 u16    12 PIDHigh u16
//! 14  SecurityFeatures [8]                 22 Reserved u16
//! 24  TID u16   26 PIDLow u16   28 UID u16   30 MID u16
//! 32  WordCount u8, Words [2·WordCount], ByteCount u16, Bytes [ByteCount]
//! ```

use crate::wire::codec::{Reader, Writer};
use crate::wire::{Error, Result};

/// Bytes of the fixed header, up to (not including) WordCount.
pub const HEADER_LEN: usize = 32;
/// `\xFFSMB`.
pub const PROTOCOL: [u8; 4] = *b"\xFFSMB";
/// SMB_FLAGS_REPLY in [`Header::flags`].
pub const SMB_FLAGS_REPLY: u8 = 0x80;
/// SMB_FLAGS2_NT_STATUS in [`Header::flags2`]: Status is a 32-bit NTSTATUS.
pub const SMB_FLAGS2_NT_STATUS: u16 = 0x4000;

/// DOS error classes and codes used on message replies (Samba
/// `smb_constants.h`, Linux `smberr.h`).
pub mod dos {
    /// Error class: server.
    pub const ERRSRV: u8 = 0x02;
    /// Non-specific error.
    pub const ERRERROR: u16 = 1;
    /// Command not recognised.
    pub const ERRSMBCMD: u16 = 64;
    /// Message server paused.
    pub const ERRPAUSED: u16 = 81;
    /// Not receiving messages.
    pub const ERRMSGOFF: u16 = 82;
    /// No room to buffer the message.
    pub const ERRNOROOM: u16 = 83;
    /// Too many remote user names.
    pub const ERRRMUNS: u16 = 87;
}

/// SMB command codes that messngr meets ([MS-CIFS] §2.2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// SMB_COM_TRANSACTION 0x25 (mailslot writes).
    Transaction,
    /// SMB_COM_NEGOTIATE 0x72.
    Negotiate,
    /// SMB_COM_SEND_MESSAGE 0xD0, a single-block message.
    SendMessage,
    /// SMB_COM_SEND_BROADCAST_MESSAGE 0xD1.
    SendBroadcastMessage,
    /// SMB_COM_FORWARD_USER_NAME 0xD2.
    ForwardUserName,
    /// SMB_COM_CANCEL_FORWARD 0xD3.
    CancelForward,
    /// SMB_COM_GET_MACHINE_NAME 0xD4.
    GetMachineName,
    /// SMB_COM_SEND_START_MB_MESSAGE 0xD5.
    SendStartMbMessage,
    /// SMB_COM_SEND_END_MB_MESSAGE 0xD6.
    SendEndMbMessage,
    /// SMB_COM_SEND_TEXT_MB_MESSAGE 0xD7.
    SendTextMbMessage,
    /// Any other command, kept so that it round-trips.
    Unknown(u8),
}

impl From<u8> for Command {
    fn from(v: u8) -> Self {
        match v {
            0x25 => Self::Transaction,
            0x72 => Self::Negotiate,
            0xD0 => Self::SendMessage,
            0xD1 => Self::SendBroadcastMessage,
            0xD2 => Self::ForwardUserName,
            0xD3 => Self::CancelForward,
            0xD4 => Self::GetMachineName,
            0xD5 => Self::SendStartMbMessage,
            0xD6 => Self::SendEndMbMessage,
            0xD7 => Self::SendTextMbMessage,
            other => Self::Unknown(other),
        }
    }
}

impl From<Command> for u8 {
    fn from(c: Command) -> u8 {
        match c {
            Command::Transaction => 0x25,
            Command::Negotiate => 0x72,
            Command::SendMessage => 0xD0,
            Command::SendBroadcastMessage => 0xD1,
            Command::ForwardUserName => 0xD2,
            Command::CancelForward => 0xD3,
            Command::GetMachineName => 0xD4,
            Command::SendStartMbMessage => 0xD5,
            Command::SendEndMbMessage => 0xD6,
            Command::SendTextMbMessage => 0xD7,
            Command::Unknown(v) => v,
        }
    }
}

/// The Status field, in either of its two forms ([MS-CIFS] §2.2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// DOS form (Flags2 without SMB_FLAGS2_NT_STATUS).
    Dos {
        /// ErrorClass (0 = success, [`dos::ERRSRV`], …).
        class: u8,
        /// ErrorCode.
        code: u16,
    },
    /// NT form: a 32-bit NTSTATUS.
    Nt(u32),
}

impl Status {
    /// Success, in DOS form.
    pub const SUCCESS: Self = Self::Dos { class: 0, code: 0 };

    /// A server-class DOS error ([`dos`]).
    pub const fn srv(code: u16) -> Self {
        Self::Dos {
            class: dos::ERRSRV,
            code,
        }
    }

    /// `true` for success in either form.
    pub const fn is_success(&self) -> bool {
        matches!(self, Self::Dos { class: 0, code: 0 } | Self::Nt(0))
    }

    fn to_bytes(self) -> [u8; 4] {
        match self {
            Self::Dos { class, code } => {
                let c = code.to_le_bytes();
                [class, 0, c[0], c[1]]
            }
            Self::Nt(v) => v.to_le_bytes(),
        }
    }

    /// Reads Status as Flags2 says. The reserved byte of the DOS form
    /// (byte 1) carries nothing and is not kept: it is written back as 0,
    /// the one normalisation of this header (found by the smb_message fuzz
    /// target when an earlier version kept it as an NT status and so broke
    /// the Flags2/Status agreement that emitters check).
    fn from_bytes(b: [u8; 4], flags2: u16) -> Self {
        if flags2 & SMB_FLAGS2_NT_STATUS != 0 {
            Self::Nt(u32::from_le_bytes(b))
        } else {
            Self::Dos {
                class: b[0],
                code: u16::from_le_bytes([b[2], b[3]]),
            }
        }
    }
}

/// The 32-byte SMB header, decoded. Every field is kept so that a reply can
/// copy the request's identifiers and the header round-trips exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Command code.
    pub command: Command,
    /// Status (interpreted by Flags2's NT-status bit).
    pub status: Status,
    /// Flags (0x80 = reply).
    pub flags: u8,
    /// Flags2.
    pub flags2: u16,
    /// High 16 bits of the process id.
    pub pid_high: u16,
    /// SecurityFeatures (signature); zero for messages.
    pub security_features: [u8; 8],
    /// Reserved; zero.
    pub reserved: u16,
    /// Tree id.
    pub tid: u16,
    /// Low 16 bits of the process id (smbclient puts its pid here).
    pub pid_low: u16,
    /// User id.
    pub uid: u16,
    /// Multiplex id.
    pub mid: u16,
}

impl Header {
    /// A request header for `command` with every other field zero, as
    /// [MS-MSRP] §2.2.3 asks of message senders.
    pub const fn request(command: Command) -> Self {
        Self {
            command,
            status: Status::SUCCESS,
            flags: 0,
            flags2: 0,
            pid_high: 0,
            security_features: [0; 8],
            reserved: 0,
            tid: 0,
            pid_low: 0,
            uid: 0,
            mid: 0,
        }
    }

    /// The header of a reply to this request: same command and ids, Flags
    /// 0x80, and Flags2 0x4000 only when `status` is an NTSTATUS (what smbd
    /// does, nbt-session-and-smb-messages.md §3).
    pub const fn reply(&self, status: Status) -> Self {
        Self {
            command: self.command,
            status,
            flags: SMB_FLAGS_REPLY,
            flags2: match status {
                Status::Nt(_) => SMB_FLAGS2_NT_STATUS,
                Status::Dos { .. } => 0,
            },
            pid_high: self.pid_high,
            security_features: [0; 8],
            reserved: 0,
            tid: self.tid,
            pid_low: self.pid_low,
            uid: self.uid,
            mid: self.mid,
        }
    }

    /// `true` when Flags has SMB_FLAGS_REPLY.
    pub const fn is_reply(&self) -> bool {
        self.flags & SMB_FLAGS_REPLY != 0
    }

    /// Reads the header from the first 32 bytes of `buf`.
    pub fn parse(buf: &[u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        if r.array::<4>()? != PROTOCOL {
            return Err(Error::Malformed("SMB protocol id is not \\xFFSMB"));
        }
        let command = Command::from(r.u8()?);
        let status = r.array::<4>()?;
        let flags = r.u8()?;
        let flags2 = r.u16_le()?;
        Ok(Self {
            command,
            status: Status::from_bytes(status, flags2),
            flags,
            flags2,
            pid_high: r.u16_le()?,
            security_features: r.array()?,
            reserved: r.u16_le()?,
            tid: r.u16_le()?,
            pid_low: r.u16_le()?,
            uid: r.u16_le()?,
            mid: r.u16_le()?,
        })
    }

    /// Writes the 32 header bytes. Flags2's NT-status bit is written as
    /// stored; keep it consistent with `status`.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        w.bytes(&PROTOCOL)?;
        w.u8(self.command.into())?;
        w.bytes(&self.status.to_bytes())?;
        w.u8(self.flags)?;
        w.u16_le(self.flags2)?;
        w.u16_le(self.pid_high)?;
        w.bytes(&self.security_features)?;
        w.u16_le(self.reserved)?;
        w.u16_le(self.tid)?;
        w.u16_le(self.pid_low)?;
        w.u16_le(self.uid)?;
        w.u16_le(self.mid)
    }
}

/// A whole SMB: header, parameter words and data bytes, borrowed from the
/// input. This is the common frame every command body is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb<'a> {
    /// The header.
    pub header: Header,
    /// SMB_Parameters.Words as raw bytes (2·WordCount).
    pub words: &'a [u8],
    /// SMB_Data.Bytes (ByteCount bytes).
    pub bytes: &'a [u8],
}

impl<'a> Smb<'a> {
    /// Parses a complete SMB (the payload of one NBT SESSION MESSAGE). Bytes
    /// after `ByteCount` bytes are ignored, as every SMB server does.
    pub fn parse(buf: &'a [u8]) -> Result<Self> {
        let header = Header::parse(buf)?;
        let mut r = Reader::at(buf, HEADER_LEN);
        let wc = usize::from(r.u8()?);
        let words = r.bytes(2 * wc)?;
        let bc = usize::from(r.u16_le()?);
        let bytes = r.bytes(bc)?;
        Ok(Self {
            header,
            words,
            bytes,
        })
    }

    /// Parameter word `i` (little-endian), if present.
    pub fn word(&self, i: usize) -> Option<u16> {
        let w = self.words.get(2 * i..2 * i + 2)?;
        Some(u16::from_le_bytes([w[0], w[1]]))
    }

    /// Bytes [`Smb::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + 1 + self.words.len() + 2 + self.bytes.len()
    }

    /// Writes header, WordCount, words, ByteCount and bytes.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        if !self.words.len().is_multiple_of(2) || self.words.len() > 2 * 255 {
            return Err(Error::Malformed(
                "SMB parameter words: odd length or over 255 words",
            ));
        }
        let bc =
            u16::try_from(self.bytes.len()).map_err(|_| Error::TooLong("SMB data (ByteCount)"))?;
        self.header.emit(w)?;
        w.u8((self.words.len() / 2) as u8)?;
        w.bytes(self.words)?;
        w.u16_le(bc)?;
        w.bytes(self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_codes_round_trip() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(Command::from(v)), v);
        }
    }

    #[test]
    fn reply_copies_ids_and_sets_the_reply_flag() {
        let mut req = Header::request(Command::SendStartMbMessage);
        req.pid_low = 0x539F;
        req.mid = 7;
        let rep = req.reply(Status::srv(dos::ERRNOROOM));
        assert!(rep.is_reply());
        assert_eq!((rep.pid_low, rep.mid, rep.flags2), (0x539F, 7, 0));
        let mut buf = [0u8; HEADER_LEN];
        rep.emit(&mut Writer::new(&mut buf)).unwrap();
        assert_eq!(&buf[4..9], &[0xD5, 0x02, 0x00, 0x53, 0x00]);
        assert_eq!(Header::parse(&buf).unwrap(), rep);
        let nt = req.reply(Status::Nt(0xC000_00D0));
        nt.emit(&mut Writer::new(&mut buf)).unwrap();
        assert_eq!(Header::parse(&buf).unwrap().status, Status::Nt(0xC000_00D0));
    }

    #[test]
    fn a_dos_status_reserved_byte_is_normalised_to_zero() {
        let mut buf = [0u8; HEADER_LEN];
        Header::request(Command::SendMessage)
            .emit(&mut Writer::new(&mut buf))
            .unwrap();
        buf[5..9].copy_from_slice(&[0x02, 0x7F, 0x53, 0x00]);
        let h = Header::parse(&buf).unwrap();
        assert_eq!(h.status, Status::srv(dos::ERRNOROOM));
        let mut again = [0u8; HEADER_LEN];
        h.emit(&mut Writer::new(&mut again)).unwrap();
        assert_eq!(again[5..9], [0x02, 0x00, 0x53, 0x00]);
        assert_eq!(Header::parse(&again).unwrap(), h);
    }

    #[test]
    fn smb_frame_checks_counts() {
        let smb = Smb {
            header: Header::request(Command::SendEndMbMessage),
            words: &[1, 0],
            bytes: &[],
        };
        let mut buf = vec![0; smb.buffer_len()];
        smb.emit(&mut Writer::new(&mut buf)).unwrap();
        assert_eq!(Smb::parse(&buf).unwrap(), smb);
        assert_eq!(Smb::parse(&buf).unwrap().word(0), Some(1));
        for cut in 0..buf.len() {
            assert!(Smb::parse(&buf[..cut]).is_err());
        }
        buf[0] = 0xFE;
        assert!(Smb::parse(&buf).is_err());
    }
}
