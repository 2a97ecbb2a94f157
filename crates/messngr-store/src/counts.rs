//! Exact counts of what a [`Filter`] selects, without walking a million
//! messages.
//!
//! Why: a page of the inbox says how many older messages there are, and the
//! tray asks for the unread count every few seconds. `count(*)` over an
//! index walks every matching entry — about 40 ms per million on this kind
//! of machine, with the store thread (and every insert behind it) waiting.
//! So migration 3 keeps `message_counts`: the number of messages per
//! direction, owner, read state, priority and block of 1024 ids, updated
//! by triggers in the same transaction as the messages themselves (so the
//! counts are exactly as durable and as current as the rows).
//!
//! A filter of direction, scope, owner, unread and priority is a sum over
//! those rows; `before` adds "blocks below `before`'s block" plus a walk of
//! at most 1024 ids of its own block. `from` and `to` are not in the
//! counts (a key per sender would multiply the rows): they count on their
//! indexes, which walk that sender's messages. `since` counts the smaller
//! side of the time: the messages since then (when few), or all of them
//! minus those before (when few of those); when both sides are large it
//! walks the time index.

use rusqlite::Connection;
use rusqlite::types::Value;

use crate::error::Result;
use crate::filter::{Filter, Owner, Since, Where};
use crate::schema::COUNT_BLOCK_SHIFT;

/// A time range with fewer messages than this is "small": listing or
/// counting it through the time index costs at most this many rows.
pub(crate) const SMALL_RANGE: i64 = 1024;

/// How many messages `f` selects (its `limit` ignored).
pub(crate) fn count(conn: &Connection, f: &Filter) -> Result<u64> {
    let mut total = 0u64;
    for owner in f.scope.owners() {
        total = total.saturating_add(count_branch(conn, f, owner)?);
    }
    Ok(total)
}

/// Whether fewer than [`SMALL_RANGE`] messages were received at or after
/// `since` (or, with `before`, before it).
pub(crate) fn time_range_is_small(conn: &Connection, since: i64, before: bool) -> Result<bool> {
    let cond = if before {
        "received_at < ?1"
    } else {
        "received_at >= ?1"
    };
    let n: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM (SELECT 1 FROM messages WHERE {cond} LIMIT ?2)"
        ))?
        .query_row(rusqlite::params![since, SMALL_RANGE], |r| r.get(0))?;
    Ok(n < SMALL_RANGE)
}

fn count_branch(conn: &Connection, f: &Filter, owner: Owner<'_>) -> Result<u64> {
    if let Some(since) = f.since {
        if time_range_is_small(conn, since, false)? {
            return count_rows(conn, f, owner, Since::Index, None);
        }
        if time_range_is_small(conn, since, true)? {
            let all = Filter {
                since: None,
                ..f.clone()
            };
            let left_out = count_rows(conn, f, owner, Since::Before, None)?;
            return Ok(count_branch(conn, &all, owner)?.saturating_sub(left_out));
        }
        return count_rows(conn, f, owner, Since::Index, None);
    }
    if f.from.is_some() || f.to.is_some() {
        return count_rows(conn, f, owner, Since::Ignore, None);
    }
    let mut w = Where::default();
    w.push(
        "direction = ?",
        Some(Value::Text(f.direction.as_str().to_owned())),
    );
    if f.unread_only {
        w.push("unread = 1", None);
    }
    if let Some(p) = f.max_priority {
        w.push("priority <= ?", Some(Value::Integer(p.as_i64())));
    }
    match owner {
        Owner::Any => {}
        Owner::User(u) => w.push("host = 0 AND owner = ?", Some(Value::Text(u.to_owned()))),
        Owner::Host => w.push("host = 1", None),
    }
    if let Some(o) = &f.owner {
        w.push("host = 0 AND owner = ?", Some(Value::Text(o.clone())));
    }
    let mut partial = 0;
    if let Some(before) = f.before {
        let block = before >> COUNT_BLOCK_SHIFT;
        w.push("block < ?", Some(Value::Integer(block)));
        partial = count_rows(
            conn,
            f,
            owner,
            Since::Ignore,
            Some(block << COUNT_BLOCK_SHIFT),
        )?;
    }
    let sum: i64 = conn
        .prepare_cached(&format!(
            "SELECT coalesce(sum(n), 0) FROM message_counts WHERE {}",
            w.sql()
        ))?
        .query_row(rusqlite::params_from_iter(w.params), |r| r.get(0))?;
    Ok(u64::try_from(sum).unwrap_or(0).saturating_add(partial))
}

/// `count(*)` over the messages themselves (on whichever index fits), for
/// one owner branch, optionally only from id `from_id` up.
pub(crate) fn count_rows(
    conn: &Connection,
    f: &Filter,
    owner: Owner<'_>,
    since: Since,
    from_id: Option<i64>,
) -> Result<u64> {
    let mut w = f.conditions(since);
    owner.to_sql(&mut w);
    if let Some(id) = from_id {
        w.push("id >= ?", Some(Value::Integer(id)));
    }
    let n: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM messages WHERE {}", w.sql()))?
        .query_row(rusqlite::params_from_iter(w.params), |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}
