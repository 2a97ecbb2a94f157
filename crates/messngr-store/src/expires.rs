//! The sender's expiry (`messngr send --expires`): a message whose
//! `expires_at` has passed is never shown again, so it is deleted.
//!
//! Why delete rather than hide: every listing, count, search and page
//! would otherwise need the condition, and the counts are kept by
//! triggers that cannot know the time. The daemon asks for the next
//! expiry and deletes what is due as soon as it is; the receiver refuses a
//! message that arrives already expired.

use rusqlite::{OptionalExtension, TransactionBehavior};

use crate::error::Result;
use crate::store::Store;

impl Store {
    /// Deletes up to `limit` messages whose expiry is at or before `now`
    /// (Unix ms), in one transaction; how many. The delete triggers keep
    /// the counts and the full-text index exact.
    pub fn delete_expired(&mut self, now: i64, limit: u32) -> Result<usize> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx
            .prepare_cached(
                "DELETE FROM messages WHERE id IN (SELECT id FROM messages \
                 INDEXED BY messages_by_expiry \
                 WHERE expires_at IS NOT NULL AND expires_at <= ?1 LIMIT ?2)",
            )?
            .execute(rusqlite::params![now, limit])?;
        tx.commit()?;
        Ok(n)
    }

    /// The earliest expiry of any stored message (Unix ms), if one has one.
    pub fn next_expiry(&self) -> Result<Option<i64>> {
        Ok(self
            .conn_ref()
            .prepare_cached(
                "SELECT expires_at FROM messages INDEXED BY messages_by_expiry \
                 WHERE expires_at IS NOT NULL ORDER BY expires_at LIMIT 1",
            )?
            .query_row([], |r| r.get(0))
            .optional()?)
    }
}
