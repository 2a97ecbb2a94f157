//! Sans-IO reassembly of fragmented NBT datagrams (RFC 1002 §4.4, §5.3.1,
//! §5.3.3; mailslot-datagrams.md §3).
//!
//! A NetBIOS datagram longer than 576 bytes on the IP level is sent as
//! exactly two UDP packets: a first fragment (FIRST and MORE set, both names,
//! the start of the user data) and a continuation (neither flag, only the
//! 14-byte header and the rest of the data). The daemon hands every parsed
//! 0x10–0x12 packet to [`Reassembler::handle`] with the current time and
//! gets back a whole datagram, "wait", or a reason for dropping it.
//!
//! # Decisions
//!
//! * **Key**: SOURCE_IP, SOURCE_PORT and DGM_ID from the NBDGM header
//!   ([`Source`]). RFC 1002 §5.3.3 matches by SOURCE_IP and DGM_ID; the port
//!   is added because the continuation repeats the first packet's header
//!   (§5.3.1), so it only tells apart two senders on one host.
//! * **Order**: the RFC allows reassembling out of order, and this does: a
//!   continuation that arrives first waits for its first fragment like a
//!   first fragment waits for its continuation. The role of a packet comes
//!   from its flags (and whether it has names), never from its offset.
//! * **PACKET_OFFSET is not trusted** (open point U22): the RFC's
//!   pseudo-code puts "DGM_LENGTH minus the first packet's name and data
//!   bytes" there, which is not a data offset, and no capture shows what
//!   real senders write. As mailslot-datagrams.md §3 says, the
//!   continuation's data is appended to the first fragment's data.
//! * **Only two fragments**: a continuation with MORE set (which the RFC
//!   never sends) is dropped ([`DropReason::UnsupportedFragment`]).
//! * **Duplicates**: the first copy of a piece wins; a later copy of the same
//!   piece, even with other bytes, is dropped ([`DropReason::Duplicate`]),
//!   and so is a fragment of a datagram completed less than a timeout ago.
//! * **Timeout**: an incomplete datagram is dropped [`Config::timeout`]
//!   after its first piece arrived, FRAGMENT_TO = 2 s by default (RFC 1002
//!   §6); later pieces do not extend it.
//! * **Bounded memory**: at most [`Config::max_pending`] incomplete
//!   datagrams and [`Config::max_buffered_bytes`] bytes held; to make room
//!   the oldest incomplete datagram is evicted. A piece larger than the whole
//!   budget is dropped ([`DropReason::TooLarge`]).
//! * **No copy for whole datagrams**: an unfragmented datagram comes back
//!   as a [`Complete`] borrowing the caller's buffer. Reassembled ones borrow
//!   a buffer inside the reassembler, reused from one datagram to the next.

use std::time::{Duration, Instant};

use crate::wire::codec::Writer;
use crate::wire::name::EncodedName;
use crate::wire::nbdgm::{Body, DatagramKind, FRAGMENT_TO, Flags, Names, Repr};
use std::net::Ipv4Addr;

#[cfg(test)]
mod tests;

/// Limits of a [`Reassembler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How long an incomplete datagram is kept: FRAGMENT_TO, 2 s (RFC 1002 §6).
    pub timeout: Duration,
    /// Incomplete datagrams held at once (default 32).
    pub max_pending: usize,
    /// Bytes of fragments held at once, over all incomplete datagrams
    /// (default 64 KiB: one fragment of any UDP size fits).
    pub max_buffered_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            timeout: FRAGMENT_TO,
            max_pending: 32,
            max_buffered_bytes: 64 * 1024,
        }
    }
}

/// Which datagram a fragment belongs to: SOURCE_IP, SOURCE_PORT and DGM_ID
/// from the NBDGM header (the originator, even through an NBDD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Source {
    /// SOURCE_IP.
    pub ip: Ipv4Addr,
    /// SOURCE_PORT.
    pub port: u16,
    /// DGM_ID.
    pub dgm_id: u16,
}

/// A whole datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Complete<'s> {
    /// The sender and datagram id.
    pub source: Source,
    /// Unique, group or broadcast (from the first fragment).
    pub kind: DatagramKind,
    /// FLAGS of the first fragment (the sender's node type).
    pub flags: Flags,
    /// SOURCE_NAME and DESTINATION_NAME.
    pub names: Names<'s>,
    /// The whole user data (normally one mailslot write SMB).
    pub data: &'s [u8],
    /// 1 if it arrived in one packet, 2 if it was reassembled.
    pub fragments: u8,
}

/// Why a packet did not (yet) give a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Not a 0x10–0x12 datagram (errors and queries are not reassembled).
    NotADatagram,
    /// This piece of the datagram is already held, or the datagram was
    /// completed less than a timeout ago.
    Duplicate,
    /// A continuation with MORE set: the RFC sends at most two packets.
    UnsupportedFragment,
    /// The piece alone is larger than [`Config::max_buffered_bytes`].
    TooLarge,
}

/// What [`Reassembler::handle`] made of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'s> {
    /// A whole datagram: deliver it.
    Complete(Complete<'s>),
    /// A fragment was stored; its partner has not arrived yet.
    Pending,
    /// Nothing to deliver, for this reason.
    Dropped(DropReason),
}

/// Counters since the reassembler was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Unfragmented datagrams passed through.
    pub whole: u64,
    /// Datagrams put together from two fragments.
    pub reassembled: u64,
    /// Incomplete datagrams dropped when their timeout ran out.
    pub expired: u64,
    /// Incomplete datagrams dropped to make room for newer ones.
    pub evicted: u64,
    /// Pieces dropped as [`DropReason::Duplicate`].
    pub duplicates: u64,
    /// Pieces dropped as [`DropReason::UnsupportedFragment`].
    pub unsupported: u64,
    /// Pieces dropped as [`DropReason::TooLarge`].
    pub too_large: u64,
}

impl Stats {
    /// Everything dropped: expired, evicted, duplicate, unsupported and
    /// too-large pieces or datagrams.
    pub const fn dropped(&self) -> u64 {
        self.expired + self.evicted + self.duplicates + self.unsupported + self.too_large
    }
}

/// The first fragment, stored: its type and flags, then both encoded names
/// followed by its user data in one buffer.
#[derive(Debug)]
struct First {
    kind: DatagramKind,
    flags: Flags,
    bytes: Vec<u8>,
}

/// An incomplete datagram.
#[derive(Debug)]
struct Pending {
    source: Source,
    deadline: Instant,
    first: Option<First>,
    last: Option<Vec<u8>>,
}

impl Pending {
    fn held_bytes(&self) -> usize {
        self.first.as_ref().map_or(0, |f| f.bytes.len()) + self.last.as_ref().map_or(0, Vec::len)
    }
}

/// Reassembles two-packet NBT datagrams; see the module documentation.
#[derive(Debug)]
pub struct Reassembler {
    config: Config,
    /// Incomplete datagrams, oldest first.
    pending: Vec<Pending>,
    /// Datagrams completed recently, with the time until which late copies
    /// of their fragments count as duplicates; oldest first.
    recent: Vec<(Source, Instant)>,
    held_bytes: usize,
    stats: Stats,
    /// The last reassembled datagram (names, then user data).
    out: Vec<u8>,
}

impl Default for Reassembler {
    fn default() -> Self {
        Self::new(Config::default())
    }
}

impl Reassembler {
    /// An empty reassembler with these limits.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            pending: Vec::new(),
            recent: Vec::new(),
            held_bytes: 0,
            stats: Stats::default(),
            out: Vec::new(),
        }
    }

    /// The limits.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The counters.
    pub const fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Incomplete datagrams held.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Bytes of fragments held.
    pub const fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// When the oldest incomplete datagram runs out, if any: call
    /// [`Reassembler::handle_timeout`] then.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending.iter().map(|p| p.deadline).min()
    }

    /// Drops every incomplete datagram whose timeout ran out by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let before = self.pending.len();
        let mut freed = 0;
        self.pending.retain(|p| {
            let keep = p.deadline > now;
            if !keep {
                freed += p.held_bytes();
            }
            keep
        });
        self.held_bytes -= freed;
        self.stats.expired += (before - self.pending.len()) as u64;
        self.recent.retain(|&(_, until)| until > now);
    }

    /// Takes one parsed packet received at `now`. An unfragmented datagram
    /// comes back at once, borrowing `packet`'s bytes; a fragment is stored
    /// until its partner arrives.
    pub fn handle<'s>(&'s mut self, now: Instant, packet: Repr<'s>) -> Outcome<'s> {
        self.handle_timeout(now);
        let Body::Datagram { kind, data } = packet.body else {
            return Outcome::Dropped(DropReason::NotADatagram);
        };
        let header = packet.header;
        let source = Source {
            ip: header.source_ip,
            port: header.source_port,
            dgm_id: header.dgm_id,
        };
        match (data.names, header.flags.more()) {
            (Some(names), false) => {
                self.stats.whole += 1;
                Outcome::Complete(Complete {
                    source,
                    kind,
                    flags: header.flags,
                    names,
                    data: data.user_data,
                    fragments: 1,
                })
            }
            (None, true) => {
                self.stats.unsupported += 1;
                Outcome::Dropped(DropReason::UnsupportedFragment)
            }
            (Some(names), true) => {
                if let Some(reason) = self.refuse(source, names.buffer_len() + data.user_data.len())
                {
                    return Outcome::Dropped(reason);
                }
                let Some(bytes) = first_bytes(&names, data.user_data) else {
                    // Unreachable: the buffer is sized by `buffer_len`.
                    return Outcome::Dropped(DropReason::TooLarge);
                };
                let first = First {
                    kind,
                    flags: header.flags,
                    bytes,
                };
                self.store(now, source, Piece::First(first))
            }
            (None, false) => {
                if let Some(reason) = self.refuse(source, data.user_data.len()) {
                    return Outcome::Dropped(reason);
                }
                self.store(now, source, Piece::Last(data.user_data.to_vec()))
            }
        }
    }

    /// Why a fragment of `size` bytes from `source` is not even copied, if
    /// it is not: its datagram was just completed, or it is over budget.
    fn refuse(&mut self, source: Source, size: usize) -> Option<DropReason> {
        if self.recent.iter().any(|&(s, _)| s == source) {
            self.stats.duplicates += 1;
            return Some(DropReason::Duplicate);
        }
        if size > self.config.max_buffered_bytes {
            self.stats.too_large += 1;
            return Some(DropReason::TooLarge);
        }
        None
    }

    /// Stores a fragment that passed [`Reassembler::refuse`]; completes the
    /// datagram if its partner is held.
    fn store(&mut self, now: Instant, source: Source, piece: Piece) -> Outcome<'_> {
        let size = piece.len();
        let Some(index) = self.pending.iter().position(|p| p.source == source) else {
            self.make_room(size);
            let (first, last) = match piece {
                Piece::First(f) => (Some(f), None),
                Piece::Last(l) => (None, Some(l)),
            };
            self.pending.push(Pending {
                source,
                deadline: now + self.config.timeout,
                first,
                last,
            });
            self.held_bytes += size;
            return Outcome::Pending;
        };
        // An entry holds exactly one piece: this one is its partner or a copy.
        let held = self.pending.remove(index);
        let held_size = held.held_bytes();
        let (first, last) = match (piece, held.first, held.last) {
            (Piece::First(f), None, Some(l)) | (Piece::Last(l), Some(f), None) => (f, l),
            (_, first, last) => {
                self.pending.insert(
                    index,
                    Pending {
                        first,
                        last,
                        ..held
                    },
                );
                self.stats.duplicates += 1;
                return Outcome::Dropped(DropReason::Duplicate);
            }
        };
        self.held_bytes -= held_size;
        self.complete(now, source, first, last)
    }

    /// Evicts the oldest incomplete datagrams until one more of `size`
    /// bytes fits.
    fn make_room(&mut self, size: usize) {
        while !self.pending.is_empty()
            && (self.pending.len() >= self.config.max_pending
                || self.held_bytes + size > self.config.max_buffered_bytes)
        {
            let old = self.pending.remove(0);
            self.held_bytes -= old.held_bytes();
            self.stats.evicted += 1;
        }
    }

    /// Puts a datagram together from its two pieces, in the reused buffer.
    fn complete(
        &mut self,
        now: Instant,
        source: Source,
        first: First,
        last: Vec<u8>,
    ) -> Outcome<'_> {
        if self.recent.len() >= self.config.max_pending.max(1) {
            self.recent.remove(0);
        }
        self.recent.push((source, now + self.config.timeout));
        self.stats.reassembled += 1;

        self.out.clear();
        self.out.extend_from_slice(&first.bytes);
        self.out.extend_from_slice(&last);
        let out = &self.out;
        // `first_bytes` wrote names that parsed, so they parse again.
        let Ok((source_name, end)) = EncodedName::parse(out, 0, false) else {
            return Outcome::Dropped(DropReason::NotADatagram);
        };
        let Ok((destination, end)) = EncodedName::parse(out, end, false) else {
            return Outcome::Dropped(DropReason::NotADatagram);
        };
        Outcome::Complete(Complete {
            source,
            kind: first.kind,
            flags: first.flags,
            names: Names {
                source: source_name,
                destination,
            },
            data: out.get(end..).unwrap_or(&[]),
            fragments: 2,
        })
    }
}

/// Both encoded names followed by the user data, as a first fragment is stored.
fn first_bytes(names: &Names<'_>, user_data: &[u8]) -> Option<Vec<u8>> {
    let mut bytes = vec![0; names.buffer_len()];
    let mut w = Writer::new(&mut bytes);
    names.source.emit(&mut w).ok()?;
    names.destination.emit(&mut w).ok()?;
    bytes.extend_from_slice(user_data);
    Some(bytes)
}

/// One of the two pieces of a fragmented datagram.
enum Piece {
    /// The first fragment.
    First(First),
    /// The continuation's user data.
    Last(Vec<u8>),
}

impl Piece {
    fn len(&self) -> usize {
        match self {
            Self::First(f) => f.bytes.len(),
            Self::Last(l) => l.len(),
        }
    }
}
