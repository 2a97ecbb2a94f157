//! TCP 139: NBT sessions carrying SMB message commands, one task per
//! connection.
//!
//! The protocol work is done by `messngr_proto`: `nbss::frame_len` cuts the
//! stream, `nbss::Repr` reads the session request, and
//! `assembly::Receiver` turns SMBs into replies and complete messages. This
//! file moves bytes, checks the called name against the names we hold, and
//! makes the durability rule concrete: the reply that tells the sender
//! "delivered" is written only after the inbox said the message is on disk.
//!
//! When the first SESSION MESSAGE starts with the messngr magic
//! (`wire::native`), the session is a messngr-to-messngr one and its frames
//! go to crate::native instead of the SMB receiver; the same rule holds:
//! Accepted only once stored.
//!
//! A malformed or truncated frame ends that session with a logged reason;
//! the listener keeps serving everyone else.
//!
//! Flood protection (issue 10): each new session is counted against its
//! source (`policy::limits`: at most `sessions_per_source` at once, and a
//! rate of new sessions); a refused one is answered NEGATIVE SESSION
//! RESPONSE 0x83 if its request comes quickly, else closed. The deadlines
//! are fixed, never pushed back by bytes or keep-alives: the session request
//! within [`REQUEST_TIMEOUT`] of accept (a keep-alive before it ends the
//! session), a complete SMB or native frame every [`IDLE_TIMEOUT`] (the SMB
//! receiver's idle clock counts only those), at most [`MAX_SESSION_LIFE`] in
//! all, and every write within [`WRITE_TIMEOUT`]. Frames are capped at
//! [`MAX_FRAME_LEN`] (native ones at `native::MAX_FRAME_LEN`), message text
//! by the receiver's caps; what is refused is counted by reason.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use messngr_proto::assembly::{Action, Receiver, ReceiverConfig, Refusal as SmbRefusal};
use messngr_proto::wire::native;
use messngr_proto::wire::nbss::{self, ErrorCode, Repr as Nbss};
use messngr_proto::wire::smb::header::{Header as SmbHeader, Status, dos};
use messngr_proto::wire::{Emit, Error as WireError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::intake::{InboxSender, Incoming, Transport};
use crate::policy::{Policy, Refusal};
use crate::registry::Registry;

/// Sessions served at once; more wait in the kernel's accept queue.
pub const MAX_SESSIONS: usize = crate::config::MAX_SESSIONS as usize;
/// Longest NBSS frame accepted (an SMB message block is ~200 bytes; the
/// receiver's own caps on a block, 1 KiB, and a message, 64 KiB, sit inside).
pub const MAX_FRAME_LEN: usize = 8192;
/// Time from accept to a complete session request; fixed at accept.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest silence between complete SMB or native frames (keep-alives do
/// not count): the SMB receiver's own idle clock, and the native one.
pub const IDLE_TIMEOUT: Duration = messngr_proto::assembly::DEFAULT_IDLE_TIMEOUT;
/// A session's whole life: one host cannot hold a slot forever by sending
/// a frame every minute. Senders open a session per message, or reconnect.
pub const MAX_SESSION_LIFE: Duration = Duration::from_secs(600);
/// Time a reply has to leave (a peer that does not read cannot hold a task).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
pub use crate::intake::STORE_TIMEOUT;
/// Refused sessions waited on at once for their request (to answer 0x83);
/// beyond them a refused connection is closed at once.
const REFUSING: usize = 64;
/// Time a refused session's request may take to arrive.
const REFUSE_WAIT: Duration = Duration::from_secs(2);

/// Serves TCP 139 until `stop` is cancelled.
pub async fn serve(
    listener: TcpListener,
    names: Registry,
    policy: Arc<Policy>,
    inbox: InboxSender,
    secure: Arc<crate::secure::Secure>,
    store: crate::inbox::receipts::Recorder,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(MAX_SESSIONS));
    let refusing = Arc::new(Semaphore::new(REFUSING));
    loop {
        let permit = tokio::select! {
            () = stop.cancelled() => return,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                // The source rule first (counted and logged by the policy):
                // a refused source holds no session slot, and hears 0x81
                // "not listening for calling name" at its session request.
                if policy.admit_source("TCP 139", peer.ip()).is_err() {
                    drop(permit);
                    if let Ok(p) = refusing.clone().try_acquire_owned() {
                        tokio::spawn(async move {
                            let _p = p;
                            refuse_session(stream, ErrorCode::NotListeningForCallingName).await;
                        });
                    }
                    continue;
                }
                let counted = match policy.limits().open_session(Instant::now(), peer.ip()) {
                    Ok(counted) => counted,
                    Err(reason) => {
                        drop(permit);
                        policy.refuse(
                            reason,
                            peer.ip(),
                            format_args!("TCP 139 session refused (0x83)"),
                        );
                        // Answer 0x83 if the pool allows, else just close.
                        if let Ok(p) = refusing.clone().try_acquire_owned() {
                            tokio::spawn(async move {
                                let _p = p;
                                refuse_session(stream, ErrorCode::InsufficientResources).await;
                            });
                        }
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let (names, inbox, stop) = (names.clone(), inbox.clone(), stop.clone());
                let (policy, secure, store) = (policy.clone(), secure.clone(), store.clone());
                tokio::spawn(async move {
                    let _permits = (permit, counted);
                    let ctx = crate::native::Ctx {
                        names: &names,
                        policy: &policy,
                        inbox: &inbox,
                        secure: &secure,
                        store: &store,
                    };
                    let life = tokio::time::timeout(
                        MAX_SESSION_LIFE,
                        connection(stream, peer, ctx, &stop),
                    );
                    match life.await.unwrap_or_else(|_| {
                        Err(Ended::Refused(
                            Refusal::Timeout,
                            format!("session older than {} s", MAX_SESSION_LIFE.as_secs()),
                        ))
                    }) {
                        Ok(()) => tracing::debug!("session from {peer} closed"),
                        Err(Ended::Io(why)) => tracing::debug!("session from {peer} ended: {why}"),
                        Err(Ended::Refused(reason, why)) => policy.refuse(
                            reason,
                            peer.ip(),
                            format_args!("TCP 139 session ended: {why}"),
                        ),
                    }
                });
            }
            Err(e) => {
                tracing::warn!("tcp 139: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Why a session ended early: a refusal (counted and logged by the policy)
/// or the connection itself (logged at debug level).
#[derive(Debug)]
pub(crate) enum Ended {
    Refused(Refusal, String),
    Io(String),
}

fn malformed(why: impl std::fmt::Display) -> Ended {
    Ended::Refused(Refusal::Malformed, why.to_string())
}

/// A frame the cutter refused: over the size cap, or not NBSS at all.
fn bad_frame(e: WireError) -> Ended {
    match e {
        WireError::TooLong(_) => Ended::Refused(Refusal::TooLarge, format!("frame: {e}")),
        e => malformed(format!("bad NBSS frame: {e}")),
    }
}

/// Serves one connection; `Err` carries the reason it was cut. Any byte
/// stream will do (the fuzz target drives it in memory).
pub(crate) async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    ctx: crate::native::Ctx<'_>,
    stop: &CancellationToken,
) -> Result<(), Ended> {
    let crate::native::Ctx {
        names,
        policy,
        inbox,
        ..
    } = ctx;
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut receiver: Option<Receiver> = None;
    let mut channel = crate::native::Channel::default();
    // What the first SESSION MESSAGE made this session: SMB or messngr.
    let mut mode: Option<Mode> = None;
    // Fixed at accept: bytes trickling in do not move it.
    let request_deadline = Instant::now() + REQUEST_TIMEOUT;
    // When a native session last carried a complete frame (the SMB receiver
    // keeps its own idle clock; keep-alives touch neither).
    let mut last_frame = Instant::now();
    loop {
        // Everything complete in the buffer first.
        while let Some(n) = match mode {
            Some(Mode::Smb) => nbss::frame_len(&buf, MAX_FRAME_LEN),
            _ => native::frame_len(&buf, MAX_FRAME_LEN),
        }
        .map_err(bad_frame)?
        {
            let frame: Vec<u8> = buf.drain(..n).collect();
            let now = Instant::now();
            match Nbss::parse(&frame).map_err(|e| malformed(format!("bad NBSS packet: {e}")))? {
                Nbss::SessionKeepAlive if receiver.is_none() => {
                    return Err(malformed("keep-alive before the session request"));
                }
                Nbss::SessionKeepAlive => {}
                Nbss::SessionRequest { called, calling } if receiver.is_none() => {
                    if names.is_our_scope(&called.scope) && names.accepts_messages_for(&called.name)
                    {
                        write(&mut stream, &Nbss::PositiveSessionResponse).await?;
                        tracing::debug!(
                            "session from {peer} ({}) for {}",
                            calling.name,
                            called.name
                        );
                        receiver = Some(Receiver::new(
                            ReceiverConfig {
                                idle_timeout: IDLE_TIMEOUT,
                                ..ReceiverConfig::default()
                            },
                            now,
                        ));
                        last_frame = now;
                    } else {
                        let no = Nbss::NegativeSessionResponse {
                            error_code: ErrorCode::CalledNameNotPresent,
                        };
                        write(&mut stream, &no).await?;
                        policy.refuse(
                            Refusal::NotHere,
                            peer.ip(),
                            format_args!("session for {}, not one of our names", called.name),
                        );
                        return Ok(());
                    }
                }
                Nbss::SessionMessage { payload } => {
                    let Some(rx) = receiver.as_mut() else {
                        return Err(malformed("SMB before a session request"));
                    };
                    last_frame = now;
                    let first = if native::is_native(payload) {
                        Mode::Native
                    } else {
                        Mode::Smb
                    };
                    if *mode.get_or_insert(first) == Mode::Native {
                        let answer = channel.frame(payload, peer, ctx).await;
                        if !answer.reply.is_empty() {
                            let reply = Nbss::SessionMessage {
                                payload: &answer.reply,
                            };
                            write(&mut stream, &reply).await?;
                        }
                        if let Some(why) = answer.close {
                            // Counted and logged by the channel already.
                            return Err(Ended::Io(why));
                        }
                        continue;
                    }
                    let reply = match rx.handle(now, payload) {
                        Action::Reply(smb) => {
                            if is_no_room(&smb) {
                                // Only the receiver's caps answer ERRnoroom here.
                                policy.refuse(
                                    Refusal::TooLarge,
                                    peer.ip(),
                                    format_args!("SMB message over the size caps"),
                                );
                            }
                            smb
                        }
                        Action::Deliver { token, message } => {
                            let verdict = deliver(message, peer, names, policy, inbox).await;
                            match verdict {
                                Ok(()) => rx.accept(token),
                                Err(why) => rx.refuse(token, why),
                            }
                            .map_err(|e| Ended::Io(format!("internal: {e}")))?
                        }
                        Action::Busy => {
                            return Err(malformed("request while a delivery was pending"));
                        }
                        Action::Close(e) => {
                            return Err(malformed(format!("not an SMB message command: {e}")));
                        }
                    };
                    write(&mut stream, &Nbss::SessionMessage { payload: &reply }).await?;
                }
                other => return Err(malformed(format!("unexpected NBSS packet {other:?}"))),
            }
        }
        // Then read more, until the session's fixed deadline.
        let deadline = match &receiver {
            Some(_) if mode == Some(Mode::Native) => last_frame + IDLE_TIMEOUT,
            Some(rx) => rx.poll_timeout().unwrap_or(last_frame + IDLE_TIMEOUT),
            None => request_deadline,
        };
        let mut chunk = [0u8; 4096];
        let n = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            () = tokio::time::sleep_until(deadline.into()) => {
                let why = if receiver.is_some() {
                    format!("no SMB or messngr frame for {} s", IDLE_TIMEOUT.as_secs())
                } else {
                    format!("no session request within {} s", REQUEST_TIMEOUT.as_secs())
                };
                return Err(Ended::Refused(Refusal::Timeout, why));
            }
            r = stream.read(&mut chunk) => r.map_err(|e| Ended::Io(format!("read: {e}")))?,
        };
        if n == 0 {
            return if buf.is_empty() {
                Ok(())
            } else {
                Err(Ended::Io(format!(
                    "connection closed inside a frame ({} bytes left)",
                    buf.len()
                )))
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Hands a complete SMB message to the inbox if it is for us and within
/// the source's rate; `Err` is the refusal the sender gets.
async fn deliver(
    message: messngr_proto::assembly::MessageReceived,
    peer: SocketAddr,
    names: &Registry,
    policy: &Policy,
    inbox: &InboxSender,
) -> Result<(), SmbRefusal> {
    let to = message.destination_name();
    policy
        .flow()
        .add(crate::flow::Route::Smb, crate::flow::Outcome::Received);
    // A group this host joined is a group: group_senders applies.
    if policy
        .admit_message(
            Transport::Smb,
            peer.ip(),
            &message.from,
            &message.to,
            names.is_group(&to),
        )
        .is_err()
    {
        return Err(SmbRefusal::MessagesOff);
    }
    if !names.accepts_messages_for(&to) {
        policy.refuse_message(
            Transport::Smb,
            Refusal::NotHere,
            peer.ip(),
            format_args!("message for {to}, not one of our names"),
        );
        return Err(SmbRefusal::MessagesOff);
    }
    if let Err(reason) = policy.limits().session_message(Instant::now(), peer.ip()) {
        policy.refuse_message(
            Transport::Smb,
            reason,
            peer.ip(),
            format_args!("message for {to}"),
        );
        return Err(SmbRefusal::NoRoom);
    }
    let incoming = Incoming {
        transport: Transport::Smb,
        source: peer,
        from: message.from,
        to: message.to,
        text: message.text,
        block_ends: message.block_ends,
        received_at: SystemTime::now(),
        native: None,
    };
    match tokio::time::timeout(STORE_TIMEOUT, crate::intake::store(inbox, incoming)).await {
        Ok(Ok(stored)) => {
            tracing::info!("message {} from {peer} for {to} stored", stored.0);
            Ok(())
        }
        Ok(Err(e)) => {
            policy.refuse_message(
                Transport::Smb,
                e.refusal(),
                peer.ip(),
                format_args!("message for {to}: {e}"),
            );
            Err(SmbRefusal::NoRoom)
        }
        Err(_) => {
            policy.refuse_message(
                Transport::Smb,
                Refusal::NotStored,
                peer.ip(),
                format_args!("message for {to}: the inbox did not answer in time"),
            );
            Err(SmbRefusal::NoRoom)
        }
    }
}

/// Whether an SMB reply is ERRSRV/ERRnoroom.
fn is_no_room(smb: &[u8]) -> bool {
    SmbHeader::parse(smb).is_ok_and(|h| h.status == Status::srv(dos::ERRNOROOM))
}

/// A session refused before it started: reads its request for at most
/// [`REFUSE_WAIT`] and answers NEGATIVE SESSION RESPONSE `error_code`
/// (0x81 "not listening for calling name" for a source the rules refuse,
/// 0x83 "called name present, but insufficient resources" over a limit),
/// then closes.
async fn refuse_session(mut stream: TcpStream, error_code: ErrorCode) {
    let read_request = async {
        let mut buf = Vec::with_capacity(128);
        let mut chunk = [0u8; 512];
        loop {
            match nbss::frame_len(&buf, MAX_FRAME_LEN) {
                Ok(Some(n)) => return buf.get(..n).map(<[u8]>::to_vec),
                Ok(None) => {}
                Err(_) => return None,
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let Ok(Some(frame)) = tokio::time::timeout(REFUSE_WAIT, read_request).await else {
        return;
    };
    if matches!(Nbss::parse(&frame), Ok(Nbss::SessionRequest { .. })) {
        let no = Nbss::NegativeSessionResponse { error_code };
        let _ = write(&mut stream, &no).await;
    }
}

/// What a session carries, decided by its first SESSION MESSAGE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// SMB message commands (`net send`, `smbclient -M`).
    Smb,
    /// messngr-to-messngr frames.
    Native,
}

async fn write<S: AsyncWrite + Unpin>(stream: &mut S, packet: &Nbss<'_>) -> Result<(), Ended> {
    let bytes = packet
        .to_vec()
        .map_err(|e| Ended::Io(format!("internal: cannot encode {packet:?}: {e}")))?;
    match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&bytes)).await {
        Ok(r) => r.map_err(|e| Ended::Io(format!("write: {e}"))),
        Err(_) => Err(Ended::Refused(
            Refusal::Timeout,
            format!(
                "the peer did not read a reply in {} s",
                WRITE_TIMEOUT.as_secs()
            ),
        )),
    }
}
