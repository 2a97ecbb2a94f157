//! Signing what a local account sends, and checking what arrives signed.
//!
//! Why apart from the session code: a signature outlives its session — it
//! is stored with the message and checked again after a relay — so the
//! rule is one function over a parsed frame: the author's host key is that
//! host's pin, the host certified the author's key, the author signed the
//! frame (docs/native.md, "Signed messages").

use messngr_proto::wire::native::{self, Repr};
use messngr_secure::{Identity, PublicKey};

use super::Secure;

/// A local account's signing key, certified by this host.
pub(crate) struct Signer {
    author: String,
    host_name: String,
    key: Identity,
    author_key: [u8; 32],
    host_key: [u8; 32],
    cert: [u8; 64],
}

impl Signer {
    pub(super) fn new(host: &Identity, host_name: &str, author: String, key: Identity) -> Signer {
        let author_key = key.public();
        let cert = messngr_secure::certify(host, host_name, &author, &author_key);
        Signer {
            author,
            host_name: host_name.to_owned(),
            author_key: *author_key.as_bytes(),
            host_key: *host.public().as_bytes(),
            cert,
            key,
        }
    }

    /// The six signer fields, for a frame.
    pub(crate) fn fields(&self) -> native::Signer<'_> {
        native::Signer {
            author: &self.author,
            host: &self.host_name,
            author_key: self.author_key,
            host_key: self.host_key,
            cert: self.cert,
        }
    }

    /// Signs `repr` (which carries [`Signer::fields`] and no signature).
    pub(crate) fn sign(&self, repr: &Repr<'_>) -> Result<[u8; 64], messngr_proto::wire::Error> {
        Ok(self.key.sign(&repr.signed_bytes()?))
    }
}

/// Who a verified frame is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verified {
    /// `alice@H2`.
    pub(crate) author: String,
    /// The author's host, upper case.
    pub(crate) host: String,
    /// The author key's fingerprint.
    pub(crate) fingerprint: String,
    /// The host's pin was vetted by an admin (trust file or `trust add`).
    pub(crate) vetted: bool,
}

/// Why a signed frame is not believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Forged {
    /// No signature where one is required.
    #[error("the message is not signed")]
    Unsigned,
    /// The author's host has no pin.
    #[error("its author's host {0} has no pinned key")]
    UnknownHost(String),
    /// The host key in the frame is not the host's pin.
    #[error("it names {0} as its author's host, but carries another key than {0}'s pin")]
    HostKey(String),
    /// The host did not certify the author's key.
    #[error("its author's key is not certified by {0}")]
    Cert(String),
    /// The signature does not verify.
    #[error("its signature does not verify")]
    Signature,
    /// AUTHOR or HOST is not a plain name.
    #[error("its author or host name has characters a name may not have")]
    Name,
    /// FROM is not the author's host.
    #[error("its FROM is not its author's host")]
    From,
    /// The frame cannot be signed (a kind without signatures).
    #[error("a {0:?} frame carries no signature")]
    Kind(native::Kind),
}

/// The certificate a session checked last. A session's messages come from
/// a few accounts; the certificate of each is one more Ed25519 check, done
/// again only when it changes. The author key is kept decompressed and its
/// fingerprint computed, so that a message by the same author costs its
/// own signature check and nothing else.
pub(crate) type Certified = Option<CertifiedAuthor>;

/// What [`Certified`] holds: the signer fields a certificate check passed,
/// and what was derived from them.
#[derive(Clone)]
pub(crate) struct CertifiedAuthor {
    host: String,
    host_key: [u8; 32],
    author: String,
    author_key: PublicKey,
    cert: [u8; 64],
    fingerprint: String,
}

impl CertifiedAuthor {
    /// The host (as signed) and account it certifies.
    pub(crate) fn who(&self) -> (&str, &str) {
        (&self.host, &self.author)
    }

    /// Whether `signer` carries exactly the fields checked.
    fn is(&self, signer: &native::Signer<'_>) -> bool {
        self.host_key == signer.host_key
            && self.host == signer.host
            && self.author == signer.author
            && self.author_key.as_bytes() == &signer.author_key
            && self.cert == signer.cert
    }
}

/// An account name people can read unambiguously: POSIX portable
/// characters (letters, digits, `.`, `_`, `-`), not starting with `-`.
fn is_account_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl Secure {
    /// Checks the signature of a Message or Receipt against the pins (a
    /// stored or relayed frame, outside any session).
    #[cfg(test)]
    pub(crate) fn verify(&self, repr: &Repr<'_>) -> Result<Verified, Forged> {
        self.verify_cached(repr, &mut None)
    }

    /// [`Secure::verify`], skipping the certificate check when it is the
    /// one `certified` holds (checked earlier in the same session); the
    /// pin and the message's own signature are checked every time.
    pub(crate) fn verify_cached(
        &self,
        repr: &Repr<'_>,
        certified: &mut Certified,
    ) -> Result<Verified, Forged> {
        let (signer, signature) = match repr {
            Repr::Message(m) => match (&m.signer, &m.signature) {
                (Some(s), Some(sig)) => (s, sig),
                _ => return Err(Forged::Unsigned),
            },
            Repr::Receipt(r) => (&r.signer, &r.signature),
            other => return Err(Forged::Kind(other.kind())),
        };
        // Names people read as `author@HOST`: an account name of portable
        // characters, a host name without `@`, so that neither can pass for
        // another (`root@H1@X`, padding, look-alikes).
        if !is_account_name(signer.author) || signer.host.contains('@') {
            return Err(Forged::Name);
        }
        // A message's FROM is its author's host (what messngr sends), so
        // that no signed message shows another sender's name; except a
        // gateway's forward (VOUCHED), whose FROM is the legacy sender's
        // word and which is stored unverified (`native::accept`).
        if let Repr::Message(m) = repr
            && m.vouched.is_none()
            && !m.from.trim().eq_ignore_ascii_case(signer.host)
        {
            return Err(Forged::From);
        }
        let host = signer.host.to_ascii_uppercase();
        let pinned = self
            .trust()
            .pinned(&host)
            .ok_or_else(|| Forged::UnknownHost(host.clone()))?;
        if pinned.as_bytes() != &signer.host_key {
            return Err(Forged::HostKey(host));
        }
        let cached = certified.as_ref().filter(|c| c.is(signer));
        let (author_key, fingerprint) = match cached {
            Some(c) => (c.author_key, c.fingerprint.clone()),
            None => {
                let author_key = PublicKey::from_bytes(signer.author_key)
                    .map_err(|_| Forged::Cert(host.clone()))?;
                messngr_secure::check_cert(
                    &pinned,
                    signer.host,
                    signer.author,
                    &author_key,
                    &signer.cert,
                )
                .map_err(|_| Forged::Cert(host.clone()))?;
                let fingerprint = author_key.fingerprint().to_string();
                *certified = Some(CertifiedAuthor {
                    host: signer.host.to_owned(),
                    host_key: signer.host_key,
                    author: signer.author.to_owned(),
                    author_key,
                    cert: signer.cert,
                    fingerprint: fingerprint.clone(),
                });
                (author_key, fingerprint)
            }
        };
        let bytes = repr.signed_bytes().map_err(|_| Forged::Signature)?;
        author_key
            .verify(&bytes, signature)
            .map_err(|_| Forged::Signature)?;
        Ok(Verified {
            author: format!("{}@{host}", signer.author),
            vetted: self.trust().vetted(&host),
            host,
            fingerprint,
        })
    }
}
