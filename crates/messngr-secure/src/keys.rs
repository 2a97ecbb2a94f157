//! Ed25519 identities, public keys and fingerprints.
//!
//! One key per host and one per sending account (docs/native.md, "Keys and fingerprints").
//! The host key is also its Noise static key: the X25519 private key is the Ed25519 secret
//! scalar, the X25519 public key the Montgomery form of the Ed25519 public key, so a host has
//! one key and one fingerprint. This module keeps that conversion in one place.

use std::fmt;
use std::str::FromStr;

use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// A key could not be made, loaded or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the system's random number generator failed ({0}); check /dev/urandom and retry")]
    Random(String),
    #[error("{path}: {source}; check the state directory's permissions")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path} is a symbolic link; a key file must be a regular file: remove the link (a new key is made) or put the key file itself there"
    )]
    Symlink { path: String },
    #[error(
        "{path} is not a regular file; remove it (a new key is made) or put the 32-byte key file there"
    )]
    NotRegular { path: String },
    #[error(
        "{path} is {len} bytes, a key file is exactly 32; restore it from a backup or remove it (a new key is made and peers that pinned the old one will refuse this host until they trust the new one)"
    )]
    WrongLength { path: String, len: u64 },
    #[error(
        "{path} has mode {mode:04o}, readable by other users; run `chmod 600 {path}` (and consider the key compromised if others could read it)"
    )]
    Permissions { path: String, mode: u32 },
    #[error("{0:?} is not a valid Ed25519 public key (not a point on the curve)")]
    InvalidPoint(String),
    #[error("{0:?} is not a key; a key is written `ed25519:` followed by 64 lowercase hex digits")]
    BadText(String),
    #[error(
        "{0:?} is not a fingerprint; a fingerprint is 16 base32 letters/digits (a-z, 2-7), e.g. `mfrg-gzdf-mztw-q2lk`"
    )]
    BadFingerprint(String),
}

/// A signature did not verify (or a key in it was unusable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad signature: the data was changed or was not signed by this key")]
pub struct BadSignature;

/// An Ed25519 signing key: a host's or an account's.
#[derive(Clone)]
pub struct Identity {
    key: SigningKey,
}

impl Identity {
    /// A new key from the system's random number generator.
    pub fn generate() -> Result<Identity, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Identity::from_seed(seed))
    }

    /// The key with this 32-byte seed (what a key file holds).
    pub fn from_seed(seed: [u8; 32]) -> Identity {
        Identity {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// The seed, to write a key file.
    pub(crate) fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.key.verifying_key())
    }

    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }

    /// The Noise (X25519) static private key: the unclamped Ed25519 secret scalar, whose
    /// public key is [`PublicKey::x25519`].
    pub(crate) fn x25519_private(&self) -> [u8; 32] {
        self.key.to_scalar_bytes()
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret.
        f.debug_tuple("Identity").field(&self.public()).finish()
    }
}

/// An Ed25519 public key, known to be a valid curve point.
///
/// It keeps the decompressed point next to its 32 bytes: decompressing is a
/// field square root (about 4 µs), paid once in [`PublicKey::from_bytes`]
/// and not again by each [`PublicKey::verify`] with the same key (a
/// receiver keeps its peers' keys for a session). Equality, hashing and
/// order are those of the 32 bytes.
#[derive(Clone, Copy)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Refuses 32 bytes that are not a point on the curve.
    pub fn from_bytes(b: [u8; 32]) -> Result<PublicKey, KeyError> {
        // A small-order key is a key anyone holds: as a Noise static key
        // its Diffie-Hellman proves nothing, and no signature under it is
        // strict. Refused wherever a key is read.
        VerifyingKey::from_bytes(&b)
            .ok()
            .filter(|k| !k.is_weak())
            .map(PublicKey)
            .ok_or_else(|| KeyError::InvalidPoint(hex::encode(b)))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Strict verification (no small-order keys, canonical signatures only).
    pub fn verify(&self, msg: &[u8], sig: &[u8; 64]) -> Result<(), BadSignature> {
        let sig = Signature::from_bytes(sig);
        self.0.verify_strict(msg, &sig).map_err(|_| BadSignature)
    }

    /// The X25519 (Noise static) public key: the Montgomery form of this key.
    pub fn x25519(&self) -> [u8; 32] {
        self.0.to_montgomery().to_bytes()
    }

    pub fn fingerprint(&self) -> Fingerprint {
        let digest = Sha256::digest(self.as_bytes());
        let mut fp = [0u8; 10];
        fp.copy_from_slice(&digest[..10]);
        Fingerprint(fp)
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &PublicKey) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for PublicKey {}

impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &PublicKey) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &PublicKey) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

const KEY_PREFIX: &str = "ed25519:";

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{KEY_PREFIX}{}", hex::encode(self.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    /// `ed25519:` and 64 lowercase hex digits.
    fn from_str(s: &str) -> Result<PublicKey, KeyError> {
        let bad = || KeyError::BadText(s.to_string());
        let digits = s.strip_prefix(KEY_PREFIX).ok_or_else(bad)?;
        if digits.len() != 64 || digits.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad());
        }
        let mut b = [0u8; 32];
        hex::decode_to_slice(digits, &mut b).map_err(|_| bad())?;
        PublicKey::from_bytes(b)
    }
}

/// What people compare: the first 80 bits of SHA-256 of a public key, shown as
/// `abcd-efgh-ijkl-mnop` (base32, lowercase).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 10]);

impl Fingerprint {
    pub fn as_bytes(&self) -> &[u8; 10] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = BASE32_NOPAD.encode(&self.0).to_ascii_lowercase();
        for (i, group) in text.as_bytes().chunks(4).enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            f.write_str(std::str::from_utf8(group).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = KeyError;

    /// With or without the dashes, in either case.
    fn from_str(s: &str) -> Result<Fingerprint, KeyError> {
        let bad = || KeyError::BadFingerprint(s.to_string());
        let letters: String = s.chars().filter(|&c| c != '-').collect();
        if letters.len() != 16 {
            return Err(bad());
        }
        let decoded = BASE32_NOPAD
            .decode(letters.to_ascii_uppercase().as_bytes())
            .map_err(|_| bad())?;
        let fp: [u8; 10] = decoded.try_into().map_err(|_| bad())?;
        Ok(Fingerprint(fp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_a_changed_byte_fails() {
        let id = Identity::from_seed([7; 32]);
        let sig = id.sign(b"hello alice");
        assert_eq!(id.public().verify(b"hello alice", &sig), Ok(()));
        assert_eq!(id.public().verify(b"hello alicf", &sig), Err(BadSignature));
        let mut bad = sig;
        bad[10] ^= 1;
        assert_eq!(id.public().verify(b"hello alice", &bad), Err(BadSignature));
        let other = Identity::from_seed([8; 32]);
        assert_eq!(
            other.public().verify(b"hello alice", &sig),
            Err(BadSignature)
        );
    }

    #[test]
    fn generated_keys_differ() {
        let a = Identity::generate().unwrap();
        let b = Identity::generate().unwrap();
        assert_ne!(a.public(), b.public());
    }

    #[test]
    fn key_text_round_trips_and_refuses_other_forms() {
        let key = Identity::from_seed([1; 32]).public();
        let text = key.to_string();
        assert!(
            text.starts_with("ed25519:") && text.len() == 8 + 64,
            "{text}"
        );
        assert_eq!(text.parse::<PublicKey>().unwrap(), key);
        for bad in [
            &text[8..],
            &text[..70],
            &text.to_uppercase().replace("ED25519", "ed25519"),
            "ed25519:zz",
            "",
        ] {
            let err = bad.parse::<PublicKey>().unwrap_err();
            assert!(err.to_string().contains("64 lowercase hex"), "{bad}: {err}");
        }
    }

    #[test]
    fn from_bytes_refuses_a_non_point() {
        // y = 2 is not on the curve: no x satisfies the equation.
        let mut b = [0u8; 32];
        b[0] = 2;
        assert!(matches!(
            PublicKey::from_bytes(b),
            Err(KeyError::InvalidPoint(_))
        ));
        let good = Identity::from_seed([3; 32]).public();
        assert_eq!(PublicKey::from_bytes(*good.as_bytes()).unwrap(), good);
        // The identity point (y = 1) is on the curve but of small order.
        let mut weak = [0u8; 32];
        weak[0] = 1;
        assert!(matches!(
            PublicKey::from_bytes(weak),
            Err(KeyError::InvalidPoint(_))
        ));
    }

    #[test]
    fn fingerprint_format() {
        let key = Identity::from_seed([1; 32]).public();
        let fp = key.fingerprint();
        let text = fp.to_string();
        assert_eq!(text.len(), 19, "{text}");
        let groups: Vec<&str> = text.split('-').collect();
        assert_eq!(groups.len(), 4);
        for g in groups {
            assert_eq!(g.len(), 4);
            assert!(
                g.bytes()
                    .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)),
                "{text}"
            );
        }
        // The first 10 bytes of SHA-256 of the key, independently computed.
        let digest = Sha256::digest(key.as_bytes());
        assert_eq!(fp.as_bytes(), &digest[..10]);
        // Known answer: the spec's example `mfrg-gzdf-mztw-q2lk` is RFC 4648 base32 of
        // b"abcdefghij" (checked with Python's base64.b32encode).
        assert_eq!(
            Fingerprint(*b"abcdefghij").to_string(),
            "mfrg-gzdf-mztw-q2lk"
        );
        assert_eq!(text.parse::<Fingerprint>().unwrap(), fp);
        assert_eq!(text.replace('-', "").parse::<Fingerprint>().unwrap(), fp);
        assert_eq!(text.to_uppercase().parse::<Fingerprint>().unwrap(), fp);
        for bad in [
            "",
            "mfrg-gzdf-mztw",
            "mfrg-gzdf-mztw-q2l1",
            "mfrg-gzdf-mztw-q2lkq",
        ] {
            let err = bad.parse::<Fingerprint>().unwrap_err();
            assert!(err.to_string().contains("16 base32"), "{bad}: {err}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let id = Identity::from_seed([9; 32]);
        let shown = format!("{id:?}");
        assert!(!shown.contains(&hex::encode(id.seed())));
        assert!(shown.contains(&hex::encode(id.public().as_bytes())));
    }
}
