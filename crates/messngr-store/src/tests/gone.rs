//! Signed messages gone since they came (`gone.rs`): offered again by
//! their author they are replays, refused, however they went; notices are
//! applied once, and one that comes after a newer one changes nothing.

use super::notices::{ALICE, notice, signed, uuid};
use super::{T0, msg, temp_store};
use crate::gone::MAX_REMEMBERED;
use crate::schema::MIGRATIONS;
use crate::{NewMessage, REMEMBERED_MS, Store, StoreError};

fn is_replayed<T: std::fmt::Debug>(r: crate::Result<T>, n: u8) {
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

/// `signed(n, text)` received now.
fn fresh(n: u8, text: &str) -> NewMessage {
    let mut m = signed(n, text);
    m.received_at = crate::clock::now_ms();
    m
}

#[test]
fn a_signed_message_deleted_is_a_replay_when_it_comes_again() {
    let (_dir, mut store) = temp_store();
    let m = fresh(1, "the vault code is 1234");
    let first = store.insert(&m).unwrap();
    store.delete(first.id).unwrap();
    is_replayed(store.insert(&m), 1);
    assert!(store.find_by_uuid(&uuid(1)).unwrap().is_none());
    // In a batch, only its own slot.
    let slots = store
        .insert_batch(&[m.clone(), fresh(2, "a new one")])
        .unwrap();
    assert!(
        matches!(&slots[0], Err(StoreError::Replayed { .. })),
        "{slots:?}"
    );
    assert_eq!(slots[1].as_ref().unwrap().text, "a new one");
}

#[test]
fn every_way_of_going_is_remembered() {
    let (_dir, mut store) = temp_store();
    let now = crate::clock::now_ms();
    // The sender's expiry.
    let mut e = fresh(3, "until noon");
    e.expires_at = Some(now + 1);
    store.insert(&e).unwrap();
    assert_eq!(store.delete_expired(now + 1, 10).unwrap(), 1);
    is_replayed(store.insert(&e), 3);
    // expire_read_after_days: read, and older than the cut.
    let r = store.insert(&fresh(4, "read long ago")).unwrap();
    store.mark_read(r.id).unwrap();
    assert_eq!(store.expire_read(now + 60_000, 10).unwrap(), 1);
    is_replayed(store.insert(&fresh(4, "read long ago")), 4);
    // A gateway's forward (unsigned, vouched for by the gateway).
    let mut g = msg("bob", "ALICE", "via the gateway", now);
    g.uuid = Some(uuid(5));
    g.gateway = Some("GW: smb from 10.0.0.7".into());
    let id = store.insert(&g).unwrap().id;
    store.delete(id).unwrap();
    is_replayed(store.insert(&g), 5);
    assert_eq!(remembered(&store), 3);
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

/// A group's members all learn its message's uuid: one of them sending
/// something of its own under it (gone at once) must not make the real
/// message look like a replay.
#[test]
fn another_authors_uuid_is_not_a_replay() {
    let (_dir, mut store) = temp_store();
    let mut squat = fresh(6, "mine now");
    squat.author = Some("mallory@H9".into());
    let id = store.insert(&squat).unwrap().id;
    store.delete(id).unwrap();
    let real = store.insert(&fresh(6, "the real one")).unwrap();
    assert_eq!(real.author.as_deref(), Some(ALICE));
    // Nor a notice of the other author's under the uuid.
    let other = store.insert(&fresh(7, "alice's notice")).unwrap();
    let mut mal = fresh(8, "mallory's own");
    mal.author = Some("mallory@H9".into());
    store.insert(&mal).unwrap();
    store
        .update_notice(
            &uuid(8),
            "mallory@H9",
            "edited",
            Some(&notice(9, b"m")),
            T0 + 1,
        )
        .unwrap();
    store
        .update_notice(
            &uuid(7),
            ALICE,
            "alice edited",
            Some(&notice(9, b"a")),
            T0 + 1,
        )
        .unwrap();
    assert_eq!(store.get(other.id).unwrap().text, "alice edited");
}

#[test]
fn a_signed_notice_is_applied_once() {
    let (_dir, mut store) = temp_store();
    let old = store.insert(&signed(1, "server down")).unwrap();
    let v2 = notice(101, b"v2");
    store
        .update_notice(&uuid(1), ALICE, "server down, back at 3", Some(&v2), T0 + 1)
        .unwrap();
    let v3 = notice(102, b"v3");
    store
        .update_notice(&uuid(1), ALICE, "server back up", Some(&v3), T0 + 2)
        .unwrap();
    store.mark_read(old.id).unwrap();
    // The latest update again, as it was (its time too): refused by its
    // uuid alone; the message stays read.
    is_replayed(
        store.update_notice(&uuid(1), ALICE, "server back up", Some(&v3), T0 + 2),
        102,
    );
    let m = store.get(old.id).unwrap();
    assert_eq!(m.text, "server back up");
    assert!(m.read_at.is_some());
    // A retraction, once.
    let r = notice(103, b"retract");
    store
        .retract_notice(&uuid(1), ALICE, Some(&r), T0 + 3)
        .unwrap();
    is_replayed(store.retract_notice(&uuid(1), ALICE, Some(&r), T0 + 3), 103);
}

#[test]
fn an_update_that_comes_after_a_newer_one_changes_nothing() {
    let (_dir, mut store) = temp_store();
    let m = store.insert(&signed(1, "server down")).unwrap();
    store
        .update_notice(
            &uuid(1),
            ALICE,
            "server back up",
            Some(&notice(102, b"v3")),
            T0 + 5,
        )
        .unwrap();
    store.mark_read(m.id).unwrap();
    let late = store.update_notice(&uuid(1), ALICE, "back at 3", Some(&notice(101, b"v2")), T0);
    assert!(
        matches!(&late, Err(StoreError::Superseded { uuid: u }) if *u == uuid(1)),
        "{late:?}"
    );
    let m = store.get(m.id).unwrap();
    assert_eq!(
        (m.text.as_str(), m.updated_at),
        ("server back up", Some(T0 + 5))
    );
    assert!(m.read_at.is_some());
    // It was not applied, so not remembered either: it may come again.
    assert_eq!(remembered(&store), 1);
}

#[test]
fn a_notice_that_changed_nothing_may_come_again() {
    let (_dir, mut store) = temp_store();
    let v2 = notice(101, b"v2");
    assert!(
        store
            .update_notice(&uuid(9), ALICE, "early", Some(&v2), T0)
            .unwrap()
            .is_empty()
    );
    store.insert(&signed(9, "the message")).unwrap();
    let changed = store
        .update_notice(&uuid(9), ALICE, "early", Some(&v2), T0 + 1)
        .unwrap();
    assert_eq!(changed[0].text, "early");
}

/// Kept by this host's clock: neither a message received long ago nor a
/// notice's time (its author's) decides how long.
#[test]
fn what_is_past_its_time_is_forgotten_by_this_hosts_clock() {
    let (_dir, mut store) = temp_store();
    let now = crate::clock::now_ms();
    let mut old = signed(1, "nine days ago");
    old.received_at = now - 9 * 86_400_000;
    let id = store.insert(&old).unwrap().id;
    store.delete(id).unwrap();
    let id = store.insert(&fresh(2, "now")).unwrap().id;
    // This delete forgets the first (kept 8 days after it came).
    store.delete(id).unwrap();
    assert_eq!(remembered(&store), 1);
    store.insert(&old).unwrap();
    is_replayed(store.insert(&fresh(2, "now")), 2);
    // A notice dated by its author far ahead forgets nothing, and is kept
    // 8 days from now, not from its date.
    let far = 253_402_300_799_999; // 9999-12-31
    store
        .update_notice(
            &uuid(1),
            ALICE,
            "from the future",
            Some(&notice(3, b"f")),
            far,
        )
        .unwrap();
    assert_eq!(remembered(&store), 2);
    let until: i64 = store
        .conn_ref()
        .query_row(
            "SELECT keep_until FROM signed_gone WHERE uuid = ?",
            [uuid(3)],
            |r| r.get(0),
        )
        .unwrap();
    assert!(until <= crate::clock::now_ms() + REMEMBERED_MS, "{until}");
}

#[test]
fn the_trigger_keeps_uuids_as_long_and_as_many_as_the_code_says() {
    assert!(
        MIGRATIONS[12].contains(&format!("OLD.received_at + {REMEMBERED_MS}")),
        "migration 13's trigger and gone::REMEMBERED_MS differ"
    );
    assert!(
        MIGRATIONS[12].contains(&format!(
            "(SELECT max(id) FROM signed_gone) - {MAX_REMEMBERED}"
        )),
        "migration 13's trigger and gone::MAX_REMEMBERED differ"
    );
}

/// A flood of signed messages deleted as they come cannot grow the table
/// past its bound: the oldest are forgotten first.
#[test]
fn at_most_the_newest_are_remembered() {
    let (_dir, mut store) = temp_store();
    let until = crate::clock::now_ms() + REMEMBERED_MS;
    store
        .conn_ref()
        .execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) \
             INSERT INTO signed_gone (uuid, author, keep_until) \
             SELECT printf('%032x', i + 1000), 'flood@H9', ?2 FROM n",
            rusqlite::params![MAX_REMEMBERED, until],
        )
        .unwrap();
    let id = store.insert(&fresh(1, "one more")).unwrap().id;
    store.delete(id).unwrap();
    assert_eq!(remembered(&store), MAX_REMEMBERED);
    is_replayed(store.insert(&fresh(1, "one more")), 1);
    let first: i64 = store
        .conn_ref()
        .query_row(
            "SELECT count(*) FROM signed_gone WHERE uuid = printf('%032x', 1001)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(first, 0, "the oldest is forgotten");
    // A notice applied, the same.
    store.insert(&fresh(2, "to update")).unwrap();
    store
        .update_notice(&uuid(2), ALICE, "updated", Some(&notice(3, b"u")), T0)
        .unwrap();
    assert_eq!(remembered(&store), MAX_REMEMBERED);
}
