//! User-key certificates: a host's signature binding an account's key to the account and host.
//!
//! Peers pin hosts, not accounts; the certificate is how a receiver that trusts a host's key
//! learns which key speaks for `alice` on that host (docs/native.md, "Keys and fingerprints").

use crate::keys::{BadSignature, Identity, PublicKey};

const CONTEXT: &[u8] = b"messngr user key v1\0";

/// The signed bytes: context || u8 len || host_name || u8 len || author || author_key.
/// Names longer than 255 bytes cannot be certified (the wire allows 15 and 64).
fn signed_bytes(host_name: &str, author: &str, author_key: &PublicKey) -> Option<Vec<u8>> {
    let host_len = u8::try_from(host_name.len()).ok()?;
    let author_len = u8::try_from(author.len()).ok()?;
    let mut out = Vec::with_capacity(CONTEXT.len() + 2 + host_name.len() + author.len() + 32);
    out.extend_from_slice(CONTEXT);
    out.push(host_len);
    out.extend_from_slice(host_name.as_bytes());
    out.push(author_len);
    out.extend_from_slice(author.as_bytes());
    out.extend_from_slice(author_key.as_bytes());
    Some(out)
}

/// The host's certificate for `author`'s key. A name over 255 bytes gets an all-zero
/// certificate, which never verifies (callers validate names long before this).
pub fn certify(host: &Identity, host_name: &str, author: &str, author_key: &PublicKey) -> [u8; 64] {
    match signed_bytes(host_name, author, author_key) {
        Some(bytes) => host.sign(&bytes),
        None => [0; 64],
    }
}

/// Whether `cert` is `host_key`'s certificate of `author_key` for `author` on `host_name`.
pub fn check_cert(
    host_key: &PublicKey,
    host_name: &str,
    author: &str,
    author_key: &PublicKey,
    cert: &[u8; 64],
) -> Result<(), BadSignature> {
    let bytes = signed_bytes(host_name, author, author_key).ok_or(BadSignature)?;
    host_key.verify(&bytes, cert)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cert_binds_host_name_author_and_key() {
        let host = Identity::from_seed([1; 32]);
        let alice = Identity::from_seed([2; 32]).public();
        let bob = Identity::from_seed([3; 32]).public();
        let cert = certify(&host, "PC1", "alice", &alice);
        let hk = host.public();
        assert_eq!(check_cert(&hk, "PC1", "alice", &alice, &cert), Ok(()));
        assert_eq!(
            check_cert(&hk, "PC2", "alice", &alice, &cert),
            Err(BadSignature)
        );
        assert_eq!(
            check_cert(&hk, "PC1", "alicf", &alice, &cert),
            Err(BadSignature)
        );
        assert_eq!(
            check_cert(&hk, "PC1", "alice", &bob, &cert),
            Err(BadSignature)
        );
        let other_host = Identity::from_seed([4; 32]).public();
        assert_eq!(
            check_cert(&other_host, "PC1", "alice", &alice, &cert),
            Err(BadSignature)
        );
        let mut bad = cert;
        bad[63] ^= 0x40;
        assert_eq!(
            check_cert(&hk, "PC1", "alice", &alice, &bad),
            Err(BadSignature)
        );
        // The length prefixes keep the boundary between host and author fixed.
        let cert2 = certify(&host, "PC1a", "lice", &alice);
        assert_eq!(
            check_cert(&hk, "PC1", "alice", &alice, &cert2),
            Err(BadSignature)
        );
    }

    #[test]
    fn signed_bytes_are_the_documented_layout() {
        let key = Identity::from_seed([5; 32]).public();
        let bytes = signed_bytes("PC1", "al", &key).unwrap();
        let mut want = b"messngr user key v1\0".to_vec();
        want.extend_from_slice(b"\x03PC1\x02al");
        want.extend_from_slice(key.as_bytes());
        assert_eq!(bytes, want);
        assert!(signed_bytes(&"x".repeat(256), "al", &key).is_none());
    }

    #[test]
    fn overlong_names_never_verify() {
        let host = Identity::from_seed([1; 32]);
        let key = Identity::from_seed([2; 32]).public();
        let long = "x".repeat(300);
        let cert = certify(&host, &long, "alice", &key);
        assert_eq!(
            check_cert(&host.public(), &long, "alice", &key, &cert),
            Err(BadSignature)
        );
    }
}
