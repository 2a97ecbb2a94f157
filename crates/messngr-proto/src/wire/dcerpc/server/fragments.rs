//! Fragmented requests put back together, within bounds (C706 §12.5,
//! msrp-rpc.md §6 step 5), and the fack a client may wait for.
//!
//! Why bounded this way: a fragment costs its sender one datagram, and
//! without limits a stranger could make the server hold any number of
//! half-finished calls of any size. So a call has at most
//! [`MAX_FRAGMENTS`] fragments and [`MAX_BODY`] bytes (a `NetrSendMessage`
//! with the longest text the decoder accepts fits), at most
//! [`MAX_PER_SOURCE`] calls are being put together per sender address and
//! [`MAX_CALLS`] in all (when full, a call of the sender holding the most
//! makes room, so that a few addresses cannot shut everyone out), and one
//! not finished within [`TIMEOUT`], or silent for [`IDLE`], is forgotten.
//! A fragment past those bounds refuses its call.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::wire::dcerpc::cl::{Flags1, Flags2, Header, PacketType, Repr};
use crate::wire::dcerpc::msrp::nca;
use crate::wire::dcerpc::uuid::{ByteOrder, Uuid};
use crate::wire::{Emit, Result};

/// Most fragments of one call.
pub const MAX_FRAGMENTS: u16 = 64;
/// Most stub bytes of one call: three NDR strings, the text at most
/// `MAX_TEXT_COUNT` (64 KiB), the names 256 bytes each, their counts.
pub const MAX_BODY: usize = 64 * 1024 + 2 * 256 + 64;
/// Calls being put together from one sender address.
pub const MAX_PER_SOURCE: usize = 4;
/// Calls being put together in all.
pub const MAX_CALLS: usize = 32;
/// How long a call may take to arrive whole.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a call may wait for its next fragment.
pub const IDLE: Duration = Duration::from_secs(3);
/// The largest fragment body we announce in a fack (what fits a UDP
/// datagram on Ethernet with the 80-byte header).
pub const MAX_FRAG_SIZE: u32 = 1392;

/// What a fragment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Added {
    /// Kept; more are missing. `new`: it added data (a repeat did not).
    Pending { new: bool },
    /// The last missing one: the whole stub, in fragment order.
    Complete(Vec<u8>),
    /// Past a bound: refuse the call with this reject status.
    Refused(u32),
}

struct Partial {
    seqnum: u32,
    fragments: BTreeMap<u16, Vec<u8>>,
    last: Option<u16>,
    bytes: usize,
    started: Instant,
    last_seen: Instant,
}

/// The calls being put together.
#[derive(Default)]
pub(super) struct Fragments {
    calls: HashMap<(IpAddr, Uuid), Partial>,
}

impl std::fmt::Debug for Fragments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fragments({} calls)", self.calls.len())
    }
}

impl Clone for Fragments {
    /// A server cloned starts with no half-finished calls.
    fn clone(&self) -> Self {
        Fragments::default()
    }
}

impl Fragments {
    /// Adds fragment `h.fragnum` of `source`'s call `h.seqnum` (its stub
    /// part `body`).
    pub(super) fn add(&mut self, now: Instant, source: IpAddr, h: &Header, body: &[u8]) -> Added {
        self.handle_timeout(now);
        if h.fragnum >= MAX_FRAGMENTS {
            self.calls.remove(&(source, h.act_id));
            return Added::Refused(nca::NCA_PROTO_ERROR);
        }
        let key = (source, h.act_id);
        if self.calls.get(&key).is_some_and(|p| p.seqnum != h.seqnum) {
            // A new call of the activity: the older one was given up.
            self.calls.remove(&key);
        }
        if !self.calls.contains_key(&key) {
            let mine = self.calls.keys().filter(|(s, _)| *s == source).count();
            if mine >= MAX_PER_SOURCE {
                return Added::Refused(nca::NCA_SERVER_TOO_BUSY);
            }
            if self.calls.len() >= MAX_CALLS {
                self.make_room(source);
            }
            self.calls.insert(
                key,
                Partial {
                    seqnum: h.seqnum,
                    fragments: BTreeMap::new(),
                    last: None,
                    bytes: 0,
                    started: now,
                    last_seen: now,
                },
            );
        }
        let Some(p) = self.calls.get_mut(&key) else {
            return Added::Refused(nca::NCA_PROTO_ERROR);
        };
        p.last_seen = now;
        if h.flags1.contains(Flags1::LAST_FRAG) {
            p.last = Some(h.fragnum);
        }
        let past_last = |last: u16| {
            h.fragnum > last || p.fragments.keys().next_back().is_some_and(|&k| k > last)
        };
        if p.last.is_some_and(past_last) {
            self.calls.remove(&key);
            return Added::Refused(nca::NCA_PROTO_ERROR);
        }
        let new = !p.fragments.contains_key(&h.fragnum);
        if new {
            p.bytes += body.len();
            if p.bytes > MAX_BODY {
                self.calls.remove(&key);
                return Added::Refused(nca::NCA_PROTO_ERROR);
            }
            p.fragments.insert(h.fragnum, body.to_vec());
        }
        match p.last {
            Some(last) if p.fragments.len() == usize::from(last) + 1 => {
                let whole = self
                    .calls
                    .remove(&key)
                    .map(|p| p.fragments.into_values().flatten().collect())
                    .unwrap_or_default();
                Added::Complete(whole)
            }
            _ => Added::Pending { new },
        }
    }

    /// Forgets the oldest call of the sender holding the most (never
    /// `source`'s own: it is under its share).
    fn make_room(&mut self, source: IpAddr) {
        let mut count: HashMap<IpAddr, usize> = HashMap::new();
        for (s, _) in self.calls.keys() {
            *count.entry(*s).or_default() += 1;
        }
        let Some((&heaviest, _)) = count
            .iter()
            .filter(|(s, _)| **s != source)
            .max_by_key(|(_, n)| **n)
        else {
            return;
        };
        let oldest = self
            .calls
            .iter()
            .filter(|((s, _), _)| *s == heaviest)
            .min_by_key(|(_, p)| p.started)
            .map(|(k, _)| *k);
        if let Some(k) = oldest {
            self.calls.remove(&k);
        }
    }

    /// Forgets calls not finished within [`TIMEOUT`], or silent for
    /// [`IDLE`].
    pub(super) fn handle_timeout(&mut self, now: Instant) {
        let fresh = |since: Instant, limit: Duration| {
            now.checked_duration_since(since)
                .is_none_or(|age| age < limit)
        };
        self.calls
            .retain(|_, p| fresh(p.started, TIMEOUT) && fresh(p.last_seen, IDLE));
    }

    /// Calls being put together.
    pub(super) fn len(&self) -> usize {
        self.calls.len()
    }
}

/// A fack: "fragments up to `header.fragnum` received", sent for a
/// fragment whose sender did not set `NO_FACK` (C706 §12.5.3.4; body:
/// version 0, window size, largest transfer, largest fragment, the serial
/// number acknowledged, no selective acks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fack {
    /// The header: the request's identifiers, `ptype` fack.
    pub header: Header,
    /// The serial number of the fragment that caused it.
    pub serial: u16,
}

impl Fack {
    /// The fack for `fragment` (a request fragment's header).
    pub fn new(fragment: &Header, server_boot: u32) -> Fack {
        let mut header = Header::new(PacketType::Fack);
        header.object = fragment.object;
        header.if_id = fragment.if_id;
        header.if_vers = fragment.if_vers;
        header.act_id = fragment.act_id;
        header.seqnum = fragment.seqnum;
        header.opnum = fragment.opnum;
        header.fragnum = fragment.fragnum;
        header.server_boot = server_boot;
        header.flags2 = Flags2(0);
        Fack {
            header,
            serial: fragment.serial(),
        }
    }

    fn body(&self) -> [u8; 16] {
        let little = self.header.drep.byte_order() == ByteOrder::Little;
        let u16b = |v: u16| {
            if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let u32b = |v: u32| {
            if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let mut b = [0u8; 16];
        // vers 0, pad; window of MAX_FRAGMENTS fragments (in KiB).
        b[2..4].copy_from_slice(&u16b(64));
        b[4..8].copy_from_slice(&u32b(MAX_BODY as u32));
        b[8..12].copy_from_slice(&u32b(MAX_FRAG_SIZE));
        b[12..14].copy_from_slice(&u16b(self.serial));
        b
    }
}

impl Emit for Fack {
    fn buffer_len(&self) -> usize {
        crate::wire::dcerpc::cl::HEADER_LEN + 16
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let body = self.body();
        Repr {
            header: self.header,
            body: &body,
        }
        .emit(buf)
    }
}
