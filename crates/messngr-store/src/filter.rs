//! Which messages a listing shows: the options of `messngr inbox`.

use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

use crate::message::Direction;

/// A listing's conditions; the default lists every received message.
///
/// Name matches are exact but case-insensitive (Unicode lower case, so
/// `müller` finds `MÜLLER`). With a `limit`, the newest messages are kept;
/// the result is always oldest first, as a terminal shows an inbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filter {
    /// Only messages not read yet (`--unread`).
    pub unread_only: bool,
    /// Only from this sender (`--from NAME`).
    pub from: Option<String>,
    /// Only to this recipient name.
    pub to: Option<String>,
    /// Only received at or after this time, Unix ms (`--since T`).
    pub since: Option<i64>,
    /// Only this local user's messages (issue #5; exact match).
    pub owner: Option<String>,
    /// Received (the inbox, default) or sent messages.
    pub direction: Direction,
    /// At most this many, the newest.
    pub limit: Option<u32>,
}

impl Filter {
    /// Every received message not read yet.
    pub fn unread() -> Filter {
        Filter {
            unread_only: true,
            ..Filter::default()
        }
    }

    /// The `WHERE` clause (without the keyword) and its parameters.
    pub(crate) fn to_sql(&self) -> (String, Vec<Value>) {
        let mut clauses = vec!["direction = ?".to_owned()];
        let mut params = vec![Value::Text(self.direction.as_str().to_owned())];
        if self.unread_only {
            clauses.push("read_at IS NULL".into());
        }
        if let Some(from) = &self.from {
            clauses.push("from_fold = ?".into());
            params.push(Value::Text(fold(from)));
        }
        if let Some(to) = &self.to {
            clauses.push("to_fold = ?".into());
            params.push(Value::Text(fold(to)));
        }
        if let Some(since) = self.since {
            clauses.push("received_at >= ?".into());
            params.push(Value::Integer(since));
        }
        if let Some(owner) = &self.owner {
            clauses.push("owner_user = ?".into());
            params.push(Value::Text(owner.clone()));
        }
        (clauses.join(" AND "), params)
    }
}

/// The form names are compared in: Unicode lower case, trimmed.
pub(crate) fn fold(name: &str) -> String {
    name.trim().to_lowercase()
}
