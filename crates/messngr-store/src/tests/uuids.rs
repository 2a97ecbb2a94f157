//! A uuid another author's message holds (`uuids.rs`): the message that
//! comes second is stored under a uuid of its own, and its author still
//! finds it by the uuid they gave it.

use super::notices::{ALICE, signed, uuid};
use super::{msg, temp_store};
use crate::{Direction, NewMessage, StoreError};

const MALLORY: &str = "mallory@H9";

/// `signed(n, text)` by `author`, received now, as the daemon stores a
/// verified message (its uuid as its `notice_id`).
fn received(n: u8, text: &str, author: &str) -> NewMessage {
    let mut m = signed(n, text);
    m.received_at = crate::clock::now_ms();
    m.author = Some(author.into());
    m.notice_id = m.uuid.clone();
    m
}

/// A group member that learned the group message's uuid, and got its own
/// message under it stored first, keeps nobody's message out.
#[test]
fn a_uuid_taken_by_another_author_does_not_keep_the_real_message_out() {
    let (_dir, mut store) = temp_store();
    let squat = store.insert(&received(7, "mine first", MALLORY)).unwrap();
    assert_eq!(squat.uuid, uuid(7));
    let real = store
        .insert(&received(7, "the real alert", ALICE))
        .expect("stored beside the squatter's");
    assert_ne!(real.uuid, uuid(7), "under a uuid of its own");
    assert_eq!(real.notice_id.as_deref(), Some(uuid(7).as_str()));
    assert_eq!(real.author.as_deref(), Some(ALICE));

    // A retry of it is the same message, found by the uuid it came with.
    match store.insert(&received(7, "the real alert", ALICE)) {
        Err(StoreError::Duplicate { id, .. }) => assert_eq!(id, real.id),
        other => panic!("expected a duplicate of {}, got {other:?}", real.id),
    }
    // So is one of the squatter's.
    match store.insert(&received(7, "mine first", MALLORY)) {
        Err(StoreError::Duplicate { id, .. }) => assert_eq!(id, squat.id),
        other => panic!("expected a duplicate of {}, got {other:?}", squat.id),
    }

    // Its author's update and retraction reach it, and only it.
    let t = crate::clock::now_ms();
    let updated = store
        .update_notice(&uuid(7), ALICE, "the alert, updated", Some(b"u"), t)
        .unwrap();
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].id, real.id);
    assert_eq!(store.get(squat.id).unwrap().text, "mine first");
    let theirs = store
        .update_notice(&uuid(7), MALLORY, "not hers", Some(b"m"), t + 1)
        .unwrap();
    assert_eq!(theirs.iter().map(|m| m.id).collect::<Vec<_>>(), [squat.id]);
    assert_eq!(store.get(real.id).unwrap().text, "the alert, updated");

    // Gone, a replay of it is refused, though the squatter still holds
    // the uuid.
    store.delete(real.id).unwrap();
    match store.insert(&received(7, "the real alert", ALICE)) {
        Err(StoreError::Replayed { uuid: u }) => assert_eq!(u, uuid(7)),
        other => panic!("expected a replay, got {other:?}"),
    }
}

/// A sent message's uuid, offered by another author, does not refuse
/// that author's message, and the sent one keeps its uuid (its receipts
/// name it).
#[test]
fn a_sent_messages_uuid_offered_by_another_is_stored_apart() {
    let (_dir, mut store) = temp_store();
    let mut sent = msg("root", "ALICE", "ours", crate::clock::now_ms());
    sent.direction = Direction::Out;
    sent.uuid = Some(uuid(8));
    let sent = store.insert(&sent).unwrap();
    let other = store.insert(&received(8, "theirs", MALLORY)).unwrap();
    assert_ne!(other.uuid, uuid(8));
    assert_eq!(store.find_by_uuid(&uuid(8)).unwrap().unwrap().id, sent.id);
}

/// What no author signed (a legacy message, a local one) is refused
/// under a uuid taken, as before: nobody's update could find it.
#[test]
fn an_unsigned_message_under_a_taken_uuid_is_a_duplicate() {
    let (_dir, mut store) = temp_store();
    let first = store.insert(&received(9, "signed", ALICE)).unwrap();
    let mut legacy = msg("bob", "H1", "legacy", crate::clock::now_ms());
    legacy.uuid = Some(uuid(9));
    match store.insert(&legacy) {
        Err(StoreError::Duplicate { id, .. }) => assert_eq!(id, first.id),
        other => panic!("expected a duplicate, got {other:?}"),
    }
}

/// Once the message that held the uuid is gone, the real one offered
/// again (a redelivery, a replay) is still the one stored: not a second.
#[test]
fn the_real_message_again_after_the_squatter_left_is_stored_once() {
    let (_dir, mut store) = temp_store();
    let squat = store.insert(&received(5, "mine first", MALLORY)).unwrap();
    let real = store.insert(&received(5, "the real one", ALICE)).unwrap();
    assert_ne!(real.uuid, uuid(5));
    store.delete(squat.id).unwrap();
    match store.insert(&received(5, "the real one", ALICE)) {
        Err(StoreError::Duplicate { id, .. }) => assert_eq!(id, real.id),
        other => panic!("expected a duplicate of {}, got {other:?}", real.id),
    }
    // And the squatter's, gone, is a replay.
    match store.insert(&received(5, "mine first", MALLORY)) {
        Err(StoreError::Replayed { uuid: u }) => assert_eq!(u, uuid(5)),
        other => panic!("expected a replay, got {other:?}"),
    }
}

/// Every signed message received runs these, and every update of one the
/// next: each must search an index by its key, never scan the table (a
/// scan made each insert cost milliseconds in a full inbox:
/// bench/relay.sh).
#[test]
fn the_lookups_of_every_insert_run_on_indexes() {
    use rusqlite::types::Value;
    let (_dir, store) = temp_store();
    let u = || Value::Text(uuid(1));
    let a = || Value::Text(ALICE.into());
    // (Searching an index by a column that most rows share, such as
    // `direction`, is a scan too: each must search by its key.)
    for (sql, params, key) in [
        (crate::uuids::HELD, vec![u()], "(uuid=?)"),
        (crate::uuids::BY, vec![Value::Integer(1), a()], "(rowid=?)"),
        (
            crate::uuids::MOVED,
            vec![u(), a()],
            "messages_by_notice (notice_id=?)",
        ),
    ] {
        let plan = super::page::plan(&store, sql, params);
        assert!(
            plan.lines().count() == 1 && plan.starts_with("SEARCH") && plan.contains(key),
            "{sql}:\n{plan}"
        );
    }
    // An author's update, retraction or alert count finds its message by
    // uuid or notice_id: both searched, nothing else read.
    for sql in [
        format!("SELECT id FROM messages WHERE {}", crate::notices::MINE),
        format!("SELECT id FROM messages WHERE {}", crate::notices::ALERTS),
    ] {
        let plan = super::page::plan(&store, &sql, vec![u(), a()]);
        assert_eq!(
            plan.lines().filter(|l| l.starts_with("SEARCH")).count(),
            2,
            "{sql}:\n{plan}"
        );
        assert!(
            plan.contains("(uuid=?)") && plan.contains("(notice_id=?)"),
            "{sql}:\n{plan}"
        );
    }
}
