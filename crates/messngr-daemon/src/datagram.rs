//! UDP 138: NBT datagrams carrying `\MAILSLOT\MESSNGR` writes — `net send *`,
//! `/domain` messages and WinPopup.
//!
//! The protocol work is `messngr_proto`'s: `nbdgm::Repr` parses,
//! `reassembly::Reassembler` joins fragments, `smb::mailslot` finds the data
//! and `MessngrPayload` splits From/To/Text. This task decides whether a
//! datagram is for us — a direct datagram to one of our `<03>` names, or a
//! group/broadcast datagram to our workgroup — and hands it to the inbox.
//! Datagrams have no acknowledgement, so nothing waits for the store; other
//! mailslots (the browser's) are dropped silently, malformed datagrams are
//! counted and logged at debug level.
//!
//! Flood protection: every datagram is held to `policy::limits`' rates (per
//! source address, then in all) before it is parsed, and every MESSNGR
//! message once more before it reaches the inbox; a datagram over
//! [`MAX_DATAGRAM_LEN`] is refused as `too_large` (never cut and parsed).
//! The reassembler holds at most 32 incomplete datagrams and 64 KiB
//! (`reassembly::Config`'s defaults).

use messngr_proto::text::sanitize_line;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use messngr_proto::reassembly::{Config as ReassemblyConfig, Outcome, Reassembler};
use messngr_proto::wire::nbdgm::{DatagramKind, Repr as Nbdgm};
use messngr_proto::wire::smb::mailslot::{MessngrPayload, Repr as MailslotWrite};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::flow::Route;
use crate::intake::{Delivery, InboxSender, Incoming, Transport};
use crate::policy::{Policy, Refusal};
use crate::registry::Registry;

/// UDP port of the datagram service (RFC 1002 §6).
pub const NBDGM_PORT: u16 = 138;
/// Largest datagram accepted: RFC 1002's MAX_DATAGRAM_LENGTH is 576 and a
/// Windows mailslot write ~600; this leaves room without cutting anything
/// real.
pub const MAX_DATAGRAM_LEN: usize = 2048;

/// Counters of the datagram service, shared with `status`.
#[derive(Debug, Default)]
pub struct DatagramCounters {
    /// Datagrams received.
    pub received: AtomicU64,
    /// Dropped as malformed (NBDGM, SMB or MESSNGR layer).
    pub malformed: AtomicU64,
    /// Other mailslots or other destinations, ignored.
    pub ignored: AtomicU64,
    /// MESSNGR messages handed to the inbox.
    pub messages: AtomicU64,
}

/// Serves UDP 138 until `stop` is cancelled: receives, hands each datagram
/// to [`Datagrams::handle`], and what comes out to the inbox.
pub async fn serve(
    socket: Arc<UdpSocket>,
    our_address: std::net::Ipv4Addr,
    workgroup: String,
    names: Registry,
    policy: Arc<Policy>,
    inbox: InboxSender,
    stop: CancellationToken,
) {
    let mut datagrams = Datagrams::new(our_address, workgroup);
    // One byte more than accepted, to tell a datagram over the cap.
    let mut buf = vec![0u8; MAX_DATAGRAM_LEN + 1];
    loop {
        let timer = datagrams.poll_timeout();
        let (n, from) = tokio::select! {
            () = stop.cancelled() => {
                tracing::debug!("udp 138 stopped: {:?}", datagrams.counters);
                return;
            }
            () = async { if let Some(t) = timer { tokio::time::sleep_until(t.into()).await } }, if timer.is_some() => {
                datagrams.handle_timeout(Instant::now());
                continue;
            }
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("udp 138: receive failed: {e}");
                    continue;
                }
            },
        };
        let SocketAddr::V4(from) = from else { continue };
        let Some(message) = datagrams.handle(Instant::now(), &buf[..n], from, &names, &policy)
        else {
            continue;
        };
        if inbox
            .send(Delivery {
                message,
                done: None,
            })
            .await
            .is_err()
        {
            return;
        }
    }
}

/// The receiving side of UDP 138 without the socket: policy, limits, size
/// cap, parsing, reassembly, the for-us check, the MESSNGR payload. Time is
/// passed in (the fuzz target drives it in memory).
#[derive(Debug)]
pub(crate) struct Datagrams {
    our_address: std::net::Ipv4Addr,
    workgroup: String,
    reassembler: Reassembler,
    counters: DatagramCounters,
}

impl Datagrams {
    /// A receiver for the host at `our_address` in `workgroup`.
    pub(crate) fn new(our_address: std::net::Ipv4Addr, workgroup: String) -> Self {
        Self {
            our_address,
            workgroup,
            reassembler: Reassembler::new(ReassemblyConfig::default()),
            counters: DatagramCounters::default(),
        }
    }

    /// When the oldest incomplete datagram expires.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.reassembler.poll_timeout()
    }

    /// Drops incomplete datagrams that expired by `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.reassembler.handle_timeout(now);
    }

    /// One datagram of `bytes` (its whole length as received, which may be
    /// over the cap) from `from`: the message it completes for one of our
    /// names, if any. Refusals are counted and logged by `policy`.
    pub(crate) fn handle(
        &mut self,
        now: Instant,
        bytes: &[u8],
        from: SocketAddrV4,
        names: &Registry,
        policy: &Policy,
    ) -> Option<Incoming> {
        let counters = &self.counters;
        counters.received.fetch_add(1, Ordering::Relaxed);
        if *from.ip() == self.our_address {
            return None; // our own broadcast
        }
        let source = std::net::IpAddr::V4(*from.ip());
        policy.admit_source("UDP 138", source).ok()?;
        if let Err(reason) = policy.limits().datagram(now, source) {
            policy.refuse(reason, source, format_args!("UDP 138 datagrams"));
            return None;
        }
        let n = bytes.len();
        if n > MAX_DATAGRAM_LEN {
            policy.refuse(
                Refusal::TooLarge,
                source,
                format_args!("datagram over {MAX_DATAGRAM_LEN} bytes on UDP 138"),
            );
            return None;
        }
        let Ok(repr) = Nbdgm::parse(bytes) else {
            counters.malformed.fetch_add(1, Ordering::Relaxed);
            policy.refuse(
                Refusal::Malformed,
                source,
                format_args!("malformed datagram on UDP 138 ({n} bytes)"),
            );
            return None;
        };
        let message = match self.reassembler.handle(now, repr) {
            Outcome::Complete(c) => {
                // Another scope's names are other names (RFC 1001 §5.2).
                if !names.is_our_scope(&c.names.destination.scope) {
                    counters.ignored.fetch_add(1, Ordering::Relaxed);
                    return None;
                }
                let destination = &c.names.destination.name;
                let for_us = match c.kind {
                    DatagramKind::DirectUnique => names.accepts_messages_for(destination),
                    DatagramKind::DirectGroup | DatagramKind::Broadcast => {
                        destination
                            .name()
                            .eq_ignore_ascii_case(self.workgroup.as_bytes())
                            || names.accepts_messages_for(destination)
                    }
                };
                if !for_us {
                    counters.ignored.fetch_add(1, Ordering::Relaxed);
                    return None;
                }
                // A unique datagram to a group this host joined is still
                // a group message (group_senders applies).
                let group = c.kind != DatagramKind::DirectUnique || names.is_group(destination);
                let m = parse_messngr(c.data, from, counters)?;
                policy
                    .flow()
                    .add(Route::Mailslot, crate::flow::Outcome::Received);
                Some(m).filter(|m| admitted(policy, c.source.ip, from, m, group))?
            }
            Outcome::Pending => return None,
            Outcome::Dropped(why) => {
                tracing::debug!("udp 138: datagram from {from} dropped: {why:?}");
                return None;
            }
        };
        if let Err(reason) = policy.limits().mailslot_message(now, source) {
            policy.refuse_message(
                Transport::Mailslot,
                reason,
                source,
                format_args!("mailslot messages"),
            );
            return None;
        }
        counters.messages.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            "mailslot message from {from} ({}) for {}",
            sanitize_line(&String::from_utf8_lossy(&message.from)),
            sanitize_line(&String::from_utf8_lossy(&message.to))
        );
        Some(message)
    }
}

/// Whether the policy admits `m`: its sender (the packet's source and the
/// SOURCE_IP it claims), its sender name, and for a group datagram the
/// group rule. A refusal is counted and logged by the policy.
fn admitted(
    policy: &Policy,
    claimed: std::net::Ipv4Addr,
    from: SocketAddrV4,
    m: &Incoming,
    group: bool,
) -> bool {
    let from = (*from.ip()).into();
    let claimed = claimed.into();
    let check = |ip| policy.admit_message(Transport::Mailslot, ip, &m.from, &m.to, group);
    check(from).is_ok() && (claimed == from || check(claimed).is_ok())
}

/// The MESSNGR payload of a mailslot write, or `None` (counted) when the
/// datagram is another mailslot or malformed.
fn parse_messngr(data: &[u8], from: SocketAddrV4, counters: &DatagramCounters) -> Option<Incoming> {
    let write = match MailslotWrite::parse(data) {
        Ok(w) => w,
        Err(e) => {
            counters.malformed.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("udp 138: not a mailslot write from {from}: {e}");
            return None;
        }
    };
    if !write.is_messngr() {
        counters.ignored.fetch_add(1, Ordering::Relaxed);
        return None;
    }
    match MessngrPayload::parse(write.data) {
        Ok(p) => Some(Incoming {
            transport: Transport::Mailslot,
            source: SocketAddr::V4(from),
            from: p.from.to_vec(),
            to: p.to.to_vec(),
            text: p.text.to_vec(),
            block_ends: vec![p.text.len()],
            received_at: SystemTime::now(),
            native: None,
        }),
        Err(e) => {
            counters.malformed.fetch_add(1, Ordering::Relaxed);
            tracing::info!("udp 138: malformed MESSNGR payload from {from}: {e}");
            None
        }
    }
}
