//! One native session, receiving side: plaintext (an older messngr node) or
//! a Noise handshake followed by encrypted, signed frames.
//!
//! Why a state machine of its own: what a frame means depends on what came
//! before it — the first frame decides plaintext or secure, the second
//! handshake message must finish the handshake, and after it only SEALED
//! frames may come, each decrypted with the next nonce. The session task
//! (the session module) only moves frames; this decides, counts and answers
//! (docs/native.md, "Secure sessions").

use std::net::SocketAddr;

use messngr_proto::text::sanitize_line;
use messngr_proto::wire::native::{Hello, Reason, Repr};
use messngr_secure::{Handshake, PublicKey, Transport};

use super::{Answer, Origin, accept, answer, refuse};
use crate::intake::InboxSender;
use crate::policy::{Policy, Refusal};
use crate::registry::Registry;
use crate::secure::{Certified, Secure, Untrusted};

/// What a session's frames need.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    /// The names we hold.
    pub(crate) names: &'a Registry,
    /// Rules, limits and counters.
    pub(crate) policy: &'a Policy,
    /// The inbox.
    pub(crate) inbox: &'a InboxSender,
    /// Keys and pins.
    pub(crate) secure: &'a Secure,
    /// The store, for receipts of messages sent from here.
    pub(crate) store: &'a crate::inbox::receipts::Recorder,
}

/// Where the session is.
#[derive(Default)]
enum State {
    /// No frame yet.
    #[default]
    Start,
    /// Plaintext Messages (no handshake came first).
    Plain,
    /// Handshake message 1 read, 2 sent: waiting for 3.
    Responding(Box<Handshake>),
    /// Handshake done: SEALED frames only.
    Open(Box<Open>),
    /// A frame ended the session.
    Closed,
}

/// An established secure session.
struct Open {
    transport: Transport,
    /// The peer host's NetBIOS name, as pinned.
    host: String,
    /// The author certificate checked last in this session.
    certified: Certified,
}

/// The receiving side of one native session.
#[derive(Default)]
pub(crate) struct Channel {
    state: State,
}

impl Channel {
    /// Handles one native frame (the payload of a SESSION MESSAGE).
    pub(crate) async fn frame(&mut self, payload: &[u8], peer: SocketAddr, ctx: Ctx<'_>) -> Answer {
        let outer = match Repr::parse(payload) {
            Ok(r) => r,
            Err(e) => {
                return self.fail(
                    ctx,
                    peer,
                    Refusal::Malformed,
                    format!("malformed native frame: {e}"),
                );
            }
        };
        match (std::mem::take(&mut self.state), outer) {
            (State::Start, Repr::Message(m)) if ctx.secure.require_secure() => {
                ctx.policy.refuse(
                    Refusal::Unverified,
                    peer.ip(),
                    format_args!("plaintext messngr message (require_secure)"),
                );
                self.state = State::Closed;
                refuse(
                    Some(m.uuid),
                    Reason::SecureRequired,
                    "this host accepts only encrypted, signed messages (require_secure): send from a messngr with secure sessions",
                    Some("plaintext messngr session refused (require_secure)".into()),
                )
            }
            (State::Start | State::Plain, Repr::Message(m)) => {
                self.state = State::Plain;
                accept(&m, peer, ctx.names, ctx.policy, ctx.inbox, None).await
            }
            (State::Start, Repr::Handshake { noise }) => self.first(noise, peer, ctx),
            (State::Responding(hs), Repr::Handshake { noise }) => self.last(*hs, noise, peer, ctx),
            (State::Open(open), Repr::Sealed { body }) => self.sealed(*open, body, peer, ctx).await,
            (_, other) => self.fail(
                ctx,
                peer,
                Refusal::Malformed,
                format!("native {:?} out of place", other.kind()),
            ),
        }
    }

    /// Ends the session: counted, logged once (by the policy), answered
    /// with a plaintext Refused when no secure session is open.
    fn fail(&mut self, ctx: Ctx<'_>, peer: SocketAddr, why: Refusal, text: String) -> Answer {
        ctx.policy
            .refuse(why, peer.ip(), format_args!("{}", sanitize_line(&text)));
        self.state = State::Closed;
        refuse(None, Reason::BadMessage, &text, Some(text.clone()))
    }

    /// Handshake message 1 in, message 2 (with our HELLO) out.
    fn first(&mut self, noise: &[u8], peer: SocketAddr, ctx: Ctx<'_>) -> Answer {
        let step = || -> Result<(Handshake, Vec<u8>), messngr_secure::NoiseError> {
            let mut hs = Handshake::responder(ctx.secure.host())?;
            hs.read(noise)?;
            let reply = hs.write(ctx.secure.hello())?;
            Ok((hs, reply))
        };
        match step() {
            Ok((hs, reply)) => {
                self.state = State::Responding(Box::new(hs));
                answer(&Repr::Handshake { noise: &reply }, None)
            }
            Err(e) => self.fail(
                ctx,
                peer,
                Refusal::HandshakeFailed,
                format!("handshake: {e}"),
            ),
        }
    }

    /// Handshake message 3 in: the peer's HELLO, checked against its Noise
    /// static key and its pin. Nothing is answered when all is well.
    fn last(&mut self, mut hs: Handshake, noise: &[u8], peer: SocketAddr, ctx: Ctx<'_>) -> Answer {
        let hello = match hs.read(noise) {
            Ok(p) => p,
            Err(e) => {
                // A replayed session ends here: message 3 was made for
                // another responder ephemeral key.
                return self.fail(
                    ctx,
                    peer,
                    Refusal::HandshakeFailed,
                    format!("handshake: {e}"),
                );
            }
        };
        let checked = Hello::parse(&hello)
            .map_err(|e| format!("handshake HELLO: {e}"))
            .and_then(|h| {
                let key = PublicKey::from_bytes(h.host_key)
                    .map_err(|e| format!("handshake HELLO key: {e}"))?;
                if hs.remote_static() != Some(key.x25519()) {
                    return Err("handshake: the HELLO key is not the session's static key".into());
                }
                Ok((h.host.to_ascii_uppercase(), key))
            });
        let (host, key) = match checked {
            Ok(v) => v,
            Err(why) => return self.fail(ctx, peer, Refusal::HandshakeFailed, why),
        };
        let mut transport = match hs.into_transport() {
            Ok(t) => t,
            Err(e) => {
                return self.fail(
                    ctx,
                    peer,
                    Refusal::HandshakeFailed,
                    format!("handshake: {e}"),
                );
            }
        };
        if let Err(untrusted) = ctx.secure.trust().admit(&host, &key, peer) {
            let (why, reason) = match &untrusted {
                Untrusted::Changed { .. } => (Refusal::KeyChanged, Reason::KeyChanged),
                Untrusted::Unknown { .. }
                | Untrusted::OurName { .. }
                | Untrusted::TooMany { .. } => (Refusal::Untrusted, Reason::Denied),
            };
            ctx.policy.refuse(
                why,
                peer.ip(),
                format_args!("{}", sanitize_line(&untrusted.to_string())),
            );
            self.state = State::Closed;
            let text = format!(
                "{} refuses this host's key: {untrusted}",
                ctx.secure.host_name()
            );
            let inner = refuse(None, reason, &text, None);
            return seal(
                &mut transport,
                inner.reply,
                Some(format!("{host}: {untrusted}")),
            );
        }
        tracing::debug!("secure session from {peer}: {host} ({})", key.fingerprint());
        self.state = State::Open(Box::new(Open {
            transport,
            host,
            certified: None,
        }));
        Answer {
            reply: Vec::new(),
            close: None,
        }
    }

    /// One SEALED frame: decrypted, its inner frame verified and handled,
    /// the answer sealed.
    async fn sealed(
        &mut self,
        mut open: Open,
        body: &[u8],
        peer: SocketAddr,
        ctx: Ctx<'_>,
    ) -> Answer {
        let plain = match open.transport.open(body) {
            Ok(p) => p,
            Err(e) => {
                return self.fail(
                    ctx,
                    peer,
                    Refusal::Tampered,
                    format!("sealed frame from {}: {e}", open.host),
                );
            }
        };
        let inner = match Repr::parse(&plain) {
            Ok(r) => r,
            Err(e) => {
                let text = format!("malformed frame inside the secure session: {e}");
                ctx.policy
                    .refuse(Refusal::Malformed, peer.ip(), format_args!("{text}"));
                self.state = State::Closed;
                let a = refuse(None, Reason::BadMessage, &text, None);
                return seal(&mut open.transport, a.reply, Some(text));
            }
        };
        let answer = match inner {
            Repr::Message(m) => match ctx.secure.verify_cached(&inner, &mut open.certified) {
                Ok(v) if v.host == open.host => {
                    let origin = Origin {
                        verified: v,
                        signed: plain.clone(),
                        relay_group: false,
                        via_relay: false,
                    };
                    accept(&m, peer, ctx.names, ctx.policy, ctx.inbox, Some(origin)).await
                }
                Ok(v) => {
                    let text = format!(
                        "a message by {} arrived from {}: relayed messages are not accepted",
                        v.author, open.host
                    );
                    ctx.policy.refuse(
                        Refusal::Forged,
                        peer.ip(),
                        format_args!("{}", sanitize_line(&text)),
                    );
                    refuse(Some(m.uuid), Reason::BadSignature, &text, None)
                }
                Err(f) => {
                    let text = format!("message from {} refused: {f}", open.host);
                    ctx.policy.refuse(
                        Refusal::Forged,
                        peer.ip(),
                        format_args!("{}", sanitize_line(&text)),
                    );
                    refuse(Some(m.uuid), Reason::BadSignature, &text, None)
                }
            },
            Repr::Receipt(r) => {
                super::receipt::receive(r, &open.host, &mut open.certified, peer, ctx).await
            }
            other => {
                let text = format!("native {:?} inside the secure session", other.kind());
                ctx.policy
                    .refuse(Refusal::Malformed, peer.ip(), format_args!("{text}"));
                refuse(None, Reason::BadMessage, &text, Some(text.clone()))
            }
        };
        let close = answer.close.clone();
        let sealed = seal(&mut open.transport, answer.reply, close.clone());
        self.state = if close.is_some() {
            State::Closed
        } else {
            State::Open(Box::new(open))
        };
        sealed
    }
}

/// `inner`, encoded, as a SEALED frame.
fn seal(transport: &mut Transport, inner: Vec<u8>, close: Option<String>) -> Answer {
    match transport.seal(&inner) {
        Ok(body) => answer(&Repr::Sealed { body: &body }, close),
        Err(e) => Answer {
            reply: Vec::new(),
            close: Some(format!("internal: cannot seal an answer: {e}")),
        },
    }
}
