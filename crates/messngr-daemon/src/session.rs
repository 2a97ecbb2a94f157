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

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use messngr_proto::assembly::{Action, Receiver, ReceiverConfig, Refusal as SmbRefusal};
use messngr_proto::wire::Emit;
use messngr_proto::wire::native;
use messngr_proto::wire::nbss::{self, ErrorCode, Repr as Nbss};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::intake::{InboxSender, Incoming, Transport};
use crate::policy::{Policy, Refusal};
use crate::registry::Registry;

/// Sessions served at once; more wait in the kernel's accept queue.
pub const MAX_SESSIONS: usize = 256;
/// Longest NBSS frame accepted (an SMB message block is ~200 bytes).
pub const MAX_FRAME_LEN: usize = 8192;
/// Time a peer has to send its session request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Time the inbox has to store a message before the sender is refused.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves TCP 139 until `stop` is cancelled.
pub async fn serve(
    listener: TcpListener,
    names: Registry,
    policy: Arc<Policy>,
    inbox: InboxSender,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(MAX_SESSIONS));
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
                let (names, inbox, stop) = (names.clone(), inbox.clone(), stop.clone());
                let policy = policy.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    match connection(stream, peer, &names, &policy, &inbox, &stop).await {
                        Ok(()) => tracing::debug!("session from {peer} closed"),
                        Err(why) => tracing::info!("session from {peer} ended: {why}"),
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

/// Serves one connection; `Err` carries the reason it was cut.
async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    names: &Registry,
    policy: &Policy,
    inbox: &InboxSender,
    stop: &CancellationToken,
) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    // Judged at accept, answered at the session request (0x81).
    let admitted = policy.admit_source("TCP 139", peer.ip());
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut receiver: Option<Receiver> = None;
    // What the first SESSION MESSAGE made this session: SMB or messngr.
    let mut mode: Option<Mode> = None;
    // When a native session last carried a frame (the SMB receiver keeps
    // its own idle clock).
    let mut last_frame = Instant::now();
    loop {
        // Everything complete in the buffer first.
        while let Some(n) = match mode {
            Some(Mode::Smb) => nbss::frame_len(&buf, MAX_FRAME_LEN),
            _ => native::frame_len(&buf, MAX_FRAME_LEN),
        }
        .map_err(|e| format!("bad NBSS frame: {e}"))?
        {
            let frame: Vec<u8> = buf.drain(..n).collect();
            let now = Instant::now();
            last_frame = now;
            match Nbss::parse(&frame).map_err(|e| format!("bad NBSS packet: {e}"))? {
                Nbss::SessionKeepAlive => {}
                Nbss::SessionRequest { called, calling } if receiver.is_none() => {
                    if let Err(why) = admitted {
                        let no = Nbss::NegativeSessionResponse {
                            error_code: ErrorCode::NotListeningForCallingName,
                        };
                        write(&mut stream, &no).await?;
                        tracing::debug!("session from {peer} refused: {}", why.as_str());
                        return Ok(());
                    }
                    if names.accepts_messages_for(&called.name) {
                        write(&mut stream, &Nbss::PositiveSessionResponse).await?;
                        tracing::debug!(
                            "session from {peer} ({}) for {}",
                            calling.name,
                            called.name
                        );
                        receiver = Some(Receiver::new(ReceiverConfig::default(), now));
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
                        return Err("SMB before a session request".into());
                    };
                    let first = if native::is_native(payload) {
                        Mode::Native
                    } else {
                        Mode::Smb
                    };
                    if *mode.get_or_insert(first) == Mode::Native {
                        let answer =
                            crate::native::receive(payload, peer, names, policy, inbox).await;
                        if !answer.reply.is_empty() {
                            let reply = Nbss::SessionMessage {
                                payload: &answer.reply,
                            };
                            write(&mut stream, &reply).await?;
                        }
                        if let Some(why) = answer.close {
                            return Err(why);
                        }
                        continue;
                    }
                    let reply = match rx.handle(now, payload) {
                        Action::Reply(smb) => smb,
                        Action::Deliver { token, message } => {
                            let to = message.destination_name();
                            let verdict = if policy
                                .admit_message("SMB", peer.ip(), &message.from, &message.to, false)
                                .is_err()
                            {
                                Err(SmbRefusal::MessagesOff)
                            } else if names.accepts_messages_for(&to) {
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
                                match tokio::time::timeout(
                                    STORE_TIMEOUT,
                                    crate::intake::store(inbox, incoming),
                                )
                                .await
                                {
                                    Ok(Ok(stored)) => {
                                        tracing::info!(
                                            "message {} from {peer} for {to} stored",
                                            stored.0
                                        );
                                        Ok(())
                                    }
                                    Ok(Err(e)) => {
                                        policy.refuse(
                                            Refusal::NotStored,
                                            peer.ip(),
                                            format_args!("message for {to}: {e}"),
                                        );
                                        Err(SmbRefusal::NoRoom)
                                    }
                                    Err(_) => {
                                        policy.refuse(
                                            Refusal::NotStored,
                                            peer.ip(),
                                            format_args!(
                                                "message for {to}: the inbox did not answer in time"
                                            ),
                                        );
                                        Err(SmbRefusal::NoRoom)
                                    }
                                }
                            } else {
                                policy.refuse(
                                    Refusal::NotHere,
                                    peer.ip(),
                                    format_args!("message for {to}, not one of our names"),
                                );
                                Err(SmbRefusal::MessagesOff)
                            };
                            match verdict {
                                Ok(()) => rx.accept(token),
                                Err(why) => rx.refuse(token, why),
                            }
                            .map_err(|e| format!("internal: {e}"))?
                        }
                        Action::Busy => return Err("request while a delivery was pending".into()),
                        Action::Close(e) => return Err(format!("not an SMB message command: {e}")),
                    };
                    write(&mut stream, &Nbss::SessionMessage { payload: &reply }).await?;
                }
                other => return Err(format!("unexpected NBSS packet {other:?}")),
            }
        }
        // Then read more, with the session's idle limit.
        let deadline = match &receiver {
            Some(_) if mode == Some(Mode::Native) => last_frame + NATIVE_IDLE,
            Some(rx) => rx
                .poll_timeout()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(60)),
            None => Instant::now() + REQUEST_TIMEOUT,
        };
        let mut chunk = [0u8; 4096];
        let n = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            () = tokio::time::sleep_until(deadline.into()) => {
                return if receiver.is_some() { Ok(()) } else { Err("no session request in time".into()) };
            }
            r = stream.read(&mut chunk) => r.map_err(|e| format!("read: {e}"))?,
        };
        if n == 0 {
            return if buf.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "connection closed inside a frame ({} bytes left)",
                    buf.len()
                ))
            };
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// How long a messngr-to-messngr session may stay silent between frames.
pub const NATIVE_IDLE: Duration = Duration::from_secs(60);

/// What a session carries, decided by its first SESSION MESSAGE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// SMB message commands (`net send`, `smbclient -M`).
    Smb,
    /// messngr-to-messngr frames.
    Native,
}

async fn write(stream: &mut TcpStream, packet: &Nbss<'_>) -> Result<(), String> {
    let bytes = packet
        .to_vec()
        .map_err(|e| format!("internal: cannot encode {packet:?}: {e}"))?;
    stream
        .write_all(&bytes)
        .await
        .map_err(|e| format!("write: {e}"))
}
