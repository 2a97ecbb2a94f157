//! The handshake: the first line of every connection.
//!
//! Why: the protocol will keep growing (policy, secure channel, web,
//! relay). A client states the version it speaks before anything else, and
//! a daemon that speaks another answers a `version` error saying which
//! program to upgrade, then closes. A client of the untyped protocol of
//! before (version 1, which had no handshake) gets that message in its own
//! format, so even an old `messngr` prints something useful.

use serde::{Deserialize, Serialize};

/// The version of the protocol this crate speaks. 1 was the untyped JSON of
/// messngr 0.1 (no handshake).
pub const API_VERSION: u32 = 2;

/// The client's first line: `{"hello":{"api":2,"client":"messngr 0.1.0"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hello {
    /// The only form.
    Hello {
        /// The API version the client speaks.
        api: u32,
        /// The client program and its version, for the daemon's log.
        client: String,
    },
}

impl Hello {
    /// This crate's hello, from `client` (e.g. `messngr 0.1.0`).
    pub fn new(client: impl Into<String>) -> Self {
        Hello::Hello {
            api: API_VERSION,
            client: client.into(),
        }
    }
}

/// The daemon's answer to a [`Hello`] it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The API version the daemon speaks.
    pub api: u32,
    /// The daemon program and its version.
    pub daemon: String,
}
