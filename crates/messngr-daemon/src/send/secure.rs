//! The sending half of encrypted, signed messngr messages: a Noise session
//! per peer, kept open and reused, and each message signed by its author.
//!
//! Why a pool: the handshake (three messages, four Diffie-Hellmans) is the
//! expensive part, and a person who sends a message often sends the next
//! to the same host. One session per (address, called name) stays open
//! while it is used — shorter than the receiver's idle and life limits
//! (the session module), so that the receiver never closes it under us — and
//! is reopened once when it broke anyway. A peer that is not messngr (it
//! closed at the HANDSHAKE, answered an SMB, or stayed silent) is
//! remembered for a while, so that plain legacy sends pay the probe once.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use messngr_proto::text::sanitize_line;
use messngr_proto::wire::Emit;
use messngr_proto::wire::name::NetbiosName;
use messngr_proto::wire::native::{self, Hello, Message, Repr};
use messngr_proto::wire::nbss::Repr as Nbss;
use messngr_secure::{Handshake, PublicKey, Transport};

use super::{Options, SendContext, SendError};
use crate::outbound::Session;

/// Longest wait for a handshake answer or an Accepted (the receiver's store
/// limit plus slack, as for plaintext native messages).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(12);
/// A session idle this long is not reused (the receiver closes at 60 s).
const REUSE_IDLE: Duration = Duration::from_secs(45);
/// A session this old is not reused (the receiver closes at 600 s).
const REUSE_LIFE: Duration = Duration::from_secs(540);
/// How long a peer that is not messngr is remembered as legacy.
const LEGACY_FOR: Duration = Duration::from_secs(600);

type Key = (Ipv4Addr, NetbiosName);

/// Past this many peers, idle and stale sessions are dropped.
const MAX_IDLE_SLOTS: usize = 64;

/// How a secure send ended, when it did not end in Accepted.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The peer is not a messngr node (it closed the session at the
    /// handshake, answered with an SMB, or said nothing in time): send the
    /// legacy way, unless plain text is forbidden.
    NotMessngr(String),
    /// The peer is a messngr node and said no, its key is not trusted, or
    /// the frame could not be built: final, no fallback.
    Final(SendError),
}

/// Open secure sessions, by peer, and peers known to be legacy.
#[derive(Default)]
pub(crate) struct Peers {
    slots: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<Option<Conn>>>>>,
    legacy: Mutex<HashMap<Key, Instant>>,
}

/// One established session.
struct Conn {
    session: Session,
    transport: Transport,
    /// The peer host's name, as pinned.
    host: String,
    /// Its key: a session is reused only while the pin still says so.
    key: PublicKey,
    opened: Instant,
    used: Instant,
}

/// A message as sent: its uuid (for receipts and live notices).
pub(crate) struct Sent {
    /// The uuid the receiver stored it under.
    pub(crate) uuid: [u8; 16],
    /// The receiving host, as pinned.
    pub(crate) host: String,
    /// The signed frame as sent.
    pub(crate) frame: Vec<u8>,
}

/// What a message says besides its text (live notices), and the host it
/// must reach.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Link<'a> {
    /// The uuid of the message this one updates or retracts.
    pub(crate) replaces: Option<[u8; 16]>,
    /// Withdraw `replaces`.
    pub(crate) retract: bool,
    /// The host that must answer (a notice goes only where the message
    /// went): another host holding the name now gets nothing.
    pub(crate) host: Option<&'a str>,
}

impl Peers {
    /// Whether `to` at `ip` turned out not to be messngr lately.
    pub(crate) fn known_legacy(&self, ip: Ipv4Addr, to: NetbiosName) -> bool {
        let legacy = self.legacy.lock().unwrap_or_else(|p| p.into_inner());
        legacy
            .get(&(ip, to))
            .is_some_and(|at| at.elapsed() < LEGACY_FOR)
    }

    fn mark_legacy(&self, ip: Ipv4Addr, to: NetbiosName) {
        let mut legacy = self.legacy.lock().unwrap_or_else(|p| p.into_inner());
        legacy.retain(|_, at| at.elapsed() < LEGACY_FOR);
        legacy.insert((ip, to), Instant::now());
    }

    fn slot(&self, key: Key) -> Arc<tokio::sync::Mutex<Option<Conn>>> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.len() > MAX_IDLE_SLOTS {
            // Keep what is in use and what may still be reused; the rest
            // (and its connection) goes.
            slots.retain(|_, s| {
                Arc::strong_count(s) > 1
                    || s.try_lock()
                        .is_ok_and(|c| c.as_ref().is_some_and(Conn::reusable))
            });
        }
        slots.entry(key).or_default().clone()
    }
}

impl Conn {
    /// Young and idle enough that the receiver has not closed it.
    fn reusable(&self) -> bool {
        self.used.elapsed() < REUSE_IDLE && self.opened.elapsed() < REUSE_LIFE
    }
}

/// Sends `text` to `to` at `ip` encrypted and signed by the account `opts.uid`.
/// `Ok` once the receiver stored it.
pub(crate) async fn attempt(
    ctx: &SendContext,
    to: NetbiosName,
    ip: Ipv4Addr,
    target: &str,
    text: &str,
    opts: Options<'_>,
    link: Link<'_>,
) -> Result<Sent, Failure> {
    let (uuid, frame) = sign(ctx, target, text, opts, link)?;
    let host = pooled(ctx, to, ip, &frame, uuid, link.host).await?;
    Ok(Sent { uuid, host, frame })
}

/// A new message to `target`, signed by the account `opts.uid`: its fresh
/// uuid and the encoded frame, ready for [`deliver`] to any number of
/// hosts (a broadcast's copies are one signed message).
pub(crate) fn sign(
    ctx: &SendContext,
    target: &str,
    text: &str,
    opts: Options<'_>,
    link: Link<'_>,
) -> Result<([u8; 16], Vec<u8>), Failure> {
    let signer = ctx
        .secure
        .signer(opts.uid)
        .map_err(|e| Failure::Final(SendError::Network(format!("cannot sign: {e}"))))?;
    let uuid = messngr_store::new_uuid_bytes();
    let mut message = Message {
        uuid,
        sent_at: Some(super::sent_at::next()),
        from: opts
            .vouched
            .map_or(ctx.settings.netbios_name.as_str(), |v| v.from),
        to: target,
        text,
        priority: opts.priority.unwrap_or_default(),
        popup_secs: opts.popup_secs,
        signer: Some(signer.fields()),
        signature: None,
        replaces: link.replaces,
        retract: link.retract,
        alert: opts.alert,
        expires_at: opts.expires_at,
        vouched: opts.vouched.map(|v| v.origin),
    };
    let bad = |e: messngr_proto::wire::Error| {
        Failure::Final(match e {
            messngr_proto::wire::Error::TooLong(_) => SendError::TooLong(format!(
                "the message is longer than {} bytes of UTF-8: shorten it",
                native::MAX_TEXT_LEN
            )),
            e => SendError::BadRequest(format!("cannot send this message: {e}")),
        })
    };
    message.signature = Some(signer.sign(&Repr::Message(message)).map_err(bad)?);
    let frame = Repr::Message(message).to_vec().map_err(bad)?;
    Ok((uuid, frame))
}

/// Sends the signed message `frame` (uuid `uuid`, from [`sign`]) to `to`
/// at `ip`, which must be the host `host`; that host's name once it
/// stored it.
pub(crate) async fn deliver(
    ctx: &SendContext,
    to: NetbiosName,
    ip: Ipv4Addr,
    frame: &[u8],
    uuid: [u8; 16],
    host: &str,
) -> Result<String, Failure> {
    pooled(ctx, to, ip, frame, uuid, Some(host)).await
}

/// Sends a signed read receipt for message `uuid` (stored here under
/// `reader`) to its author's host `to` at `ip`, signed by the reading
/// account `uid`, over the pooled session; `Ok` once that host accepted it.
pub(crate) async fn receipt(
    ctx: &SendContext,
    to: NetbiosName,
    ip: Ipv4Addr,
    uid: u32,
    uuid: [u8; 16],
    reader: &str,
    at: i64,
) -> Result<(), SendError> {
    let frame = receipt_frame(ctx, uid, uuid, reader, at)?;
    let host = String::from_utf8_lossy(to.name()).trim_end().to_owned();
    match pooled(ctx, to, ip, &frame, uuid, Some(&host)).await {
        Ok(_) => Ok(()),
        Err(Failure::Final(e)) => Err(e),
        Err(Failure::NotMessngr(why)) => Err(SendError::Network(format!(
            "{to} at {ip} is not a messngr node: {why}"
        ))),
    }
}

/// The read receipt of `reader` for message `uuid`, signed by `uid`'s key.
pub(super) fn receipt_frame(
    ctx: &SendContext,
    uid: u32,
    uuid: [u8; 16],
    reader: &str,
    at: i64,
) -> Result<Vec<u8>, SendError> {
    let signer = ctx
        .secure
        .signer(uid)
        .map_err(|e| SendError::Network(format!("cannot sign: {e}")))?;
    let mut receipt = native::Receipt {
        uuid,
        state: native::ReceiptState::Read,
        reader,
        at,
        signer: signer.fields(),
        signature: [0; 64],
    };
    let bad = |e: messngr_proto::wire::Error| SendError::BadRequest(format!("bad receipt: {e}"));
    receipt.signature = signer.sign(&Repr::Receipt(receipt)).map_err(bad)?;
    Repr::Receipt(receipt).to_vec().map_err(bad)
}

/// Sends one signed inner `frame` to `to` at `ip` over the pooled secure
/// session (opened, or reopened once when it broke); the peer host's
/// name once it answered Accepted for `uuid`.
async fn pooled(
    ctx: &SendContext,
    to: NetbiosName,
    ip: Ipv4Addr,
    frame: &[u8],
    uuid: [u8; 16],
    expect_host: Option<&str>,
) -> Result<String, Failure> {
    let key = (ip, to);
    let slot = ctx.peers.slot(key);
    let mut held = slot.lock().await;
    // A reused session may have been closed by the peer meanwhile: one
    // more try on a new one (the same uuid: stored once if it got there).
    // Never one whose key is no longer the pin (`messngr trust` changed it).
    let reusable = held.as_ref().is_some_and(|c| {
        c.reusable() && ctx.secure.trust().pinned(&c.host).as_ref() == Some(&c.key)
    });
    if !reusable {
        *held = None;
    }
    for fresh in [held.is_none(), true] {
        if held.is_none() {
            match connect(ctx, to, ip).await {
                Ok(c) => *held = Some(c),
                Err(Failure::NotMessngr(why)) => {
                    ctx.peers.mark_legacy(ip, to);
                    return Err(Failure::NotMessngr(why));
                }
                Err(e) => return Err(e),
            }
        }
        // Out of the slot while in use: a task cancelled mid-exchange
        // (a broadcast's deadline) drops it, never leaves a half-read
        // answer for the next message.
        let Some(mut conn) = held.take() else {
            continue;
        };
        if let Some(want) = expect_host
            && !conn.host.eq_ignore_ascii_case(want.trim())
        {
            return Err(Failure::Final(SendError::Untrusted(format!(
                "{to} at {ip} is now {}, not {}: nothing sent",
                sanitize_line(&conn.host),
                sanitize_line(want)
            ))));
        }
        match exchange(&mut conn, frame, uuid).await {
            Ok(()) => {
                conn.used = Instant::now();
                let host = conn.host.clone();
                *held = Some(conn);
                return Ok(host);
            }
            Err(Broken::Final(e)) => {
                return Err(Failure::Final(e));
            }
            Err(Broken::Io(why)) => {
                if fresh {
                    return Err(Failure::Final(SendError::Network(format!(
                        "{to} at {ip}: the secure session broke: {why}"
                    ))));
                }
                tracing::debug!("secure session to {to} at {ip} broke ({why}): reconnecting");
            }
        }
    }
    Err(Failure::Final(SendError::Network(format!(
        "{to} at {ip}: no secure session"
    ))))
}

/// Why an exchange on an open session failed.
enum Broken {
    /// The session broke (closed, timed out): a new one may do.
    Io(String),
    /// The peer answered no, or answered nonsense: final.
    Final(SendError),
}

/// Sends one sealed frame and reads the sealed answer.
async fn exchange(conn: &mut Conn, frame: &[u8], uuid: [u8; 16]) -> Result<(), Broken> {
    let ip = conn.session.peer;
    let host = conn.host.clone();
    let body = conn
        .transport
        .seal(frame)
        .map_err(|e| Broken::Final(SendError::Network(format!("cannot encrypt: {e}"))))?;
    let sealed = Repr::Sealed { body: &body }
        .to_vec()
        .map_err(|e| Broken::Final(SendError::Network(format!("cannot frame: {e}"))))?;
    conn.session
        .write(&Nbss::SessionMessage { payload: &sealed })
        .await
        .map_err(|e| Broken::Io(e.to_string()))?;
    let inner = read_sealed(conn).await?;
    let net = |what: String| Broken::Final(SendError::Network(what));
    match Repr::parse(&inner) {
        Ok(Repr::Accepted { uuid: u }) if u == uuid => Ok(()),
        Ok(Repr::Accepted { .. }) => Err(net(format!("{host} at {ip} accepted another message"))),
        // It does not trust our key: a matter of keys, as when we do not
        // trust its key (exit code 6), not a refusal of this message.
        Ok(Repr::Refused {
            reason: native::Reason::KeyChanged,
            text,
            ..
        }) => Err(Broken::Final(SendError::Untrusted(format!(
            "{host} at {ip} refused this host's key: {}",
            sanitize_line(text)
        )))),
        Ok(Repr::Refused { reason, text, .. }) => Err(Broken::Final(SendError::Refused(format!(
            "{host} at {ip} refused the message ({reason:?}: {})",
            sanitize_line(text)
        )))),
        Ok(other) => Err(net(format!("{host} at {ip} answered {:?}", other.kind()))),
        Err(e) => Err(net(format!("{host} at {ip} sent a malformed answer: {e}"))),
    }
}

/// Reads the next SEALED frame and opens it.
async fn read_sealed(conn: &mut Conn) -> Result<Vec<u8>, Broken> {
    loop {
        let got = conn
            .session
            .read_frame(ANSWER_TIMEOUT)
            .await
            .map_err(|e| Broken::Io(e.to_string()))?;
        let payload = match Nbss::parse(&got) {
            Ok(Nbss::SessionKeepAlive) => continue,
            Ok(Nbss::SessionMessage { payload }) => payload.to_vec(),
            Ok(other) => return Err(Broken::Io(format!("unexpected {other:?}"))),
            Err(e) => return Err(Broken::Io(format!("malformed frame: {e}"))),
        };
        return match Repr::parse(&payload) {
            Ok(Repr::Sealed { body }) => conn.transport.open(body).map_err(|e| {
                Broken::Final(SendError::Network(format!(
                    "{}'s answer did not decrypt: {e}",
                    conn.host
                )))
            }),
            // Inside the secure session only sealed answers count: a
            // plaintext one could come from anyone on the path.
            Ok(Repr::Refused { text, .. }) => Err(Broken::Final(SendError::Network(format!(
                "{} answered with an unauthenticated plaintext refusal ({}): not believed",
                conn.host,
                sanitize_line(text)
            )))),
            Ok(other) => Err(Broken::Io(format!("unexpected native {:?}", other.kind()))),
            Err(e) => Err(Broken::Io(format!("malformed native answer: {e}"))),
        };
    }
}

/// Opens a session to `to` at `ip` and runs the handshake as initiator.
async fn connect(ctx: &SendContext, to: NetbiosName, ip: Ipv4Addr) -> Result<Conn, Failure> {
    let calling = NetbiosName::truncated(
        ctx.settings.netbios_name.as_bytes(),
        messngr_proto::wire::name::suffix::WORKSTATION,
    );
    let mut session = Session::open(calling, to, ctx.settings.scope(), ip)
        .await
        .map_err(|e| Failure::Final(e.into()))?;
    let fatal = |what: String| Failure::Final(SendError::Network(what));
    let mut hs =
        Handshake::initiator(ctx.secure.host()).map_err(|e| fatal(format!("handshake: {e}")))?;
    let first = hs
        .write(&[])
        .map_err(|e| fatal(format!("handshake: {e}")))?;
    write_native(&mut session, &Repr::Handshake { noise: &first })
        .await
        .map_err(Failure::NotMessngr)?;
    let noise = read_handshake(&mut session).await?;
    let hello = hs
        .read(&noise)
        .map_err(|e| fatal(format!("{to} at {ip}: handshake failed: {e}")))?;
    let hello = Hello::parse(&hello).map_err(|e| fatal(format!("{to} at {ip}: bad HELLO: {e}")))?;
    let key = PublicKey::from_bytes(hello.host_key)
        .map_err(|e| fatal(format!("{to} at {ip}: bad HELLO key: {e}")))?;
    if hs.remote_static() != Some(key.x25519()) {
        return Err(fatal(format!(
            "{to} at {ip}: its HELLO key is not its session key"
        )));
    }
    let host = hello.host.to_ascii_uppercase();
    let called = String::from_utf8_lossy(to.name())
        .trim_end()
        .to_ascii_uppercase();
    if host != called && ctx.secure.trust().pinned(&called).is_some() {
        return Err(Failure::Final(SendError::Untrusted(format!(
            "{ip} answered for {called}, but it is {} ({}): not {called}, whose key is pinned; check who holds the name",
            sanitize_line(&host),
            key.fingerprint()
        ))));
    }
    // A host answering for another name (a user's `ALICE<03>`) is pinned
    // under its own name on first use, as any host that connects to us
    // is: trust on first use lets the first to claim a name have it (the
    // trust file is the answer where that matters).
    ctx.secure
        .trust()
        .admit(
            &host,
            &key,
            std::net::SocketAddr::from((ip, crate::outbound::NBSS_PORT)),
        )
        .map_err(|e| Failure::Final(SendError::Untrusted(e.to_string())))?;
    let last = hs
        .write(ctx.secure.hello())
        .map_err(|e| fatal(format!("handshake: {e}")))?;
    let transport = hs
        .into_transport()
        .map_err(|e| fatal(format!("handshake: {e}")))?;
    write_native(&mut session, &Repr::Handshake { noise: &last })
        .await
        .map_err(|e| fatal(format!("{to} at {ip}: {e}")))?;
    tracing::info!("secure session to {host} at {ip} ({})", key.fingerprint());
    let now = Instant::now();
    Ok(Conn {
        session,
        transport,
        host,
        key,
        opened: now,
        used: now,
    })
}

async fn write_native(session: &mut Session, repr: &Repr<'_>) -> Result<(), String> {
    let frame = repr.to_vec().map_err(|e| format!("cannot encode: {e}"))?;
    session
        .write(&Nbss::SessionMessage { payload: &frame })
        .await
        .map_err(|e| format!("the session broke: {e}"))
}

/// The responder's handshake message; anything else means "not messngr".
async fn read_handshake(session: &mut Session) -> Result<Vec<u8>, Failure> {
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
        return match Repr::parse(payload) {
            Ok(Repr::Handshake { noise }) => Ok(noise.to_vec()),
            // A messngr peer that says no to the session itself: final.
            Ok(Repr::Refused { reason, text, .. }) => {
                Err(Failure::Final(SendError::Refused(format!(
                    "{} refused the message ({reason:?}: {})",
                    session.peer,
                    sanitize_line(text)
                ))))
            }
            Ok(other) => Err(Failure::NotMessngr(format!(
                "it answered {:?}",
                other.kind()
            ))),
            Err(e) => Err(Failure::NotMessngr(format!("malformed answer: {e}"))),
        };
    }
}
