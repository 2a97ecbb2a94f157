//! Alerts: `messngr alert` asks the daemon's Alerter to tell the configured
//! subscribers (issue 12), as the Windows Alerter service used the
//! Messenger for administrative alerts.
//!
//! Why a request of its own rather than a `Send`: the caller names no
//! recipient (the `[alerter]` config does, by severity), an identical alert
//! raised again within the collapse window is counted, not sent again, and
//! the answer says which of the two happened.

use serde::{Deserialize, Serialize};

use crate::{Priority, SendView};

/// Longest alert title, in bytes: the native frame's ALERT field's limit.
pub use messngr_proto::wire::native::MAX_TITLE_LEN as MAX_TITLE;

/// Raise an alert. Only root, the daemon's user, `admin_group` and the
/// `[alerter]` `raisers` may.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// A short title (`--title`), shown before the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The text.
    pub text: String,
    /// Its severity, which picks the subscribers (absent: normal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// What makes two alerts the same one (absent: title, text and
    /// priority).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// This alert resolves the one sent lately with the same key: that
    /// one's message is updated to say RESOLVED instead of a new one sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resolved: bool,
    /// Who raised it: `cli`, `systemd` (`--unit`), `ntfy`, `alertmanager`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A topic of `[http.topics]` (ntfy's publish): its recipients instead
    /// of the subscribers of the alert's severity. The daemon's config names
    /// them, so a caller can pick a topic, never arbitrary recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

/// What an alert did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertView {
    /// The key it was collapsed by.
    pub key: String,
    /// The same alert was raised within the collapse window: the first
    /// one's message was updated with the count instead of a new one sent.
    pub collapsed: bool,
    /// Times raised within the window, this one included.
    pub repeats: u32,
    /// One result per receiver a new alert was sent to.
    pub sent: Vec<SendView>,
    /// The recipients whose copy of the earlier alert now shows the count
    /// (collapsed) or says RESOLVED (`ALICE@H2`, `H2`).
    #[serde(default)]
    pub updated: Vec<String>,
    /// Subscribers it did not reach, each with why.
    #[serde(default)]
    pub failed: Vec<crate::NoticeFailure>,
}
