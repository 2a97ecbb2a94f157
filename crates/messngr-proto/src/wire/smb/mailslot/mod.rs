//! The mailslot write: an SMB_COM_TRANSACTION request carried, without an
//! NBSS header, as the user data of an NBT datagram ([MS-MAIL] §2.2.1,
//! [MS-CIFS] §2.2.4.33.1). On `\MAILSLOT\MESSNGR` it carries a WinPopup /
//! `net send` message ([`MessngrPayload`]).
//!
//! ```text
//!  0  SMB header (32)            Command 0x25; every other field ignored on receipt
//! 32  WordCount 17
//! 33  TotalParameterCount  TotalDataCount  MaxParameterCount  MaxDataCount
//! 41  MaxSetupCount u8  Reserved1 u8  Flags  Timeout u32  Reserved2
//! 51  ParameterCount  ParameterOffset  DataCount  DataOffset
//! 59  SetupCount 3 u8  Reserved3 u8
//! 61  Setup[0] opcode 1 (write)  Setup[1] priority  Setup[2] class
//! 67  ByteCount
//! 69  Name "\MAILSLOT\…" NUL, pad, data at DataOffset (DataCount bytes)
//! ```
//!
//! # Receiving ([MS-MAIL] §3.2.5.1)
//!
//! [`Repr::parse`] checks what [MS-MAIL] lets a receiver check — the SMB
//! frame ([`Smb::parse`], so ByteCount must fit the buffer), command 0x25,
//! WordCount 17, SetupCount 3, opcode 1, a NUL-terminated name at 69 that
//! ends at or before DataOffset, DataOffset + DataCount within the buffer —
//! and locates the data **only** by DataOffset and DataCount: both 87
//! (Samba, nmbd, scapy, impacket: no pad) and 88 (Windows: one pad byte)
//! work. Priority, Class, Flags, Timeout, ByteCount, TotalDataCount and the
//! header are kept but not required to hold particular values. Any mailslot
//! name parses (`\MAILSLOT\BROWSE` too), so that the receiver can drop
//! other mailslots silently after [`Repr::is_messngr`].
//!
//! Every byte is kept (pad, bytes after the data, a ByteCount that disagrees
//! with the buffer), so a parsed write re-emits byte-identically.
//!
//! # Sending
//!
//! [`Repr::messngr`] builds the [MS-MAIL] form: data 4-aligned (DataOffset
//! 88, one zero pad byte), limited by a [`SizeLimit`] (378 data bytes by
//! default so the datagram needs no RFC 1002 fragmentation, 424 — Windows'
//! limit — as an option). [`messngr_datagram`] wraps it all into a UDP
//! payload.

use crate::wire::codec::{Reader, Writer};
use crate::wire::name::EncodedName;
use crate::wire::nbdgm::{self, DatagramKind};
use crate::wire::{Emit, Error, Result};

use super::header::{Command, HEADER_LEN, Header, Smb};

mod messngr;
#[cfg(test)]
mod tests;

pub use messngr::MessngrPayload;

/// WordCount of a mailslot write: 14 transaction words + 3 setup words.
pub const WORD_COUNT: u8 = 17;
/// SetupCount of a mailslot write ([MS-MAIL] §2.2.1).
pub const SETUP_COUNT: u8 = 3;
/// `Setup[0]` MailSlotOpcode: write mailslot, the only opcode ([MS-MAIL] §2.2.1).
pub const MAILSLOT_WRITE: u16 = 0x0001;
/// Offset of the mailslot name from the start of the SMB (= the first byte
/// of SMB_Data.Bytes when WordCount is 17).
pub const NAME_OFFSET: usize = HEADER_LEN + 1 + 2 * WORD_COUNT as usize + 2;
/// Every mailslot name starts with this, in any case ([MS-MAIL] §2.1).
pub const MAILSLOT_PREFIX: &[u8] = b"\\MAILSLOT\\";
/// The Messenger service's mailslot ([MS-MSRP] §2.1.2).
pub const MESSNGR: &[u8] = b"\\MAILSLOT\\MESSNGR";
/// The browser's mailslot (host announcements, elections): dropped by messngr.
pub const BROWSE: &[u8] = b"\\MAILSLOT\\BROWSE";
/// SMB_COM_TRANSACTION Flags: DISCONNECT_TID ([MS-CIFS] §2.2.4.33.1).
pub const TRANS_DISCONNECT_TID: u16 = 0x0001;
/// SMB_COM_TRANSACTION Flags: NO_RESPONSE, a one-way transaction.
pub const TRANS_NO_RESPONSE: u16 = 0x0002;
/// [MS-MAIL] §2.2.1 client header Flags: canonicalized paths, case-insensitive.
pub const MAIL_SMB_FLAGS: u8 = 0x18;
/// [MS-MAIL] §2.2.1 client header Flags2.
pub const MAIL_SMB_FLAGS2: u16 = 0x0004;
/// [MS-MAIL] §2.2.1 client header PIDLow.
pub const MAIL_SMB_PID_LOW: u16 = 0xFEFF;

/// `Setup[2]`, the mailslot class ([MS-MAIL] §2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// 1: first class, reliable; never sent by broadcast.
    Reliable,
    /// 2: second class, unreliable and broadcast: every datagram mailslot write.
    Unreliable,
    /// Any other value, kept so that it round-trips.
    Unknown(u16),
}

impl From<u16> for Class {
    fn from(v: u16) -> Self {
        match v {
            1 => Self::Reliable,
            2 => Self::Unreliable,
            other => Self::Unknown(other),
        }
    }
}

impl From<Class> for u16 {
    fn from(c: Class) -> u16 {
        match c {
            Class::Reliable => 1,
            Class::Unreliable => 2,
            Class::Unknown(v) => v,
        }
    }
}

/// How large a mailslot write messngr is willing to send
/// (mailslot-datagrams.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SizeLimit {
    /// The whole datagram stays within RFC 1002's 576-byte
    /// MAX_DATAGRAM_LENGTH, so it is never fragmented: SMB ≤ 548 − 82 = 466
    /// bytes with an empty scope, i.e. **378** MESSNGR data bytes.
    #[default]
    Unfragmented,
    /// Windows' limit: a mailslot write SMB of at most 512 bytes, i.e.
    /// **424** MESSNGR data bytes ([MS-MAIL] endnote <2>).
    Windows,
}

impl SizeLimit {
    /// Largest mailslot write SMB this limit allows.
    pub const fn max_smb_len(self) -> usize {
        match self {
            Self::Unfragmented => {
                nbdgm::MAX_UNFRAGMENTED_LEN
                    - nbdgm::DATAGRAM_HEADER_LEN
                    - 2 * crate::wire::name::ENCODED_NAME_LEN
            }
            Self::Windows => 512,
        }
    }

    /// Largest data (DataCount) for a write built by [`Repr::write`] to
    /// `name` (378 or 424 for `\MAILSLOT\MESSNGR`).
    pub const fn max_data_len(self, name: &[u8]) -> usize {
        self.max_smb_len()
            .saturating_sub(aligned_data_offset(name.len()))
    }
}

/// DataOffset of a write built here: after the name and its NUL, rounded
/// up to a multiple of 4 ([MS-MAIL] §2.2.1 Padding).
const fn aligned_data_offset(name_len: usize) -> usize {
    (NAME_OFFSET + name_len + 1).div_ceil(4) * 4
}

/// Zero bytes for padding.
const ZERO_PAD: [u8; 3] = [0; 3];

/// A decoded mailslot write (SMB_COM_TRANSACTION request, [MS-CIFS]
/// §2.2.4.33.1 field names). DataCount, DataOffset and (unless
/// [`Repr::byte_count`] is set) ByteCount follow from the slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr<'a> {
    /// The SMB header; [MS-MAIL] makes receivers ignore all of it but the
    /// command, which must be [`Command::Transaction`].
    pub header: Header,
    /// TotalParameterCount (0).
    pub total_parameter_count: u16,
    /// TotalDataCount (normally = DataCount; not checked).
    pub total_data_count: u16,
    /// MaxParameterCount (0; Windows clients 2, impacket 1024).
    pub max_parameter_count: u16,
    /// MaxDataCount (0; impacket 65504).
    pub max_data_count: u16,
    /// MaxSetupCount (0).
    pub max_setup_count: u8,
    /// Reserved1 (0).
    pub reserved1: u8,
    /// Flags: [`TRANS_DISCONNECT_TID`], [`TRANS_NO_RESPONSE`].
    pub flags: u16,
    /// Timeout in milliseconds (ignored by Windows).
    pub timeout: u32,
    /// Reserved2 (0).
    pub reserved2: u16,
    /// ParameterCount (0: a mailslot write has no parameters).
    pub parameter_count: u16,
    /// ParameterOffset (Samba 0, Windows = DataOffset).
    pub parameter_offset: u16,
    /// Reserved3 (0).
    pub reserved3: u8,
    /// `Setup[1]` Priority, 0..=9 (every real encoder sends 1; ignored).
    pub priority: u16,
    /// `Setup[2]` Class.
    pub class: Class,
    /// ByteCount as received when it is not the number of bytes after it
    /// (Windows ignores ByteCount); `None` makes emit compute it.
    pub byte_count: Option<u16>,
    /// Name, e.g. `\MAILSLOT\MESSNGR`, without its NUL (ASCII; compare
    /// case-insensitively).
    pub name: &'a [u8],
    /// Bytes between the name's NUL and DataOffset: none (87) or one zero (88).
    pub pad: &'a [u8],
    /// The DataCount bytes at DataOffset: the mailslot message.
    pub data: &'a [u8],
    /// Bytes after the data, if the buffer goes on (normally none).
    pub trailer: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Decodes a mailslot write from an NBDGM packet's user data. See the
    /// module documentation for what is checked and what is tolerated.
    pub fn parse(buf: &'a [u8]) -> Result<Self> {
        let smb = Smb::parse(buf)?;
        if smb.header.command != Command::Transaction {
            return Err(Error::Unsupported(
                "SMB command other than TRANSACTION in a datagram",
            ));
        }
        if smb.words.len() != 2 * usize::from(WORD_COUNT) {
            return Err(Error::Malformed("mailslot write WordCount is not 17"));
        }
        let mut r = Reader::new(smb.words);
        let total_parameter_count = r.u16_le()?;
        let total_data_count = r.u16_le()?;
        let max_parameter_count = r.u16_le()?;
        let max_data_count = r.u16_le()?;
        let max_setup_count = r.u8()?;
        let reserved1 = r.u8()?;
        let flags = r.u16_le()?;
        let timeout = r.u32_le()?;
        let reserved2 = r.u16_le()?;
        let parameter_count = r.u16_le()?;
        let parameter_offset = r.u16_le()?;
        let data_count = usize::from(r.u16_le()?);
        let data_offset = usize::from(r.u16_le()?);
        if r.u8()? != SETUP_COUNT {
            return Err(Error::Malformed("mailslot write SetupCount is not 3"));
        }
        let reserved3 = r.u8()?;
        if r.u16_le()? != MAILSLOT_WRITE {
            return Err(Error::Unsupported("mailslot opcode other than write (1)"));
        }
        let priority = r.u16_le()?;
        let class = Class::from(r.u16_le()?);

        let name = Reader::at(buf, NAME_OFFSET).cstr()?;
        let name_end = NAME_OFFSET + name.len() + 1;
        let pad = buf.get(name_end..data_offset).ok_or(Error::Malformed(
            "DataOffset before the end of the mailslot name",
        ))?;
        let data_end = data_offset + data_count;
        let data = buf.get(data_offset..data_end).ok_or(Error::Truncated {
            need: data_end,
            have: buf.len(),
        })?;
        let trailer = buf.get(data_end..).unwrap_or(&[]);

        let mut repr = Self {
            header: smb.header,
            total_parameter_count,
            total_data_count,
            max_parameter_count,
            max_data_count,
            max_setup_count,
            reserved1,
            flags,
            timeout,
            reserved2,
            parameter_count,
            parameter_offset,
            reserved3,
            priority,
            class,
            byte_count: None,
            name,
            pad,
            data,
            trailer,
        };
        let byte_count = u16::try_from(smb.bytes.len()).ok();
        if repr.computed_byte_count().ok() != byte_count {
            repr.byte_count = byte_count;
        }
        Ok(repr)
    }

    /// A mailslot write of `data` to `name` in the [MS-MAIL] §2.2.1 form a
    /// Windows client sends: header Flags 0x18, Flags2 0x0004, PIDLow
    /// 0xFEFF; transaction Flags NO_RESPONSE; data 4-aligned after zero pad
    /// bytes (DataOffset 88 for `\MAILSLOT\MESSNGR`), ParameterOffset =
    /// DataOffset; priority 0, class 2 (unreliable).
    ///
    /// `name` must start with `\MAILSLOT\` and hold no NUL; `data` may be
    /// at most [`SizeLimit::max_data_len`] bytes (else `TooLong`).
    pub fn write(name: &'a [u8], data: &'a [u8], limit: SizeLimit) -> Result<Self> {
        let prefix = name.get(..MAILSLOT_PREFIX.len());
        if !prefix.is_some_and(|p| p.eq_ignore_ascii_case(MAILSLOT_PREFIX)) {
            return Err(Error::Malformed(
                "mailslot name does not start with \\MAILSLOT\\",
            ));
        }
        if name.contains(&0) {
            return Err(Error::Malformed("NUL inside a mailslot name"));
        }
        if data.len() > limit.max_data_len(name) {
            return Err(Error::TooLong("mailslot data (size limit)"));
        }
        let data_offset = aligned_data_offset(name.len());
        let pad_len = data_offset - (NAME_OFFSET + name.len() + 1);
        let data_count = u16::try_from(data.len()).map_err(|_| Error::TooLong("mailslot data"))?;
        let mut header = Header::request(Command::Transaction);
        header.flags = MAIL_SMB_FLAGS;
        header.flags2 = MAIL_SMB_FLAGS2;
        header.pid_low = MAIL_SMB_PID_LOW;
        Ok(Self {
            header,
            total_parameter_count: 0,
            total_data_count: data_count,
            max_parameter_count: 0,
            max_data_count: 0,
            max_setup_count: 0,
            reserved1: 0,
            flags: TRANS_NO_RESPONSE,
            timeout: 0,
            reserved2: 0,
            parameter_count: 0,
            parameter_offset: u16::try_from(data_offset)
                .map_err(|_| Error::TooLong("mailslot name"))?,
            reserved3: 0,
            priority: 0,
            class: Class::Unreliable,
            byte_count: None,
            name,
            pad: ZERO_PAD
                .get(..pad_len)
                .ok_or(Error::Malformed("mailslot pad"))?,
            data,
            trailer: &[],
        })
    }

    /// [`Repr::write`] to `\MAILSLOT\MESSNGR`: DataOffset 88, at most 378
    /// ([`SizeLimit::Unfragmented`]) or 424 ([`SizeLimit::Windows`]) bytes.
    pub fn messngr(data: &'a [u8], limit: SizeLimit) -> Result<Self> {
        Self::write(MESSNGR, data, limit)
    }

    /// `true` if this write is for `\MAILSLOT\MESSNGR` (any case).
    pub fn is_messngr(&self) -> bool {
        self.name.eq_ignore_ascii_case(MESSNGR)
    }

    /// DataOffset: where the data starts, counted from the SMB's first byte.
    pub const fn data_offset(&self) -> usize {
        NAME_OFFSET + self.name.len() + 1 + self.pad.len()
    }

    /// ByteCount as computed from the slices: name, NUL, pad, data, trailer.
    pub fn computed_byte_count(&self) -> Result<u16> {
        let n = self.name.len() + 1 + self.pad.len() + self.data.len() + self.trailer.len();
        u16::try_from(n).map_err(|_| Error::TooLong("mailslot write (ByteCount)"))
    }
}

impl Emit for Repr<'_> {
    fn buffer_len(&self) -> usize {
        self.data_offset() + self.data.len() + self.trailer.len()
    }

    /// Writes the SMB. Fails on a header command other than 0x25, a NUL in
    /// the name, or counts and offsets beyond 16 bits.
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        if self.header.command != Command::Transaction {
            return Err(Error::Malformed(
                "mailslot write header command is not TRANSACTION",
            ));
        }
        if self.name.contains(&0) {
            return Err(Error::Malformed("NUL inside a mailslot name"));
        }
        let data_offset =
            u16::try_from(self.data_offset()).map_err(|_| Error::TooLong("mailslot DataOffset"))?;
        let data_count =
            u16::try_from(self.data.len()).map_err(|_| Error::TooLong("mailslot DataCount"))?;
        let byte_count = match self.byte_count {
            Some(v) => v,
            None => self.computed_byte_count()?,
        };
        let len = self.buffer_len();
        let have = buf.len();
        let out = buf
            .get_mut(..len)
            .ok_or(Error::BufferTooSmall { need: len, have })?;
        let mut w = Writer::new(out);
        self.header.emit(&mut w)?;
        w.u8(WORD_COUNT)?;
        w.u16_le(self.total_parameter_count)?;
        w.u16_le(self.total_data_count)?;
        w.u16_le(self.max_parameter_count)?;
        w.u16_le(self.max_data_count)?;
        w.u8(self.max_setup_count)?;
        w.u8(self.reserved1)?;
        w.u16_le(self.flags)?;
        w.u32_le(self.timeout)?;
        w.u16_le(self.reserved2)?;
        w.u16_le(self.parameter_count)?;
        w.u16_le(self.parameter_offset)?;
        w.u16_le(data_count)?;
        w.u16_le(data_offset)?;
        w.u8(SETUP_COUNT)?;
        w.u8(self.reserved3)?;
        w.u16_le(MAILSLOT_WRITE)?;
        w.u16_le(self.priority)?;
        w.u16_le(self.class.into())?;
        w.u16_le(byte_count)?;
        w.bytes(self.name)?;
        w.u8(0)?;
        w.bytes(self.pad)?;
        w.bytes(self.data)?;
        w.bytes(self.trailer)?;
        Ok(w.position())
    }
}

/// Builds the whole UDP payload of a `\MAILSLOT\MESSNGR` message: an NBDGM
/// datagram of `kind` (0x10 to a unique name, 0x11 to a group) from
/// `source` to `destination`, carrying a [`Repr::messngr`] write of
/// `payload`. With [`SizeLimit::Unfragmented`] the result is also checked
/// against [`nbdgm::MAX_UNFRAGMENTED_LEN`] (names with a scope take room
/// from the text); a message that does not fit is `TooLong`, never
/// fragmented.
pub fn messngr_datagram(
    kind: DatagramKind,
    header: nbdgm::Header,
    source: EncodedName<'_>,
    destination: EncodedName<'_>,
    payload: &MessngrPayload<'_>,
    limit: SizeLimit,
) -> Result<Vec<u8>> {
    let data = payload.to_vec()?;
    let smb = Repr::messngr(&data, limit)?.to_vec()?;
    let dgm = nbdgm::Repr::datagram(kind, header, source, destination, &smb);
    if limit == SizeLimit::Unfragmented && dgm.buffer_len() > nbdgm::MAX_UNFRAGMENTED_LEN {
        return Err(Error::TooLong("mailslot datagram over 548 bytes"));
    }
    dgm.to_vec()
}
