//! messngr-to-messngr messages on TCP 139: the receiving half (a native
//! frame in a session, stored and answered only once on disk) and the
//! sending half (one native message on a session, and whether the peer
//! turned out to be a legacy one).
//!
//! Why next to the SMB path and not instead of it: a messngr node must
//! still talk to Windows and Samba, and it cannot know in advance which
//! kind of peer holds a name. The native frame travels where an SMB would
//! (`messngr_proto::wire::native`, docs/native.md); a messngr receiver
//! answers Accepted or Refused, anything else means "not messngr" and the
//! sender falls back to the SMB message commands (crate::send).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use messngr_proto::wire::native::{self, Message, Reason, Repr};
use messngr_proto::wire::nbss::Repr as Nbss;
use messngr_proto::wire::{Emit, Error};
use messngr_store::Priority;
use tokio::net::TcpStream;

use crate::api::Response;
use crate::delivery::{InboxSender, Incoming, Native, Transport};
use crate::registry::Registry;

/// Time the inbox has to store a native message before it is refused.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the session does after a native frame: the NBSS payload to send
/// back, and whether the session must end (with the reason to log).
#[derive(Debug)]
pub struct Answer {
    /// The native Accepted or Refused, encoded.
    pub reply: Vec<u8>,
    /// `Some(why)`: the frame was malformed; close the session after the reply.
    pub close: Option<String>,
}

/// Handles one native frame from `peer`: parses it, checks the recipient
/// against the names we hold, stores it through the inbox and answers
/// Accepted only once the store committed it (a retry with the same uuid
/// is Accepted again and stored once).
pub async fn receive(
    payload: &[u8],
    peer: SocketAddr,
    names: &Registry,
    inbox: &InboxSender,
) -> Answer {
    let m = match Repr::parse(payload) {
        Ok(Repr::Message(m)) => m,
        Ok(other) => {
            let why = format!("native {:?} where a Message belongs", other.kind());
            return refuse(None, Reason::BadMessage, &why, Some(why.clone()));
        }
        Err(e) => {
            let why = format!("malformed native frame: {e}");
            return refuse(None, Reason::BadMessage, &why, Some(why.clone()));
        }
    };
    let ours =
        crate::config::netbios_name("to", m.to).is_ok_and(|n| names.accepts_messages_for(&n));
    if !ours {
        tracing::info!(
            "native message from {peer} for {:?} refused: not one of our names",
            m.to
        );
        return refuse(
            Some(m.uuid),
            Reason::NotHere,
            "not a name this host holds",
            None,
        );
    }
    if m.text.trim().is_empty() {
        return refuse(
            Some(m.uuid),
            Reason::BadMessage,
            "the message is empty",
            None,
        );
    }
    let incoming = Incoming {
        transport: Transport::Messngr,
        source: peer,
        from: m.from.as_bytes().to_vec(),
        to: m.to.as_bytes().to_vec(),
        text: m.text.as_bytes().to_vec(),
        block_ends: vec![m.text.len()],
        received_at: SystemTime::now(),
        native: Some(Native {
            uuid: m.uuid,
            priority: priority_in(m.priority),
            popup_secs: m.popup_secs,
        }),
    };
    match tokio::time::timeout(STORE_TIMEOUT, crate::delivery::store(inbox, incoming)).await {
        Ok(Ok(stored)) => {
            tracing::info!(
                "native message {} from {peer} for {} stored ({:?}, pop-up {:?} s)",
                stored.0,
                m.to,
                m.priority,
                m.popup_secs
            );
            answer(&Repr::Accepted { uuid: m.uuid }, None)
        }
        Ok(Err(e)) => {
            tracing::error!("native message from {peer} for {} refused: {e}", m.to);
            refuse(Some(m.uuid), Reason::NoRoom, &e.to_string(), None)
        }
        Err(_) => {
            tracing::error!(
                "native message from {peer} for {} refused: the inbox did not answer in time",
                m.to
            );
            refuse(
                Some(m.uuid),
                Reason::NoRoom,
                "the inbox did not answer in time",
                None,
            )
        }
    }
}

fn refuse(uuid: Option<[u8; 16]>, reason: Reason, text: &str, close: Option<String>) -> Answer {
    // Keep the reason within what the frame carries (it is for a person).
    let mut cut = text.len().min(native::MAX_REASON_LEN);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let text = text.get(..cut).unwrap_or_default();
    answer(&Repr::Refused { uuid, reason, text }, close)
}

fn answer(repr: &Repr<'_>, close: Option<String>) -> Answer {
    match repr.to_vec() {
        Ok(reply) => Answer { reply, close },
        Err(e) => Answer {
            reply: Vec::new(),
            close: Some(format!("internal: cannot encode {repr:?}: {e}")),
        },
    }
}

/// The store's priority for a wire priority.
pub fn priority_in(p: native::Priority) -> Priority {
    match p {
        native::Priority::Low => Priority::Low,
        native::Priority::Normal => Priority::Normal,
        native::Priority::Urgent => Priority::Urgent,
    }
}

/// The wire priority for the store's.
pub fn priority_out(p: Priority) -> native::Priority {
    match p {
        Priority::Low => native::Priority::Low,
        Priority::Normal => native::Priority::Normal,
        Priority::Urgent => native::Priority::Urgent,
    }
}

/// How a native send ended, when it did not end in Accepted.
#[derive(Debug)]
pub enum Failure {
    /// The peer is not a messngr node (it closed the session, answered
    /// with an SMB, or said nothing in time): send the legacy way.
    NotMessngr(String),
    /// The peer is a messngr node and said no, or the frame could not be
    /// built: the answer for the caller, no fallback.
    Final(Response),
}

/// Longest wait for Accepted: the receiver's own store limit, plus slack,
/// so that a slow but working messngr peer is not mistaken for a legacy one
/// (which would store the message twice).
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(12);

/// What `messngr send` sets besides target and text, and who asks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `--priority`: `None` is normal, and no reason to try messngr first.
    pub priority: Option<messngr_store::Priority>,
    /// `--time SECS`: seconds the receiver's pop-up stays.
    pub popup_secs: Option<u32>,
    /// The caller's uid (from `SO_PEERCRED`).
    pub uid: u32,
}

impl Options {
    /// Whether the message needs the native frame to say everything.
    pub fn wants_native(&self) -> bool {
        self.priority.is_some() || self.popup_secs.is_some()
    }
}

/// Tries `text` as a native message to `to` at `ip`: a session, the
/// Message, and its answer. `Ok` once the receiver stored it.
pub async fn attempt(
    ctx: &crate::send::SendContext,
    to: messngr_proto::wire::name::NetbiosName,
    ip: Ipv4Addr,
    target: &str,
    text: &str,
    opts: Options,
) -> Result<(), Failure> {
    let (mut stream, mut buf) = crate::send::open(ctx, to, ip)
        .await
        .map_err(Failure::Final)?;
    let from = ctx.settings.netbios_name.as_str();
    let sent = send(&mut stream, &mut buf, ip, from, target, text, opts).await;
    match &sent {
        Ok(()) => tracing::info!("native message to {to} at {ip} accepted"),
        Err(Failure::NotMessngr(why)) => {
            tracing::info!("{to} at {ip} does not speak messngr ({why}): sending SMB");
        }
        Err(Failure::Final(_)) => {}
    }
    sent
}

/// Sends one native Message on an open session (after the positive
/// session response) and waits for the answer.
pub async fn send(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    ip: Ipv4Addr,
    from: &str,
    to: &str,
    text: &str,
    opts: Options,
) -> Result<(), Failure> {
    let mut uuid = [0u8; 16];
    getrandom::fill(&mut uuid)
        .map_err(|e| Failure::Final(Response::err("internal", format!("no randomness: {e}"))))?;
    let sent_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok());
    let frame = Repr::Message(Message {
        uuid,
        sent_at,
        from,
        to,
        text,
        priority: priority_out(opts.priority.unwrap_or_default()),
        popup_secs: opts.popup_secs,
    })
    .to_vec()
    .map_err(|e| {
        Failure::Final(match e {
            Error::TooLong(_) => Response::err(
                "too_long",
                format!(
                    "the message is longer than {} bytes of UTF-8: shorten it",
                    native::MAX_TEXT_LEN
                ),
            ),
            e => Response::err("bad_request", format!("cannot send this message: {e}")),
        })
    })?;
    crate::send::write(stream, &Nbss::SessionMessage { payload: &frame })
        .await
        .map_err(|e| Failure::NotMessngr(format!("the session broke: {e}")))?;
    loop {
        let got = crate::send::read_frame_within(stream, buf, ANSWER_TIMEOUT)
            .await
            .map_err(Failure::NotMessngr)?;
        let payload = match Nbss::parse(&got) {
            Ok(Nbss::SessionKeepAlive) => continue,
            Ok(Nbss::SessionMessage { payload }) if native::is_native(payload) => payload,
            Ok(Nbss::SessionMessage { .. }) => {
                return Err(Failure::NotMessngr("it answered with an SMB".into()));
            }
            Ok(other) => return Err(Failure::NotMessngr(format!("it answered {other:?}"))),
            Err(e) => return Err(Failure::NotMessngr(format!("malformed answer: {e}"))),
        };
        let net = |what: String| Failure::Final(Response::err("network", what));
        return match Repr::parse(payload) {
            Ok(Repr::Accepted { uuid: u }) if u == uuid => Ok(()),
            Ok(Repr::Accepted { .. }) => Err(net(format!(
                "{ip} accepted another message than the one sent"
            ))),
            Ok(Repr::Refused { reason, text, .. }) => Err(Failure::Final(Response::err(
                "refused",
                format!("{to} at {ip} refused the message ({reason:?}: {text})"),
            ))),
            Ok(Repr::Message(_)) => Err(net(format!("{ip} answered with a message"))),
            Err(e) => Err(net(format!("{ip} sent a malformed messngr answer: {e}"))),
        };
    }
}

#[cfg(test)]
mod tests;
