//! Signed messages received here before, and gone since: a message
//! deleted (by its reader, its expiry or `expire_read_after_days`), or a
//! live notice applied.
//!
//! Why: a signed frame stays acceptable for as long as the relay keeps
//! messages (7 days). Whoever captured one on its way (the relay's
//! operators, a host on its bus) could offer it again once its message
//! was deleted here, and the inbox's unique uuid would no longer stop it:
//! the message would come back, and an old notice applied again would
//! bring back its old text and make it unread. So each such uuid is
//! remembered with its author for [`REMEMBERED_MS`] after it arrived (by
//! this host's clock), and offered again by the same author it is refused
//! as [`StoreError::Replayed`]. With its author: another author's message
//! under the same uuid (a group's members all learn a group message's
//! uuid) is not a replay of it, and cannot make the real one look like one.
//! Deletes are remembered by a trigger (migration 13), so that no
//! `DELETE` can forget to; notices here, in the transaction that applies
//! them. (A future migration that rebuilds `messages` must keep it so.)

use rusqlite::{OptionalExtension, Transaction, params};

use crate::error::{Result, StoreError};
use crate::message::{Direction, NewMessage};

/// How long a gone uuid is remembered after its message arrived: longer
/// than a frame is accepted (the relay's 7 days, and the clocks' skew
/// on both sides). Migration 13's trigger says the same in its SQL.
pub const REMEMBERED_MS: i64 = 8 * 86_400_000;

/// How many are remembered at most: the newest (some 50 MB). A flood of
/// signed messages deleted as they come (`--expires 1s`) would otherwise
/// grow the table for 8 days unbounded by any quota; past this, the
/// oldest are forgotten first (their replays are then possible again).
/// Migration 13's trigger says the same in its SQL.
pub(crate) const MAX_REMEMBERED: i64 = 200_000;

/// Whom a gone `m` is remembered under, as migration 13's trigger does:
/// a signed message's author, a forwarded one's gateway; `None`: it is
/// not remembered (unsigned, or sent from here).
pub(crate) fn author(m: &NewMessage) -> Option<&str> {
    if m.direction != Direction::In {
        return None;
    }
    match (&m.signed, &m.author, &m.gateway) {
        (Some(_), Some(author), _) => Some(author),
        (_, _, Some(gateway)) => Some(gateway),
        _ => None,
    }
}

/// Refuses `uuid` if `author` sent a message or notice under it before
/// that is gone.
pub(crate) fn check(tx: &Transaction<'_>, uuid: &str, author: &str) -> Result<()> {
    let gone: Option<i64> = tx
        .prepare_cached("SELECT keep_until FROM signed_gone WHERE uuid = ?1 AND author = ?2")?
        .query_row(params![uuid, author], |r| r.get(0))
        .optional()?;
    match gone {
        Some(_) => Err(StoreError::Replayed {
            uuid: uuid.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Remembers `author`'s notice `uuid`, applied now, until
/// [`REMEMBERED_MS`] later, and forgets what is past its time (both by
/// this host's clock, never the author's) or beyond the newest
/// [`MAX_REMEMBERED`].
pub(crate) fn remember(tx: &Transaction<'_>, uuid: &str, author: &str) -> Result<()> {
    let now = crate::clock::now_ms();
    tx.prepare_cached("DELETE FROM signed_gone WHERE keep_until < ?")?
        .execute([now])?;
    tx.prepare_cached(
        "INSERT INTO signed_gone (uuid, author, keep_until) VALUES (?1, ?2, ?3) \
         ON CONFLICT (uuid, author) DO UPDATE SET keep_until = max(keep_until, excluded.keep_until)",
    )?
    .execute(params![uuid, author, now.saturating_add(REMEMBERED_MS)])?;
    tx.prepare_cached("DELETE FROM signed_gone WHERE id <= (SELECT max(id) FROM signed_gone) - ?")?
        .execute([MAX_REMEMBERED])?;
    Ok(())
}
