//! Opening, the durability settings, migrations, reopening, a full disk.

use rusqlite::ffi;

use super::{T0, msg, temp_store};
use crate::{Filter, SCHEMA_VERSION, Store, StoreError};

#[test]
fn pragmas_read_back_as_promised() {
    let (_dir, store) = temp_store();
    assert_eq!(store.pragma_text("journal_mode").unwrap(), "wal");
    assert_eq!(store.pragma_i64("synchronous").unwrap(), 2);
    assert_eq!(store.pragma_i64("foreign_keys").unwrap(), 1);
    assert_eq!(store.pragma_i64("secure_delete").unwrap(), 1);
    assert_eq!(store.pragma_i64("busy_timeout").unwrap(), 5000);
    assert_eq!(store.pragma_i64("user_version").unwrap(), SCHEMA_VERSION);
}

#[test]
fn open_creates_missing_directories_and_a_private_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("var/lib/messngr/inbox.sqlite");
    let mut store = Store::open(&path).unwrap();
    store.insert(&msg("ALICE", "H1", "private", T0)).unwrap();
    for file in ["inbox.sqlite", "inbox.sqlite-wal", "inbox.sqlite-shm"] {
        let meta = std::fs::metadata(path.with_file_name(file)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{file}");
    }
}

#[test]
fn a_message_survives_reopening_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite");
    let stored = {
        let mut store = Store::open(&path).unwrap();
        store
            .insert(&msg("ALICE", "H1", "still here?", T0))
            .unwrap()
    };
    for _ in 0..2 {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.pragma_i64("user_version").unwrap(), SCHEMA_VERSION);
        assert_eq!(
            store.list(&Filter::default()).unwrap(),
            std::slice::from_ref(&stored)
        );
    }
}

#[test]
fn committed_data_is_in_the_wal_before_any_checkpoint() {
    // A second connection (another process, in effect) sees the message as
    // soon as insert returned: it was committed, not buffered.
    let (dir, mut store) = temp_store();
    let stored = store.insert(&msg("ALICE", "H1", "now", T0)).unwrap();
    let other = Store::open(dir.path().join("inbox.sqlite")).unwrap();
    assert_eq!(other.get(stored.id).unwrap(), stored);
    assert!(dir.path().join("inbox.sqlite-wal").exists());
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    match Store::open(&path) {
        Err(StoreError::TooNew { found, known }) => {
            assert_eq!((found, known), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_full_disk_is_full_and_stores_nothing() {
    let (_dir, mut store) = temp_store();
    let kept = store.insert(&msg("ALICE", "H1", "before", T0)).unwrap();
    let pages = store.pragma_i64("page_count").unwrap();
    // The database may not grow by more than two pages: a 64 KiB message
    // cannot fit, as on a disk without space (SQLITE_FULL).
    store
        .conn_ref()
        .pragma_update(None, "max_page_count", pages + 2)
        .unwrap();
    let big = "x".repeat(64 * 1024);
    let err = store.insert(&msg("BOB", "H1", &big, T0 + 1)).unwrap_err();
    assert!(matches!(err, StoreError::Full), "{err:?}");
    assert!(err.is_full());
    // Nothing half-stored: the one message from before, and a new message
    // that fits is still accepted afterwards.
    assert_eq!(
        store.list(&Filter::default()).unwrap(),
        std::slice::from_ref(&kept)
    );
    assert_eq!(store.count_unread().unwrap(), 1);
    let small = store.insert(&msg("BOB", "H1", "short", T0 + 2)).unwrap();
    assert_eq!(small.id, kept.id + 1);
    assert_eq!(store.count(&Filter::default()).unwrap(), 2);
}

#[test]
fn sqlite_codes_map_to_what_the_daemon_must_answer() {
    let err = |code| StoreError::from(rusqlite::Error::SqliteFailure(ffi::Error::new(code), None));
    assert!(matches!(err(ffi::SQLITE_FULL), StoreError::Full));
    for code in [
        ffi::SQLITE_READONLY,
        ffi::SQLITE_IOERR,
        ffi::SQLITE_IOERR_FSYNC,
        ffi::SQLITE_IOERR_WRITE,
        ffi::SQLITE_BUSY,
        ffi::SQLITE_CANTOPEN,
        ffi::SQLITE_CORRUPT,
    ] {
        assert!(matches!(err(code), StoreError::Unavailable(_)), "{code}");
    }
    assert!(matches!(err(ffi::SQLITE_MISMATCH), StoreError::Sql(_)));
}

#[test]
fn a_read_only_database_is_unavailable() {
    let (dir, mut store) = temp_store();
    store.insert(&msg("ALICE", "H1", "x", T0)).unwrap();
    store
        .conn_ref()
        .pragma_update(None, "query_only", "ON")
        .unwrap();
    let err = store.insert(&msg("BOB", "H1", "y", T0)).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    drop(dir);
}

#[test]
fn out_of_range_times_are_refused() {
    let (_dir, mut store) = temp_store();
    let m = msg("A", "H1", "far future", i64::MAX);
    assert!(matches!(store.insert(&m), Err(StoreError::Invalid(_))));
    let mut m = msg("A", "H1", "expires never", T0);
    m.expires_at = Some(i64::MIN);
    assert!(matches!(store.insert(&m), Err(StoreError::Invalid(_))));
}
