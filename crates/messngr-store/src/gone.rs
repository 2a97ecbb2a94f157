//! Signed messages received here before, and deleted since (by their
//! reader, or `expire_read_after_days`).
//!
//! Why: a signed frame stays acceptable for as long as the relay keeps
//! messages (7 days). Whoever captured one on its way (the relay's
//! operators, a host on its bus) could offer it again once its message
//! was deleted here, and the inbox's unique uuid would no longer stop it:
//! the message would come back. So each such uuid is remembered with its
//! author for [`REMEMBERED_MS`] after it arrived (by this host's clock),
//! and offered again by the same author it is refused as
//! [`StoreError::Replayed`]. With its author: another author's message
//! under the same uuid (a group's members all learn a group message's
//! uuid) cannot make the real one look like a replay of it. Deletes are
//! remembered by a trigger (migration 13; 14 remembers a message stored
//! under a uuid of its own by the one its author gave it, its `notice_id`:
//! `uuids.rs`), so that no `DELETE` can forget to (a future migration that
//! rebuilds `messages` must keep it so). Not
//! remembered: a message deleted at its sender's expiry (an expired frame
//! is refused when it arrives) or kept longer than [`REMEMBERED_MS`]; so
//! a sender cannot fill the table by sending what expires at once. (Live
//! notices need no record: an update no newer than the one shown is
//! [`StoreError::Superseded`], `notices.rs`.)

use rusqlite::{OptionalExtension, Transaction, params};

use crate::error::{Result, StoreError};
use crate::message::{Direction, NewMessage};

/// How long a gone uuid is remembered after its message arrived: longer
/// than a frame is accepted (the relay's 7 days, and the clocks' skew
/// on both sides). Migration 13's trigger says the same in its SQL.
pub const REMEMBERED_MS: i64 = 8 * 86_400_000;

/// How many are remembered at most, the newest (measured in SQLite 3,
/// this table alone: 24 MiB with authors of 12 bytes, 51 with the longest
/// author, 145 with gateway strings of 300 bytes): a
/// bound, should a reader delete more than that in 8 days; past it, the
/// oldest are forgotten first (their replays are then possible again).
/// Migration 13's trigger says the same in its SQL.
pub const MAX_REMEMBERED: i64 = 200_000;

/// Whom a gone `m` is remembered under, as migration 14's trigger does:
/// a signed message's author, a forwarded one's gateway; `None`: it is
/// not remembered (unsigned, or sent from here).
pub(crate) fn author(m: &NewMessage) -> Option<&str> {
    if m.direction != Direction::In {
        return None;
    }
    if (m.signed.is_some() && m.author.is_some()) || m.gateway.is_some() {
        m.author.as_deref().or(m.gateway.as_deref())
    } else {
        None
    }
}

/// Refuses `uuid` if `author`'s signed message under it came before and
/// was deleted since (a record past its time refuses nothing).
pub(crate) fn check(tx: &Transaction<'_>, uuid: &str, author: &str) -> Result<()> {
    let gone = tx
        .prepare_cached(
            "SELECT 1 FROM signed_gone WHERE uuid = ?1 AND author = ?2 AND keep_until >= ?3",
        )?
        .query_row(params![uuid, author, crate::clock::now_ms()], |_| Ok(()))
        .optional()?
        .is_some();
    if gone {
        return Err(StoreError::Replayed {
            uuid: uuid.to_owned(),
        });
    }
    Ok(())
}
