//! Sealed envelopes: one message to one host's key, for a relay to carry
//! without reading it (the NATS relay between sites, docs/relay.md).
//!
//! Why Noise X and not the session's XX: the receiver may be offline, so
//! there is no round trip; X is Noise's one-way pattern for a sender that
//! knows the receiver's static key and sends its own, encrypted and
//! authenticated (`e, es, s, ss`). One handshake message is the whole
//! envelope. The receiver learns the sender's host key from it, which must
//! be the key of the host that signed the inner frame.
//!
//! `context` is bound into the handshake's prologue: the envelope opens
//! only under the same context (the relay passes the subject it was
//! published on), so a relay cannot move an envelope from one recipient's
//! queue to another's, even between two queues of the same host.
//!
//! The static-static Diffie-Hellman (`ss`) of two hosts is computed once
//! per pair (`dh_cache`): the bytes are Noise X's, with half the X25519.

use snow::Builder;

use crate::dh_cache::Resolver;
use crate::keys::{Identity, PublicKey};

/// The pattern.
pub const SEALED_PATTERN: &str = "Noise_X_25519_ChaChaPoly_BLAKE2s";
/// The largest payload one envelope carries (a Noise message is at most
/// 65535 bytes; X's handshake takes 96 of them, the payload's tag 16).
pub const MAX_SEALED: usize = 65535 - 96 - 16;
const PROLOGUE: &[u8] = b"messngr sealed 1\0";

/// Why an envelope was not made or not opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("{len} bytes is more than a sealed envelope carries ({MAX_SEALED})")]
    TooLarge { len: usize },
    #[error(
        "the envelope does not open: not sealed to this host's key, for another queue, or changed on the way"
    )]
    Opaque,
    #[error("could not set up Noise ({0}); this is a bug in messngr, please report it")]
    Setup(String),
}

fn prologue(context: &[u8]) -> Vec<u8> {
    let mut p = PROLOGUE.to_vec();
    p.extend_from_slice(context);
    p
}

fn setup(e: snow::Error) -> SealError {
    SealError::Setup(e.to_string())
}

/// The one X handshake: `me`'s static key, the context in the prologue;
/// the initiator (sealer) with the recipient's key `to`, the responder
/// (opener) without, of the envelope whose ephemeral key is `ephemeral`.
fn handshake(
    me: &Identity,
    to: Option<&PublicKey>,
    ephemeral: Option<[u8; 32]>,
    context: &[u8],
) -> Result<snow::HandshakeState, SealError> {
    let params = SEALED_PATTERN.parse().map_err(setup)?;
    let private = me.x25519_private();
    let prologue = prologue(context);
    let builder = Builder::with_resolver(params, Box::new(Resolver::new(ephemeral)))
        .local_private_key(&private)
        .map_err(setup)?
        .prologue(&prologue)
        .map_err(setup)?;
    match to {
        Some(to) => builder
            .remote_public_key(&to.x25519())
            .map_err(setup)?
            .build_initiator(),
        None => builder.build_responder(),
    }
    .map_err(setup)
}

/// Seals `payload` from `me` to the host whose key is `to`, bound to
/// `context`.
pub fn seal(
    me: &Identity,
    to: &PublicKey,
    context: &[u8],
    payload: &[u8],
) -> Result<Vec<u8>, SealError> {
    if payload.len() > MAX_SEALED {
        return Err(SealError::TooLarge { len: payload.len() });
    }
    let mut hs = handshake(me, Some(to), None, context)?;
    let mut out = vec![0u8; payload.len() + 96 + 16];
    let n = hs.write_message(payload, &mut out).map_err(setup)?;
    out.truncate(n);
    Ok(out)
}

/// Opens an envelope sealed to `me` under `context`: the sender's X25519
/// key (compare it with [`PublicKey::x25519`] of the key expected) and the
/// payload.
pub fn open(
    me: &Identity,
    context: &[u8],
    envelope: &[u8],
) -> Result<([u8; 32], Vec<u8>), SealError> {
    if envelope.len() > MAX_SEALED + 96 + 16 {
        return Err(SealError::TooLarge {
            len: envelope.len(),
        });
    }
    // X's first 32 bytes are the sender's ephemeral key, in the clear.
    let ephemeral = envelope.get(..32).and_then(|e| e.try_into().ok());
    let mut hs = handshake(me, None, ephemeral, context)?;
    let mut out = vec![0u8; envelope.len()];
    let n = hs
        .read_message(envelope, &mut out)
        .map_err(|_| SealError::Opaque)?;
    out.truncate(n);
    let sender: [u8; 32] = hs
        .get_remote_static()
        .and_then(|k| k.try_into().ok())
        .ok_or(SealError::Opaque)?;
    Ok((sender, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_recipient_opens_it_under_the_same_context_and_learns_the_sender() {
        let alice = Identity::generate().unwrap();
        let bob = Identity::generate().unwrap();
        let eve = Identity::generate().unwrap();
        let env = seal(&alice, &bob.public(), b"messngr.mail.H2", b"hello").unwrap();
        assert!(!env.windows(5).any(|w| w == b"hello"));
        let (from, text) = open(&bob, b"messngr.mail.H2", &env).unwrap();
        assert_eq!(text, b"hello");
        assert_eq!(from, alice.public().x25519());
        assert!(matches!(
            open(&eve, b"messngr.mail.H2", &env),
            Err(SealError::Opaque)
        ));
        assert!(matches!(
            open(&bob, b"messngr.mail.H3", &env),
            Err(SealError::Opaque)
        ));
        let mut changed = env.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        assert!(open(&bob, b"messngr.mail.H2", &changed).is_err());
        assert!(matches!(
            seal(&alice, &bob.public(), b"x", &vec![0; MAX_SEALED + 1]),
            Err(SealError::TooLarge { .. })
        ));
        let big = seal(&alice, &bob.public(), b"x", &vec![7; MAX_SEALED]).unwrap();
        assert_eq!(open(&bob, b"x", &big).unwrap().1.len(), MAX_SEALED);
    }

    /// snow's own X, without the remembered `ss`: what any Noise
    /// implementation of the pattern does.
    fn plain(me: &Identity, to: Option<&PublicKey>, context: &[u8]) -> snow::HandshakeState {
        let (private, prologue) = (me.x25519_private(), prologue(context));
        let b = Builder::new(SEALED_PATTERN.parse().unwrap())
            .local_private_key(&private)
            .unwrap()
            .prologue(&prologue)
            .unwrap();
        let to = to.map(PublicKey::x25519);
        match &to {
            Some(to) => b.remote_public_key(to).unwrap().build_initiator(),
            None => b.build_responder(),
        }
        .unwrap()
    }

    #[test]
    fn envelopes_are_noise_x_whether_the_pair_is_remembered_or_not() {
        let alice = Identity::generate().unwrap();
        let bob = Identity::generate().unwrap();
        let mut buf = vec![0u8; 1024];
        // Twice each way: the second time, both ends remember the pair.
        for round in 0..2 {
            // Ours sealed, plain Noise opens.
            let env = seal(&alice, &bob.public(), b"ctx", b"to plain").unwrap();
            let n = plain(&bob, None, b"ctx")
                .read_message(&env, &mut buf)
                .unwrap();
            assert_eq!(&buf[..n], b"to plain", "round {round}");
            // Plain Noise sealed, ours opens.
            let mut hs = plain(&alice, Some(&bob.public()), b"ctx");
            let n = hs.write_message(b"from plain", &mut buf).unwrap();
            let (from, text) = open(&bob, b"ctx", &buf[..n]).unwrap();
            assert_eq!(
                (from, text.as_slice()),
                (alice.public().x25519(), &b"from plain"[..])
            );
        }
    }

    #[test]
    fn only_static_pairs_are_remembered_and_each_pair_apart() {
        let alice = Identity::generate().unwrap();
        let bob = Identity::generate().unwrap();
        let eve = Identity::generate().unwrap();
        let (a, b, e) = (
            alice.public().x25519(),
            bob.public().x25519(),
            eve.public().x25519(),
        );
        let env = seal(&alice, &bob.public(), b"c", b"hi").unwrap();
        let ephemeral: [u8; 32] = env[..32].try_into().unwrap();
        assert!(crate::dh_cache::remembered(a, b));
        assert!(!crate::dh_cache::remembered(ephemeral, b));
        assert_eq!(open(&bob, b"c", &env).unwrap().0, a);
        assert!(crate::dh_cache::remembered(b, a));
        // The opener's DH with the envelope's ephemeral key is not kept.
        assert!(!crate::dh_cache::remembered(b, ephemeral));
        // Another sender to the same host: its own pair, found as its own.
        let env = seal(&eve, &bob.public(), b"c", b"me").unwrap();
        assert_eq!(open(&bob, b"c", &env).unwrap(), (e, b"me".to_vec()));
        let env = seal(&alice, &bob.public(), b"c", b"again").unwrap();
        assert_eq!(open(&bob, b"c", &env).unwrap(), (a, b"again".to_vec()));
        // Remembered or not, only the recipient opens it.
        assert!(matches!(open(&eve, b"c", &env), Err(SealError::Opaque)));
    }
}
