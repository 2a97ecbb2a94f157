//! The inbox's calls: list (paged), search, read, delete, the unread
//! count, export, and do-not-disturb.
//!
//! Listings are pages, newest first by id and shown oldest first, as
//! `tail` shows a log: without a limit a caller gets the newest
//! [`DEFAULT_PAGE`], and [`InboxPage::older`] says how many more there
//! are. The next page is `before` the oldest id shown. Every filter runs in
//! the daemon's SQL, so a page costs the same whatever the inbox holds.

use serde::{Deserialize, Serialize};

use crate::message::MessageView;

/// The page size when a listing gives none.
pub const DEFAULT_PAGE: u32 = 50;
/// The largest page a listing may ask for.
pub const MAX_PAGE: u32 = 1000;

/// Which messages a listing or search shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InboxFilter {
    /// Only messages not read yet.
    pub unread: bool,
    /// Only messages from this sender (case-insensitive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Only messages received at or after this time (Unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// At most this many, the newest ([`DEFAULT_PAGE`] when not given; at
    /// most [`MAX_PAGE`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only messages with an id below this one: the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
}

impl InboxFilter {
    /// The page size asked for, or the error that says what to give.
    pub fn page_size(&self) -> Result<u32, crate::ApiError> {
        match self.limit {
            None => Ok(DEFAULT_PAGE),
            Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            Some(n) => Err(crate::ApiError::bad_request(format!(
                "--limit {n}: give 1 to {MAX_PAGE}; page further with --before ID"
            ))),
        }
    }
}

/// List received messages (`messngr inbox`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxList {
    /// Which ones.
    #[serde(flatten)]
    pub filter: InboxFilter,
}

/// Search received messages' text (`messngr search`): every word must
/// occur; words are matched whole, case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Search {
    /// The words.
    pub text: String,
    /// Which messages to search.
    #[serde(flatten)]
    pub filter: InboxFilter,
}

/// One page of a listing or search.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxPage {
    /// The messages, oldest first.
    pub messages: Vec<MessageView>,
    /// How many more match, older than the first one here.
    pub older: u64,
}

/// One message, marked read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Read {
    /// Its inbox id.
    pub id: i64,
}

/// Delete a message; the answer is its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rm {
    /// Its inbox id.
    pub id: i64,
}

/// How many received messages the caller may see are unread (the agent's
/// tray icon); cheap whatever the inbox holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unread {}

/// What [`Unread`] answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadView {
    /// Unread received messages the caller may see.
    pub count: u64,
    /// How many of them are urgent.
    pub urgent: u64,
}

/// Every received message the caller may see, streamed oldest first as
/// [`crate::ExportItem`] lines (`messngr export`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {}

/// Ask (`on: None`) or set the caller's do-not-disturb (`messngr quiet`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quiet {
    /// `Some(true)`: quiet on; `Some(false)`: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<bool>,
}

/// What `messngr quiet` prints (`--json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietView {
    /// The caller's login name.
    pub user: String,
    /// Quiet now.
    pub quiet: bool,
    /// Since when (RFC 3339), when quiet.
    pub since: Option<String>,
    /// Since when (Unix ms), when quiet.
    pub since_ms: Option<i64>,
    /// Unread messages for this user (their own and the
    /// host's) that arrived since quiet began (what quiet held back, and
    /// any that interrupted and are still unread).
    pub waiting: u64,
}

/// Whether a message is shown at once to a user who is `quiet`: only one
/// that `interrupts` ([`crate::MessageView::interrupts`]: urgent from root
/// or `admin_group` on this host) breaks through. The one rule the daemon's
/// terminals and every desktop agent apply; an urgent message from the
/// network waits like any other.
pub fn shows_now(quiet: bool, interrupts: bool) -> bool {
    !quiet || interrupts
}

/// One user's quiet setting changed (on the follow stream).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietChange {
    /// The login name.
    pub user: String,
    /// Quiet now.
    pub quiet: bool,
    /// Unread messages that arrived while quiet (when it ends; else 0).
    pub waiting: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_interrupting_messages_override_quiet() {
        assert!(shows_now(false, false));
        assert!(shows_now(false, true));
        assert!(!shows_now(true, false));
        assert!(shows_now(true, true));
    }

    #[test]
    fn page_sizes_are_bounded() {
        let f = |limit| InboxFilter {
            limit,
            ..InboxFilter::default()
        };
        assert_eq!(f(None).page_size().unwrap(), DEFAULT_PAGE);
        assert_eq!(f(Some(7)).page_size().unwrap(), 7);
        assert!(f(Some(0)).page_size().is_err());
        assert!(f(Some(MAX_PAGE + 1)).page_size().is_err());
    }

    #[test]
    fn a_listing_reads_as_flat_json() {
        let l: InboxList = serde_json::from_str(r#"{"unread":true,"limit":5}"#).unwrap();
        assert!(l.filter.unread);
        assert_eq!(l.filter.limit, Some(5));
        let s = serde_json::to_string(&Search {
            text: "lunch".into(),
            filter: InboxFilter::default(),
        })
        .unwrap();
        assert_eq!(s, r#"{"text":"lunch","unread":false}"#);
    }
}
