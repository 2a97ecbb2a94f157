//! The relay's outbox: messages for names on other sites, kept here while
//! the relay is down (issue 14), and sent when it returns.
//!
//! Why in the inbox's file: a message the sender was told is "kept here"
//! must survive a restart as a received one does, and the same writer and
//! fsync keep it. What is kept is the signed frame and the name it is for;
//! the name is looked up in the relay's directory when it is sent, since
//! while the relay is down nobody can say which hosts hold it.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::error::{Result, StoreError};
use crate::store::Store;

/// Messages the outbox keeps at most: past it, a send is refused (the
/// relay has been down long enough for someone to look).
pub const MAX_OUTBOX: u64 = 10_000;
/// Of those, what one account other than root may keep waiting: one user
/// cannot fill the outbox for everyone.
pub const MAX_OUTBOX_PER_USER: u64 = 1_000;

/// One message waiting for the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// Its row.
    pub id: i64,
    /// The name it is for, as the sender wrote it.
    pub target: String,
    /// Its uuid (32 hex digits), as its sender's copy has it.
    pub uuid: String,
    /// The signed native frame.
    pub frame: Vec<u8>,
    /// When it was kept (Unix ms).
    pub queued_at: i64,
}

impl Store {
    /// Keeps `frame` (message `uuid`, sent by `uid`) for `target` until the
    /// relay takes it; its row. Full ([`MAX_OUTBOX`], or
    /// [`MAX_OUTBOX_PER_USER`] for `uid`) is [`StoreError::Invalid`] saying
    /// so; a uuid kept already is kept once.
    pub fn outbox_push(
        &mut self,
        target: &str,
        uuid: &str,
        frame: &[u8],
        at: i64,
        uid: u32,
    ) -> Result<i64> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        room(&tx, uid)?;
        let existing: Option<i64> = tx
            .query_row("SELECT id FROM relay_outbox WHERE uuid = ?", [uuid], |r| {
                r.get(0)
            })
            .optional()?;
        let id = match existing {
            Some(id) => id,
            None => {
                tx.execute(
                    "INSERT INTO relay_outbox (target, uuid, frame, queued_at, uid) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![target, uuid, frame, at, uid],
                )?;
                tx.last_insert_rowid()
            }
        };
        tx.commit()?;
        Ok(id)
    }

    /// The oldest `limit` messages waiting after id `after` (0: from
    /// the first), oldest first: a sender pages on past those that must
    /// wait, so that they do not hold back the rest.
    pub fn outbox(&self, after: i64, limit: u32) -> Result<Vec<Queued>> {
        let mut stmt = self.conn_ref().prepare_cached(
            "SELECT id, target, uuid, frame, queued_at FROM relay_outbox \
             WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit], |r| {
            Ok(Queued {
                id: r.get(0)?,
                target: r.get(1)?,
                uuid: r.get(2)?,
                frame: r.get(3)?,
                queued_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether the outbox has room for a message of `uid` now (as
    /// [`Store::outbox_push`] checks it): a sender asks first, so that
    /// nothing is written for what would be refused.
    pub fn outbox_room(&self, uid: u32) -> Result<()> {
        room(self.conn_ref(), uid)
    }

    /// How many wait.
    pub fn outbox_len(&self) -> Result<u64> {
        let n: i64 = self
            .conn_ref()
            .query_row("SELECT count(*) FROM relay_outbox", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Whether message `uuid` is kept here still.
    pub fn outbox_holds(&self, uuid: &str) -> Result<bool> {
        Ok(self
            .conn_ref()
            .prepare_cached("SELECT 1 FROM relay_outbox WHERE uuid = ?")?
            .query_row([uuid], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The signed frame of message `uuid`, if it is kept here still.
    pub fn outbox_frame(&self, uuid: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn_ref()
            .prepare_cached("SELECT frame FROM relay_outbox WHERE uuid = ?")?
            .query_row([uuid], |r| r.get(0))
            .optional()?)
    }

    /// Keeps `frame` for message `uuid` instead of `was`, the frame kept
    /// (changed before it left: signed again with new text); false when it
    /// is not kept, or with another frame than `was` (changed since).
    pub fn outbox_replace(&mut self, uuid: &str, was: &[u8], frame: &[u8]) -> Result<bool> {
        Ok(self.conn_mut().execute(
            "UPDATE relay_outbox SET frame = ?3 WHERE uuid = ?1 AND frame = ?2",
            params![uuid, was, frame],
        )? > 0)
    }

    /// Forgets message `uuid` (withdrawn before it left); whether it was
    /// kept.
    pub fn outbox_forget(&mut self, uuid: &str) -> Result<bool> {
        Ok(self
            .conn_mut()
            .execute("DELETE FROM relay_outbox WHERE uuid = ?", [uuid])?
            > 0)
    }

    /// Forgets message `id` (the relay took it, or it cannot be sent).
    pub fn outbox_remove(&mut self, id: i64) -> Result<()> {
        self.conn_mut()
            .execute("DELETE FROM relay_outbox WHERE id = ?", [id])?;
        Ok(())
    }

    /// How far the secure gateway has looked: the id of the last message
    /// it forwarded or passed over, and the names it forwarded then;
    /// `None` before it first ran (or since [`Store::clear_gateway_cursor`]).
    pub fn gateway_cursor(&self) -> Result<Option<(i64, String)>> {
        Ok(self
            .conn_ref()
            .query_row(
                "SELECT id, names FROM relay_gateway WHERE one = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Sets [`Store::gateway_cursor`] to `id`, for `names`.
    pub fn set_gateway_cursor(&mut self, id: i64, names: &str) -> Result<()> {
        self.conn_mut().execute(
            "INSERT INTO relay_gateway (one, id, names) VALUES (1, ?1, ?2)
             ON CONFLICT (one) DO UPDATE SET id = excluded.id, names = excluded.names",
            params![id, names],
        )?;
        Ok(())
    }

    /// Forgets the cursor (this host is no gateway now: if it is one again,
    /// it starts afresh instead of forwarding what came in between).
    pub fn clear_gateway_cursor(&mut self) -> Result<()> {
        self.conn_mut().execute("DELETE FROM relay_gateway", [])?;
        Ok(())
    }

    /// The id of the newest message stored (0 in an empty inbox): where a
    /// gateway that never ran starts, so that it forwards nothing older.
    pub fn last_message_id(&self) -> Result<i64> {
        Ok(self
            .conn_ref()
            .query_row("SELECT coalesce(max(id), 0) FROM messages", [], |r| {
                r.get(0)
            })?)
    }
}

/// Refuses one more message of `uid` when [`MAX_OUTBOX`] wait, or
/// [`MAX_OUTBOX_PER_USER`] of `uid`'s (root's are not limited so).
fn room(conn: &rusqlite::Connection, uid: u32) -> Result<()> {
    let n: i64 = conn.query_row("SELECT count(*) FROM relay_outbox", [], |r| r.get(0))?;
    if u64::try_from(n).unwrap_or(0) >= MAX_OUTBOX {
        return Err(StoreError::Invalid(format!(
            "{MAX_OUTBOX} messages for other sites wait here already for the relay: check `messngr status`"
        )));
    }
    if uid != 0 {
        let mine: i64 = conn.query_row(
            "SELECT count(*) FROM relay_outbox WHERE uid = ?",
            [uid],
            |r| r.get(0),
        )?;
        if u64::try_from(mine).unwrap_or(0) >= MAX_OUTBOX_PER_USER {
            return Err(StoreError::Invalid(format!(
                "{MAX_OUTBOX_PER_USER} of your messages for other sites wait here already for the relay: check `messngr status`"
            )));
        }
    }
    Ok(())
}
