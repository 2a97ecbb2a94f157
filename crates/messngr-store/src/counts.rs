//! Exact counts of what a [`Filter`] selects, without walking a million
//! messages.
//!
//! Why: a page of the inbox says how many older messages there are, and the
//! tray asks for the unread count every few seconds. `count(*)` over an
//! index walks every matching entry (40–57 ms at a million, measured once
//! with inbox-bench while this was written). So the store keeps tables of
//! counts, written with the messages in the same transaction (by the
//! insert, `derived.rs`, and by triggers on update and delete), so they are
//! exactly as durable and as current as the rows: `message_owner_totals`,
//! the number of messages per direction, owner, read state and priority;
//! `message_totals`, the same per sender too; and `message_counts`, per
//! block of 1024 ids instead of per sender.
//!
//! A filter of direction, scope, owner, unread and priority is a sum over a
//! few rows of `message_owner_totals` (a sender's, of `message_totals`: the
//! senders are the network's to choose, so only a count by sender may read
//! a row per sender). With `before`, it is the blocks
//! below `before`'s block plus a walk of the ids of its block below
//! `before` — or, when `before` is in the upper half of the ids (a client
//! paging down from the newest), the total minus the blocks above and the
//! ids of its block from `before` up: never more than half of the blocks,
//! and at most 1024 ids walked. With a sender and `before`, the sender's
//! index is walked on the shorter side of `before` (from the newest, that
//! is the pages already shown). `to` is not in the counts: it walks the
//! messages. `since` counts the smaller side of the time: the messages
//! since then (when few), or all of them minus those before (when few of
//! those); when both sides are large it walks the range since then. Either
//! walk is on `messages_by_dir_time`, which holds every column such a
//! count tests: no message is read.

use rusqlite::Connection;
use rusqlite::types::Value;

use crate::error::Result;
use crate::filter::{Filter, Owner, Since, Where, fold};
use crate::message::Direction;
use crate::schema::COUNT_BLOCK_SHIFT;

/// A time range with fewer messages than this is "small": listing or
/// counting it through the time index costs at most this many rows.
pub(crate) const SMALL_RANGE: i64 = 1024;

/// Which side of `since` holds fewer than [`SMALL_RANGE`] messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// The messages from `since` on (a recent `since`).
    After,
    /// The messages before it (an old `since`).
    Before,
    /// Neither.
    Neither,
}

/// Where `f.since` cuts the inbox (`None` without one): sized once per
/// request, then shared by the page and every owner's count.
pub(crate) fn cut(conn: &Connection, f: &Filter) -> Result<Option<Cut>> {
    let Some(since) = f.since else {
        return Ok(None);
    };
    Ok(Some(
        if time_range_is_small(conn, f.direction, since, false)? {
            Cut::After
        } else if time_range_is_small(conn, f.direction, since, true)? {
            Cut::Before
        } else {
            Cut::Neither
        },
    ))
}

/// How many messages `f` selects (its `limit` ignored).
pub(crate) fn count(conn: &Connection, f: &Filter) -> Result<u64> {
    count_with(conn, f, cut(conn, f)?)
}

/// [`count`], with [`cut`] already known.
pub(crate) fn count_with(conn: &Connection, f: &Filter, cut: Option<Cut>) -> Result<u64> {
    let mut total = 0u64;
    for owner in f.scope.owners() {
        total = total.saturating_add(count_branch(conn, f, owner, cut)?);
    }
    Ok(total)
}

/// Whether fewer than [`SMALL_RANGE`] messages of `direction` were
/// received at or after `since` (or, with `before`, before it); walks at
/// most that many entries of the index by direction and time.
pub(crate) fn time_range_is_small(
    conn: &Connection,
    direction: Direction,
    since: i64,
    before: bool,
) -> Result<bool> {
    let cond = if before {
        "received_at < ?1"
    } else {
        "received_at >= ?1"
    };
    let n: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM (SELECT 1 FROM messages INDEXED BY messages_by_dir_time \
             WHERE direction = ?3 AND {cond} LIMIT ?2)"
        ))?
        .query_row(
            rusqlite::params![since, SMALL_RANGE, direction.as_str()],
            |r| r.get(0),
        )?;
    Ok(n < SMALL_RANGE)
}

fn count_branch(conn: &Connection, f: &Filter, owner: Owner<'_>, cut: Option<Cut>) -> Result<u64> {
    match cut {
        Some(Cut::After | Cut::Neither) => {
            return count_rows(conn, f, owner, Since::Index, None);
        }
        Some(Cut::Before) => {
            let all = Filter {
                since: None,
                ..f.clone()
            };
            let left_out = count_rows(conn, f, owner, Since::Before, None)?;
            return Ok(count_branch(conn, &all, owner, None)?.saturating_sub(left_out));
        }
        None => {}
    }
    if f.to.is_some() {
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
    // By sender when asked for one, else by owner alone: the senders are
    // the network's to choose, so their number must not cost anything.
    let mut totals = w.clone();
    let totals_table = match &f.from {
        Some(from) => {
            totals.push("sender = ?", Some(Value::Text(fold(from))));
            "message_totals"
        }
        None => "message_owner_totals",
    };
    let Some(before) = f.before else {
        return sum(conn, totals_table, totals);
    };
    let unbounded = Filter {
        before: None,
        ..f.clone()
    };
    if f.from.is_some() {
        // The sender's messages from `before` up, or below it, on the
        // sender's index, whichever side of the ids is shorter.
        let (low, high): (Option<i64>, Option<i64>) = conn
            .prepare_cached("SELECT min(id), max(id) FROM messages")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let (Some(low), Some(high)) = (low, high) else {
            return Ok(0);
        };
        if high.saturating_sub(before) < before.saturating_sub(low) {
            let total = sum(conn, totals_table, totals)?;
            let above = count_rows(
                conn,
                &unbounded,
                owner,
                Since::Ignore,
                Some((before, i64::MAX)),
            )?;
            return Ok(total.saturating_sub(above));
        }
        return count_rows(conn, f, owner, Since::Ignore, None);
    }
    // Ids below `before`: whole blocks on the side with fewer blocks, and
    // a walk of the ids of `before`'s own block on that side of it.
    let block = before >> COUNT_BLOCK_SHIFT;
    let block_start = block << COUNT_BLOCK_SHIFT;
    let block_end = (block + 1)
        .checked_mul(1 << COUNT_BLOCK_SHIFT)
        .unwrap_or(i64::MAX);
    let top: Option<i64> = conn
        .prepare_cached("SELECT max(block) FROM message_counts WHERE direction = ?")?
        .query_row([f.direction.as_str()], |r| r.get(0))?;
    let Some(top) = top else { return Ok(0) };
    // The lower side: the blocks below plus `before`'s block up to it; the
    // upper side: the total minus the blocks above and its block from it.
    let lower = block <= top.saturating_sub(block);
    let (side, ids) = if lower {
        ("block < ?", (block_start, before))
    } else {
        ("block > ?", (before, block_end))
    };
    let mut blocks = w;
    blocks.push(side, Some(Value::Integer(block)));
    let blocks = sum(conn, "message_counts", blocks)?;
    let part = count_rows(conn, &unbounded, owner, Since::Ignore, Some(ids))?;
    if lower {
        return Ok(blocks.saturating_add(part));
    }
    Ok(sum(conn, totals_table, totals)?
        .saturating_sub(blocks)
        .saturating_sub(part))
}

/// `sum(n)` of the rows of `table` (one of the count tables)
/// that `w` selects.
fn sum(conn: &Connection, table: &str, w: Where) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(&format!(
            "SELECT coalesce(sum(n), 0) FROM {table} WHERE {}",
            w.sql()
        ))?
        .query_row(rusqlite::params_from_iter(w.params), |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// `count(*)` over the messages themselves (on whichever index fits), for
/// one owner branch, optionally only of the ids from `ids.0` up to (not
/// including) `ids.1`.
pub(crate) fn count_rows(
    conn: &Connection,
    f: &Filter,
    owner: Owner<'_>,
    since: Since,
    ids: Option<(i64, i64)>,
) -> Result<u64> {
    let (sql, params) = count_rows_sql(f, owner, since, ids);
    let n: i64 = conn
        .prepare_cached(&sql)?
        .query_row(rusqlite::params_from_iter(params), |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The query of [`count_rows`] and its parameters.
pub(crate) fn count_rows_sql(
    f: &Filter,
    owner: Owner<'_>,
    since: Since,
    ids: Option<(i64, i64)>,
) -> (String, Vec<Value>) {
    let mut w = f.conditions(since);
    owner.to_sql(&mut w);
    if let Some((low, high)) = ids {
        w.push("id >= ?", Some(Value::Integer(low)));
        w.push("id < ?", Some(Value::Integer(high)));
        // A range of ids: everyone's walks the table's own id range.
        if owner == Owner::Any {
            w.check_only("direction = ?");
        }
    }
    // A count on `since`: walk the time range on the index that holds
    // every column a count tests (direction, time, owner, read, priority,
    // sender), not an index the planner might prefer for its `=` terms
    // that would read each message.
    let indexed = match since {
        Since::Index | Since::Before if f.since.is_some() => " INDEXED BY messages_by_dir_time",
        _ => "",
    };
    (
        format!("SELECT count(*) FROM messages{indexed} WHERE {}", w.sql()),
        w.params,
    )
}
