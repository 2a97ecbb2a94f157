//! The sending half of messngr-to-messngr messages: one native frame on an
//! NBT session, and whether the peer turned out to be a legacy one.
//!
//! A messngr receiver answers Accepted (once stored) or Refused; anything
//! else — the session closed, an SMB answer, silence — means "not messngr"
//! and the caller falls back to the SMB message commands. The receiving
//! half is `crate::native`.

use messngr_proto::text::sanitize_line;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use messngr_proto::wire::name::NetbiosName;
use messngr_proto::wire::native::{self, Message, Repr};
use messngr_proto::wire::nbss::Repr as Nbss;
use messngr_proto::wire::{Emit, Error};

use super::{Options, SendError};
use crate::outbound::Session;

/// Longest wait for Accepted: the receiver's own store limit, plus slack,
/// so that a slow but working messngr peer is not mistaken for a legacy one
/// (which would store the message twice).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(12);

/// How a native send ended, when it did not end in Accepted.
#[derive(Debug)]
pub(super) enum Failure {
    /// The peer is not a messngr node (it closed the session, answered
    /// with an SMB, or said nothing in time): send the legacy way.
    NotMessngr(String),
    /// The peer is a messngr node and said no, or the frame could not be
    /// built: final, no fallback.
    Final(SendError),
}

/// Tries `text` as a native message to `to` at `ip`: a session, the
/// Message, and its answer. `Ok` once the receiver stored it.
pub(super) async fn attempt(
    calling: NetbiosName,
    from: &str,
    to: NetbiosName,
    ip: Ipv4Addr,
    target: &str,
    text: &str,
    opts: Options,
) -> Result<(), Failure> {
    let mut session = Session::open(calling, to, ip)
        .await
        .map_err(|e| Failure::Final(e.into()))?;
    let sent = send(&mut session, from, target, text, opts).await;
    match &sent {
        Ok(()) => tracing::info!("native message to {to} at {ip} accepted"),
        Err(Failure::NotMessngr(why)) => {
            tracing::info!(
                "{to} at {ip} does not speak messngr ({}): sending SMB",
                sanitize_line(why)
            );
        }
        Err(Failure::Final(_)) => {}
    }
    sent
}

/// Sends one native Message on an open session and waits for the answer.
async fn send(
    session: &mut Session,
    from: &str,
    to: &str,
    text: &str,
    opts: Options,
) -> Result<(), Failure> {
    let ip = session.peer;
    let mut uuid = [0u8; 16];
    getrandom::fill(&mut uuid).map_err(|e| {
        Failure::Final(SendError::Network(format!(
            "no random numbers for a uuid: {e}"
        )))
    })?;
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
        priority: opts.priority.unwrap_or_default(),
        popup_secs: opts.popup_secs,
        signer: None,
        signature: None,
        replaces: None,
        retract: false,
    })
    .to_vec()
    .map_err(|e| {
        Failure::Final(match e {
            Error::TooLong(_) => SendError::TooLong(format!(
                "the message is longer than {} bytes of UTF-8: shorten it",
                native::MAX_TEXT_LEN
            )),
            e => SendError::BadRequest(format!("cannot send this message: {e}")),
        })
    })?;
    session
        .write(&Nbss::SessionMessage { payload: &frame })
        .await
        .map_err(|e| Failure::NotMessngr(format!("the session broke: {e}")))?;
    loop {
        let got = session
            .read_frame(ANSWER_TIMEOUT)
            .await
            .map_err(|e| Failure::NotMessngr(e.to_string()))?;
        let payload = match Nbss::parse(&got) {
            Ok(Nbss::SessionKeepAlive) => continue,
            Ok(Nbss::SessionMessage { payload }) if native::is_native(payload) => payload,
            Ok(Nbss::SessionMessage { .. }) => {
                return Err(Failure::NotMessngr("it answered with an SMB".into()));
            }
            Ok(other) => return Err(Failure::NotMessngr(format!("it answered {other:?}"))),
            Err(e) => return Err(Failure::NotMessngr(format!("malformed answer: {e}"))),
        };
        let net = |what: String| Failure::Final(SendError::Network(what));
        return match Repr::parse(payload) {
            Ok(Repr::Accepted { uuid: u }) if u == uuid => Ok(()),
            Ok(Repr::Accepted { .. }) => Err(net(format!(
                "{ip} accepted another message than the one sent"
            ))),
            Ok(Repr::Refused { reason, text, .. }) => {
                Err(Failure::Final(SendError::Refused(format!(
                    "{to} at {ip} refused the message ({reason:?}: {})",
                    sanitize_line(text)
                ))))
            }
            Ok(other) => Err(net(format!(
                "{ip} answered with a {:?} frame",
                other.kind()
            ))),
            Err(e) => Err(net(format!("{ip} sent a malformed messngr answer: {e}"))),
        };
    }
}
