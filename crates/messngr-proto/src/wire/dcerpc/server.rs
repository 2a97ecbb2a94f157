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
use super::msrp::{MSGSVCSEND, NetrSendMessage, OPNUM_NETR_SEND_MESSAGE, ShortPdu, nca};
use super::uuid::Uuid;
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

/// What [`screen`] decides for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Send nothing, deliver nothing.
    Drop(Dropped),
    /// Send this reject or fault; deliver nothing.
    Refuse(ShortPdu),
    /// A valid call: deliver it.
    Accept(Call<'a>),
}

/// `false` for requests that must never be answered, whatever happens to
/// them: broadcast calls, calls sent to a broadcast address, maybe calls
/// (msrp-rpc.md §1, §6; C706 §12.5.3.3).
pub const fn wants_reply(request: &Header, to_broadcast: bool) -> bool {
    !(to_broadcast
        || request.flags1.contains(Flags1::BROADCAST)
        || request.flags1.contains(Flags1::MAYBE))
}

/// Decides what to do with one request PDU, without memory of earlier ones
/// (msrp-rpc.md §5, §6). `to_broadcast` says the datagram was sent to a
/// broadcast address; `server_boot` is ours (non-zero, fixed for the daemon's
/// lifetime). In order:
///
/// 1. not a request → dropped; broadcast → dropped (not even delivered);
/// 2. interface other than msgsvcsend 1.x → reject `nca_unk_if`;
/// 3. a non-zero `server_boot` other than ours → reject `nca_wrong_boot_time`;
/// 4. opnum ≠ 0 → reject `nca_op_rng_error`;
/// 5. a fragment → reject `nca_proto_error` (no reassembly);
/// 6. a stub that does not decode, or oversize strings → fault `nca_s_fault_ndr`;
///
/// and a refusal of a maybe call is dropped instead of sent.
///
/// Rejects are for calls the runtime refuses before running them (unknown
/// interface, opnum out of range, wrong boot time: msrp-rpc.md §5, as the OSF
/// DCE runtime does); a fault is for a call that got as far as its stub. An
/// interface major version other than 1 is answered `nca_unk_if`, not
/// `nca_rpc_version_mismatch` as the table in msrp-rpc.md §5 suggests: C706
/// names an interface by UUID *and* version, and `nca_rpc_version_mismatch`
/// is about the RPC protocol version, which a CL PDU with `rpc_vers` ≠ 4
/// cannot even express (such packets are dropped, §6 step 1). Minor
/// versions are not checked.
pub fn screen<'a>(request: &Repr<'a>, to_broadcast: bool, server_boot: u32) -> Verdict<'a> {
    let h = &request.header;
    if h.ptype != PacketType::Request {
        return Verdict::Drop(Dropped::Ignored(h.ptype));
    }
    if to_broadcast || h.flags1.contains(Flags1::BROADCAST) {
        return Verdict::Drop(Dropped::Broadcast);
    }
    let refusal = if h.if_id != MSGSVCSEND || h.if_vers_major() != 1 {
        ShortPdu::reject(h, server_boot, nca::NCA_UNK_IF)
    } else if h.server_boot != 0 && h.server_boot != server_boot {
        ShortPdu::reject(h, server_boot, nca::NCA_WRONG_BOOT_TIME)
    } else if h.opnum != OPNUM_NETR_SEND_MESSAGE {
        ShortPdu::reject(h, server_boot, nca::NCA_OP_RNG_ERROR)
    } else if h.flags1.contains(Flags1::FRAG) {
        ShortPdu::reject(h, server_boot, nca::NCA_PROTO_ERROR)
    } else {
        match NetrSendMessage::parse(request.body, h.drep) {
            Ok(message) => {
                return Verdict::Accept(Call {
                    header: *h,
                    message,
                    source: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                });
            }
            Err(_) => ShortPdu::fault(h, server_boot, nca::NCA_S_FAULT_NDR),
        }
    };
    if wants_reply(h, to_broadcast) {
        Verdict::Refuse(refusal)
    } else {
        Verdict::Drop(Dropped::MaybeRefused(refusal))
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// Nothing to send or store.
    Nothing(Dropped),
    /// Send this PDU back to the datagram's source.
    Send(ShortPdu),
    /// A new message: store it, then call [`MsrpServer::complete`].
    Deliver(Call<'a>),
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
}

impl MsrpServer {
    /// A server with no memory yet.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            activities: HashMap::new(),
            per_source: HashMap::new(),
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

    fn request<'a>(&mut self, now: Instant, call: Call<'a>) -> Action<'a> {
        let h = call.header;
        let key = (call.source, h.act_id);
        if let Some(a) = self.activities.get_mut(&key) {
            if h.seqnum < a.seqnum {
                return Action::Nothing(Dropped::Stale);
            }
            if h.seqnum == a.seqnum {
                a.last_seen = now;
                return match a.state {
                    CallState::Pending => Action::Nothing(Dropped::InProgress),
                    CallState::Done(Some(pdu)) => Action::Send(pdu),
                    CallState::Done(None) => Action::Nothing(Dropped::Duplicate),
                };
            }
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

#[cfg(test)]
mod tests;
