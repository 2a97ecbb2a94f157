//! Keys and trust: `messngr trust list|show|add|remove|export`.
//!
//! Why in the API: the daemon holds the keys and the pins (an account
//! never reads a key file), and every client must show a pin the same way:
//! the host's NetBIOS name, the whole key (`ed25519:` and 64 hex digits)
//! and the fingerprint people read aloud (`mfrg-gzdf-mztw-q2lk`).

use serde::{Deserialize, Serialize};

/// Every pinned host key: the admin's trust file and the daemon's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustList {}

/// One pin, or (without a name) this host's own key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustShow {
    /// A host's NetBIOS name; `None`: this host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Pin `name` to `key` by hand (root only): the way to trust a
/// host without trust on first use, or to accept a key that changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustAdd {
    /// The host's NetBIOS name.
    pub name: String,
    /// `ed25519:` and 64 hex digits, as `messngr trust show` prints it on
    /// that host.
    pub key: String,
}

/// Forget the daemon's own pin of `name` (root only); the next
/// contact pins the key it meets (under `trust = "tofu"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustRemove {
    /// The host's NetBIOS name.
    pub name: String,
}

/// Every pin in the trust file format (`NAME ed25519:HEX`), for an
/// admin to distribute as `trust_file`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustExport {}

/// A pinned key, or this host's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinView {
    /// The host's NetBIOS name.
    pub name: String,
    /// `ed25519:` and 64 lowercase hex digits.
    pub key: String,
    /// Short enough to read aloud: `mfrg-gzdf-mztw-q2lk`.
    pub fingerprint: String,
    /// `tofu` (pinned at first contact), `manual` (`messngr trust add`),
    /// `file` (the admin's trust file) or `self` (this host).
    pub source: String,
    /// When it was pinned, Unix ms (`None` for the trust file and self).
    #[serde(default)]
    pub first_seen_ms: Option<i64>,
}

/// A host that showed another key than its pin: refused, and kept here so
/// that `messngr status` says so until an admin acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyChangeView {
    /// The host's NetBIOS name.
    pub name: String,
    /// The pinned key's fingerprint.
    pub pinned: String,
    /// The fingerprint of the key it offered.
    pub offered: String,
    /// Where it came from (`10.0.0.7:40000`).
    pub address: String,
    /// How many times, and when last (Unix ms).
    pub count: u64,
    /// When it was last seen, Unix ms.
    pub last_ms: i64,
}
