//! What `native-load` puts on the wire, without the sockets: plaintext
//! native Message frames (an older messngr's), and the secure side — the
//! bench's host identity, its HELLO, the certified user key, the initiator's
//! half of the Noise XX handshake, and signed Message frames sealed into
//! SEALED ones.
//!
//! Why apart from the connection: this is what must match the daemon's
//! sender (crates/messngr-daemon/src/send/secure.rs) byte for byte in
//! meaning, and it can be checked in-process against messngr-secure's
//! responder (see the tests) without a receiver.

use std::path::Path;

use anyhow::{Context, Result};
use messngr_proto::wire::Emit;
use messngr_proto::wire::native::{Hello, Message, Priority, Repr, Signer};
use messngr_secure::{Handshake, Identity, PublicKey, Transport};

/// The account whose key signs every secure message.
pub(crate) const AUTHOR: &str = "bench";

/// The bench host: its key (the Noise static key and the certifier of the
/// user key), its name, and the user key with its certificate.
pub struct BenchHost {
    host: Identity,
    name: String,
    user: Identity,
    user_key: [u8; 32],
    host_key: [u8; 32],
    cert: [u8; 64],
    hello: Vec<u8>,
}

impl BenchHost {
    /// `name` (a NetBIOS host name) with the host key in `key_file` (made
    /// when missing, so that every run of a benchmark is the same host to
    /// the receiver, which pins it on first contact), or a new one.
    pub fn new(name: &str, key_file: Option<&Path>) -> Result<BenchHost> {
        let host = match key_file {
            Some(p) => {
                Identity::load_or_create(p).with_context(|| format!("host key {}", p.display()))?
            }
            None => Identity::generate().context("no host key")?,
        };
        let user = Identity::generate().context("no user key")?;
        Ok(BenchHost::from_keys(name, host, user))
    }

    /// The bench host from given keys (tests).
    pub(crate) fn from_keys(name: &str, host: Identity, user: Identity) -> BenchHost {
        let name = name.to_ascii_uppercase();
        let user_pub = user.public();
        let cert = messngr_secure::certify(&host, &name, AUTHOR, &user_pub);
        let host_key = *host.public().as_bytes();
        let hello = Hello {
            host: &name,
            host_key,
        }
        .to_vec()
        .unwrap_or_default();
        BenchHost {
            user_key: *user_pub.as_bytes(),
            host_key,
            cert,
            hello,
            host,
            name,
            user,
        }
    }

    /// The host name (upper case), as in HELLO and the signer fields.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host key.
    pub fn public(&self) -> PublicKey {
        self.host.public()
    }

    /// Starts a handshake as initiator: the state, and message 1 as a
    /// native HANDSHAKE frame.
    pub(crate) fn handshake(&self) -> Result<(Handshake, Vec<u8>)> {
        let mut hs = Handshake::initiator(&self.host)?;
        let first = hs.write(&[])?;
        Ok((hs, Repr::Handshake { noise: &first }.to_vec()?))
    }

    /// Finishes the handshake with the responder's native frame (message 2,
    /// with its HELLO): the receiver's host name, message 3 (with our
    /// HELLO) as a native frame, and the transport.
    pub(crate) fn finish(
        &self,
        mut hs: Handshake,
        answer: &[u8],
    ) -> Result<(String, Vec<u8>, Transport)> {
        let noise = match Repr::parse(answer).context("handshake answer")? {
            Repr::Handshake { noise } => noise,
            Repr::Refused { text, .. } => anyhow::bail!("handshake refused: {text}"),
            other => anyhow::bail!("handshake answered with {:?}", other.kind()),
        };
        let hello = hs.read(noise).context("handshake")?;
        let hello = Hello::parse(&hello).context("receiver's HELLO")?;
        let key = PublicKey::from_bytes(hello.host_key).context("receiver's HELLO key")?;
        anyhow::ensure!(
            hs.remote_static() == Some(key.x25519()),
            "the receiver's HELLO key is not its session key"
        );
        let last = hs.write(&self.hello)?;
        let frame = Repr::Handshake { noise: &last }.to_vec()?;
        Ok((hello.host.to_owned(), frame, hs.into_transport()?))
    }

    /// A Message frame from this host to `to`: signed by the user key when
    /// `signed` (as `messngr send` signs), else plaintext and unsigned.
    pub(crate) fn message(
        &self,
        uuid: [u8; 16],
        to: &str,
        text: &str,
        signed: bool,
    ) -> Result<Vec<u8>> {
        let mut m = Message {
            uuid,
            sent_at: None,
            from: &self.name,
            to,
            text,
            priority: Priority::Normal,
            popup_secs: None,
            signer: signed.then_some(Signer {
                author: AUTHOR,
                host: &self.name,
                author_key: self.user_key,
                host_key: self.host_key,
                cert: self.cert,
            }),
            signature: None,
            replaces: None,
            retract: false,
            alert: None,
            expires_at: None,
            vouched: None,
        };
        if signed {
            m.signature = Some(self.user.sign(&Repr::Message(m).signed_bytes()?));
        }
        Ok(Repr::Message(m).to_vec()?)
    }
}

/// `frame` sealed into a SEALED frame.
pub(crate) fn seal(transport: &mut Transport, frame: &[u8]) -> Result<Vec<u8>> {
    let body = transport.seal(frame)?;
    Ok(Repr::Sealed { body: &body }.to_vec()?)
}

/// What the receiver answered a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Accepted (stored) the message with this uuid.
    Accepted([u8; 16]),
    /// Refused, with the receiver's reason text.
    Refused(String),
}

/// Reads the receiver's answer: a native frame, opened first when `transport`
/// is given (a secure session answers SEALED, except a plaintext Refused when
/// it fails before the session is open).
pub(crate) fn answer(payload: &[u8], transport: Option<&mut Transport>) -> Result<Answer> {
    let opened;
    let inner = match (Repr::parse(payload).context("answer")?, transport) {
        (Repr::Sealed { body }, Some(t)) => {
            opened = t.open(body).context("sealed answer")?;
            Repr::parse(&opened).context("sealed answer")?
        }
        (other, _) => other,
    };
    match inner {
        Repr::Accepted { uuid } => Ok(Answer::Accepted(uuid)),
        Repr::Refused { reason, text, .. } => Ok(Answer::Refused(format!("{reason:?}: {text}"))),
        other => anyhow::bail!("answered with {:?}", other.kind()),
    }
}
