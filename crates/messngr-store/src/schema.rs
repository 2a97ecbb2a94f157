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
//!
//! Migrations 3 and 4 make a million messages cheap to list, count and
//! search:
//!
//! * indexes whose last key is the id (SQLite appends the rowid to every
//!   index), so "the newest N of one direction / owner / sender, unread or
//!   not" is a walk down one index that stops after N rows, and counting
//!   one sender's messages (of one owner) walks only that index (3, and
//!   sender with owner in 4); and (4) one index by direction and time that
//!   also holds every column a count may test, so that counting a `since`
//!   range never reads the messages;
//! * `message_counts` (3), the number of messages per direction, owner,
//!   read state, priority and block of 1024 ids ([`COUNT_BLOCK_SHIFT`]),
//!   and `message_totals` (4), per direction, sender, owner, read state
//!   and priority, both kept by triggers in the transaction that changes
//!   the messages (4 replaces 3's triggers with ones that keep both): an
//!   exact count of a whole inbox (or of one sender's messages) is a sum
//!   over a few rows, and of the ids below a page a sum over the blocks on
//!   the page's nearer side, instead of a walk over every message;
//! * `messages_fts` (3), an external-content FTS5 index of the text and
//!   the sender and recipient names (the text is stored once, in
//!   `messages`), kept in step by triggers on every INSERT, DELETE and
//!   UPDATE, filled from the existing rows by `rebuild`. FTS5's own
//!   `secure-delete` option is on, so that a deleted message's words leave
//!   the index at once, as `secure_delete` makes its text leave the table.
//!
//! Migration 4 is separate from 3 because 3 had already reached the main
//! branch when the counts by sender were added: an inbox at version 3
//! must be brought up by appending, never by changing 3.
//!
//! Migration 7 (issue #11, secure channel) adds what signed messages and
//! live notices need: `author` (who signed it, `alice@H2`, or the local
//! account that sent it), `signed` (the signed frame as received, so the
//! signature can be checked again or the message relayed), `updated_at`
//! and `retracted_at` (Unix ms of the author's last update and of its
//! withdrawal, `notices.rs`). CHECKs repeat the store's own checks, so a
//! row written behind its back cannot claim an unverified author either.
//!
//! Migration 8 (issue 12, the Alerter) marks alerts: `alert` (0 or 1),
//! `title`, and `repeats`, how many identical alerts were collapsed into
//! the message (1 for every other message).
//! An update rewrites `text` and `read_at`, so the FTS and count triggers
//! of 5 and 6 keep the index and the counts exact without new triggers.
//!
//! Migrations 10 to 12 are the relay's (issue 14): its outbox, the
//! gateway a forwarded message came through, and how far the gateway has
//! looked through the inbox (`relay_gateway`, one row).
//!
//! Migration 13 (issue 14's bad input) remembers the uuids of signed
//! messages that are gone (`signed_gone`, `gone.rs`), so that a replay of
//! one after its message was deleted is refused, not stored again.
//!
//! Migration 14 remembers a gone message under the uuid its author gave
//! it (`notice_id`, when a message of another author held that uuid and
//! it was stored under one of its own: `uuids.rs`).

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Result, StoreError};

/// The trigger that remembers a signed message gone (`gone.rs`), under
/// the uuid `$uuid` names (an expression over `OLD`): migration 13 made
/// it, 14 made it again with the author's uuid (`notice_id`).
macro_rules! signed_gone_trigger {
    ($uuid:literal) => {
        concat!(
            "CREATE TRIGGER messages_signed_gone AFTER DELETE ON messages
    WHEN OLD.direction = 'in'
        AND ((OLD.signed IS NOT NULL AND OLD.author IS NOT NULL) OR OLD.gateway IS NOT NULL)
        AND OLD.received_at + 691200000
            > CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
        AND (OLD.expires_at IS NULL
             OR OLD.expires_at > CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
    BEGIN
        DELETE FROM signed_gone
            WHERE keep_until < CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER);
        INSERT INTO signed_gone (uuid, author, keep_until)
            VALUES (",
            $uuid,
            ", coalesce(OLD.author, OLD.gateway), OLD.received_at + 691200000)
            ON CONFLICT (uuid, author) DO UPDATE
            SET keep_until = max(keep_until, excluded.keep_until);
        DELETE FROM signed_gone WHERE id <= (SELECT max(id) FROM signed_gone) - 200000;
    END;"
        )
    };
}

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
    // 3: indexes in id order, counts, full-text search.
    "CREATE INDEX messages_by_dir ON messages(direction);
    CREATE INDEX messages_by_dir_unread ON messages(direction) WHERE read_at IS NULL;
    CREATE INDEX messages_by_owner_dir ON messages(owner_user, direction);
    CREATE INDEX messages_by_owner_dir_unread ON messages(owner_user, direction)
        WHERE read_at IS NULL;
    CREATE INDEX messages_by_from ON messages(from_fold, direction);

    CREATE TABLE message_counts (
        direction TEXT NOT NULL,
        block     INTEGER NOT NULL,
        host      INTEGER NOT NULL,
        owner     TEXT NOT NULL,
        unread    INTEGER NOT NULL,
        priority  INTEGER NOT NULL,
        n         INTEGER NOT NULL,
        PRIMARY KEY (direction, block, host, owner, unread, priority)
    ) WITHOUT ROWID;
    CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN
        INSERT INTO message_counts (direction, block, host, owner, unread, priority, n)
        VALUES (new.direction, new.id >> 10, new.owner_user IS NULL,
                coalesce(new.owner_user, ''), new.read_at IS NULL, new.priority, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN
        UPDATE message_counts SET n = n - 1
        WHERE direction = old.direction AND block = old.id >> 10
          AND host = (old.owner_user IS NULL) AND owner = coalesce(old.owner_user, '')
          AND unread = (old.read_at IS NULL) AND priority = old.priority;
        DELETE FROM message_counts
        WHERE direction = old.direction AND block = old.id >> 10
          AND host = (old.owner_user IS NULL) AND owner = coalesce(old.owner_user, '')
          AND unread = (old.read_at IS NULL) AND priority = old.priority AND n <= 0;
    END;
    CREATE TRIGGER messages_count_update
    AFTER UPDATE OF id, direction, owner_user, read_at, priority ON messages
    WHEN old.id IS NOT new.id OR old.direction IS NOT new.direction
      OR old.owner_user IS NOT new.owner_user
      OR (old.read_at IS NULL) IS NOT (new.read_at IS NULL)
      OR old.priority IS NOT new.priority
    BEGIN
        UPDATE message_counts SET n = n - 1
        WHERE direction = old.direction AND block = old.id >> 10
          AND host = (old.owner_user IS NULL) AND owner = coalesce(old.owner_user, '')
          AND unread = (old.read_at IS NULL) AND priority = old.priority;
        DELETE FROM message_counts
        WHERE direction = old.direction AND block = old.id >> 10
          AND host = (old.owner_user IS NULL) AND owner = coalesce(old.owner_user, '')
          AND unread = (old.read_at IS NULL) AND priority = old.priority AND n <= 0;
        INSERT INTO message_counts (direction, block, host, owner, unread, priority, n)
        VALUES (new.direction, new.id >> 10, new.owner_user IS NULL,
                coalesce(new.owner_user, ''), new.read_at IS NULL, new.priority, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    END;
    INSERT INTO message_counts (direction, block, host, owner, unread, priority, n)
    SELECT direction, id >> 10, owner_user IS NULL, coalesce(owner_user, ''),
           read_at IS NULL, priority, count(*)
    FROM messages GROUP BY 1, 2, 3, 4, 5, 6;

    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, from_name, to_name,
        content = 'messages', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO messages_fts (messages_fts, rank) VALUES ('secure-delete', 1);
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, text, from_name, to_name)
        VALUES (new.id, new.text, new.from_name, new.to_name);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text, from_name, to_name)
        VALUES ('delete', old.id, old.text, old.from_name, old.to_name);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF id, text, from_name, to_name ON messages
    BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text, from_name, to_name)
        VALUES ('delete', old.id, old.text, old.from_name, old.to_name);
        INSERT INTO messages_fts (rowid, text, from_name, to_name)
        VALUES (new.id, new.text, new.from_name, new.to_name);
    END;
    INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');",
    // 4: counts by sender, an index by time that covers every count.
    "CREATE INDEX messages_by_from_owner ON messages(from_fold, owner_user, direction);
    CREATE INDEX messages_by_dir_time
        ON messages(direction, received_at, owner_user, read_at, priority, from_fold);

    CREATE TABLE message_totals (
        direction TEXT NOT NULL,
        sender    TEXT NOT NULL,
        host      INTEGER NOT NULL,
        owner     TEXT NOT NULL,
        unread    INTEGER NOT NULL,
        priority  INTEGER NOT NULL,
        n         INTEGER NOT NULL,
        PRIMARY KEY (direction, sender, host, owner, unread, priority)
    ) WITHOUT ROWID;
    DROP TRIGGER messages_count_insert;
    DROP TRIGGER messages_count_delete;
    DROP TRIGGER messages_count_update;
    CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN
        INSERT INTO message_counts (direction, block, host, owner, unread, priority, n)
        VALUES (new.direction, new.id >> 10, new.owner_user IS NULL,
                coalesce(new.owner_user, ''), new.read_at IS NULL, new.priority, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
        INSERT INTO message_totals (direction, sender, host, owner, unread, priority, n)
        VALUES (new.direction, new.from_fold, new.owner_user IS NULL,
                coalesce(new.owner_user, ''), new.read_at IS NULL, new.priority, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN
        UPDATE message_counts SET n = n - 1
        WHERE direction = old.direction AND block = old.id >> 10
          AND host = (old.owner_user IS NULL) AND owner = coalesce(old.owner_user, '')
          AND unread = (old.read_at IS NULL) AND priority = old.priority;
        DELETE FROM message_counts WHERE direction = old.direction AND block = old.id >> 10
          AND host = (old.owner_user IS NULL) AND owner = coalesce(old.owner_user, '')
          AND unread = (old.read_at IS NULL) AND priority = old.priority AND n <= 0;
        UPDATE message_totals SET n = n - 1
        WHERE direction = old.direction AND sender = old.from_fold
          AND host = (old.owner_user IS NULL) AND owner = coalesce(old.owner_user, '')
          AND unread = (old.read_at IS NULL) AND priority = old.priority;
        DELETE FROM message_totals WHERE direction = old.direction AND sender = old.from_fold
          AND host = (old.owner_user IS NULL) AND owner = coalesce(old.owner_user, '')
          AND unread = (old.read_at IS NULL) AND priority = old.priority AND n <= 0;
    END;
    CREATE TRIGGER messages_count_update
    AFTER UPDATE OF id, direction, from_fold, owner_user, read_at, priority ON messages
    WHEN old.id IS NOT new.id OR old.direction IS NOT new.direction
      OR old.from_fold IS NOT new.from_fold OR old.owner_user IS NOT new.owner_user
      OR (old.read_at IS NULL) IS NOT (new.read_at IS NULL)
      OR old.priority IS NOT new.priority
    BEGIN
        UPDATE message_counts SET n = n - 1
        WHERE direction = old.direction AND block = old.id >> 10
          AND host = (old.owner_user IS NULL) AND owner = coalesce(old.owner_user, '')
          AND unread = (old.read_at IS NULL) AND priority = old.priority;
        DELETE FROM message_counts WHERE direction = old.direction AND block = old.id >> 10
          AND host = (old.owner_user IS NULL) AND owner = coalesce(old.owner_user, '')
          AND unread = (old.read_at IS NULL) AND priority = old.priority AND n <= 0;
        UPDATE message_totals SET n = n - 1
        WHERE direction = old.direction AND sender = old.from_fold
          AND host = (old.owner_user IS NULL) AND owner = coalesce(old.owner_user, '')
          AND unread = (old.read_at IS NULL) AND priority = old.priority;
        DELETE FROM message_totals WHERE direction = old.direction AND sender = old.from_fold
          AND host = (old.owner_user IS NULL) AND owner = coalesce(old.owner_user, '')
          AND unread = (old.read_at IS NULL) AND priority = old.priority AND n <= 0;
        INSERT INTO message_counts (direction, block, host, owner, unread, priority, n)
        VALUES (new.direction, new.id >> 10, new.owner_user IS NULL,
                coalesce(new.owner_user, ''), new.read_at IS NULL, new.priority, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
        INSERT INTO message_totals (direction, sender, host, owner, unread, priority, n)
        VALUES (new.direction, new.from_fold, new.owner_user IS NULL,
                coalesce(new.owner_user, ''), new.read_at IS NULL, new.priority, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    END;
    INSERT INTO message_totals (direction, sender, host, owner, unread, priority, n)
    SELECT direction, from_fold, owner_user IS NULL, coalesce(owner_user, ''),
           read_at IS NULL, priority, count(*)
    FROM messages GROUP BY 1, 2, 3, 4, 5, 6;",
    // 5: a new message's counts are written by the insert itself and its
    // words are indexed after it, in batches (derived.rs); no INSERT
    // triggers: a trigger costs a statement savepoint per row, at which
    // FTS5 flushes. `fts_progress` is the highest id the index has taken;
    // deletes and updates touch the index only for rows it has. The
    // indexes by time and owner of migration 1 and the one on direction
    // alone go: the id-ordered ones of 3 and 4 answer every query (a
    // listing of everyone walks the table itself, newest id first), and
    // each index is one more page written by every group commit.
    "DROP TRIGGER messages_fts_insert;
    DROP TRIGGER messages_count_insert;
    DROP TRIGGER messages_fts_delete;
    DROP TRIGGER messages_fts_update;
    DROP INDEX messages_by_time;
    DROP INDEX messages_unread;
    DROP INDEX messages_by_owner;
    DROP INDEX messages_by_dir;
    CREATE TABLE fts_progress (id INTEGER NOT NULL);
    INSERT INTO fts_progress (id) SELECT coalesce(max(id), 0) FROM messages;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
    WHEN old.id <= (SELECT id FROM fts_progress) BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text, from_name, to_name)
        VALUES ('delete', old.id, old.text, old.from_name, old.to_name);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF id, text, from_name, to_name ON messages
    WHEN old.id <= (SELECT id FROM fts_progress) BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text, from_name, to_name)
        VALUES ('delete', old.id, old.text, old.from_name, old.to_name);
        INSERT INTO messages_fts (rowid, text, from_name, to_name)
        VALUES (new.id, new.text, new.from_name, new.to_name);
    END;",
    // 6: counts by owner alone. `message_totals` is per sender, and a
    // sender name is the network's to choose: a count without one summed a
    // row per sender ever seen, so a host sending under a million names
    // made every page and the tray's poll walk a million rows. Ids never
    // change (the index and the counts are keyed on them).
    "CREATE TABLE message_owner_totals (
        direction TEXT NOT NULL,
        host      INTEGER NOT NULL,
        owner     TEXT NOT NULL,
        unread    INTEGER NOT NULL,
        priority  INTEGER NOT NULL,
        n         INTEGER NOT NULL,
        PRIMARY KEY (direction, host, owner, unread, priority)
    ) WITHOUT ROWID;
    INSERT INTO message_owner_totals (direction, host, owner, unread, priority, n)
    SELECT direction, owner_user IS NULL, coalesce(owner_user, ''), read_at IS NULL,
           priority, count(*)
    FROM messages GROUP BY 1, 2, 3, 4, 5;
    CREATE TRIGGER messages_owner_count_delete AFTER DELETE ON messages BEGIN
        UPDATE message_owner_totals SET n = n - 1 WHERE direction = old.direction AND host = (old.owner_user IS NULL)
          AND owner = coalesce(old.owner_user, '') AND unread = (old.read_at IS NULL)
          AND priority = old.priority;
        DELETE FROM message_owner_totals WHERE direction = old.direction AND host = (old.owner_user IS NULL)
          AND owner = coalesce(old.owner_user, '') AND unread = (old.read_at IS NULL)
          AND priority = old.priority AND n <= 0;
    END;
    CREATE TRIGGER messages_owner_count_update
    AFTER UPDATE OF direction, owner_user, read_at, priority ON messages
    WHEN old.direction IS NOT new.direction OR old.owner_user IS NOT new.owner_user
      OR (old.read_at IS NULL) IS NOT (new.read_at IS NULL)
      OR old.priority IS NOT new.priority
    BEGIN
        UPDATE message_owner_totals SET n = n - 1 WHERE direction = old.direction AND host = (old.owner_user IS NULL)
          AND owner = coalesce(old.owner_user, '') AND unread = (old.read_at IS NULL)
          AND priority = old.priority;
        DELETE FROM message_owner_totals WHERE direction = old.direction AND host = (old.owner_user IS NULL)
          AND owner = coalesce(old.owner_user, '') AND unread = (old.read_at IS NULL)
          AND priority = old.priority AND n <= 0;
        INSERT INTO message_owner_totals (direction, host, owner, unread, priority, n)
        VALUES (new.direction, new.owner_user IS NULL, coalesce(new.owner_user, ''),
                new.read_at IS NULL, new.priority, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER messages_id_fixed BEFORE UPDATE OF id ON messages BEGIN
        SELECT RAISE(ABORT, 'a message id never changes');
    END;",
    // 7: signed messages and live notices (issue #11).
    "ALTER TABLE messages ADD COLUMN author TEXT
        CHECK (author IS NULL OR (length(CAST(author AS BLOB)) BETWEEN 1 AND 80
               AND (verified = 1 OR sender_uid IS NOT NULL)));
    ALTER TABLE messages ADD COLUMN signed BLOB
        CHECK (signed IS NULL OR (verified = 1 AND length(signed) <= 81920));
    ALTER TABLE messages ADD COLUMN updated_at INTEGER;
    ALTER TABLE messages ADD COLUMN retracted_at INTEGER;",
    // 8: alerts (issue 12): the mark, the title and how many times an
    // alert was raised within its collapse window.
    "ALTER TABLE messages ADD COLUMN alert INTEGER NOT NULL DEFAULT 0 CHECK (alert IN (0, 1));
    ALTER TABLE messages ADD COLUMN title TEXT
        CHECK (title IS NULL OR (alert = 1 AND length(CAST(title AS BLOB)) <= 255));
    ALTER TABLE messages ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1 CHECK (repeats >= 1);",
    // 9: the sender's expiry (`messngr send --expires`, issue 14): expired
    // messages are found, and deleted, by this index.
    "CREATE INDEX messages_by_expiry ON messages(expires_at) WHERE expires_at IS NOT NULL;",
    // 10: messages for other sites kept here while the relay is down
    // (issue 14): the name, the signed frame, sent when it returns.
    "CREATE TABLE relay_outbox (
        id        INTEGER PRIMARY KEY,
        target    TEXT NOT NULL CHECK (length(CAST(target AS BLOB)) BETWEEN 1 AND 15),
        uuid      TEXT NOT NULL UNIQUE CHECK (length(uuid) = 32),
        frame     BLOB NOT NULL CHECK (length(frame) BETWEEN 1 AND 81920),
        queued_at INTEGER NOT NULL,
        uid       INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX relay_outbox_by_uid ON relay_outbox(uid);",
    // 11: a legacy message a gateway forwarded through the relay (issue
    // 14): the gateway and where it says the message came from; such a
    // message is never verified.
    "ALTER TABLE messages ADD COLUMN gateway TEXT
        CHECK (gateway IS NULL OR (verified = 0
               AND length(CAST(gateway AS BLOB)) BETWEEN 1 AND 300));",
    // 12: how far the secure gateway has looked (issue 14): the id of the
    // last message it forwarded or passed over, and the names it forwards,
    // so that what was stored while it was behind or down is forwarded
    // from here (one row).
    "CREATE TABLE relay_gateway (
        one   INTEGER PRIMARY KEY CHECK (one = 1),
        id    INTEGER NOT NULL,
        names TEXT NOT NULL CHECK (length(CAST(names AS BLOB)) <= 65536)
    );",
    // 13: the uuids of signed messages received and deleted since, with
    // their author (a forwarded message: its gateway), kept 8 days after
    // they arrived, the newest 200 000 at most (`gone.rs`'s REMEMBERED_MS
    // and MAX_REMEMBERED, which a test compares with the literals): a
    // replay of one is refused. Every delete of such a message, however it
    // is deleted, is remembered by the trigger (unless it expired, or came
    // more than 8 days ago), which also forgets what is past its time or
    // beyond the newest.
    concat!(
        "CREATE TABLE signed_gone (
        id         INTEGER PRIMARY KEY,
        uuid       TEXT NOT NULL CHECK (length(uuid) = 32),
        author     TEXT NOT NULL,
        keep_until INTEGER NOT NULL,
        UNIQUE (uuid, author)
    );
    CREATE INDEX signed_gone_by_time ON signed_gone(keep_until);
    ",
        signed_gone_trigger!("OLD.uuid")
    ),
    // 14: a received message whose uuid another author's message held is
    // stored under a uuid of its own, with its author's as `notice_id`
    // (`uuids.rs`); a gone one is remembered under its author's uuid,
    // which `notice_id` holds when set (for every other signed message
    // received, `notice_id` is its uuid already: nothing changes for them).
    concat!(
        "DROP TRIGGER messages_signed_gone;\n",
        signed_gone_trigger!("coalesce(OLD.notice_id, OLD.uuid)")
    ),
];

/// `message_counts.block` is `id >> COUNT_BLOCK_SHIFT` (the triggers of
/// migrations 3 and 4 say `>> 10`, and so does derived.rs; a test checks
/// that they agree).
pub(crate) const COUNT_BLOCK_SHIFT: u32 = 10;

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
