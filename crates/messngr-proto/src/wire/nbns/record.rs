//! Question entries and resource records (RFC 1002 §4.2.1.2, §4.2.1.3).

use core::fmt;
use core::net::Ipv4Addr;

use super::rdata::{NbEntries, NodeStatus};
use crate::wire::codec::{Reader, Writer};
use crate::wire::name::{ENCODED_LEN, EncodedName, MAX_ENCODED_NAME_LEN, MAX_POINTER_HOPS};
use crate::wire::{Error, Result};

/// QUESTION_CLASS / RR_CLASS `IN`, the only class NBNS uses.
pub const CLASS_IN: u16 = 0x0001;

/// QUESTION_TYPE / RR_TYPE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// 0x0001: IP address (the additional record of a redirect).
    A,
    /// 0x0002: name server (the authority record of a redirect).
    Ns,
    /// 0x000A: NULL (negative query response).
    Null,
    /// 0x0020: NetBIOS general name service record.
    Nb,
    /// 0x0021: node status.
    NbStat,
    /// Anything else, kept so that it round-trips.
    Unknown(u16),
}

impl From<u16> for RecordType {
    fn from(v: u16) -> Self {
        match v {
            0x0001 => Self::A,
            0x0002 => Self::Ns,
            0x000A => Self::Null,
            0x0020 => Self::Nb,
            0x0021 => Self::NbStat,
            other => Self::Unknown(other),
        }
    }
}

impl From<RecordType> for u16 {
    fn from(t: RecordType) -> u16 {
        match t {
            RecordType::A => 0x0001,
            RecordType::Ns => 0x0002,
            RecordType::Null => 0x000A,
            RecordType::Nb => 0x0020,
            RecordType::NbStat => 0x0021,
            RecordType::Unknown(v) => v,
        }
    }
}

/// A question entry. NBNS always asks about a NetBIOS name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question<'a> {
    /// QUESTION_NAME.
    pub name: EncodedName<'a>,
    /// QUESTION_TYPE: [`RecordType::Nb`] or [`RecordType::NbStat`].
    pub qtype: RecordType,
    /// QUESTION_CLASS ([`CLASS_IN`]).
    pub class: u16,
}

impl<'a> Question<'a> {
    /// An NB question of class IN.
    pub const fn nb(name: EncodedName<'a>) -> Self {
        Self {
            name,
            qtype: RecordType::Nb,
            class: CLASS_IN,
        }
    }

    pub(super) fn parse(packet: &'a [u8], pos: usize) -> Result<(Self, usize)> {
        let (name, end) = EncodedName::parse(packet, pos, true)?;
        let mut r = Reader::at(packet, end);
        let qtype = RecordType::from(r.u16_be()?);
        let class = r.u16_be()?;
        Ok((Self { name, qtype, class }, r.position()))
    }

    pub(super) const fn buffer_len(&self) -> usize {
        self.name.buffer_len() + 4
    }

    pub(super) fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        self.name.emit(w)?;
        w.u16_be(self.qtype.into())?;
        w.u16_be(self.class)
    }
}

/// A DNS-style domain name that is not a NetBIOS name: the NBNS server name
/// of a redirect (RFC 1002 §4.2.15), or the null name some WACKs carry.
///
/// Parsed names are validated once and then read lazily through the packet,
/// following compression pointers; nothing is copied. Emitted uncompressed.
#[derive(Clone, Copy)]
pub struct DomainName<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> DomainName<'a> {
    /// The root (null) name: a single zero byte.
    pub const ROOT: DomainName<'static> = DomainName { buf: &[0], pos: 0 };

    /// A name from uncompressed wire labels ending with a zero byte, e.g.
    /// `b"\x02NS\x07NETBIOS\x03COM\x00"`.
    pub fn from_wire(labels: &'a [u8]) -> Result<Self> {
        let (name, end) = Self::parse(labels, 0, false)?;
        if end != labels.len() {
            return Err(Error::Malformed("bytes after the domain name's root label"));
        }
        Ok(name)
    }

    /// Validates the name at `pos`; returns it and the offset after it in
    /// the original stream.
    pub(super) fn parse(
        packet: &'a [u8],
        pos: usize,
        allow_pointers: bool,
    ) -> Result<(Self, usize)> {
        let have = packet.len();
        let mut cur = pos;
        let mut end = None;
        let mut hops = 0;
        let mut total = 1;
        loop {
            let len = *packet.get(cur).ok_or(Error::Truncated {
                need: cur + 1,
                have,
            })?;
            match len & 0xC0 {
                0xC0 if allow_pointers => {
                    let lo = *packet.get(cur + 1).ok_or(Error::Truncated {
                        need: cur + 2,
                        have,
                    })?;
                    let target = usize::from(len & 0x3F) << 8 | usize::from(lo);
                    if target >= cur {
                        return Err(Error::Malformed(
                            "compression pointer does not point backwards",
                        ));
                    }
                    hops += 1;
                    if hops > MAX_POINTER_HOPS {
                        return Err(Error::Malformed("too many compression pointers"));
                    }
                    end.get_or_insert(cur + 2);
                    cur = target;
                }
                0x00 if len == 0 => {
                    return Ok((Self { buf: packet, pos }, end.unwrap_or(cur + 1)));
                }
                0x00 => {
                    let next = cur + 1 + usize::from(len);
                    if next > have {
                        return Err(Error::Truncated { need: next, have });
                    }
                    total += 1 + usize::from(len);
                    if total > MAX_ENCODED_NAME_LEN {
                        return Err(Error::TooLong("domain name"));
                    }
                    cur = next;
                }
                _ => {
                    return Err(Error::Malformed(
                        "reserved label type or pointer in domain name",
                    ));
                }
            }
        }
    }

    /// The labels, pointers followed.
    pub fn labels(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let buf = self.buf;
        let mut cur = self.pos;
        core::iter::from_fn(move || {
            loop {
                let len = *buf.get(cur)?;
                if len & 0xC0 == 0xC0 {
                    cur = usize::from(len & 0x3F) << 8 | usize::from(*buf.get(cur + 1)?);
                    continue;
                }
                if len == 0 {
                    return None;
                }
                let label = buf.get(cur + 1..cur + 1 + usize::from(len))?;
                cur += 1 + usize::from(len);
                return Some(label);
            }
        })
    }

    /// `true` for the root (null) name.
    pub fn is_root(&self) -> bool {
        self.labels().next().is_none()
    }

    /// Bytes [`DomainName::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        1 + self.labels().map(|l| 1 + l.len()).sum::<usize>()
    }

    /// Writes the name uncompressed.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        for label in self.labels() {
            w.u8(label.len() as u8)?;
            w.bytes(label)?;
        }
        w.u8(0)
    }
}

impl PartialEq for DomainName<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.labels().eq(other.labels())
    }
}

impl Eq for DomainName<'_> {}

impl fmt::Display for DomainName<'_> {
    /// Dotted form; `.` for the root.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(&String::from_utf8_lossy(label))?;
        }
        Ok(())
    }
}

impl fmt::Debug for DomainName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DomainName({self})")
    }
}

/// RR_NAME: almost always a NetBIOS name; a plain domain name only in a
/// redirect's NS/A records or a WACK's null name.
///
/// A name whose first label (pointers followed) is 32 bytes long is a
/// NetBIOS name and must decode as one, or the packet is malformed; any other
/// name is a [`DomainName`]. The rule depends only on the label sequence, so
/// it gives the same answer before and after a name is re-emitted
/// uncompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RrName<'a> {
    /// A NetBIOS name (with its scope).
    NetBios(EncodedName<'a>),
    /// Any other domain name.
    Domain(DomainName<'a>),
}

impl<'a> RrName<'a> {
    /// The NetBIOS name, if this is one.
    pub const fn netbios(&self) -> Option<&EncodedName<'a>> {
        match self {
            Self::NetBios(n) => Some(n),
            Self::Domain(_) => None,
        }
    }

    fn parse(packet: &'a [u8], pos: usize) -> Result<(Self, usize)> {
        let (domain, end) = DomainName::parse(packet, pos, true)?;
        if domain
            .labels()
            .next()
            .is_some_and(|l| l.len() == ENCODED_LEN)
        {
            let (name, _) = EncodedName::parse(packet, pos, true)?;
            Ok((Self::NetBios(name), end))
        } else {
            Ok((Self::Domain(domain), end))
        }
    }

    fn buffer_len(&self) -> usize {
        match self {
            Self::NetBios(n) => n.buffer_len(),
            Self::Domain(d) => d.buffer_len(),
        }
    }

    fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        match self {
            Self::NetBios(n) => n.emit(w),
            Self::Domain(d) => d.emit(w),
        }
    }
}

/// RDATA, typed by RR_TYPE (and, for a WACK, by the opcode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RData<'a> {
    /// NB: NB_FLAGS + NB_ADDRESS entries (RDLENGTH a multiple of 6).
    Nb(NbEntries<'a>),
    /// NBSTAT: the node status answer.
    NodeStatus(NodeStatus<'a>),
    /// A: a 4-byte IPv4 address (redirect).
    A(Ipv4Addr),
    /// NS: the NBNS server's domain name (redirect); pointers are followed.
    Ns(DomainName<'a>),
    /// WACK: the 2-byte copy of the acknowledged request's flags word.
    Wack(u16),
    /// Anything else (NULL, or RDATA whose length does not fit its type), raw.
    Raw(&'a [u8]),
}

impl<'a> RData<'a> {
    fn parse(
        rtype: RecordType,
        packet: &'a [u8],
        start: usize,
        len: usize,
        wack: bool,
    ) -> Result<Self> {
        let rdata = Reader::at(packet, start).bytes(len)?;
        Ok(match rtype {
            _ if wack && len == 2 => Self::Wack(u16::from_be_bytes([rdata[0], rdata[1]])),
            RecordType::Nb if len.is_multiple_of(6) => Self::Nb(NbEntries::new(rdata)?),
            RecordType::NbStat => Self::NodeStatus(NodeStatus::parse(rdata)?),
            RecordType::A if len == 4 => {
                Self::A(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]))
            }
            RecordType::Ns => {
                let (name, end) = DomainName::parse(packet, start, true)?;
                if end != start + len {
                    return Err(Error::Malformed("NS RDATA is not exactly one domain name"));
                }
                Self::Ns(name)
            }
            _ => Self::Raw(rdata),
        })
    }

    /// RDLENGTH of the encoding.
    pub fn buffer_len(&self) -> usize {
        match self {
            Self::Nb(e) => e.as_bytes().len(),
            Self::NodeStatus(s) => s.buffer_len(),
            Self::A(_) => 4,
            Self::Ns(n) => n.buffer_len(),
            Self::Wack(_) => 2,
            Self::Raw(b) => b.len(),
        }
    }

    fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        match self {
            Self::Nb(e) => w.bytes(e.as_bytes()),
            Self::NodeStatus(s) => s.emit(w),
            Self::A(a) => w.bytes(&a.octets()),
            Self::Ns(n) => n.emit(w),
            Self::Wack(f) => w.u16_be(*f),
            Self::Raw(b) => w.bytes(b),
        }
    }
}

/// A resource record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceRecord<'a> {
    /// RR_NAME (pointers already followed).
    pub name: RrName<'a>,
    /// RR_TYPE.
    pub rtype: RecordType,
    /// RR_CLASS ([`CLASS_IN`]).
    pub class: u16,
    /// TTL in seconds; 0 is infinite in a registration ([`super::INFINITE_TTL`]).
    pub ttl: u32,
    /// RDATA.
    pub rdata: RData<'a>,
}

impl<'a> ResourceRecord<'a> {
    /// An NB record of class IN for a NetBIOS name.
    pub const fn nb(name: EncodedName<'a>, ttl: u32, entries: NbEntries<'a>) -> Self {
        Self {
            name: RrName::NetBios(name),
            rtype: RecordType::Nb,
            class: CLASS_IN,
            ttl,
            rdata: RData::Nb(entries),
        }
    }

    /// The NB entries, if the RDATA is an NB list.
    pub const fn nb_entries(&self) -> Option<&NbEntries<'a>> {
        match &self.rdata {
            RData::Nb(e) => Some(e),
            _ => None,
        }
    }

    /// Parses the record at `pos`; `wack` says whether the packet is a WACK
    /// (whose 2-byte RDATA is a flags word whatever RR_TYPE says).
    pub(super) fn parse(packet: &'a [u8], pos: usize, wack: bool) -> Result<(Self, usize)> {
        let (name, end) = RrName::parse(packet, pos)?;
        let mut r = Reader::at(packet, end);
        let rtype = RecordType::from(r.u16_be()?);
        let class = r.u16_be()?;
        let ttl = r.u32_be()?;
        let len = usize::from(r.u16_be()?);
        let start = r.position();
        let rdata = RData::parse(rtype, packet, start, len, wack)?;
        let rr = Self {
            name,
            rtype,
            class,
            ttl,
            rdata,
        };
        Ok((rr, start + len))
    }

    /// Encoded size; `pointer` writes RR_NAME as the 2-byte pointer `C0 0C`.
    pub(super) fn buffer_len(&self, pointer: bool) -> usize {
        let name = if pointer { 2 } else { self.name.buffer_len() };
        name + 10 + self.rdata.buffer_len()
    }

    pub(super) fn emit(&self, w: &mut Writer<'_>, pointer: bool) -> Result<()> {
        let rdlength = u16::try_from(self.rdata.buffer_len())
            .map_err(|_| Error::TooLong("RDATA (RDLENGTH)"))?;
        if pointer {
            w.bytes(&super::QUESTION_POINTER)?;
        } else {
            self.name.emit(w)?;
        }
        w.u16_be(self.rtype.into())?;
        w.u16_be(self.class)?;
        w.u32_be(self.ttl)?;
        w.u16_be(rdlength)?;
        self.rdata.emit(w)
    }
}
