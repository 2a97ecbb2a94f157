//! What the store keeps besides the messages' rows: their share of the
//! kept counts (`message_counts` by id block, `message_totals` by sender,
//! `message_owner_totals` by owner),
//! written by the insert in its own transaction, and their words in the
//! full-text index (`messages_fts`), added after them in batches.
//!
//! Why not INSERT triggers, as deletes and updates keep them: an INSERT
//! trigger makes SQLite open a statement savepoint for every row, and FTS5
//! flushes its pending terms to disk at every savepoint. Why the index
//! lags: FTS5 writes a segment per transaction, and the daemon's
//! transactions are small (a group commit of the messages that arrived
//! during the last fsync); indexed in the same transaction, search cost
//! each message about 45 µs of CPU, indexed 1024 at a time about 5 µs (a
//! replay of this schema in Python's sqlite3, SQLite 3.40, commits of 8;
//! the daemon's own figure is bench/messages.sh). So
//! a sender's acknowledgement never waits for the index: the writer
//! indexes when 1024 messages wait or when it has nothing else to do, and
//! a search first lets it catch up (`StoreHandle::search`). `fts_progress`,
//! updated in the index's own transaction, says how far it got, so a crash
//! loses nothing: the next start goes on from there.

use std::collections::HashMap;

use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use crate::error::Result;
use crate::filter::fold;
use crate::message::NewMessage;

/// How many messages the writer indexes at once.
pub(crate) const INDEX_BATCH: usize = 1024;

/// Adds up to `limit` messages the full-text index does not have yet, in
/// one transaction with the new progress; returns how many it added.
pub(crate) fn index_pending(conn: &mut Connection, limit: usize) -> Result<usize> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Exactly one row since migration 5: without it, fail rather than
    // index everything again.
    let from: i64 = tx
        .prepare_cached("SELECT id FROM fts_progress")?
        .query_row([], |r| r.get(0))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut last = None;
    let mut n = 0;
    {
        let mut rows = tx.prepare_cached(
            "SELECT id, text, from_name, to_name FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let mut add = tx.prepare_cached(
            "INSERT INTO messages_fts (rowid, text, from_name, to_name) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut q = rows.query(params![from, limit])?;
        while let Some(r) = q.next()? {
            let id: i64 = r.get(0)?;
            add.execute(params![
                id,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?
            ])?;
            last = Some(id);
            n += 1;
        }
    }
    let Some(last) = last else {
        return Ok(0); // nothing waited: the transaction rolls back
    };
    tx.prepare_cached("UPDATE fts_progress SET id = ?1")?
        .execute([last])?;
    tx.commit()?;
    Ok(n)
}

/// The counts of one batch, added up before they are written (one upsert
/// per group instead of one per message).
#[derive(Debug, Default)]
pub(crate) struct Counts {
    blocks: HashMap<(&'static str, i64, bool, String, i64), i64>,
    senders: HashMap<(&'static str, String, bool, String, i64), i64>,
    owners: HashMap<(&'static str, bool, String, i64), i64>,
}

impl Counts {
    /// Counts message `id` (stored unread).
    pub(crate) fn add(&mut self, id: i64, m: &NewMessage) {
        let dir = m.direction.as_str();
        let host = m.owner_user.is_none();
        let owner = m.owner_user.clone().unwrap_or_default();
        let priority = m.priority.as_i64();
        *self
            .blocks
            .entry((
                dir,
                id >> crate::schema::COUNT_BLOCK_SHIFT,
                host,
                owner.clone(),
                priority,
            ))
            .or_default() += 1;
        *self
            .owners
            .entry((dir, host, owner.clone(), priority))
            .or_default() += 1;
        *self
            .senders
            .entry((dir, fold(&m.from), host, owner, priority))
            .or_default() += 1;
    }

    /// Writes the batch's counts (new messages are unread).
    pub(crate) fn write(self, tx: &Transaction<'_>) -> Result<()> {
        let mut blocks = upsert(tx, "message_counts (direction, block")?;
        for ((dir, block, host, owner, priority), n) in self.blocks {
            blocks.execute(params![dir, block, host, owner, priority, n])?;
        }
        let mut senders = upsert(tx, "message_totals (direction, sender")?;
        for ((dir, sender, host, owner, priority), n) in self.senders {
            senders.execute(params![dir, sender, host, owner, priority, n])?;
        }
        let mut owners = tx.prepare_cached(
            "INSERT INTO message_owner_totals (direction, host, owner, unread, priority, n) \
             VALUES (?1, ?2, ?3, 1, ?4, ?5) ON CONFLICT DO UPDATE SET n = n + excluded.n",
        )?;
        for ((dir, host, owner, priority), n) in self.owners {
            owners.execute(params![dir, host, owner, priority, n])?;
        }
        Ok(())
    }
}

/// The upsert adding `n` to a count table keyed first by direction and
/// `table_and_key` (e.g. `message_counts (direction, block`), then host,
/// owner, unread (1: new messages are unread) and priority.
fn upsert<'t>(
    tx: &'t Transaction<'_>,
    table_and_key: &str,
) -> Result<rusqlite::CachedStatement<'t>> {
    Ok(tx.prepare_cached(&format!(
        "INSERT INTO {table_and_key}, host, owner, unread, priority, n) \
         VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6) ON CONFLICT DO UPDATE SET n = n + excluded.n"
    ))?)
}
