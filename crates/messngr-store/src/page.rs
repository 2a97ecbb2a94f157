//! Pages of the inbox and of the export, on indexes, for inboxes of a
//! million messages.
//!
//! Why not [`Store::list`]: it orders by time, so "the newest 50" of a big
//! inbox sorts every matching row, and a `LIMIT` without a way on says
//! nothing of what is left. A [`Page`] is the newest `limit` messages by
//! id below an optional `before` id, with the exact number of older ones,
//! so a client walks the inbox newest to oldest, one page at a time, each
//! costing about the same however big the inbox.
//!
//! How it stays on indexes: every index of migrations 3 and 4 ends in the
//! id, so `direction = ? [AND owner_user = ?] [AND read_at IS NULL] ORDER
//! BY id DESC LIMIT n` walks one index from its top and stops after `n`
//! rows; everyone's messages walk the table itself by id. A
//! scope of two owners (a user and the host) would need an `OR`, which
//! SQLite answers by sorting everything that matches; instead each owner
//! is its own index-ordered arm with its own `LIMIT n`, and the at most 2n
//! rows of the `UNION ALL` are merged. `since` depends on how much it
//! keeps: a recent `since` (fewer than `counts::SMALL_RANGE` messages) walks the
//! index by direction and time and sorts that little; an older one walks in id order and
//! only checks the time. The count of older messages comes from
//! `counts.rs`; both run in one read transaction, so they agree even while
//! another process writes.

use rusqlite::Connection;
use rusqlite::types::Value;

use crate::counts;
use crate::error::Result;
use crate::filter::{Filter, Owner, Scope, Since, Where};
use crate::message::{Direction, Message};
use crate::store::{COLUMNS, Store, message_from_row};

/// One page of a listing or a search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The newest matching messages (at most the limit asked for), oldest
    /// first, as a terminal shows an inbox.
    pub messages: Vec<Message>,
    /// How many matching messages are older (have a lower id) than the
    /// first of `messages`: all the matching ones but those returned. With
    /// `before` set to `messages[0].id`, the next page shows them. 0 when
    /// there are no more; when `messages` is empty (limit 0), every
    /// matching message.
    pub older: u64,
}

impl Store {
    /// The newest `limit` messages `filter` selects (by id; below
    /// `filter.before` if set), oldest first, and how many more match
    /// below them. `filter.limit` is not used.
    pub fn page(&self, filter: &Filter, limit: u32) -> Result<Page> {
        let tx = self.conn_ref().unchecked_transaction()?;
        let owners = filter.scope.owners();
        let cut = counts::cut(&tx, filter)?;
        let since = match cut {
            None => Since::Ignore,
            Some(counts::Cut::After) => Since::Index,
            Some(_) => Since::Check,
        };
        let mut messages = if limit == 0 || owners.is_empty() {
            Vec::new()
        } else {
            newest(&tx, filter, &owners, since, limit)?
        };
        messages.reverse();
        let total = counts::count_with(&tx, filter, cut)?;
        tx.commit()?;
        let returned = u64::try_from(messages.len()).unwrap_or(u64::MAX);
        Ok(Page {
            older: total.saturating_sub(returned),
            messages,
        })
    }

    /// Up to `n` messages of `scope`, received and sent, with an id above
    /// `after`, in ascending id order: an export one page at a time (the
    /// next page is the one after the last id returned; an empty page is
    /// the end), so that no call holds the store for more than a page and
    /// no caller needs the whole inbox in memory.
    pub fn export_page(&self, scope: &Scope, after: i64, n: u32) -> Result<Vec<Message>> {
        if n == 0 || scope.owners().is_empty() {
            return Ok(Vec::new());
        }
        let (sql, params) = export_sql(scope, after, n);
        query_messages(self.conn_ref(), &sql, params)
    }
}

/// The query of [`Store::export_page`] and its parameters.
pub(crate) fn export_sql(scope: &Scope, after: i64, n: u32) -> (String, Vec<Value>) {
    let mut arms = Vec::new();
    let mut params = Vec::new();
    for owner in scope.owners() {
        let directions: &[Option<Direction>] = if owner == Owner::Any {
            &[None]
        } else {
            // Each (owner, direction) is one index in id order.
            &[Some(Direction::In), Some(Direction::Out)]
        };
        for direction in directions {
            let mut w = Where::default();
            owner.to_sql(&mut w);
            if let Some(d) = direction {
                w.push("direction = ?", Some(Value::Text(d.as_str().to_owned())));
            }
            w.push("id > ?", Some(Value::Integer(after)));
            arms.push(format!(
                "SELECT {COLUMNS} FROM messages WHERE {} ORDER BY id LIMIT ?",
                w.sql()
            ));
            params.extend(w.params);
            params.push(Value::Integer(i64::from(n)));
        }
    }
    (union(arms, "ASC", n, &mut params), params)
}

/// The newest `limit` messages of `f` in `owners`, newest first.
fn newest(
    conn: &Connection,
    f: &Filter,
    owners: &[Owner<'_>],
    since: Since,
    limit: u32,
) -> Result<Vec<Message>> {
    let (sql, params) = newest_sql(f, owners, since, limit);
    query_messages(conn, &sql, params)
}

/// The query of [`newest`] and its parameters.
pub(crate) fn newest_sql(
    f: &Filter,
    owners: &[Owner<'_>],
    since: Since,
    limit: u32,
) -> (String, Vec<Value>) {
    // A recent `since`: the time index holds fewer than SMALL_RANGE rows
    // from then on; walk those (and sort them) rather than the id order.
    let indexed = if since == Since::Index {
        " INDEXED BY messages_by_dir_time"
    } else {
        ""
    };
    let mut arms = Vec::with_capacity(owners.len());
    let mut params = Vec::new();
    for &owner in owners {
        let mut w = f.conditions(since);
        owner.to_sql(&mut w);
        // Everyone's messages, read or not, of anyone: the table itself,
        // newest id first (almost every row is `in`; no index needed).
        if owner == Owner::Any && !f.unread_only && f.from.is_none() && since != Since::Index {
            w.check_only("direction = ?");
        }
        arms.push(format!(
            "SELECT {COLUMNS} FROM messages{indexed} WHERE {} ORDER BY id DESC LIMIT ?",
            w.sql()
        ));
        params.extend(w.params);
        params.push(Value::Integer(i64::from(limit)));
    }
    (union(arms, "DESC", limit, &mut params), params)
}

/// One arm as it is, or the arms' `UNION ALL` in id order (`order`), cut
/// to `limit` (appended to `params`).
pub(crate) fn union(
    mut arms: Vec<String>,
    order: &str,
    limit: u32,
    params: &mut Vec<Value>,
) -> String {
    if arms.len() == 1 {
        return arms.remove(0);
    }
    let mut sql = arms
        .iter()
        .map(|a| format!("SELECT * FROM ({a})"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    sql.push_str(&format!(" ORDER BY id {order} LIMIT ?"));
    params.push(Value::Integer(i64::from(limit)));
    sql
}

/// Runs a query of [`COLUMNS`] rows.
pub(crate) fn query_messages(
    conn: &Connection,
    sql: &str,
    params: Vec<Value>,
) -> Result<Vec<Message>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), message_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
