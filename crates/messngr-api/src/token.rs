//! Tokens for the HTTP API: `messngr token create|list|revoke`.
//!
//! Why through the local API: a token acts as the account that made it
//! (the HTTP listener cannot ask the kernel who is calling, as the Unix
//! socket can), so only that account, over the socket that knows its uid,
//! may make one. The daemon keeps only a hash; the token itself is shown
//! once, at creation.

use serde::{Deserialize, Serialize};

/// Make a token for the caller's account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCreate {
    /// A label to tell tokens apart (`grafana`, `phone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The caller's tokens (root: everyone's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenList {}

/// Revoke token `id` (the caller's own; root: anyone's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRevoke {
    /// As `messngr token list` shows it.
    pub id: u32,
}

/// A token, as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    /// Its number.
    pub id: u32,
    /// The account it acts as.
    pub user: String,
    /// Its label.
    pub label: String,
    /// When it was made, Unix ms.
    pub created_ms: i64,
    /// The token's first characters (`tk_abcd…`), to recognise it.
    pub prefix: String,
}

/// A new token: the only time it is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCreated {
    /// What `messngr token list` will show.
    pub view: TokenView,
    /// The token: `Authorization: Bearer tk_…`.
    pub token: String,
}

/// A one-time link that signs the caller's account in to the web inbox
/// (`messngr web`): single use, valid for [`WebLoginView::expires_in_secs`].
///
/// Why over the Unix socket: the daemon knows who is asking there, so the
/// link needs no token typed into a browser. The web session it opens acts
/// as the account's `messngr web` token (made once, shown in `messngr
/// token list`); revoking that token ends those sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebLogin {}

/// What [`WebLogin`] answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebLoginView {
    /// The link to open (`http://127.0.0.1:839/web/login?code=…`).
    pub url: String,
    /// Seconds it stays valid.
    pub expires_in_secs: u32,
}
