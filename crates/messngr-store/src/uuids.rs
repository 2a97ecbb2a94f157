//! Whose a uuid is: what a new message is stored under when its uuid is
//! taken already.
//!
//! Why: a messngr message keeps the uuid its author gave it, so that a
//! retry is stored once and its author's updates, retractions and read
//! receipts find it. But a uuid is only its author's to give: every member
//! of a group learns a group message's uuid (any host on the relay may
//! join a group), and a member that sends something of its own under it,
//! and is stored first, would otherwise keep the real message out of every
//! other member's inbox (`uuid … already names another message`), an
//! admin's `/org` alert included. So a received signed (or forwarded)
//! message whose uuid another author's message holds (or a message sent
//! from here) is stored under a uuid of its own, with the one its author
//! gave as its `notice_id`: its author's updates and retractions find it
//! there (`notices.rs`), and its read receipts name it so
//! (`notice_id` first). A retry of it is found there too, and a replay of
//! it once it is gone is refused (`gone.rs`, by `notice_id` since
//! migration 14). Whoever came first keeps the uuid; neither can push the
//! other out.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::error::{Result, StoreError};
use crate::message::{self, NewMessage};

/// What `m` is stored under, with `uuid` the one it came with (or was
/// given here): `(uuid, notice_id)`. [`StoreError::Duplicate`] when
/// `m`'s author has a message under it here already (a retry, or another
/// message of the same author under the same uuid: the caller tells them
/// apart); [`StoreError::Replayed`] when that message came before and is
/// gone.
pub(crate) fn claim(
    tx: &Transaction<'_>,
    m: &NewMessage,
    uuid: String,
) -> Result<(String, Option<String>)> {
    let held: Option<i64> = tx
        .prepare_cached(HELD)?
        .query_row([&uuid], |r| r.get(0))
        .optional()?;
    let Some(author) = crate::gone::author(m) else {
        return match held {
            Some(id) => Err(StoreError::Duplicate { uuid, id }),
            None => Ok((uuid, m.notice_id.clone())),
        };
    };
    // This author's message under it, kept as it came or under a uuid of
    // its own (another's held it then): a retry, or another message of
    // the same author under the same uuid. (Two lookups, each on an
    // index: this runs for every signed message received.)
    let mine = match held {
        Some(id) => tx
            .prepare_cached(BY)?
            .query_row(params![id, author], |r| r.get(0))
            .optional()?,
        None => None,
    };
    let mine: Option<i64> = match mine {
        Some(id) => Some(id),
        None => tx
            .prepare_cached(MOVED)?
            .query_row(params![uuid, author], |r| r.get(0))
            .optional()?,
    };
    if let Some(id) = mine {
        return Err(StoreError::Duplicate { uuid, id });
    }
    crate::gone::check(tx, &uuid, author)?;
    match held {
        None => Ok((uuid, m.notice_id.clone())),
        // Another's: this one under a uuid of its own.
        Some(_) => Ok((message::new_uuid(), Some(uuid))),
    }
}

/// The message that holds a uuid (by the unique index).
pub(crate) const HELD: &str = "SELECT id FROM messages WHERE uuid = ?1";

/// Message `?1` if it is one received from author `?2` (by id).
pub(crate) const BY: &str = "SELECT id FROM messages WHERE id = ?1 AND direction = 'in' \
     AND coalesce(author, gateway) = ?2";

/// A message of author `?2` stored under a uuid of its own, its author's
/// uuid `?1` as its `notice_id` (by `messages_by_notice`).
pub(crate) const MOVED: &str = "SELECT id FROM messages WHERE notice_id = ?1 \
     AND +direction = 'in' AND coalesce(author, gateway) = ?2 LIMIT 1";
