//! messngr-to-messngr messages on TCP 139, the receiving half: a native
//! frame in a session, stored and answered only once on disk. The sending
//! half is `crate::send::native`.
//!
//! Why next to the SMB path and not instead of it: a messngr node must
//! still talk to Windows and Samba, and it cannot know in advance which
//! kind of peer holds a name. The native frame travels where an SMB would
//! (`messngr_proto::wire::native`, docs/native.md); a messngr receiver
//! answers Accepted or Refused, anything else means "not messngr" and the
//! sender falls back to the SMB message commands (crate::send).

use messngr_proto::text::sanitize_line;
use std::net::SocketAddr;
use std::time::SystemTime;

use messngr_proto::wire::Emit;
use messngr_proto::wire::native::{self, Message, Reason, Repr};

use crate::intake::{InboxSender, Incoming, Native, Transport};
use crate::policy::{Policy, Refusal};
use crate::registry::Registry;
use crate::secure::Verified;

mod bundled;
mod channel;
mod receipt;
mod relayed;
mod relayed_receipt;
mod waiting;
pub(crate) use channel::{Channel, Ctx};
pub(crate) use relayed::{FRAMES_IN_FLIGHT, Inbound};

use crate::intake::STORE_TIMEOUT;

/// What the session does after a native frame: the NBSS payload to send
/// back, and whether the session must end (with the reason to log).
#[derive(Debug)]
pub(crate) struct Answer {
    /// The native Accepted or Refused, encoded.
    pub(crate) reply: Vec<u8>,
    /// `Some(why)`: the frame was malformed; close the session after the reply.
    pub(crate) close: Option<String>,
}

/// A message's verified origin: who signed it, and the signed frame.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// Who signed it.
    pub(crate) verified: Verified,
    /// The frame as signed (the inner plaintext of a SEALED frame).
    pub(crate) signed: Vec<u8>,
    /// The relay brought it to a relay group this host is in (`/org`,
    /// `/group:NAME`): a group message, though no NetBIOS group is named.
    pub(crate) relay_group: bool,
    /// It came through the relay (not a session on this LAN).
    pub(crate) via_relay: bool,
}

/// Handles one plaintext native frame from `peer` (a session that did not
/// start with a handshake: an older messngr node): parses it, and stores it
/// unverified through [`accept`]. (The sessions use [`Channel`], which
/// also refuses it under `require_secure`; this is the unit tests' way in.)
#[cfg(test)]
pub(crate) async fn receive(
    payload: &[u8],
    peer: SocketAddr,
    names: &Registry,
    policy: &Policy,
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
    accept(&m, peer, names, policy, inbox, None).await
}

/// A message refused for what it is (not who sent it): counted as the
/// messngr route's refusal, answered with `reason` and `text`.
fn refused(policy: &Policy, uuid: [u8; 16], reason: Reason, text: &str) -> Answer {
    policy
        .flow()
        .add(crate::flow::Route::Messngr, crate::flow::Outcome::Refused);
    refuse(Some(uuid), reason, text, None)
}

/// Checks a parsed Message against the policy and our names, and stores it:
/// verified when `origin` says who signed it. Answers Accepted only once the
/// store committed it (a retry with the same uuid is Accepted again and
/// stored once).
pub(crate) async fn accept(
    m: &Message<'_>,
    peer: SocketAddr,
    names: &Registry,
    policy: &Policy,
    inbox: &InboxSender,
    origin: Option<Origin>,
) -> Answer {
    policy
        .flow()
        .add(crate::flow::Route::Messngr, crate::flow::Outcome::Received);
    // A gateway's forward (VOUCHED) is the legacy sender's word: taken only
    // through the relay, signed by a gateway this host's admin vetted, for
    // one name, changing nothing else; and judged by the unsigned rules
    // (require_secure, require_verified_names refuse it).
    let vouched = m.vouched.is_some();
    if vouched
        && !origin
            .as_ref()
            .is_some_and(|o| o.via_relay && o.verified.vetted)
    {
        policy.refuse_message(
            Transport::Messngr,
            Refusal::Forged,
            peer.ip(),
            format_args!(
                "a gateway's forward for {} not from a vetted gateway",
                sanitize_line(m.to)
            ),
        );
        return refuse(
            Some(m.uuid),
            Reason::BadSignature,
            "a gateway's forward is taken only through the relay, from a gateway this host's admin vetted (`messngr trust add`)",
            None,
        );
    }
    let to_group = !vouched
        && crate::relay::to_a_group(
            m.to,
            origin.as_ref().is_some_and(|o| o.relay_group),
            policy.is_workgroup(m.to.as_bytes()),
            names,
        );
    let admitted = match &origin {
        Some(_) if !vouched => {
            policy.admit_signed_message(peer.ip(), m.from.as_bytes(), m.to.as_bytes())
        }
        _ => policy.admit_message(
            Transport::Messngr,
            peer.ip(),
            m.from.as_bytes(),
            m.to.as_bytes(),
            to_group,
        ),
    };
    if let Err(why) = admitted {
        let text = format!("this host's policy refuses it ({})", why.as_str());
        return refuse(Some(m.uuid), Reason::Denied, &text, None);
    }
    // A name we hold, or our workgroup: a broadcast's signed copy (the
    // group rules applied above, as to its datagram). Only signed: the
    // copies share one uuid, which an unsigned one must not take first.
    let ours = (origin.is_some() && to_group)
        || crate::config::netbios_name("to", m.to).is_ok_and(|n| names.accepts_messages_for(&n));
    if !ours {
        policy.refuse_message(
            Transport::Messngr,
            Refusal::NotHere,
            peer.ip(),
            format_args!(
                "native message for {}, not one of our names",
                sanitize_line(m.to)
            ),
        );
        return refuse(
            Some(m.uuid),
            Reason::NotHere,
            "not a name this host holds",
            None,
        );
    }
    if let Err(reason) = policy
        .limits()
        .session_message(std::time::Instant::now(), peer.ip())
    {
        policy.refuse_message(
            Transport::Messngr,
            reason,
            peer.ip(),
            format_args!("native message for {:?}", m.to),
        );
        return refuse(
            Some(m.uuid),
            Reason::NoRoom,
            "too many messages from this host: try later",
            None,
        );
    }
    if m.replaces.is_some() && origin.is_none() {
        return refused(
            policy,
            m.uuid,
            Reason::BadSignature,
            "only a signed message may change or withdraw another",
        );
    }
    // A gateway's forward of a legacy message: believed as far as the
    // gateway's signature goes (which host vouches), never as the legacy
    // sender's word: stored unverified, with the gateway beside it.
    let (origin, gateway) = match (origin, m.vouched) {
        (Some(o), Some(v)) => {
            let mut g = format!(
                "{}: {}",
                o.verified.host,
                messngr_proto::text::sanitize_line(v)
            );
            // The store keeps 300 bytes of it (a sanitized line may grow).
            while g.len() > 300 {
                g.pop();
            }
            (None, Some(g))
        }
        // (Unsigned with VOUCHED was refused above, as not from a vetted gateway.)
        (origin, _) => (origin, None),
    };
    if m.expires_at
        .is_some_and(|t| t <= messngr_store::clock::now_ms())
    {
        return refused(
            policy,
            m.uuid,
            Reason::BadMessage,
            "it expired before it arrived (the sender's --expires)",
        );
    }
    // An update is ordered by its SENT_AT (`inbox::notice`): one from
    // further ahead than clocks may differ would hold back the author's
    // next updates, or be applied again when offered again later.
    if m.replaces.is_some() && m.sent_at.is_some_and(crate::intake::from_the_future) {
        return refused(
            policy,
            m.uuid,
            Reason::BadMessage,
            "the update claims to be sent in the future (check both hosts' clocks)",
        );
    }
    if m.text.trim().is_empty() && !m.retract {
        return refused(policy, m.uuid, Reason::BadMessage, "the message is empty");
    }
    // Urgent interrupts people: only verified authors the policy names
    // (`urgent_senders`), on a host whose key an admin vetted (trust file
    // or `messngr trust add`: under trust on first use any host can call
    // itself anything and sign as its `root`), keep it; anyone else's is
    // stored as normal.
    let priority = match (&origin, m.priority) {
        (Some(o), native::Priority::Urgent)
            if o.verified.vetted && policy.may_send_urgent(&o.verified.author) =>
        {
            native::Priority::Urgent
        }
        (o, native::Priority::Urgent) => {
            tracing::info!(
                "urgent message from {} at {peer} stored as normal ({})",
                sanitize_line(o.as_ref().map_or(m.from, |o| o.verified.author.as_str())),
                match o {
                    Some(o) if !o.verified.vetted => {
                        "its host's key was pinned on first use, not vetted by an admin"
                    }
                    Some(_) => "not in urgent_senders",
                    None => "unsigned",
                }
            );
            native::Priority::Normal
        }
        (_, p) => p,
    };
    // The alert mark is shown as the Alerter's word: only on a signed
    // message (its author shown beside it). An unsigned one keeps the
    // words as a first line, as a legacy receiver gets them, unmarked.
    let (text, alert) = match (&origin, m.alert) {
        (Some(_), a) => (m.text.to_owned(), a.map(messngr_store::AlertMark::from)),
        (None, Some(a)) => (native::alert_legacy_text(a.title, m.text), None),
        (None, None) => (m.text.to_owned(), None),
    };
    let incoming = Incoming {
        transport: Transport::Messngr,
        source: peer,
        from: m.from.as_bytes().to_vec(),
        to: m.to.as_bytes().to_vec(),
        block_ends: vec![text.len()],
        text: text.into_bytes(),
        received_at: SystemTime::now(),
        native: Some(Native {
            uuid: m.uuid,
            priority,
            popup_secs: m.popup_secs,
            expires_at: m.expires_at,
            sent_at: m.sent_at,
            gateway,
            origin: origin.map(|o| (o.verified.author, o.verified.fingerprint, o.signed)),
            replaces: m.replaces,
            retract: m.retract,
            alert,
            to_group,
        }),
    };
    let signed = incoming.native.as_ref().is_some_and(|n| n.origin.is_some());
    match tokio::time::timeout(STORE_TIMEOUT, crate::intake::store(inbox, incoming)).await {
        Ok(Ok(crate::intake::Stored(id, crate::intake::Again::Duplicate))) if signed => {
            // Signed and already here: a retry after a lost answer, or a
            // replay. Shown once either way; the sender hears Accepted (it
            // is on disk), and the count tells an admin it happened.
            policy.refuse(
                Refusal::Replayed,
                peer.ip(),
                format_args!("signed message {id} offered again (kept once)"),
            );
            answer(&Repr::Accepted { uuid: m.uuid }, None)
        }
        Ok(Ok(stored)) => {
            tracing::info!(
                "native message {} from {peer} for {} stored ({:?}, pop-up {:?} s)",
                stored.0,
                sanitize_line(m.to),
                m.priority,
                m.popup_secs
            );
            answer(&Repr::Accepted { uuid: m.uuid }, None)
        }
        Ok(Err(e))
            if matches!(
                e.kind,
                crate::intake::NotStoredKind::Replayed | crate::intake::NotStoredKind::Superseded
            ) =>
        {
            // Came before and is gone since (its reader deleted it, or the
            // notice was applied), or an update older than the one shown:
            // not stored again. The sender hears Accepted (it was, or
            // something newer was), so a relay stops offering it; the
            // count tells an admin it happened.
            policy.refuse(
                e.refusal(),
                peer.ip(),
                format_args!("native message for {}: {e}", sanitize_line(m.to)),
            );
            answer(&Repr::Accepted { uuid: m.uuid }, None)
        }
        Ok(Err(e)) => {
            policy.refuse_message(
                Transport::Messngr,
                e.refusal(),
                peer.ip(),
                format_args!("native message for {}: {e}", sanitize_line(m.to)),
            );
            let reason = match e.kind {
                crate::intake::NotStoredKind::NoSuchMessage => Reason::NotHere,
                _ => Reason::NoRoom,
            };
            refuse(Some(m.uuid), reason, &e.to_string(), None)
        }
        Err(_) => {
            policy.refuse_message(
                Transport::Messngr,
                Refusal::NotStored,
                peer.ip(),
                format_args!(
                    "native message for {}: the inbox did not answer in time",
                    sanitize_line(m.to)
                ),
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
    let (text, _) = crate::people::cut(text, native::MAX_REASON_LEN);
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

#[cfg(test)]
mod tests;
