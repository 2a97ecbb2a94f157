//! RDATA layouts of NBNS resource records: NB address lists (RFC 1002
//! §4.2.1.3, §4.2.13) and the node status answer (§4.2.18).
//!
//! Both are lists. On parse they are **views over the borrowed bytes**,
//! iterated lazily; nothing is copied or allocated. For building, an NB list
//! can hold one entry inline ([`NbEntries::one`]) and a node name list can
//! borrow a slice of typed entries ([`NodeNames::from_slice`]).

use core::fmt;
use core::net::Ipv4Addr;

use crate::wire::codec::Writer;
use crate::wire::name::{NAME_LEN, NetbiosName};
use crate::wire::{Error, Result};

/// Bytes of one NB entry: NB_FLAGS (2) + NB_ADDRESS (4).
pub const NB_ENTRY_LEN: usize = 6;
/// Bytes of one NODE_NAME entry: 16 raw name bytes + NAME_FLAGS (2).
pub const NODE_NAME_LEN: usize = 18;
/// Bytes of the STATISTICS block of a node status response.
pub const STATISTICS_LEN: usize = 46;
/// Bytes of UNIT_ID, the first field of STATISTICS (a MAC address).
pub const UNIT_ID_LEN: usize = 6;

/// Owner node type (ONT), bits 0x6000 of NB_FLAGS and NAME_FLAGS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Ont {
    /// Broadcast node (0x0000). messngr without WINS.
    #[default]
    B,
    /// Point-to-point node (0x2000), WINS only.
    P,
    /// Mixed node (0x4000): broadcast first, then WINS.
    M,
    /// Hybrid node (0x6000; reserved in RFC 1002, used by Microsoft).
    H,
}

impl Ont {
    const MASK: u16 = 0x6000;

    /// The two ONT bits in place (0x0000, 0x2000, 0x4000 or 0x6000).
    pub const fn bits(self) -> u16 {
        match self {
            Self::B => 0x0000,
            Self::P => 0x2000,
            Self::M => 0x4000,
            Self::H => 0x6000,
        }
    }

    /// Reads the ONT bits of a flags word.
    pub const fn from_flags(flags: u16) -> Self {
        match flags & Self::MASK {
            0x0000 => Self::B,
            0x2000 => Self::P,
            0x4000 => Self::M,
            _ => Self::H,
        }
    }
}

/// NB_FLAGS: group bit and owner node type. The 13 reserved bits are kept,
/// so a parsed value writes back unchanged.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NbFlags(pub u16);

impl NbFlags {
    /// G: the name is a group name.
    pub const GROUP: u16 = 0x8000;

    /// Flags for a unique (`group == false`) or group name owned by a node of type `ont`.
    pub const fn new(group: bool, ont: Ont) -> Self {
        Self(if group { Self::GROUP } else { 0 } | ont.bits())
    }

    /// `true` for a group name.
    pub const fn group(self) -> bool {
        self.0 & Self::GROUP != 0
    }

    /// Owner node type.
    pub const fn ont(self) -> Ont {
        Ont::from_flags(self.0)
    }
}

impl fmt::Debug for NbFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "NbFlags({:#06x}: {}, {:?})",
            self.0,
            if self.group() { "group" } else { "unique" },
            self.ont()
        )
    }
}

/// One NB entry: who owns a name, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NbEntry {
    /// NB_FLAGS.
    pub flags: NbFlags,
    /// NB_ADDRESS.
    pub address: Ipv4Addr,
}

impl NbEntry {
    /// An entry for a unique or group name at `address`.
    pub const fn new(group: bool, ont: Ont, address: Ipv4Addr) -> Self {
        Self {
            flags: NbFlags::new(group, ont),
            address,
        }
    }

    /// The six wire bytes.
    pub const fn to_bytes(self) -> [u8; NB_ENTRY_LEN] {
        let f = self.flags.0.to_be_bytes();
        let a = self.address.octets();
        [f[0], f[1], a[0], a[1], a[2], a[3]]
    }

    /// Reads six wire bytes.
    pub const fn from_bytes(b: [u8; NB_ENTRY_LEN]) -> Self {
        Self {
            flags: NbFlags(u16::from_be_bytes([b[0], b[1]])),
            address: Ipv4Addr::new(b[2], b[3], b[4], b[5]),
        }
    }
}

#[derive(Clone, Copy)]
enum NbBytes<'a> {
    Wire(&'a [u8]),
    One([u8; NB_ENTRY_LEN]),
}

/// NB RDATA: a list of [`NbEntry`] (a group answer may carry several),
/// either borrowed from a packet or one entry held inline.
#[derive(Clone, Copy)]
pub struct NbEntries<'a>(NbBytes<'a>);

impl<'a> NbEntries<'a> {
    /// An empty list (RDLENGTH 0).
    pub const EMPTY: NbEntries<'static> = NbEntries(NbBytes::Wire(&[]));

    /// A view over wire bytes; fails unless the length is a multiple of 6.
    pub fn new(bytes: &'a [u8]) -> Result<Self> {
        if !bytes.len().is_multiple_of(NB_ENTRY_LEN) {
            return Err(Error::Malformed("NB RDATA length is not a multiple of 6"));
        }
        Ok(Self(NbBytes::Wire(bytes)))
    }

    /// A list of exactly one entry, held inline.
    pub const fn one(entry: NbEntry) -> NbEntries<'static> {
        NbEntries(NbBytes::One(entry.to_bytes()))
    }

    /// The RDATA bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            NbBytes::Wire(b) => b,
            NbBytes::One(b) => b,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.as_bytes().len() / NB_ENTRY_LEN
    }

    /// `true` when there is no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries, decoded one by one.
    pub fn iter(&self) -> impl Iterator<Item = NbEntry> + '_ {
        self.as_bytes().chunks_exact(NB_ENTRY_LEN).map(|c| {
            let mut b = [0u8; NB_ENTRY_LEN];
            b.copy_from_slice(c);
            NbEntry::from_bytes(b)
        })
    }

    /// The first entry.
    pub fn first(&self) -> Option<NbEntry> {
        self.iter().next()
    }
}

impl PartialEq for NbEntries<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for NbEntries<'_> {}

impl fmt::Debug for NbEntries<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// NAME_FLAGS of a node status entry. Unknown bits are kept.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NameFlags(pub u16);

impl NameFlags {
    /// G: group name.
    pub const GROUP: u16 = 0x8000;
    /// DRG: the name is being deregistered (released).
    pub const DEREGISTERING: u16 = 0x1000;
    /// CNF: the name is in conflict.
    pub const CONFLICT: u16 = 0x0800;
    /// ACT: the name is active (always set by Samba and Windows).
    pub const ACTIVE: u16 = 0x0400;
    /// PRM: the permanent node name.
    pub const PERMANENT: u16 = 0x0200;

    /// ACT plus G (for a group) and the ONT bits.
    pub const fn new(group: bool, ont: Ont) -> Self {
        Self(Self::ACTIVE | if group { Self::GROUP } else { 0 } | ont.bits())
    }

    /// The same flags with `bits` also set.
    pub const fn with(self, bits: u16) -> Self {
        Self(self.0 | bits)
    }

    /// `true` when every bit of `bits` is set.
    pub const fn contains(self, bits: u16) -> bool {
        self.0 & bits == bits
    }

    /// `true` for a group name.
    pub const fn group(self) -> bool {
        self.contains(Self::GROUP)
    }

    /// Owner node type.
    pub const fn ont(self) -> Ont {
        Ont::from_flags(self.0)
    }
}

impl fmt::Debug for NameFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NameFlags({:#06x}", self.0)?;
        for (bit, label) in [
            (Self::GROUP, " G"),
            (Self::DEREGISTERING, " DRG"),
            (Self::CONFLICT, " CNF"),
            (Self::ACTIVE, " ACT"),
            (Self::PERMANENT, " PRM"),
        ] {
            if self.contains(bit) {
                f.write_str(label)?;
            }
        }
        write!(f, " {:?})", self.ont())
    }
}

/// One NODE_NAME entry of a node status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeName {
    /// The 16 raw bytes (not first-level encoded; suffix last).
    pub name: NetbiosName,
    /// NAME_FLAGS.
    pub flags: NameFlags,
}

impl NodeName {
    fn from_chunk(c: &[u8]) -> Self {
        let mut raw = [0u8; NAME_LEN];
        raw.copy_from_slice(&c[..NAME_LEN]);
        Self {
            name: NetbiosName::from_raw(raw),
            flags: NameFlags(u16::from_be_bytes([c[NAME_LEN], c[NAME_LEN + 1]])),
        }
    }
}

#[derive(Clone, Copy)]
enum NodeNamesInner<'a> {
    Wire(&'a [u8]),
    Slice(&'a [NodeName]),
}

/// The NODE_NAME list of a node status response: a view over wire bytes
/// (18 bytes per entry) or a borrowed slice of typed entries.
#[derive(Clone, Copy)]
pub struct NodeNames<'a>(NodeNamesInner<'a>);

impl<'a> NodeNames<'a> {
    /// A view over `18 · N` wire bytes.
    pub fn new(bytes: &'a [u8]) -> Result<Self> {
        if !bytes.len().is_multiple_of(NODE_NAME_LEN)
            || bytes.len() / NODE_NAME_LEN > usize::from(u8::MAX)
        {
            return Err(Error::Malformed(
                "node name list is not 18 bytes per name (255 at most)",
            ));
        }
        Ok(Self(NodeNamesInner::Wire(bytes)))
    }

    /// Typed entries to emit (255 at most, checked on emit).
    pub const fn from_slice(names: &'a [NodeName]) -> Self {
        Self(NodeNamesInner::Slice(names))
    }

    /// Number of entries (NUM_NAMES).
    pub fn len(&self) -> usize {
        match self.0 {
            NodeNamesInner::Wire(b) => b.len() / NODE_NAME_LEN,
            NodeNamesInner::Slice(s) => s.len(),
        }
    }

    /// `true` when the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries.
    pub fn iter(&self) -> impl Iterator<Item = NodeName> + 'a {
        let (wire, slice): (&'a [u8], &'a [NodeName]) = match self.0 {
            NodeNamesInner::Wire(b) => (b, &[]),
            NodeNamesInner::Slice(s) => (&[], s),
        };
        wire.chunks_exact(NODE_NAME_LEN)
            .map(NodeName::from_chunk)
            .chain(slice.iter().copied())
    }
}

impl PartialEq for NodeNames<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for NodeNames<'_> {}

impl fmt::Debug for NodeNames<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// NBSTAT RDATA: NUM_NAMES, the name list, and the STATISTICS block.
///
/// STATISTICS is kept as raw bytes so that whatever a peer sent is written
/// back unchanged; RFC 1002 gives 46 bytes, but parsers must accept fewer
/// (netbios-names.md §4), so any length is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeStatus<'a> {
    /// The names the node owns.
    pub names: NodeNames<'a>,
    /// STATISTICS, raw (see [`statistics`] to build one).
    pub statistics: &'a [u8],
}

impl<'a> NodeStatus<'a> {
    /// UNIT_ID (the MAC address by convention; Samba sends zeros), when the
    /// statistics are long enough to hold it.
    pub fn unit_id(&self) -> Option<[u8; UNIT_ID_LEN]> {
        let mut id = [0u8; UNIT_ID_LEN];
        id.copy_from_slice(self.statistics.get(..UNIT_ID_LEN)?);
        Some(id)
    }

    pub(super) fn parse(rdata: &'a [u8]) -> Result<Self> {
        let (&num, rest) = rdata
            .split_first()
            .ok_or(Error::Malformed("node status RDATA without NUM_NAMES"))?;
        let (names, statistics) = rest
            .split_at_checked(usize::from(num) * NODE_NAME_LEN)
            .ok_or(Error::Malformed("node status NUM_NAMES exceeds RDLENGTH"))?;
        Ok(Self {
            names: NodeNames::new(names)?,
            statistics,
        })
    }

    pub(super) fn buffer_len(&self) -> usize {
        1 + self.names.len() * NODE_NAME_LEN + self.statistics.len()
    }

    pub(super) fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        let num = u8::try_from(self.names.len())
            .map_err(|_| Error::TooLong("node status (255 names at most)"))?;
        w.u8(num)?;
        for n in self.names.iter() {
            w.bytes(n.name.as_bytes())?;
            w.u16_be(n.flags.0)?;
        }
        w.bytes(self.statistics)
    }
}

/// A 46-byte STATISTICS block with `unit_id` (a MAC address, or zeros as
/// Samba sends) and every counter zero.
pub const fn statistics(unit_id: [u8; UNIT_ID_LEN]) -> [u8; STATISTICS_LEN] {
    let mut s = [0u8; STATISTICS_LEN];
    let mut i = 0;
    while i < UNIT_ID_LEN {
        s[i] = unit_id[i];
        i += 1;
    }
    s
}
