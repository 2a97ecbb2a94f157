//! Signed messages gone since they came (`gone.rs`): offered again they
//! are replays, refused, however they went; notices are applied once, and
//! one that comes after a newer one changes nothing.

use super::notices::{ALICE, notice, signed, uuid};
use super::{T0, msg, temp_store};
use crate::schema::MIGRATIONS;
use crate::{REMEMBERED_MS, Store, StoreError};

fn is_replayed(r: crate::Result<impl std::fmt::Debug>, n: u8) {
    match r {
        Err(StoreError::Replayed { uuid: u }) => assert_eq!(u, uuid(n)),
        other => panic!("expected a replay of {}, got {other:?}", uuid(n)),
    }
}

fn remembered(store: &Store) -> i64 {
    store
        .conn_ref()
        .query_row("SELECT count(*) FROM signed_gone", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_signed_message_deleted_is_a_replay_when_it_comes_again() {
    let (_dir, mut store) = temp_store();
    let now = crate::clock::now_ms();
    let mut m = signed(1, "the vault code is 1234");
    m.received_at = now;
    let first = store.insert(&m).unwrap();
    store.delete(first.id).unwrap();
    is_replayed(store.insert(&m), 1);
    assert!(store.find_by_uuid(&uuid(1)).unwrap().is_none());
    // In a batch, only its own slot.
    let mut other = signed(2, "a new one");
    other.received_at = now;
    let slots = store.insert_batch(&[m.clone(), other]).unwrap();
    is_replayed(slots[0].as_ref().map(|_| ()).map_err(|e| e.replicate()), 1);
    assert_eq!(slots[1].as_ref().unwrap().text, "a new one");

    // Gone by its expiry, the same.
    let mut e = signed(3, "until noon");
    e.received_at = now;
    e.expires_at = Some(now + 1);
    store.insert(&e).unwrap();
    assert_eq!(store.delete_expired(now + 1, 10).unwrap(), 1);
    is_replayed(store.insert(&e), 3);
}

#[test]
fn an_unsigned_message_is_not_remembered() {
    let (_dir, mut store) = temp_store();
    let mut m = msg("bob", "H1", "legacy", T0);
    m.uuid = Some(uuid(4));
    let first = store.insert(&m).unwrap();
    store.delete(first.id).unwrap();
    assert_eq!(remembered(&store), 0);
    store.insert(&m).unwrap();
}

#[test]
fn a_signed_notice_is_applied_once() {
    let (_dir, mut store) = temp_store();
    let now = crate::clock::now_ms();
    let old = store.insert(&signed(1, "server down")).unwrap();
    let v2 = notice(101, b"v2");
    store
        .update_notice(&uuid(1), ALICE, "server down, back at 3", Some(&v2), now)
        .unwrap();
    let v3 = notice(102, b"v3");
    store
        .update_notice(&uuid(1), ALICE, "server back up", Some(&v3), now + 1)
        .unwrap();
    store.mark_read(old.id).unwrap();
    // The first update again: refused; the text and the read state stay.
    is_replayed(
        store.update_notice(
            &uuid(1),
            ALICE,
            "server down, back at 3",
            Some(&v2),
            now + 2,
        ),
        101,
    );
    let m = store.get(old.id).unwrap();
    assert_eq!(m.text, "server back up");
    assert!(m.read_at.is_some());
    // A retraction, once.
    let r = notice(103, b"retract");
    store
        .retract_notice(&uuid(1), ALICE, Some(&r), now + 3)
        .unwrap();
    is_replayed(
        store.retract_notice(&uuid(1), ALICE, Some(&r), now + 4),
        103,
    );
}

#[test]
fn an_update_that_comes_after_a_newer_one_changes_nothing() {
    let (_dir, mut store) = temp_store();
    let now = crate::clock::now_ms();
    let m = store.insert(&signed(1, "server down")).unwrap();
    store
        .update_notice(
            &uuid(1),
            ALICE,
            "server back up",
            Some(&notice(102, b"v3")),
            now + 5,
        )
        .unwrap();
    store.mark_read(m.id).unwrap();
    let late = store.update_notice(&uuid(1), ALICE, "back at 3", Some(&notice(101, b"v2")), now);
    assert!(
        matches!(&late, Err(StoreError::Superseded { uuid: u }) if *u == uuid(1)),
        "{late:?}"
    );
    let m = store.get(m.id).unwrap();
    assert_eq!(
        (m.text.as_str(), m.updated_at),
        ("server back up", Some(now + 5))
    );
    assert!(m.read_at.is_some());
    // It was not applied, so not remembered either.
    assert_eq!(remembered(&store), 1);
}

#[test]
fn a_notice_that_changed_nothing_may_come_again() {
    let (_dir, mut store) = temp_store();
    let now = crate::clock::now_ms();
    let v2 = notice(101, b"v2");
    assert!(
        store
            .update_notice(&uuid(9), ALICE, "early", Some(&v2), now)
            .unwrap()
            .is_empty()
    );
    store.insert(&signed(9, "the message")).unwrap();
    let changed = store
        .update_notice(&uuid(9), ALICE, "early", Some(&v2), now + 1)
        .unwrap();
    assert_eq!(changed[0].text, "early");
}

#[test]
fn what_is_past_its_time_is_forgotten() {
    let (_dir, mut store) = temp_store();
    let now = crate::clock::now_ms();
    let mut old = signed(1, "nine days ago");
    old.received_at = now - 9 * 86_400_000;
    let id = store.insert(&old).unwrap().id;
    store.delete(id).unwrap();
    let mut recent = signed(2, "now");
    recent.received_at = now;
    let id = store.insert(&recent).unwrap().id;
    // This delete forgets the first (kept 8 days after it came).
    store.delete(id).unwrap();
    assert_eq!(remembered(&store), 1);
    store.insert(&old).unwrap();
    is_replayed(store.insert(&recent), 2);
}

#[test]
fn the_trigger_keeps_uuids_as_long_as_the_code_says() {
    assert!(
        MIGRATIONS[12].contains(&format!("OLD.received_at + {REMEMBERED_MS}")),
        "migration 13's trigger and gone::REMEMBERED_MS differ"
    );
}
