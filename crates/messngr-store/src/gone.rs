//! Signed messages received here before, and gone since: a message
//! deleted (by its reader, its expiry, the quota or the retention), or a
//! live notice applied.
//!
//! Why: a signed frame stays acceptable for as long as the relay keeps
//! messages (7 days). Whoever captured one on its way (the relay's
//! operators, a host on its bus) could offer it again once its message
//! was deleted here, and the inbox's unique uuid would no longer stop it:
//! the message would come back, and an old notice applied again would
//! bring back its old text and make it unread. So each such uuid is
//! remembered for [`REMEMBERED_MS`] after it arrived, and offered again it
//! is refused as [`StoreError::Replayed`]. Deletes are remembered by a
//! trigger (migration 13), so that no way of deleting can forget to;
//! notices here, in the transaction that applies them.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::error::{Result, StoreError};

/// How long a gone uuid is remembered after its message arrived: longer
/// than a frame is accepted (the relay's 7 days, and the clocks' skew
/// on both sides). Migration 13's trigger says the same in its SQL.
pub const REMEMBERED_MS: i64 = 8 * 86_400_000;

/// Refuses `uuid` if a signed message or notice under it came before and
/// is gone.
pub(crate) fn check(tx: &Transaction<'_>, uuid: &str) -> Result<()> {
    let gone: Option<i64> = tx
        .prepare_cached("SELECT keep_until FROM signed_gone WHERE uuid = ?")?
        .query_row([uuid], |r| r.get(0))
        .optional()?;
    match gone {
        Some(_) => Err(StoreError::Replayed {
            uuid: uuid.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Remembers `uuid` (a notice applied at `now`) until [`REMEMBERED_MS`]
/// later, and forgets what is past its time.
pub(crate) fn remember(tx: &Transaction<'_>, uuid: &str, now: i64) -> Result<()> {
    tx.prepare_cached("DELETE FROM signed_gone WHERE keep_until < ?")?
        .execute([now])?;
    tx.prepare_cached(
        "INSERT INTO signed_gone (uuid, keep_until) VALUES (?1, ?2) \
         ON CONFLICT (uuid) DO UPDATE SET keep_until = max(keep_until, excluded.keep_until)",
    )?
    .execute(params![uuid, now.saturating_add(REMEMBERED_MS)])?;
    Ok(())
}
