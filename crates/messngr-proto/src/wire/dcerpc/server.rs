//! The minimal `msgsvcsend` server of msrp-rpc.md §6, sans-IO: datagrams and
//! the time go in, messages to store and PDUs to send come out.
//!
//! Two layers:
//!
//! * [`screen`] is a pure function of one request: drop it (broadcast, or a
//!   refusal nobody wants to hear), refuse it with a reject or fault PDU, or
//!   accept it as a `NetrSendMessage` [`Call`]. [`wants_reply`] is the rule
//!   "never answer broadcast or maybe requests" on its own.
//! * [`MsrpServer`] adds the memory C706 ch. 12 asks of a server, keyed by
//!   the sender's address, activity UUID and sequence number: a repeated
//!   request is delivered once and answered with the stored response; pings
//!   get working/nocall; an ack forgets the call. Entries expire after
//!   [`Config::remember`].
//!
//! Why the address is part of the key: an activity UUID is chosen by the
//! client. Keyed by it alone, another host that learnt (or guessed) it
//! could pre-empt a call (its copy answered, the real one dropped as a
//! repeat), block an activity with a huge sequence number, or ack a call
//! away so that its retransmission is stored twice. And the memory is
//! shared fairly: [`Config::max_per_source`] activities per address, a call
//! still being stored is never forgotten to make room, and when there is
//! no room the call is refused as "too busy", never delivered unremembered.
//!
//! The daemon stores each delivered message durably and only then calls
//! [`MsrpServer::complete`] with the return value, which yields the response
//! to send (none for a maybe call). Policy (allowed sources, rate limits,
//! whether `To` is one of our names) is the daemon's: it picks the status.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::wire::Error;

use super::cl::{Flags1, Header, PacketType, Repr};
use super::msrp::{NetrSendMessage, ShortPdu, nca};
use super::uuid::Uuid;
use fragments::{Added, Fragments};
pub use fragments::{Fack, MAX_BODY, MAX_CALLS, MAX_FRAGMENTS, MAX_PER_SOURCE};
use screen::header_refusal;
pub use screen::{Verdict, screen, wants_reply};
use std::net::IpAddr;

/// Why nothing is sent (and nothing delivered) for a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Not a connectionless DCE/RPC PDU we can read (msrp-rpc.md §6 step 1).
    Malformed(Error),
    /// A broadcast call (flags1 0x40) or one sent to a broadcast address
    /// (msrp-rpc.md §6 step 6).
    Broadcast,
    /// A maybe call (flags1 0x10) that would have been refused with this PDU.
    MaybeRefused(ShortPdu),
    /// A repeat of a call that is being stored right now.
    InProgress,
    /// A repeat of an answered maybe call (nothing to resend).
    Duplicate,
    /// A call or ping older than the activity's current call.
    Stale,
    /// An ack: the stored response, if any, is forgotten.
    Acked,
    /// A fragment kept (its sender asked for no fack); more are missing.
    Fragment,
    /// A PDU type a server does not act on.
    Ignored(PacketType),
}

/// A `NetrSendMessage` call that passed [`screen`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call<'a> {
    /// The request's header.
    pub header: Header,
    /// The parameters (OEM bytes, borrowed from the datagram).
    pub message: NetrSendMessage<'a>,
    /// Who sent it (unspecified when [`screen`] alone made it).
    pub source: IpAddr,
}

impl Call<'_> {
    /// `false` for a maybe call: store it, send nothing.
    pub const fn reply_expected(&self) -> bool {
        !self.header.flags1.contains(Flags1::MAYBE)
    }

    /// What [`MsrpServer::complete`] needs once the message is stored; it
    /// does not borrow the datagram.
    pub const fn ticket(&self) -> Ticket {
        Ticket(self.header, self.source)
    }
}

/// Identifies a delivered call for [`MsrpServer::complete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ticket(Header, IpAddr);

impl Ticket {
    /// The request's header.
    pub const fn header(&self) -> &Header {
        &self.0
    }
}

/// Settings of an [`MsrpServer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Our server boot time: non-zero, constant for the daemon's lifetime
    /// (e.g. the start time in seconds since the epoch).
    pub server_boot: u32,
    /// How long a call is remembered after it was last seen (msrp-rpc.md §6
    /// step 3: at least a minute).
    pub remember: Duration,
    /// Most activities remembered at once; the least recently seen
    /// answered one is forgotten to make room.
    pub max_activities: usize,
    /// Most activities remembered for one sender address (so that one host
    /// cannot push everyone else's out).
    pub max_per_source: usize,
}

impl Config {
    /// 60 s memory, 1024 activities, 16 per sender.
    pub const fn new(server_boot: u32) -> Self {
        Self {
            server_boot,
            remember: Duration::from_secs(60),
            max_activities: 1024,
            max_per_source: 16,
        }
    }
}

/// What to do with one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    /// Nothing to send or store.
    Nothing(Dropped),
    /// Send this PDU back to the datagram's source.
    Send(ShortPdu),
    /// A fragment kept: send this fack back (the client asked for one).
    Fack(Fack),
    /// A new message: store it, then call [`MsrpServer::complete`].
    Deliver(Call<'a>),
    /// A new message put together from fragments: as `Deliver`.
    DeliverAssembled(Assembled),
}

/// A call put together from its fragments: the header of the fragment that
/// completed it (flags and byte order as that one had them) and the whole
/// stub, checked to decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    /// The header (fragment flags as the last fragment had them).
    pub header: Header,
    /// The sender.
    pub source: IpAddr,
    /// The stub, in fragment order.
    pub stub: Vec<u8>,
}

impl Assembled {
    /// What [`MsrpServer::complete`] or [`MsrpServer::refuse`] needs.
    pub const fn ticket(&self) -> Ticket {
        Ticket(self.header, self.source)
    }

    /// The call, borrowing the stub.
    pub fn call(&self) -> Result<Call<'_>, Error> {
        Ok(Call {
            header: self.header,
            message: NetrSendMessage::parse(&self.stub, self.header.drep)?,
            source: self.source,
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum CallState {
    /// Delivered, not completed yet.
    Pending,
    /// Completed; the response to resend (none for a maybe call).
    Done(Option<ShortPdu>),
}

#[derive(Debug, Clone, Copy)]
struct Activity {
    seqnum: u32,
    state: CallState,
    last_seen: Instant,
}

/// A sans-IO `msgsvcsend` server with at-most-once delivery per sender,
/// activity and sequence number (msrp-rpc.md §6; interop-notes.md §6.4
/// P2–P4).
#[derive(Debug, Clone)]
pub struct MsrpServer {
    config: Config,
    activities: HashMap<(IpAddr, Uuid), Activity>,
    /// Activities remembered per sender address.
    per_source: HashMap<IpAddr, usize>,
    /// Requests arriving in fragments.
    fragments: Fragments,
}

impl MsrpServer {
    /// A server with no memory yet.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            activities: HashMap::new(),
            per_source: HashMap::new(),
            fragments: Fragments::default(),
        }
    }

    /// The settings.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// Activities remembered.
    pub fn remembered(&self) -> usize {
        self.activities.len()
    }

    /// Calls being put together from fragments.
    pub fn assembling(&self) -> usize {
        self.fragments.len()
    }

    /// Handles one UDP datagram from `source` that arrived at `now`;
    /// `to_broadcast` says it was addressed to a broadcast address. Expired
    /// calls are forgotten by [`MsrpServer::handle_timeout`], not here.
    pub fn handle<'a>(
        &mut self,
        now: Instant,
        source: IpAddr,
        datagram: &'a [u8],
        to_broadcast: bool,
    ) -> Action<'a> {
        let repr = match Repr::parse_bytes(datagram) {
            Ok(r) => r,
            Err(e) => return Action::Nothing(Dropped::Malformed(e)),
        };
        let h = repr.header;
        let key = (source, h.act_id);
        match h.ptype {
            PacketType::Request
                if h.flags1.contains(Flags1::FRAG)
                    && !to_broadcast
                    && !h.flags1.contains(Flags1::BROADCAST) =>
            {
                self.fragment(now, source, &repr)
            }
            PacketType::Request => match screen(&repr, to_broadcast, self.config.server_boot) {
                Verdict::Drop(why) => Action::Nothing(why),
                Verdict::Refuse(pdu) => Action::Send(pdu),
                Verdict::Accept(mut call) => {
                    call.source = source;
                    self.request(now, call)
                }
            },
            PacketType::Ping if !to_broadcast => self.ping(now, key, &h),
            PacketType::Ping => Action::Nothing(Dropped::Broadcast),
            PacketType::Ack => {
                if self
                    .activities
                    .get(&key)
                    .is_some_and(|a| a.seqnum == h.seqnum && matches!(a.state, CallState::Done(_)))
                {
                    self.forget(&key);
                }
                Action::Nothing(Dropped::Acked)
            }
            other => Action::Nothing(Dropped::Ignored(other)),
        }
    }

    /// What a request for call `seqnum` of the activity `key` gets when
    /// that call (or a later one) is remembered: nothing for an older or
    /// unfinished call, the stored answer for an answered one; `None` for
    /// a new call.
    fn repeat<'a>(&mut self, now: Instant, key: (IpAddr, Uuid), seqnum: u32) -> Option<Action<'a>> {
        let a = self.activities.get_mut(&key)?;
        if seqnum < a.seqnum {
            return Some(Action::Nothing(Dropped::Stale));
        }
        if seqnum > a.seqnum {
            return None;
        }
        a.last_seen = now;
        Some(match a.state {
            CallState::Pending => Action::Nothing(Dropped::InProgress),
            CallState::Done(Some(pdu)) => Action::Send(pdu),
            CallState::Done(None) => Action::Nothing(Dropped::Duplicate),
        })
    }

    fn request<'a>(&mut self, now: Instant, call: Call<'a>) -> Action<'a> {
        let h = call.header;
        let key = (call.source, h.act_id);
        if let Some(again) = self.repeat(now, key, h.seqnum) {
            return again;
        }
        if !self.remember(now, key, h.seqnum, CallState::Pending) {
            // No room to remember it: delivering it anyway would store
            // its retransmissions again.
            let busy = ShortPdu::reject(&h, self.config.server_boot, nca::NCA_SERVER_TOO_BUSY);
            return if wants_reply(&h, false) {
                Action::Send(busy)
            } else {
                Action::Nothing(Dropped::MaybeRefused(busy))
            };
        }
        Action::Deliver(call)
    }

    /// A request fragment: kept (a fack if asked for), or the call it
    /// completes, or a reject.
    fn fragment<'a>(&mut self, now: Instant, source: IpAddr, repr: &Repr<'_>) -> Action<'a> {
        let h = repr.header;
        let boot = self.config.server_boot;
        let refuse = |pdu: ShortPdu| {
            if wants_reply(&h, false) {
                Action::Send(pdu)
            } else {
                Action::Nothing(Dropped::MaybeRefused(pdu))
            }
        };
        if let Some(pdu) = header_refusal(&h, boot) {
            return refuse(pdu);
        }
        // A fragment of a call already whole: a retransmission.
        if let Some(again) = self.repeat(now, (source, h.act_id), h.seqnum) {
            return again;
        }
        match self.fragments.add(now, source, &h, repr.body) {
            // A fack only for a fragment that added data, and never for a
            // maybe call (nothing is ever sent for one).
            Added::Pending { new: true }
                if !h.flags1.contains(Flags1::NO_FACK) && wants_reply(&h, false) =>
            {
                Action::Fack(Fack::new(&h, boot))
            }
            Added::Pending { .. } => Action::Nothing(Dropped::Fragment),
            Added::Refused(status) => refuse(ShortPdu::reject(&h, boot, status)),
            Added::Complete(stub) => {
                let assembled = Assembled {
                    header: h,
                    source,
                    stub,
                };
                if assembled.call().is_err() {
                    return refuse(ShortPdu::fault(&h, boot, nca::NCA_S_FAULT_NDR));
                }
                if !self.remember(now, (source, h.act_id), h.seqnum, CallState::Pending) {
                    return refuse(ShortPdu::reject(&h, boot, nca::NCA_SERVER_TOO_BUSY));
                }
                Action::DeliverAssembled(assembled)
            }
        }
    }

    fn ping<'a>(&mut self, now: Instant, key: (IpAddr, Uuid), h: &Header) -> Action<'a> {
        let boot = self.config.server_boot;
        match self.activities.get_mut(&key) {
            Some(a) if h.seqnum < a.seqnum => Action::Nothing(Dropped::Stale),
            Some(a) if h.seqnum == a.seqnum => {
                a.last_seen = now;
                match a.state {
                    CallState::Pending => Action::Send(ShortPdu::working(h, boot)),
                    CallState::Done(Some(pdu)) => Action::Send(pdu),
                    CallState::Done(None) => Action::Send(ShortPdu::nocall(h, boot)),
                }
            }
            _ => Action::Send(ShortPdu::nocall(h, boot)),
        }
    }

    /// Remembers `key`'s call `seqnum` in `state`, making room if needed
    /// (the least recently seen answered call of the same sender when it
    /// has its share, else of anyone); `false` when there is none.
    fn remember(
        &mut self,
        now: Instant,
        key: (IpAddr, Uuid),
        seqnum: u32,
        state: CallState,
    ) -> bool {
        let entry = Activity {
            seqnum,
            state,
            last_seen: now,
        };
        if let Some(a) = self.activities.get_mut(&key) {
            *a = entry;
            return true;
        }
        let source = key.0;
        let mine = self.per_source.get(&source).copied().unwrap_or(0);
        if mine >= self.config.max_per_source && !self.evict(Some(source)) {
            return false;
        }
        if self.activities.len() >= self.config.max_activities && !self.evict(None) {
            return false;
        }
        self.activities.insert(key, entry);
        *self.per_source.entry(source).or_insert(0) += 1;
        true
    }

    /// Forgets the least recently seen answered call (of `source`, or of
    /// anyone); `false` when every one is still being stored.
    fn evict(&mut self, source: Option<IpAddr>) -> bool {
        let oldest = self
            .activities
            .iter()
            .filter(|(k, a)| {
                source.is_none_or(|s| k.0 == s) && matches!(a.state, CallState::Done(_))
            })
            .min_by_key(|(_, a)| a.last_seen)
            .map(|(k, _)| *k);
        match oldest {
            Some(k) => {
                self.forget(&k);
                true
            }
            None => false,
        }
    }

    fn forget(&mut self, key: &(IpAddr, Uuid)) {
        if self.activities.remove(key).is_some()
            && let Some(n) = self.per_source.get_mut(&key.0)
        {
            *n -= 1;
            if *n == 0 {
                self.per_source.remove(&key.0);
            }
        }
    }

    /// Records that the message of `ticket` was stored (or refused) with
    /// return value `status` ([`super::msrp::status`]), and returns the
    /// response to send: `None` for a maybe call. Repeats of the request are
    /// answered with the same response from now on.
    pub fn complete(&mut self, now: Instant, ticket: Ticket, status: u32) -> Option<ShortPdu> {
        let h = ticket.0;
        let reply =
            wants_reply(&h, false).then(|| ShortPdu::response(&h, self.config.server_boot, status));
        self.finish(now, ticket, reply)
    }

    /// Records that the call of `ticket` was refused before it ran (the
    /// daemon's policy, or no room to take it) with the reject status
    /// `status` ([`super::msrp::nca`] or a Win32 code such as
    /// `ERROR_ACCESS_DENIED`), and returns the reject to send: `None` for a
    /// maybe call. Repeats of the request get the same reject, and the
    /// message is never delivered for them.
    pub fn refuse(&mut self, now: Instant, ticket: Ticket, status: u32) -> Option<ShortPdu> {
        let h = ticket.0;
        let reply =
            wants_reply(&h, false).then(|| ShortPdu::reject(&h, self.config.server_boot, status));
        self.finish(now, ticket, reply)
    }

    fn finish(
        &mut self,
        now: Instant,
        ticket: Ticket,
        reply: Option<ShortPdu>,
    ) -> Option<ShortPdu> {
        let (h, source) = (ticket.0, ticket.1);
        let key = (source, h.act_id);
        // Its entry is still there, pending (a pending call is never
        // evicted, nor expired while its store runs: see `handle_timeout`),
        // unless a newer call of the activity replaced it.
        if let Some(a) = self.activities.get_mut(&key)
            && a.seqnum == h.seqnum
        {
            a.state = CallState::Done(reply);
            a.last_seen = now;
        }
        reply
    }

    /// Forgets answered calls not seen for [`Config::remember`] (a call
    /// still being stored is kept).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.fragments.handle_timeout(now);
        let keep = self.config.remember;
        let expired: Vec<(IpAddr, Uuid)> = self
            .activities
            .iter()
            .filter(|(_, a)| {
                matches!(a.state, CallState::Done(_))
                    && now
                        .checked_duration_since(a.last_seen)
                        .is_some_and(|age| age >= keep)
            })
            .map(|(k, _)| *k)
            .collect();
        for k in expired {
            self.forget(&k);
        }
    }

    /// When [`MsrpServer::handle_timeout`] next has something to forget.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let oldest = self
            .activities
            .values()
            .filter(|a| matches!(a.state, CallState::Done(_)))
            .map(|a| a.last_seen)
            .min()?;
        oldest.checked_add(self.config.remember)
    }
}

mod fragments;
mod screen;
#[cfg(test)]
mod tests;
