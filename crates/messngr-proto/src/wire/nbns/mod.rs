//! The NetBIOS name service on UDP 137 (RFC 1002 §4.2; netbios-names.md §3, §4).
//!
//! ```text
//!  0  NAME_TRN_ID u16
//!  2  flags       u16   R | OPCODE(4) | AA | TC | RD | RA | 0 0 | B | RCODE(4)
//!  4  QDCOUNT u16   6 ANCOUNT u16   8 NSCOUNT u16   10 ARCOUNT u16
//! 12  question entries, then answer, authority and additional records
//! ```
//!
//! * [`Packet`] is a view of the 12-byte header.
//! * [`Repr`] is a whole packet. It holds at most one question (RFC 1002
//!   never sends more; a packet with more is [`Error::Unsupported`]) and the
//!   three record sections as [`Records`].
//!
//! # No allocation on parse
//!
//! [`Repr::parse`] walks the whole packet once and checks every count
//! against the data (too few bytes, or bytes left over, is an error). It then
//! keeps each section as *(packet, offset, count)* and re-reads the records
//! lazily when [`Records::iter`] is called, so parsing copies nothing. NB
//! address lists and node status name lists are likewise views over the
//! borrowed bytes ([`NbEntries`], [`NodeNames`]). For building, a section
//! holds one record inline ([`Records::one`]) or borrows a slice
//! ([`Records::from_slice`]); the packet constructors in this module
//! (`Repr::name_query_request` and friends) need nothing else.
//!
//! # Compression
//!
//! Parsing follows compression pointers in every name. Emitting writes names
//! in full, except one case: in a **request** that has a question, a record
//! whose RR_NAME equals the question name is written as the pointer `C0 0C`
//! (offset 12, the question name). That is what RFC 1002 §4.2.2 requires
//! of registration, overwrite, refresh and release requests and what nmbd
//! sends, so its packets round-trip byte for byte. Any other pointer is
//! written back as the full name (the documented normalisation); the two
//! reserved header bits 0x0060 are dropped.

mod build;
pub mod rdata;
pub mod record;
#[cfg(test)]
mod tests;

use core::fmt;

use crate::wire::codec::{Reader, Writer};
use crate::wire::{Emit, Error, Result};

pub use rdata::{
    NB_ENTRY_LEN, NODE_NAME_LEN, NameFlags, NbEntries, NbEntry, NbFlags, NodeName, NodeNames,
    NodeStatus, Ont, STATISTICS_LEN, UNIT_ID_LEN, statistics,
};
pub use record::{CLASS_IN, DomainName, Question, RData, RecordType, ResourceRecord, RrName};

/// NAME_SERVICE_UDP_PORT.
pub const PORT: u16 = 137;
/// Bytes of the header.
pub const HEADER_LEN: usize = 12;
/// INFINITE_TTL (RFC 1002 §6); also the TTL of broadcast registrations.
pub const INFINITE_TTL: u32 = 0;
/// MAX_DATAGRAM_LENGTH (RFC 1002 §6): what a sender should stay below.
pub const MAX_DATAGRAM_LENGTH: usize = 576;
/// The compression pointer to the question name at offset 12.
pub const QUESTION_POINTER: [u8; 2] = [0xC0, 0x0C];

/// OPCODE, bits 0x7800 of the flags word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// 0: name query (and node status).
    Query,
    /// 5: name registration (and overwrite, RD = 0).
    Registration,
    /// 6: name release.
    Release,
    /// 7: wait for acknowledgement (WACK).
    Wack,
    /// 8: name refresh (what Windows NT and messngr send).
    Refresh,
    /// 9: name refresh, alternate code from RFC 1002's ambiguity (accepted).
    RefreshAlt,
    /// 15: multi-homed name registration ([MS-NBTE] §2.2.2).
    MultiHomedRegistration,
    /// Any other value (0..=15), kept so that it round-trips.
    Unknown(u8),
}

impl From<u8> for Opcode {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::Query,
            5 => Self::Registration,
            6 => Self::Release,
            7 => Self::Wack,
            8 => Self::Refresh,
            9 => Self::RefreshAlt,
            15 => Self::MultiHomedRegistration,
            other => Self::Unknown(other),
        }
    }
}

impl From<Opcode> for u8 {
    fn from(o: Opcode) -> u8 {
        match o {
            Opcode::Query => 0,
            Opcode::Registration => 5,
            Opcode::Release => 6,
            Opcode::Wack => 7,
            Opcode::Refresh => 8,
            Opcode::RefreshAlt => 9,
            Opcode::MultiHomedRegistration => 15,
            Opcode::Unknown(v) => v & 0x0F,
        }
    }
}

/// RCODE, bits 0x000F of the flags word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rcode {
    /// 0: success.
    NoError,
    /// 1: FMT_ERR, format error.
    FmtErr,
    /// 2: SRV_ERR, server failure.
    SrvErr,
    /// 3: NAM_ERR, name not found.
    NamErr,
    /// 4: IMP_ERR, unsupported request.
    ImpErr,
    /// 5: RFS_ERR, refused.
    RfsErr,
    /// 6: ACT_ERR, name active: the answer of an owner defending its name.
    ActErr,
    /// 7: CFT_ERR, name in conflict (also the name conflict demand).
    CftErr,
    /// 8..=15, kept so that they round-trip.
    Unknown(u8),
}

impl From<u8> for Rcode {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::NoError,
            1 => Self::FmtErr,
            2 => Self::SrvErr,
            3 => Self::NamErr,
            4 => Self::ImpErr,
            5 => Self::RfsErr,
            6 => Self::ActErr,
            7 => Self::CftErr,
            other => Self::Unknown(other),
        }
    }
}

impl From<Rcode> for u8 {
    fn from(r: Rcode) -> u8 {
        match r {
            Rcode::NoError => 0,
            Rcode::FmtErr => 1,
            Rcode::SrvErr => 2,
            Rcode::NamErr => 3,
            Rcode::ImpErr => 4,
            Rcode::RfsErr => 5,
            Rcode::ActErr => 6,
            Rcode::CftErr => 7,
            Rcode::Unknown(v) => v & 0x0F,
        }
    }
}

/// The flags word, split into its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flags {
    /// R: response (`true`) or request.
    pub response: bool,
    /// OPCODE.
    pub opcode: Opcode,
    /// AA: authoritative answer.
    pub authoritative: bool,
    /// TC: truncated.
    pub truncated: bool,
    /// RD: recursion desired.
    pub recursion_desired: bool,
    /// RA: recursion available.
    pub recursion_available: bool,
    /// B: sent as a broadcast.
    pub broadcast: bool,
    /// RCODE.
    pub rcode: Rcode,
}

impl Flags {
    const R: u16 = 0x8000;
    const AA: u16 = 0x0400;
    const TC: u16 = 0x0200;
    const RD: u16 = 0x0100;
    const RA: u16 = 0x0080;
    const B: u16 = 0x0010;

    /// Splits a flags word (the reserved bits 0x0060 are dropped).
    pub fn from_bits(v: u16) -> Self {
        Self {
            response: v & Self::R != 0,
            opcode: Opcode::from(((v >> 11) & 0x0F) as u8),
            authoritative: v & Self::AA != 0,
            truncated: v & Self::TC != 0,
            recursion_desired: v & Self::RD != 0,
            recursion_available: v & Self::RA != 0,
            broadcast: v & Self::B != 0,
            rcode: Rcode::from((v & 0x0F) as u8),
        }
    }

    /// The flags word.
    pub fn bits(&self) -> u16 {
        let bit = |on: bool, b: u16| if on { b } else { 0 };
        bit(self.response, Self::R)
            | u16::from(u8::from(self.opcode)) << 11
            | bit(self.authoritative, Self::AA)
            | bit(self.truncated, Self::TC)
            | bit(self.recursion_desired, Self::RD)
            | bit(self.recursion_available, Self::RA)
            | bit(self.broadcast, Self::B)
            | u16::from(u8::from(self.rcode))
    }
}

/// A view of the 12-byte header of an NBNS packet.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors may then panic on a
    /// buffer shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer of at least [`HEADER_LEN`] bytes.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let have = buffer.as_ref().len();
        if have < HEADER_LEN {
            return Err(Error::Truncated {
                need: HEADER_LEN,
                have,
            });
        }
        Ok(Self { buffer })
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u16_at(&self, at: usize) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[at], b[at + 1]])
    }

    /// NAME_TRN_ID.
    pub fn trn_id(&self) -> u16 {
        self.u16_at(0)
    }

    /// The raw flags word.
    pub fn flags_word(&self) -> u16 {
        self.u16_at(2)
    }

    /// The flags word, split.
    pub fn flags(&self) -> Flags {
        Flags::from_bits(self.flags_word())
    }

    /// QDCOUNT.
    pub fn qdcount(&self) -> u16 {
        self.u16_at(4)
    }

    /// ANCOUNT.
    pub fn ancount(&self) -> u16 {
        self.u16_at(6)
    }

    /// NSCOUNT.
    pub fn nscount(&self) -> u16 {
        self.u16_at(8)
    }

    /// ARCOUNT.
    pub fn arcount(&self) -> u16 {
        self.u16_at(10)
    }
}

#[derive(Clone, Copy)]
enum Section<'a> {
    One(Option<ResourceRecord<'a>>),
    Slice(&'a [ResourceRecord<'a>]),
    Wire {
        packet: &'a [u8],
        start: usize,
        count: u16,
        wack: bool,
    },
}

/// One record section (answers, authority or additional records).
///
/// Either parsed (a validated range of the packet, re-read lazily by
/// [`Records::iter`]) or built (no record, one inline, or a borrowed slice).
/// Two sections are equal when they yield equal records.
#[derive(Clone, Copy)]
pub struct Records<'a>(Section<'a>);

impl<'a> Records<'a> {
    /// No record.
    pub const EMPTY: Records<'static> = Records(Section::One(None));

    /// Exactly one record.
    pub const fn one(rr: ResourceRecord<'a>) -> Self {
        Self(Section::One(Some(rr)))
    }

    /// The records of a slice.
    pub const fn from_slice(rrs: &'a [ResourceRecord<'a>]) -> Self {
        Self(Section::Slice(rrs))
    }

    /// Reads `count` records at `*pos`, advancing it.
    fn parse(packet: &'a [u8], pos: &mut usize, count: u16, wack: bool) -> Result<Self> {
        let start = *pos;
        for _ in 0..count {
            let (_, end) = ResourceRecord::parse(packet, *pos, wack)?;
            *pos = end;
        }
        Ok(Self(Section::Wire {
            packet,
            start,
            count,
            wack,
        }))
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        match self.0 {
            Section::One(rr) => usize::from(rr.is_some()),
            Section::Slice(s) => s.len(),
            Section::Wire { count, .. } => usize::from(count),
        }
    }

    /// `true` when there is no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first record.
    pub fn first(&self) -> Option<ResourceRecord<'a>> {
        self.iter().next()
    }

    /// The records in order. Parsed records were validated by
    /// [`Repr::parse`], so re-reading them cannot fail.
    pub fn iter(&self) -> impl Iterator<Item = ResourceRecord<'a>> + 'a {
        let (one, slice, wire) = match self.0 {
            Section::One(rr) => (rr, &[][..], None),
            Section::Slice(s) => (None, s, None),
            Section::Wire {
                packet,
                start,
                count,
                wack,
            } => (None, &[][..], Some((packet, start, count, wack))),
        };
        let wire_iter = wire.into_iter().flat_map(|(packet, start, count, wack)| {
            (0..count).scan(start, move |pos, _| {
                let (rr, end) = ResourceRecord::parse(packet, *pos, wack).ok()?;
                *pos = end;
                Some(rr)
            })
        });
        one.into_iter()
            .chain(slice.iter().copied())
            .chain(wire_iter)
    }
}

impl PartialEq for Records<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Records<'_> {}

impl fmt::Debug for Records<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A whole NBNS packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// NAME_TRN_ID.
    pub trn_id: u16,
    /// The flags word.
    pub flags: Flags,
    /// The question entry (QDCOUNT 0 or 1).
    pub question: Option<Question<'a>>,
    /// Answer records (ANCOUNT).
    pub answers: Records<'a>,
    /// Authority records (NSCOUNT).
    pub authority: Records<'a>,
    /// Additional records (ARCOUNT).
    pub additional: Records<'a>,
}

impl<'a> Repr<'a> {
    /// Parses a packet (the whole UDP payload).
    pub fn parse(packet: &'a [u8]) -> Result<Self> {
        let header = Packet::new_checked(packet)?;
        let flags = header.flags();
        let mut pos = HEADER_LEN;
        let question = match header.qdcount() {
            0 => None,
            1 => {
                let (q, end) = Question::parse(packet, pos)?;
                pos = end;
                Some(q)
            }
            _ => {
                return Err(Error::Unsupported(
                    "NBNS packet with more than one question",
                ));
            }
        };
        let wack = flags.response && flags.opcode == Opcode::Wack;
        let answers = Records::parse(packet, &mut pos, header.ancount(), wack)?;
        let authority = Records::parse(packet, &mut pos, header.nscount(), wack)?;
        let additional = Records::parse(packet, &mut pos, header.arcount(), wack)?;
        if pos != packet.len() {
            return Err(Error::Malformed("bytes after the last NBNS record"));
        }
        Ok(Self {
            trn_id: header.trn_id(),
            flags,
            question,
            answers,
            authority,
            additional,
        })
    }

    /// Whether `rr` is written as the pointer to the question name.
    fn compress(&self, rr: &ResourceRecord<'_>) -> bool {
        !self.flags.response
            && self
                .question
                .is_some_and(|q| rr.name == RrName::NetBios(q.name))
    }

    fn sections(&self) -> [&Records<'a>; 3] {
        [&self.answers, &self.authority, &self.additional]
    }
}

impl Emit for Repr<'_> {
    fn buffer_len(&self) -> usize {
        let records: usize = self
            .sections()
            .iter()
            .flat_map(|s| s.iter())
            .map(|rr| rr.buffer_len(self.compress(&rr)))
            .sum();
        HEADER_LEN + self.question.map_or(0, |q| q.buffer_len()) + records
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let count = |n: usize| u16::try_from(n).map_err(|_| Error::TooLong("NBNS record count"));
        let mut w = Writer::new(buf);
        w.u16_be(self.trn_id)?;
        w.u16_be(self.flags.bits())?;
        w.u16_be(u16::from(self.question.is_some()))?;
        for s in self.sections() {
            w.u16_be(count(s.len())?)?;
        }
        if let Some(q) = &self.question {
            q.emit(&mut w)?;
        }
        for rr in self.sections().iter().flat_map(|s| s.iter()) {
            rr.emit(&mut w, self.compress(&rr))?;
        }
        Ok(w.position())
    }
}

/// Reads just the NAME_TRN_ID and flags of a buffer, for logging a packet
/// that [`Repr::parse`] refused.
pub fn peek_header(buf: &[u8]) -> Option<(u16, Flags)> {
    let mut r = Reader::new(buf);
    Some((r.u16_be().ok()?, Flags::from_bits(r.u16_be().ok()?)))
}
