//! What a refused or failed request says: a kind a program can act on and
//! one line a person can.
//!
//! The kinds are the API's contract; the CLI turns them into its exit
//! codes (`not_found` → 1, `refused` on a send → 4, …), so a kind is never
//! renamed.

use serde::{Deserialize, Serialize};

/// Why a request did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request was malformed, too long, unknown, or its values are out
    /// of range.
    BadRequest,
    /// A NetBIOS name in the request is not one (too long, bad characters).
    BadName,
    /// No such message, name or host (also: someone else's message).
    NotFound,
    /// The caller may not do this (e.g. only root changes names).
    Denied,
    /// Another node holds the name.
    Conflict,
    /// The receiver refused the message.
    Refused,
    /// The network failed: no connection, no answer.
    Network,
    /// A host's key does not match its pin (or has none under `trust =
    /// "file"`), or plain text was forbidden (`--secure`, `require_secure`).
    Untrusted,
    /// The message does not fit (a broadcast datagram, the native limit).
    TooLong,
    /// A message handed over could not be stored.
    NotStored,
    /// The feature is switched off on this daemon (e.g. `serve_netbios =
    /// false`).
    Disabled,
    /// The daemon is stopping.
    ShuttingDown,
    /// The inbox failed (disk, database).
    Store,
    /// The client and the daemon speak different API versions.
    Version,
    /// A kind this client does not know (from a newer daemon).
    #[serde(other)]
    Unknown,
}

/// A failed request: its kind, and one line that says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// What went wrong, as one line that says what to do.
    pub message: String,
}

impl ApiError {
    /// A failure of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }
}
