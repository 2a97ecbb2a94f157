//! The secure channel of issue #11 as a library: Ed25519 identities and key files,
//! fingerprints, user-key certificates, sans-IO Noise XX sessions and SEALED bodies, and the
//! trust pins with their text formats (docs/native.md, "Secure sessions").
//!
//! It works on bytes: the wire fields and frames are messngr-proto's, the sockets and files
//! (other than key files) the daemon's.
// Peer bytes and key files must never panic the daemon: no unwrap/expect outside tests.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod cert;
mod dh_cache;
mod keyfile;
mod keys;
mod noise;
mod sealed;
mod trust;

pub use cert::{certify, check_cert};
pub use keys::{BadSignature, Fingerprint, Identity, KeyError, PublicKey};
pub use noise::{Handshake, MAX_PLAINTEXT, NoiseError, PATTERN, PROLOGUE, Transport};
pub use sealed::{MAX_SEALED, SEALED_PATTERN, SealError, open, seal};
pub use trust::{Pin, PinSource, Pins, TrustError, Verdict, check, host_name};
