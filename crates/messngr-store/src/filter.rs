//! Which messages a listing shows: the options of `messngr inbox`, and the
//! scope the daemon's access rules give the caller.
//!
//! The conditions are turned into SQL here, in one place, for every query
//! that takes a [`Filter`] (`list`, `count`, `page`, `search`); the queries
//! that must run on indexes (`page.rs`, `counts.rs`) take the scope apart
//! into its owner branches and the rest of the conditions separately.

use rusqlite::types::Value;

use crate::message::{Direction, Priority};

/// A listing's conditions; the default lists every received message.
///
/// Name matches are exact but case-insensitive (Unicode lower case, so
/// `müller` finds `MÜLLER`). With a `limit`, the newest messages are kept;
/// the result is always oldest first, as a terminal shows an inbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    /// At most this many, the newest ([`crate::Store::list`] only; `page`
    /// and `search` take their own limit).
    pub limit: Option<u32>,
    /// Whose messages may be shown at all (the daemon's access rules);
    /// default: everyone's.
    pub scope: Scope,
    /// Only messages whose id is lower than this: the next page of a
    /// listing is the one `before` the oldest id of the previous page.
    pub before: Option<i64>,
    /// Only messages of at most this priority.
    pub max_priority: Option<Priority>,
}

/// Whose messages a listing may show (decided by the daemon's access rules).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Everyone's messages (an administrator).
    #[default]
    All,
    /// The messages of one local user and/or the host's own inbox.
    Owners {
        /// Messages owned by this user (`owner_user = user`); `None`: no
        /// user's.
        user: Option<String>,
        /// Also the host's messages, those without an owner
        /// (`owner_user IS NULL`).
        host: bool,
    },
}

/// One disjoint part of a [`Scope`]: the rows of one owner, or all rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner<'a> {
    /// No condition on the owner.
    Any,
    /// `owner_user = user`.
    User(&'a str),
    /// `owner_user IS NULL`.
    Host,
}

impl Scope {
    /// The owner branches whose union is this scope; they never overlap, so
    /// counts over them add up. Empty: the scope shows nothing.
    pub(crate) fn owners(&self) -> Vec<Owner<'_>> {
        match self {
            Scope::All => vec![Owner::Any],
            Scope::Owners { user, host } => {
                let mut v = Vec::with_capacity(2);
                if let Some(u) = user {
                    v.push(Owner::User(u));
                }
                if *host {
                    v.push(Owner::Host);
                }
                v
            }
        }
    }

    /// The scope as one SQL condition (`1` for everyone, `0` for no one).
    pub(crate) fn to_sql(&self, w: &mut Where) {
        let owners = self.owners();
        if owners.contains(&Owner::Any) {
            return;
        }
        if owners.is_empty() {
            w.push("0", None);
            return;
        }
        let mut parts = Vec::with_capacity(owners.len());
        for o in owners {
            let mut one = Where::default();
            o.to_sql(&mut one);
            parts.push(one.sql());
            w.params.extend(one.params);
        }
        w.clauses.push(format!("({})", parts.join(" OR ")));
    }
}

impl Owner<'_> {
    /// Adds this branch's condition on `owner_user` to `w`.
    pub(crate) fn to_sql(self, w: &mut Where) {
        match self {
            Owner::Any => {}
            Owner::User(u) => w.push("owner_user = ?", Some(Value::Text(u.to_owned()))),
            Owner::Host => w.push("owner_user IS NULL", None),
        }
    }
}

/// How a query uses [`Filter::since`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Since {
    /// `received_at >= ?`, which an index on `received_at` can serve.
    Index,
    /// `+received_at >= ?`: the same test, hidden from the planner so that
    /// it walks another index (in id order) and only checks the time.
    Check,
    /// `received_at < ?`: the messages the filter's `since` leaves out.
    Before,
    /// No condition on the time.
    Ignore,
}

/// SQL conditions (joined by `AND`) and their parameters, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Where {
    pub(crate) clauses: Vec<String>,
    pub(crate) params: Vec<Value>,
}

impl Where {
    /// Adds a condition and its parameter (if it has one).
    pub(crate) fn push(&mut self, clause: &str, param: Option<Value>) {
        self.clauses.push(clause.to_owned());
        self.params.extend(param);
    }

    /// Makes `clause` a check only (`+column = ?`): SQLite then does not
    /// pick an index for it.
    pub(crate) fn check_only(&mut self, clause: &str) {
        for c in &mut self.clauses {
            if c == clause {
                *c = format!("+{clause}");
            }
        }
    }

    /// The conditions joined by `AND` (`1` when there are none).
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1".to_owned()
        } else {
            self.clauses.join(" AND ")
        }
    }
}

impl Filter {
    /// Every received message not read yet.
    pub fn unread() -> Filter {
        Filter {
            unread_only: true,
            ..Filter::default()
        }
    }

    /// The `WHERE` clause (without the keyword) and its parameters: every
    /// condition, the scope included (the tests' plain `count(*)`).
    #[cfg(test)]
    pub(crate) fn to_sql(&self) -> (String, Vec<Value>) {
        let mut w = self.conditions(Since::Index);
        self.scope.to_sql(&mut w);
        (w.sql(), w.params)
    }

    /// As [`Filter::to_sql`], for a listing in time order
    /// ([`crate::Store::list`]): the direction is only checked
    /// (`+direction`).
    pub(crate) fn to_sql_by_time(&self) -> (String, Vec<Value>) {
        let mut w = self.conditions(Since::Index);
        w.check_only("direction = ?");
        self.scope.to_sql(&mut w);
        (w.sql(), w.params)
    }

    /// Every condition but the scope, with `since` used as told.
    pub(crate) fn conditions(&self, since: Since) -> Where {
        let mut w = Where::default();
        w.push(
            "direction = ?",
            Some(Value::Text(self.direction.as_str().to_owned())),
        );
        if self.unread_only {
            w.push("read_at IS NULL", None);
        }
        if let Some(from) = &self.from {
            w.push("from_fold = ?", Some(Value::Text(fold(from))));
        }
        if let Some(to) = &self.to {
            w.push("to_fold = ?", Some(Value::Text(fold(to))));
        }
        if let Some(t) = self.since {
            match since {
                Since::Index => w.push("received_at >= ?", Some(Value::Integer(t))),
                Since::Check => w.push("+received_at >= ?", Some(Value::Integer(t))),
                Since::Before => w.push("received_at < ?", Some(Value::Integer(t))),
                Since::Ignore => {}
            }
        }
        if let Some(owner) = &self.owner {
            w.push("owner_user = ?", Some(Value::Text(owner.clone())));
        }
        if let Some(before) = self.before {
            w.push("id < ?", Some(Value::Integer(before)));
        }
        if let Some(p) = self.max_priority {
            w.push("priority <= ?", Some(Value::Integer(p.as_i64())));
        }
        w
    }
}

/// The form names are compared in: Unicode lower case, trimmed.
pub(crate) fn fold(name: &str) -> String {
    name.trim().to_lowercase()
}
