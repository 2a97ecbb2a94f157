//! Signed messages and live notices: who may claim an author, and how an
//! author updates or withdraws what they sent (issue #11).
//!
//! A received message may carry `REPLACES` (the uuid of an earlier message
//! of the same author) with new text, or with `RETRACT`. The daemon checks
//! the signature; this layer checks the rest of the authorization: only a
//! stored message whose `author` is exactly (case-sensitively) the
//! update's author is touched. A message with another author, or none (an
//! unsigned one), is never changed, and neither is a sent one
//! ([`crate::Direction::Out`]: the notices changed are the ones received).
//!
//! An update gives the message its new text and makes it unread again, so
//! people see the change; a retraction empties its text (it withdraws the
//! words, so they also leave the full-text index) and marks it read, so it
//! no longer counts as unread. A retracted message stays retracted: later
//! updates do nothing. Each is one transaction, and the count and index
//! triggers (migrations 5 and 6) keep counts and search exact.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::clock;
use crate::error::{Result, StoreError};
use crate::message::{Message, NewMessage};
use crate::store::{COLUMNS, Store, message_from_row};

/// The longest `author` stored, in bytes: AUTHOR (64) `@` HOST (15).
pub const MAX_AUTHOR: usize = 80;

/// The largest signed frame stored, in bytes (80 KiB).
pub const MAX_SIGNED: usize = 80 * 1024;

/// The checks of [`NewMessage::author`] and [`NewMessage::signed`]: an
/// author only on a verified message or one a local account sent through
/// the daemon (its uid known from the API socket), a signed frame only on
/// a verified one, both of bounded size.
pub(crate) fn check_signer(m: &NewMessage) -> Result<()> {
    if let Some(a) = &m.author {
        check_author(a)?;
        if !m.verified && m.sender_uid.is_none() {
            return Err(StoreError::Invalid(format!(
                "author {a:?} on an unverified message: only a verified message or one a \
                 local account sent may name its author"
            )));
        }
    }
    if let Some(s) = &m.signed {
        check_signed(s)?;
        if !m.verified {
            return Err(StoreError::Invalid(
                "a signed frame on an unverified message: verify the signature before storing it"
                    .to_owned(),
            ));
        }
    }
    Ok(())
}

fn check_author(a: &str) -> Result<()> {
    if a.is_empty() || a.len() > MAX_AUTHOR {
        return Err(StoreError::Invalid(format!(
            "author {a:?} must be 1 to {MAX_AUTHOR} bytes"
        )));
    }
    Ok(())
}

fn check_signed(s: &[u8]) -> Result<()> {
    if s.len() > MAX_SIGNED {
        return Err(StoreError::Invalid(format!(
            "signed frame of {} bytes is over the limit of {MAX_SIGNED}",
            s.len()
        )));
    }
    Ok(())
}

fn check_at(at: i64) -> Result<()> {
    if !clock::is_representable(at) {
        return Err(StoreError::Invalid(format!("time {at} is out of range")));
    }
    Ok(())
}

/// Which rows an update or retraction of `uuid` by `author` may touch
/// (`?1` the uuid, `?2` the author).
/// The received messages a notice names: the one stored under its uuid (a
/// remote sender's), or every one linked to it by `notice_id` (a local
/// sender's deliveries to several accounts here share the sent message's
/// uuid as their `notice_id`).
/// (`+direction`: not by the direction's index, which most rows share, so
/// that both lookups search their own: `tests/uuids.rs`.)
pub(crate) const MINE: &str = "(uuid = ?1 OR notice_id = ?1) AND +direction = 'in' AND author = ?2";

/// The alerts of author `?2` under uuid `?1` (or linked to it).
pub(crate) const ALERTS: &str = "(uuid = ?1 OR notice_id = ?1) AND author = ?2 AND alert = 1";

impl Store {
    /// The message with this uuid (either direction), if stored.
    pub fn find_by_uuid(&self, uuid: &str) -> Result<Option<Message>> {
        Ok(self
            .conn_ref()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM messages WHERE uuid = ?"))?
            .query_row([uuid], message_from_row)
            .optional()?)
    }

    /// A live-notice update: every received message `uuid` whose author is
    /// `author` (exactly) and that is not retracted gets `text` (raw: its
    /// UTF-8 bytes, code page `utf-8`), `updated_at = at` and `signed` (the
    /// update's signed frame), and becomes unread again. `at` is when the
    /// author made the update; a remote (signed) author's updates are
    /// ordered by it (its clock): one no newer than the update applied is
    /// [`StoreError::Superseded`] (it came late, or again: it does not
    /// bring back old text, nor make the message unread again). A local
    /// author's come in order, from this host's API, and apply. Returns
    /// the rows as updated; empty when none matched (unknown uuid, another
    /// author or none, a retracted message): the caller reports it not
    /// found.
    pub fn update_notice(
        &mut self,
        uuid: &str,
        author: &str,
        text: &str,
        signed: Option<&[u8]>,
        at: i64,
    ) -> Result<Vec<Message>> {
        check_author(author)?;
        signed.map(check_signed).transpose()?;
        check_at(at)?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let updated = tx
            .prepare_cached(&format!(
                "UPDATE messages SET text = ?3, raw = CAST(?3 AS BLOB), codepage = 'utf-8', \
                 lossy = 0, updated_at = ?4, signed = ?5, read_at = NULL \
                 WHERE {MINE} AND retracted_at IS NULL \
                 AND (?5 IS NULL OR updated_at IS NULL OR updated_at < ?4) RETURNING {COLUMNS}"
            ))?
            .query_map(params![uuid, author, text, at, signed], message_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if updated.is_empty() && signed.is_some() {
            let newer: Option<i64> = tx
                .prepare_cached(&format!(
                    "SELECT max(updated_at) FROM messages WHERE {MINE} AND retracted_at IS NULL"
                ))?
                .query_row(params![uuid, author], |r| r.get(0))?;
            if newer.is_some_and(|n| n >= at) {
                return Err(StoreError::Superseded {
                    uuid: uuid.to_owned(),
                });
            }
        }
        tx.commit()?;
        Ok(updated)
    }

    /// A live-notice retraction: every received message `uuid` whose
    /// author is `author` (exactly) loses its text (text and raw empty),
    /// gets `retracted_at = at` and `signed` (the retraction's signed
    /// frame), and is marked read (at `at`, unless read before). Returns
    /// the rows as retracted; empty when none matched (unknown uuid,
    /// another author or none). Retracting again changes nothing and
    /// returns the rows as they are (the first `retracted_at` kept), so a
    /// retried retraction is answered like the first; a remote author's
    /// (signed) one again is [`StoreError::Superseded`] (it changes
    /// nothing, and the caller need not show the rows again).
    pub fn retract_notice(
        &mut self,
        uuid: &str,
        author: &str,
        signed: Option<&[u8]>,
        at: i64,
    ) -> Result<Vec<Message>> {
        check_author(author)?;
        signed.map(check_signed).transpose()?;
        check_at(at)?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut rows = tx
            .prepare_cached(&format!(
                "UPDATE messages SET text = '', raw = x'', lossy = 0, retracted_at = ?3, \
                 signed = ?4, read_at = coalesce(read_at, ?3) \
                 WHERE {MINE} AND retracted_at IS NULL RETURNING {COLUMNS}"
            ))?
            .query_map(params![uuid, author, at, signed], message_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if rows.is_empty() {
            rows = tx
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM messages WHERE {MINE} AND retracted_at IS NOT NULL"
                ))?
                .query_map(params![uuid, author], message_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            // A remote author's retraction again (a retry, or a replay):
            // nothing changed, and nobody need be shown it again.
            if signed.is_some() && !rows.is_empty() {
                return Err(StoreError::Superseded {
                    uuid: uuid.to_owned(),
                });
            }
        }
        tx.commit()?;
        Ok(rows)
    }

    /// A collapsed alert raised again: every alert stored under `uuid` (or
    /// linked to it by `notice_id`) whose author is `author` now counts
    /// `repeats` (never fewer than before). Returns the rows changed.
    pub fn set_repeats(&mut self, uuid: &str, author: &str, repeats: u32) -> Result<Vec<Message>> {
        check_author(author)?;
        Ok(self
            .conn_mut()
            .prepare_cached(&format!(
                "UPDATE messages SET repeats = max(repeats, ?3) \
                 WHERE {ALERTS} RETURNING {COLUMNS}"
            ))?
            .query_map(params![uuid, author, repeats], message_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The sender's own copy of a live notice: sent message `id` gets
    /// `text` and `updated_at = at`, or (`text` `None`) is withdrawn
    /// (`retracted_at = at`, text kept: it is the sender's own). Returns
    /// it, or `None` when `id` is no sent message or was withdrawn before.
    pub fn change_sent(&mut self, id: i64, text: Option<&str>, at: i64) -> Result<Option<Message>> {
        check_at(at)?;
        let sql = match text {
            Some(_) => format!(
                "UPDATE messages SET text = ?2, raw = CAST(?2 AS BLOB), updated_at = ?3 \
                 WHERE id = ?1 AND direction = 'out' AND retracted_at IS NULL RETURNING {COLUMNS}"
            ),
            None => format!(
                "UPDATE messages SET retracted_at = ?3 \
                 WHERE id = ?1 AND direction = 'out' AND retracted_at IS NULL AND ?2 IS NULL \
                 RETURNING {COLUMNS}"
            ),
        };
        Ok(self
            .conn_mut()
            .prepare_cached(&sql)?
            .query_row(params![id, text, at], message_from_row)
            .optional()?)
    }
}
