//! The `[secure]` table: keys, trust and what must be verified.
//!
//! Why its own file: the secure channel has its own keys with their own
//! defaults and reasons, and `config.rs` is edited by every part of the
//! daemon. What the keys do is `crate::secure`'s business (keys, pins,
//! Noise sessions) and `crate::policy`'s (refusing unverified senders).

use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;
use crate::policy::{NamePatterns, NetList};

/// The admin's trust file, read when it exists.
pub const DEFAULT_TRUST_FILE: &str = "/etc/messngr/trust";

/// How a host's key comes to be trusted.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TrustMode {
    /// Trust on first use: an unknown host's key is pinned at first contact.
    #[default]
    Tofu,
    /// Only keys from `trust_file` or `messngr trust add`.
    File,
}

/// `[secure]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Secure {
    /// `"tofu"` (default) or `"file"`.
    pub trust: Option<TrustMode>,
    /// The admin-distributed pins (`NAME ed25519:HEX` per line).
    pub trust_file: Option<PathBuf>,
    /// Never send plain text (native or SMB), and refuse plaintext messngr
    /// frames (default false: legacy peers keep working).
    pub require_secure: Option<bool>,
    /// Sources (CIDRs, addresses, `"lan"`) whose messages must be signed.
    #[serde(default)]
    pub require_verified_from: Vec<String>,
    /// Sender names (globs) that must be signed: no legacy message may
    /// claim them.
    #[serde(default)]
    pub require_verified_names: Vec<String>,
    /// Verified senders (`user@HOST` globs) whose `urgent` stays urgent;
    /// anyone else's urgent message is stored as normal (default
    /// `["root@*"]`: the admins of trusted hosts).
    pub urgent_senders: Option<Vec<String>>,
}

/// Who may send urgent messages across the network by default.
pub const DEFAULT_URGENT_SENDERS: &[&str] = &["root@*"];

impl Secure {
    /// The trust mode in force.
    pub fn trust(&self) -> TrustMode {
        self.trust.unwrap_or_default()
    }

    /// The admin's trust file.
    pub fn trust_file(&self) -> PathBuf {
        self.trust_file
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_TRUST_FILE))
    }

    /// Whether plain text is forbidden.
    pub fn require_secure(&self) -> bool {
        self.require_secure.unwrap_or(false)
    }

    /// `require_verified_from`, parsed.
    pub fn require_verified_from(&self) -> Result<NetList, ConfigError> {
        super::nets("secure.require_verified_from", &self.require_verified_from)
    }

    /// `require_verified_names`, parsed.
    pub fn require_verified_names(&self) -> Result<NamePatterns, ConfigError> {
        super::patterns(
            "secure.require_verified_names",
            &self.require_verified_names,
        )
    }

    /// `urgent_senders`, parsed.
    pub fn urgent_senders(&self) -> Result<NamePatterns, ConfigError> {
        let values: Vec<String> = match &self.urgent_senders {
            Some(v) => v.clone(),
            None => DEFAULT_URGENT_SENDERS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        };
        super::patterns("secure.urgent_senders", &values)
    }

    /// Checks the values that can be wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.urgent_senders()?;
        self.require_verified_from()?;
        self.require_verified_names()?;
        if self.trust_file.as_ref().is_some_and(|p| !p.is_absolute()) {
            return Err(ConfigError::Invalid {
                key: "secure.trust_file",
                message: "give an absolute path, e.g. /etc/messngr/trust".into(),
            });
        }
        Ok(())
    }
}
