//! Migration 2: the local sender, the pop-up time and do-not-disturb.

use super::{T0, msg, temp_store};
use crate::{Filter, Priority, Store, StoreError};

#[test]
fn sender_uid_and_popup_secs_are_kept_and_validated() {
    let (_dir, mut store) = temp_store();
    let mut m = msg("root@H1", "alice", "the server reboots in 5 minutes", T0);
    m.sender_uid = Some(0);
    m.popup_secs = Some(30);
    m.priority = Priority::Urgent;
    let stored = store.insert(&m).unwrap();
    let again = store.get(stored.id).unwrap();
    assert_eq!(
        (again.sender_uid, again.popup_secs, again.priority),
        (Some(0), Some(30), Priority::Urgent)
    );

    // Another sender and another priority are kept as they are.
    let mut user = m.clone();
    user.sender_uid = Some(1000);
    user.priority = Priority::Normal;
    let u = store.insert(&user).unwrap();
    let again = store.get(u.id).unwrap();
    assert_eq!(
        (again.sender_uid, again.priority),
        (Some(1000), Priority::Normal)
    );

    let mut zero = m.clone();
    zero.popup_secs = Some(0);
    assert!(matches!(store.insert(&zero), Err(StoreError::Invalid(_))));
    assert_eq!(store.count(&Filter::default()).unwrap(), 2);
}

#[test]
fn quiet_is_per_user_and_survives_reopening() {
    let (dir, mut store) = temp_store();
    assert!(store.set_quiet("alice", true, T0).unwrap());
    assert!(
        !store.set_quiet("alice", true, T0 + 5).unwrap(),
        "already quiet"
    );
    assert_eq!(store.quiet_since("alice").unwrap(), Some(T0));
    assert_eq!(store.quiet_since("bob").unwrap(), None);
    assert!(store.set_quiet("bob", true, T0).unwrap());
    assert_eq!(store.quiet_users().unwrap(), ["alice", "bob"]);
    assert!(store.set_quiet("bob", false, T0).unwrap());
    assert!(!store.set_quiet("bob", false, T0).unwrap(), "already off");
    let path = store.path().to_owned();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.quiet_users().unwrap(), ["alice"]);
    drop(dir);
}

#[test]
fn a_version_1_inbox_is_migrated_and_its_messages_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(crate::schema::MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO messages (uuid, received_at, transport, from_name, to_name, from_fold, \
             to_fold, text, raw) VALUES (?1, ?2, 'smb', 'H2', 'H1', 'h2', 'h1', 'old', x'6f6c64')",
            rusqlite::params!["0123456789abcdef0123456789abcdef", T0],
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.pragma_i64("user_version").unwrap(),
        crate::SCHEMA_VERSION
    );
    let old = store.list(&Filter::default()).unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!(
        (old[0].text.as_str(), old[0].sender_uid, old[0].popup_secs),
        ("old", None, None)
    );
    assert!(store.quiet_users().unwrap().is_empty());
}

#[test]
fn unread_counts_by_owner_and_priority() {
    let (_dir, mut store) = temp_store();
    let mut a = msg("H2", "alice", "1", T0);
    a.owner_user = Some("alice".into());
    store.insert(&a).unwrap();
    a.priority = Priority::Urgent;
    let urgent = store.insert(&a).unwrap();
    store.insert(&msg("H2", "H1", "host", T0)).unwrap();
    let mut counts = store.unread_counts().unwrap();
    counts.sort_by_key(|(o, p, _)| (o.clone(), p.as_i64()));
    assert_eq!(
        counts,
        [
            (None, Priority::Normal, 1),
            (Some("alice".into()), Priority::Normal, 1),
            (Some("alice".into()), Priority::Urgent, 1),
        ]
    );
    store.mark_read(urgent.id).unwrap();
    assert_eq!(store.unread_counts().unwrap().len(), 2);
}
