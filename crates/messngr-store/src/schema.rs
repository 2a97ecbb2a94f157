//! The schema and how it grows.
//!
//! `PRAGMA user_version` is the number of migrations applied. Each migration
//! runs in its own transaction together with the version bump, so a crash
//! leaves the file at one version or the next, never between. Migrations are
//! only ever appended; a file whose version is higher than this build knows
//! is refused ([`StoreError::TooNew`]) rather than written with an old idea
//! of the schema.
//!
//! Migration 1 already holds the columns later issues need, nullable or
//! with defaults: sender identity and verification, priority, expiry, read
//! state, the owning local user (issue #5), a live notice id, replies, and
//! the receipts of sent messages. Deleting is a real `DELETE` (with
//! `secure_delete` on, the text is overwritten, not only unlinked); ids come
//! from `AUTOINCREMENT` so a deleted message's id is never handed to a new
//! one.
//!
//! Migration 2 (issue #5) adds who sent a message from this host
//! (`sender_uid`, known from the API socket's SO_PEERCRED: "urgent by root"
//! may write on a `mesg n` terminal), how long its pop-up stays
//! (`popup_secs`, `msg.exe /TIME`), and the users in do-not-disturb
//! (`quiet`), kept here so that the daemon (terminals) and every agent of
//! that user agree and it survives a restart.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Result, StoreError};

/// The migrations, in order; `MIGRATIONS[n]` takes version `n` to `n + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the full schema.
    "CREATE TABLE messages (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid        TEXT NOT NULL UNIQUE CHECK (length(uuid) = 32),
        direction   TEXT NOT NULL DEFAULT 'in' CHECK (direction IN ('in', 'out')),
        received_at INTEGER NOT NULL,
        transport   TEXT NOT NULL,
        source_addr TEXT,
        from_name   TEXT NOT NULL,
        to_name     TEXT NOT NULL,
        from_fold   TEXT NOT NULL,
        to_fold     TEXT NOT NULL,
        text        TEXT NOT NULL,
        raw         BLOB NOT NULL,
        codepage    TEXT,
        lossy       INTEGER NOT NULL DEFAULT 0 CHECK (lossy IN (0, 1)),
        verified    INTEGER NOT NULL DEFAULT 0
                    CHECK (verified = 0 OR (verified = 1 AND transport = 'messngr')),
        sender_key  TEXT,
        priority    INTEGER NOT NULL DEFAULT 1 CHECK (priority IN (0, 1, 2)),
        expires_at  INTEGER,
        read_at     INTEGER,
        owner_user  TEXT,
        notice_id   TEXT,
        in_reply_to INTEGER REFERENCES messages(id) ON DELETE SET NULL
    );
    CREATE INDEX messages_by_time  ON messages(received_at, id);
    CREATE INDEX messages_unread   ON messages(received_at, id) WHERE read_at IS NULL;
    CREATE INDEX messages_by_owner ON messages(owner_user, received_at, id);
    CREATE INDEX messages_by_reply ON messages(in_reply_to) WHERE in_reply_to IS NOT NULL;
    CREATE INDEX messages_by_notice ON messages(notice_id) WHERE notice_id IS NOT NULL;
    CREATE TABLE receipts (
        message_uuid TEXT NOT NULL REFERENCES messages(uuid) ON DELETE CASCADE,
        recipient    TEXT NOT NULL,
        state        TEXT NOT NULL CHECK (state IN ('sent', 'delivered', 'read')),
        at           INTEGER NOT NULL,
        PRIMARY KEY (message_uuid, recipient)
    );",
    // 2: local sender, pop-up time, do-not-disturb.
    "ALTER TABLE messages ADD COLUMN sender_uid INTEGER CHECK (sender_uid >= 0);
    ALTER TABLE messages ADD COLUMN popup_secs INTEGER CHECK (popup_secs > 0);
    CREATE TABLE quiet (
        user  TEXT PRIMARY KEY NOT NULL,
        since INTEGER NOT NULL
    );",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`SCHEMA_VERSION`]; does nothing when it is.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version < 0 {
            return Err(StoreError::Pragma {
                name: "user_version",
                expected: "0 or more",
                got: version.to_string(),
            });
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        let Some(sql) = usize::try_from(version)
            .ok()
            .and_then(|v| MIGRATIONS.get(v))
        else {
            return Ok(()); // current (the transaction rolls back: nothing to do)
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}
