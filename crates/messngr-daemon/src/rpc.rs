//! UDP 135: MS-MSRP `NetrSendMessage` over connectionless DCE/RPC — what
//! Windows NT/2000/XP `net send` falls back to when a directed SMB message
//! fails, and what monitoring and UPS software of that era call.
//!
//! Off unless `rpc = true`: this is the door the 2003 pop-up spam came
//! through. The protocol is `messngr_proto`'s sans-IO
//! [`MsrpServer`](messngr_proto::wire::dcerpc::MsrpServer): it screens each
//! datagram (unknown interface, version or operation → reject; a stub that
//! does not decode → fault), remembers each call by sender, activity and
//! sequence number so that a retransmission is answered again and stored
//! once while it is remembered (a minute; 16 activities per sender), and
//! answers pings. This task adds what only the daemon knows, in order:
//!
//! 1. the policy's source rules (off-LAN, `deny_from`) and a source port
//!    below 1024 other than 135: dropped in silence, never answered, so an
//!    off-LAN forger gets nothing bounced and nobody can aim our answers at
//!    another host's services; then the datagram rate and the size cap;
//! 2. the policy's message rules (refused: a reject, `ERROR_ACCESS_DENIED`),
//!    before the name check, so that a refused sender learns no names;
//! 3. whether `To` is a name held here (no: the response says
//!    `NERR_NameNotFound`, as Windows did);
//! 4. the message rate, shared with the mailslot (`[limits]
//!    mailslot_messages_*`: both are unauthenticated datagrams that anyone
//!    on the LAN can forge), and at most 256 calls being stored: over
//!    either, a reject, `nca_server_too_busy`;
//! 5. the inbox: the response (`ERROR_SUCCESS`) goes only once the message
//!    is on disk; not stored within 10 s, `NERR_BadReceive` (counted and
//!    logged as the policy's refusals are).
//!
//! The socket is bound to this host's address on the served interface,
//! not the wildcard: a broadcast call (which must never be delivered, let
//! alone answered) does not even arrive.

use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use messngr_proto::text::sanitize_line;
use messngr_proto::wire::Emit;
use messngr_proto::wire::dcerpc::msrp::{nca, status};
use messngr_proto::wire::dcerpc::server::{Action, Call, Config, Dropped, Fack, Ticket};
use messngr_proto::wire::dcerpc::{MsrpServer, ShortPdu};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::flow::Route;
use crate::intake::{InboxSender, Incoming, NotStored, Stored, Transport};
use crate::policy::{Policy, Refusal};
use crate::registry::Registry;

pub use messngr_proto::wire::dcerpc::RPC_PORT;
/// Largest datagram read: a `NetrSendMessage` with Windows' longest text
/// (652 bytes) is under 1 KiB, and a longer call comes in fragments
/// (`MAX_FRAG_SIZE` each), which the protocol crate puts together.
pub const MAX_RPC_DATAGRAM: usize = 4096;
/// Calls being stored at once; more are rejected `nca_server_too_busy`.
const MAX_IN_FLIGHT: usize = 256;
/// How often answered calls older than a minute are forgotten.
const FORGET_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// A stored (or not) call, back from its task.
type Done = (Ticket, SocketAddrV4, Result<Stored, NotStored>);

/// Serves UDP 135 until `stop` is cancelled.
pub async fn serve(
    socket: Arc<UdpSocket>,
    names: Registry,
    policy: Arc<Policy>,
    inbox: InboxSender,
    tasks: TaskTracker,
    stop: CancellationToken,
) {
    let boot = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| u32::try_from(d.as_secs()).ok())
        .filter(|&b| b != 0)
        .unwrap_or(1);
    let mut rpc = Rpc {
        server: MsrpServer::new(Config::new(boot)),
        names,
        policy,
        in_flight: 0,
    };
    let (done_tx, mut done_rx) = mpsc::channel::<Done>(MAX_IN_FLIGHT);
    // One byte more than read, to tell a datagram over the cap.
    let mut buf = vec![0u8; MAX_RPC_DATAGRAM + 1];
    let mut forget = tokio::time::interval(FORGET_EVERY);
    loop {
        let (n, from) = tokio::select! {
            () = stop.cancelled() => return,
            _ = forget.tick() => {
                rpc.server.handle_timeout(Instant::now());
                continue;
            }
            Some((ticket, to, stored)) = done_rx.recv() => {
                let pdu = rpc.stored(ticket, to, &stored);
                reply(&socket, pdu, to).await;
                continue;
            }
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("udp 135: receive failed: {e}");
                    continue;
                }
            },
        };
        let SocketAddr::V4(from) = from else { continue };
        match rpc.handle(Instant::now(), &buf[..n], from) {
            Step::Nothing => {}
            Step::Reply(pdu) => reply(&socket, Some(pdu), from).await,
            Step::Fack(fack) => send(&socket, &fack, from).await,
            Step::Store(ticket, message) => {
                let (inbox, done) = (inbox.clone(), done_tx.clone());
                tasks.spawn(async move {
                    let store = crate::intake::store(&inbox, *message);
                    let stored = tokio::time::timeout(crate::intake::STORE_TIMEOUT, store)
                        .await
                        .unwrap_or_else(|_| {
                            Err(NotStored::failed("the inbox did not answer in time"))
                        });
                    let _ = done.send((ticket, from, stored)).await;
                });
            }
        }
    }
}

/// Sends `pdu` (if any) to `to`.
async fn reply(socket: &UdpSocket, pdu: Option<ShortPdu>, to: SocketAddrV4) {
    if let Some(pdu) = pdu {
        send(socket, &pdu, to).await;
    }
}

/// Sends `pdu` to `to`.
async fn send(socket: &UdpSocket, pdu: &impl Emit, to: SocketAddrV4) {
    match pdu.to_vec() {
        Ok(bytes) => {
            if let Err(e) = socket.send_to(&bytes, to).await {
                tracing::debug!("udp 135: answer to {to} not sent: {e}");
            }
        }
        Err(e) => tracing::warn!("udp 135: answer to {to} not encoded: {e}"),
    }
}

/// What one datagram asks of the socket and the inbox.
#[derive(Debug)]
pub(crate) enum Step {
    Nothing,
    Reply(ShortPdu),
    /// A fragment kept: acknowledge it.
    Fack(Fack),
    /// Store the message, then answer with [`Rpc::stored`].
    Store(Ticket, Box<Incoming>),
}

/// The receiving side of UDP 135 without the socket: policy, limits, the
/// protocol's memory. Time is passed in.
#[derive(Debug)]
pub(crate) struct Rpc {
    server: MsrpServer,
    names: Registry,
    policy: Arc<Policy>,
    in_flight: usize,
}

impl Rpc {
    /// One datagram of `bytes` (its whole length as received) from `from`.
    pub(crate) fn handle(&mut self, now: Instant, bytes: &[u8], from: SocketAddrV4) -> Step {
        let source = std::net::IpAddr::V4(*from.ip());
        let policy = self.policy.clone();
        if policy.admit_source("UDP 135", source).is_err() {
            return Step::Nothing;
        }
        if from.port() < 1024 && from.port() != RPC_PORT {
            policy.refuse(
                Refusal::DeniedSource,
                source,
                format_args!(
                    "UDP 135 datagram from port {}: RPC clients send from 135 or an unprivileged port",
                    from.port()
                ),
            );
            return Step::Nothing;
        }
        if let Err(reason) = policy.limits().datagram(now, source) {
            policy.refuse(reason, source, format_args!("UDP 135 datagrams"));
            return Step::Nothing;
        }
        if bytes.len() > MAX_RPC_DATAGRAM {
            policy.refuse(
                Refusal::TooLarge,
                source,
                format_args!("datagram over {MAX_RPC_DATAGRAM} bytes on UDP 135"),
            );
            return Step::Nothing;
        }
        let assembled;
        let call = match self.server.handle(now, source, bytes, false) {
            Action::Deliver(call) => call,
            Action::DeliverAssembled(whole) => {
                assembled = whole;
                match assembled.call() {
                    Ok(call) => call,
                    // The server checked it; should it not decode after
                    // all, the call is answered, never left pending.
                    Err(_) => {
                        let fault =
                            self.server
                                .refuse(now, assembled.ticket(), nca::NCA_S_FAULT_NDR);
                        return fault.map_or(Step::Nothing, Step::Reply);
                    }
                }
            }
            Action::Send(pdu) => return Step::Reply(pdu),
            Action::Fack(fack) => return Step::Fack(fack),
            Action::Nothing(Dropped::Malformed(e)) => {
                policy.refuse(
                    Refusal::Malformed,
                    source,
                    format_args!("not a DCE/RPC datagram on UDP 135 ({e})"),
                );
                return Step::Nothing;
            }
            Action::Nothing(why) => {
                tracing::debug!("udp 135: datagram from {from}: {why:?}");
                return Step::Nothing;
            }
        };
        let ticket = call.ticket();
        match self.admit(now, &call, from) {
            Ok(message) => Step::Store(ticket, Box::new(message)),
            Err(pdu) => pdu.map_or(Step::Nothing, Step::Reply),
        }
    }

    /// The message of an accepted call, or the answer that refuses it (a
    /// response for a name not held here, a reject for the policy).
    fn admit(
        &mut self,
        now: Instant,
        call: &Call<'_>,
        from: SocketAddrV4,
    ) -> Result<Incoming, Option<ShortPdu>> {
        let source = std::net::IpAddr::V4(*from.ip());
        let ticket = call.ticket();
        let (who, to, text) = (
            call.message.from.as_bytes(),
            call.message.to.as_bytes(),
            call.message.text.as_bytes(),
        );
        let policy = &self.policy;
        policy
            .flow()
            .add(Route::Rpc, crate::flow::Outcome::Received);
        if policy
            .admit_message(
                Transport::Rpc,
                source,
                who,
                to,
                self.names.is_group(&call.message.recipient()),
            )
            .is_err()
        {
            return Err(self.server.refuse(now, ticket, status::ERROR_ACCESS_DENIED));
        }
        if !self.names.accepts_messages_for(&call.message.recipient()) {
            policy.refuse_message(
                Transport::Rpc,
                Refusal::NotHere,
                source,
                format_args!(
                    "RPC message for {}, a name not held here",
                    sanitize_line(&String::from_utf8_lossy(to))
                ),
            );
            return Err(self
                .server
                .complete(now, ticket, status::NERR_NAME_NOT_FOUND));
        }
        let busy = if self.in_flight >= MAX_IN_FLIGHT {
            Some(Refusal::RateLimited)
        } else {
            policy.limits().mailslot_message(now, source).err()
        };
        if let Some(reason) = busy {
            policy.refuse_message(Transport::Rpc, reason, source, format_args!("RPC messages"));
            return Err(self.server.refuse(now, ticket, nca::NCA_SERVER_TOO_BUSY));
        }
        self.in_flight += 1;
        tracing::info!(
            "RPC message from {from} ({}) for {}",
            sanitize_line(&String::from_utf8_lossy(who)),
            sanitize_line(&String::from_utf8_lossy(to))
        );
        Ok(Incoming {
            transport: Transport::Rpc,
            source: SocketAddr::V4(from),
            from: who.to_vec(),
            to: to.to_vec(),
            text: text.to_vec(),
            block_ends: vec![text.len()],
            received_at: SystemTime::now(),
            native: None,
        })
    }

    /// The answer to a call whose message the inbox stored (or not).
    pub(crate) fn stored(
        &mut self,
        ticket: Ticket,
        from: SocketAddrV4,
        stored: &Result<Stored, NotStored>,
    ) -> Option<ShortPdu> {
        self.in_flight = self.in_flight.saturating_sub(1);
        let status = match stored {
            Ok(_) => status::ERROR_SUCCESS,
            Err(e) => {
                self.policy.refuse_message(
                    Transport::Rpc,
                    e.refusal(),
                    std::net::IpAddr::V4(*from.ip()),
                    format_args!("RPC message: {e}"),
                );
                status::NERR_BAD_RECEIVE
            }
        };
        self.server.complete(Instant::now(), ticket, status)
    }
}
