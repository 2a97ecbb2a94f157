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

use snow::Builder;

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
/// (opener) without.
fn handshake(
    me: &Identity,
    to: Option<&PublicKey>,
    context: &[u8],
) -> Result<snow::HandshakeState, SealError> {
    let params = SEALED_PATTERN.parse().map_err(setup)?;
    let private = me.x25519_private();
    let prologue = prologue(context);
    let builder = Builder::new(params)
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
    let mut hs = handshake(me, Some(to), context)?;
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
    let mut hs = handshake(me, None, context)?;
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
}
