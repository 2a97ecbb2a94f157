//! The inbox on disk: one SQLite connection, opened with the durability
//! settings the crate promises, and the operations on messages.
//!
//! Every write is one transaction; under `journal_mode=WAL` with
//! `synchronous=FULL` SQLite fsyncs the WAL before `COMMIT` returns, so a
//! function here that returned `Ok` has put its change on disk.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};

use crate::clock;
use crate::error::{Result, StoreError};
use crate::filter::{Filter, fold};
use crate::message::{self, Direction, Message, NewMessage, Priority, Transport};
use crate::quota::{self, Quota};
use crate::schema;

/// How long a statement waits for a lock another process holds (a CLI
/// reading while the daemon writes) before failing as unavailable.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The columns [`message_from_row`] reads, in its order.
pub(crate) const COLUMNS: &str = "id, uuid, direction, received_at, transport, source_addr, from_name, \
    to_name, text, raw, codepage, lossy, verified, sender_key, priority, expires_at, read_at, \
    owner_user, notice_id, in_reply_to, sender_uid, popup_secs, author, signed, updated_at, \
    retracted_at, alert, title, repeats, gateway";

/// An open inbox. Blocking; see [`crate::StoreHandle`] for async callers.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    quota: Quota,
}

impl Store {
    /// Opens (creating the directory and file if needed) the inbox at
    /// `path`, checks the durability settings took, and migrates the schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref().to_owned();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                path: dir.to_owned(),
                source,
            })?;
        }
        create_private(&path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(&path, flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Pragma {
                name: "journal_mode",
                expected: "wal",
                got: mode,
            });
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        expect_pragma(&conn, "synchronous", 2, "2 (FULL)")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        expect_pragma(&conn, "foreign_keys", 1, "1 (ON)")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        schema::migrate(&mut conn)?;
        Ok(Store {
            conn,
            path,
            quota: Quota::default(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets the limits every later insert is checked against, in its own
    /// transaction (none by default; see `quota.rs`).
    pub fn set_quota(&mut self, quota: Quota) {
        self.quota = quota;
    }

    /// The limits inserts are checked against.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Deletes up to `limit` received messages that were read and were
    /// received before `before` (ms since the epoch), oldest first, in one
    /// transaction; returns how many. Counts and the full-text index stay
    /// exact (the delete triggers). Call again while it returns `limit`.
    pub fn expire_read(&mut self, before: i64, limit: u32) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = quota::expire_read(&tx, before, limit)?;
        tx.commit()?;
        Ok(n)
    }

    /// Reads a pragma's integer value (for checks and tests).
    pub fn pragma_i64(&self, name: &str) -> Result<i64> {
        Ok(self.conn.pragma_query_value(None, name, |r| r.get(0))?)
    }

    /// Reads a pragma's text value (for checks and tests).
    pub fn pragma_text(&self, name: &str) -> Result<String> {
        Ok(self.conn.pragma_query_value(None, name, |r| r.get(0))?)
    }

    /// Stores `m` and returns it as stored. Returns only after `COMMIT`
    /// returned under `synchronous=FULL`: the message is on disk. On any
    /// error nothing is stored (the transaction rolls back). The message is
    /// then added to the full-text index at once (a failure there is not
    /// the insert's: the message stays waiting for [`Store::index_pending`]).
    pub fn insert(&mut self, m: &NewMessage) -> Result<Message> {
        let mut results = self.insert_batch(std::slice::from_ref(m))?;
        let stored = results.pop().unwrap_or_else(|| {
            Err(StoreError::Unavailable(
                "insert_batch lost a message".into(),
            ))
        })?;
        let _ = self.index_pending(usize::MAX);
        Ok(stored)
    }

    /// Adds up to `limit` stored messages that the full-text index does
    /// not have yet (those [`Store::insert_batch`] stored), oldest first, in
    /// one transaction; returns how many. [`Store::search`] finds a message
    /// only once this has run for it.
    pub fn index_pending(&mut self, limit: usize) -> Result<usize> {
        crate::derived::index_pending(&mut self.conn, limit)
    }

    /// Stores several messages in ONE transaction and one `COMMIT` — one
    /// fsync of the WAL for all of them instead of one each ("group
    /// commit"; [`crate::StoreHandle`] batches the inserts queued while the
    /// previous COMMIT ran). The durability contract is [`Store::insert`]'s:
    /// nothing is reported stored before that COMMIT returned.
    ///
    /// Two kinds of failure, kept apart so that one sender cannot get the
    /// messages of others refused:
    ///
    /// * a message that is not acceptable in itself ([`StoreError::Invalid`],
    ///   [`StoreError::Duplicate`], [`StoreError::Replayed`],
    ///   [`StoreError::QuotaFull`]: checked
    ///   against [`Store::set_quota`]'s limits in this transaction, the
    ///   batch's earlier messages counted) gets its error in its own slot of the
    ///   `Ok` vector and is not stored; it is found out before its row is
    ///   written, so the others are unaffected;
    /// * anything else (disk full, I/O error, the COMMIT failing) is `Err`
    ///   for the whole batch: the transaction rolls back and NOTHING of the
    ///   batch is stored, so every caller must be told so.
    ///
    /// On `Ok`, slot `i` answers `ms[i]`.
    pub fn insert_batch(&mut self, ms: &[NewMessage]) -> Result<Vec<Result<Message>>> {
        let mut out: Vec<Result<Message>> = Vec::with_capacity(ms.len());
        let mut uuids = Vec::with_capacity(ms.len());
        for m in ms {
            uuids.push(validate(m).map(|()| match &m.uuid {
                Some(u) => u.clone(),
                None => message::new_uuid(),
            }));
        }
        // Nothing to write: no transaction (it would wait for the write
        // lock only to refuse).
        if uuids.iter().all(Result::is_err) {
            return Ok(uuids.into_iter().filter_map(Result::err).map(Err).collect());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut counts = crate::derived::Counts::default();
        let mut quota = quota::Check::new(self.quota);
        for (m, uuid) in ms.iter().zip(uuids) {
            let uuid = match uuid {
                Ok(u) => u,
                Err(e) => {
                    out.push(Err(e));
                    continue;
                }
            };
            match insert_row(&tx, m, uuid, &mut quota) {
                Ok(stored) => {
                    crate::receipts::record_delivered(
                        &tx,
                        &stored.uuid,
                        &m.delivered_to,
                        stored.received_at,
                    )?;
                    counts.add(stored.id, m);
                    out.push(Ok(stored));
                }
                Err(
                    e @ (StoreError::Invalid(_)
                    | StoreError::Duplicate { .. }
                    | StoreError::Replayed { .. }
                    | StoreError::QuotaFull { .. }),
                ) => {
                    out.push(Err(e));
                }
                // Dropping `tx` rolls the whole batch back.
                Err(e) => return Err(e),
            }
        }
        counts.write(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// The message with this id.
    pub fn get(&self, id: i64) -> Result<Message> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM messages WHERE id = ?"),
                [id],
                message_from_row,
            )
            .optional()?
            .ok_or(StoreError::NotFound(id))
    }

    /// The messages `filter` selects in time order, oldest first (with a
    /// limit: the newest `limit` of them, still oldest first). It sorts
    /// what it selects: for small inboxes and tests; listings that scale
    /// are [`Store::page`].
    pub fn list(&self, filter: &Filter) -> Result<Vec<Message>> {
        let (cond, mut params) = filter.to_sql_by_time();
        let mut sql = format!(
            "SELECT {COLUMNS} FROM messages WHERE {cond} ORDER BY received_at DESC, id DESC"
        );
        if let Some(limit) = filter.limit {
            sql.push_str(" LIMIT ?");
            params.push(rusqlite::types::Value::Integer(i64::from(limit)));
        }
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(params), message_from_row)?;
        let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        out.reverse();
        Ok(out)
    }

    /// How many messages `filter` selects (its limit is ignored; its
    /// scope, `before` and `max_priority` are not). Exact; without `from`,
    /// `to` or `since` it reads the counts the triggers keep instead of the
    /// messages, so a whole inbox costs about the same as a small one (see
    /// `counts.rs`).
    pub fn count(&self, filter: &Filter) -> Result<u64> {
        crate::counts::count(&self.conn, filter)
    }

    /// How many received messages are unread.
    pub fn count_unread(&self) -> Result<u64> {
        self.count(&Filter::unread())
    }

    /// The unread received messages counted by owner and priority: one
    /// small row per (owner, priority), whatever the inbox holds (for an
    /// unread count that must not load every message).
    pub fn unread_counts(&self) -> Result<Vec<(Option<String>, Priority, u64)>> {
        // From the counts by owner (migration 6, derived.rs): a row per
        // owner and priority, instead of every unread message.
        let mut stmt = self.conn.prepare_cached(
            "SELECT CASE WHEN host THEN NULL ELSE owner END, priority, n \
             FROM message_owner_totals WHERE direction = 'in' AND unread = 1 AND n > 0",
        )?;
        let rows = stmt.query_map([], |r| {
            let priority: i64 = r.get(1)?;
            let n: i64 = r.get(2)?;
            Ok((
                r.get::<_, Option<String>>(0)?,
                Priority::from_i64(priority).unwrap_or_default(),
                u64::try_from(n).unwrap_or(0),
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Marks a message read (now, unless it was read before: the first
    /// reading time is kept) and returns it.
    pub fn mark_read(&mut self, id: i64) -> Result<Message> {
        let changed = self.conn.execute(
            "UPDATE messages SET read_at = coalesce(read_at, ?1) WHERE id = ?2",
            params![clock::now_ms(), id],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound(id));
        }
        self.get(id)
    }

    /// Deletes a message for good (its receipts with it; replies to it
    /// keep their text and lose the link).
    pub fn delete(&mut self, id: i64) -> Result<()> {
        let changed = self
            .conn
            .execute("DELETE FROM messages WHERE id = ?", [id])?;
        if changed == 0 {
            return Err(StoreError::NotFound(id));
        }
        Ok(())
    }

    /// The connection, for the other modules' operations (receipts).
    pub(crate) fn conn_ref(&self) -> &Connection {
        &self.conn
    }

    /// The connection, for the other modules' transactions (notices).
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// Creates the database file readable by its owner only, if it does not
/// exist: messages are private, and SQLite gives the `-wal` and `-shm`
/// files the database file's permissions. An existing file keeps the
/// permissions an administrator gave it.
fn create_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Unavailable(format!(
            "cannot create {}: {e}",
            path.display()
        ))),
    }
}

fn expect_pragma(
    conn: &Connection,
    name: &'static str,
    want: i64,
    expected: &'static str,
) -> Result<()> {
    let got: i64 = conn.pragma_query_value(None, name, |r| r.get(0))?;
    if got != want {
        return Err(StoreError::Pragma {
            name,
            expected,
            got: got.to_string(),
        });
    }
    Ok(())
}

/// Writes one row of a batch inside `tx`: refuses a duplicate uuid, a
/// reply to a missing message or a message over its quota BEFORE writing
/// anything (so that such a
/// refusal leaves the rest of the batch intact); any error after that is a
/// storage error that fails the batch. The statements are cached: they
/// run for every message received.
fn insert_row(
    tx: &rusqlite::Transaction<'_>,
    m: &NewMessage,
    uuid: String,
    quota: &mut quota::Check,
) -> Result<Message> {
    let (uuid, notice_id) = crate::uuids::claim(tx, m, uuid)?;
    if let Some(parent) = m.in_reply_to {
        let found: Option<i64> = tx
            .prepare_cached("SELECT id FROM messages WHERE id = ?")?
            .query_row([parent], |r| r.get(0))
            .optional()?;
        if found.is_none() {
            return Err(StoreError::Invalid(format!(
                "in_reply_to: no message {parent}"
            )));
        }
    }
    // Last: a retry of a stored message is a Duplicate even when full.
    quota.admit(tx, m)?;
    tx.prepare_cached(
        "INSERT INTO messages (uuid, direction, received_at, transport, source_addr, \
         from_name, to_name, from_fold, to_fold, text, raw, codepage, lossy, verified, \
         sender_key, priority, expires_at, owner_user, notice_id, in_reply_to, sender_uid, \
         popup_secs, author, signed, alert, title, repeats, gateway) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
         ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)",
    )?
    .execute(params![
        uuid,
        m.direction.as_str(),
        m.received_at,
        m.transport.as_str(),
        m.source_addr,
        m.from,
        m.to,
        fold(&m.from),
        fold(&m.to),
        m.text,
        m.raw,
        m.codepage,
        m.lossy,
        m.verified,
        m.sender_key,
        m.priority.as_i64(),
        m.expires_at,
        m.owner_user,
        notice_id,
        m.in_reply_to,
        m.sender_uid,
        m.popup_secs,
        m.author,
        m.signed,
        m.alert.is_some(),
        m.alert.as_ref().and_then(|a| a.title.as_deref()),
        m.alert.as_ref().map_or(1, |a| a.repeats),
        m.gateway,
    ])?;
    let id = tx.last_insert_rowid();
    Ok(Message {
        id,
        uuid,
        direction: m.direction,
        received_at: m.received_at,
        transport: m.transport,
        source_addr: m.source_addr.clone(),
        from: m.from.clone(),
        to: m.to.clone(),
        text: m.text.clone(),
        raw: m.raw.clone(),
        codepage: m.codepage.clone(),
        lossy: m.lossy,
        verified: m.verified,
        sender_key: m.sender_key.clone(),
        priority: m.priority,
        expires_at: m.expires_at,
        read_at: None,
        owner_user: m.owner_user.clone(),
        notice_id,
        in_reply_to: m.in_reply_to,
        sender_uid: m.sender_uid,
        popup_secs: m.popup_secs,
        author: m.author.clone(),
        signed: m.signed.clone(),
        updated_at: None,
        retracted_at: None,
        alert: m.alert.clone(),
        gateway: m.gateway.clone(),
    })
}

/// The checks SQL cannot say clearly.
fn validate(m: &NewMessage) -> Result<()> {
    if m.verified && !m.transport.can_verify() {
        return Err(StoreError::Invalid(format!(
            "a message on the legacy transport {} cannot be verified",
            m.transport
        )));
    }
    if let Some(u) = &m.uuid
        && !message::is_uuid(u)
    {
        return Err(StoreError::Invalid(format!(
            "uuid {u:?} is not 32 lowercase hex digits"
        )));
    }
    crate::notices::check_signer(m)?;
    if !m.delivered_to.is_empty()
        && (m.direction != Direction::Out || m.delivered_to.iter().any(String::is_empty))
    {
        return Err(StoreError::Invalid(
            "only a sent message has recipients, each with a name".to_owned(),
        ));
    }
    if let Some(a) = &m.alert {
        if a.repeats == 0 {
            return Err(StoreError::Invalid(
                "an alert is raised at least once".to_owned(),
            ));
        }
        if a.title.as_ref().is_some_and(|t| t.len() > crate::MAX_TITLE) {
            return Err(StoreError::Invalid(format!(
                "an alert title has at most {} bytes",
                crate::MAX_TITLE
            )));
        }
    }
    if m.popup_secs == Some(0) {
        return Err(StoreError::Invalid(
            "popup_secs 0: a pop-up must stay at least a second (None: the desktop's default)"
                .to_owned(),
        ));
    }
    for (name, t) in [
        ("received_at", Some(m.received_at)),
        ("expires_at", m.expires_at),
    ] {
        if let Some(t) = t
            && !clock::is_representable(t)
        {
            return Err(StoreError::Invalid(format!("{name} {t} is out of range")));
        }
    }
    Ok(())
}

pub(crate) fn message_from_row(r: &Row<'_>) -> rusqlite::Result<Message> {
    let direction: String = r.get(2)?;
    let transport: String = r.get(4)?;
    let priority: i64 = r.get(14)?;
    Ok(Message {
        id: r.get(0)?,
        uuid: r.get(1)?,
        direction: if direction == "out" {
            Direction::Out
        } else {
            Direction::In
        },
        received_at: r.get(3)?,
        transport: Transport::from_name(&transport),
        source_addr: r.get(5)?,
        from: r.get(6)?,
        to: r.get(7)?,
        text: r.get(8)?,
        raw: r.get(9)?,
        codepage: r.get(10)?,
        lossy: r.get(11)?,
        verified: r.get(12)?,
        sender_key: r.get(13)?,
        priority: Priority::from_i64(priority).unwrap_or_default(),
        expires_at: r.get(15)?,
        read_at: r.get(16)?,
        owner_user: r.get(17)?,
        notice_id: r.get(18)?,
        in_reply_to: r.get(19)?,
        sender_uid: r.get(20)?,
        popup_secs: r.get(21)?,
        author: r.get(22)?,
        signed: r.get(23)?,
        updated_at: r.get(24)?,
        retracted_at: r.get(25)?,
        alert: if r.get::<_, bool>(26)? {
            Some(crate::AlertMark {
                title: r.get(27)?,
                repeats: r.get(28)?,
            })
        } else {
            None
        },
        gateway: r.get(29)?,
    })
}
