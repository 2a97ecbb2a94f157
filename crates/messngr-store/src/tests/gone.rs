//! Signed messages deleted since they came (`gone.rs`): offered again by
//! their author they are replays, refused, however they went; a notice
//! no newer than the one shown changes nothing.

use super::notices::{ALICE, signed, uuid};
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

/// How many records hold `uuid`.
fn remembered_as(store: &Store, uuid: &str) -> i64 {
    store
        .conn_ref()
        .query_row(
            "SELECT count(*) FROM signed_gone WHERE uuid = ?",
            [uuid],
            |r| r.get(0),
        )
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
    assert_eq!(remembered(&store), 2);
}

/// What needs no record has none: a message deleted at its sender's
/// expiry (an expired frame is refused when it comes), and one that came
/// longer ago than a frame is accepted. So a sender cannot grow the table
/// by sending what expires at once.
#[test]
fn an_expired_or_old_message_is_not_remembered() {
    let (_dir, mut store) = temp_store();
    let now = crate::clock::now_ms();
    let mut e = fresh(3, "until noon");
    e.expires_at = Some(now + 1);
    store.insert(&e).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(store.delete_expired(crate::clock::now_ms(), 10).unwrap(), 1);
    let mut old = signed(4, "nine days ago");
    old.received_at = now - 9 * 86_400_000;
    let id = store.insert(&old).unwrap().id;
    store.delete(id).unwrap();
    assert_eq!(remembered(&store), 0);
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
}

/// A remote author's retraction again changes nothing, and says so (a
/// local one is answered as the first was).
#[test]
fn a_signed_retraction_again_is_superseded() {
    let (_dir, mut store) = temp_store();
    store.insert(&signed(1, "the plan")).unwrap();
    let first = store
        .retract_notice(&uuid(1), ALICE, Some(b"r"), T0 + 1)
        .unwrap();
    assert_eq!(first.len(), 1);
    let again = store.retract_notice(&uuid(1), ALICE, Some(b"r"), T0 + 1);
    assert!(
        matches!(&again, Err(StoreError::Superseded { .. })),
        "{again:?}"
    );
    assert_eq!(
        store.retract_notice(&uuid(1), ALICE, None, T0 + 2).unwrap(),
        first
    );
}

/// A local author's updates come in order from this host's API: each
/// applies, whatever this host's clock did meanwhile.
#[test]
fn a_local_update_is_not_ordered_by_time() {
    let (_dir, mut store) = temp_store();
    let m = store.insert(&signed(1, "lunch at 12")).unwrap();
    store
        .update_notice(&uuid(1), ALICE, "lunch at 1", None, T0 + 5)
        .unwrap();
    let back = store
        .update_notice(&uuid(1), ALICE, "lunch at 2", None, T0)
        .unwrap();
    assert_eq!(back[0].text, "lunch at 2");
    assert_eq!(store.get(m.id).unwrap().text, "lunch at 2");
}

/// An update no newer than the one shown changes nothing, and the message
/// stays read: the one shown offered again (a replay, or a retry: its very
/// time), or an older one come late.
#[test]
fn an_update_no_newer_than_the_one_shown_changes_nothing() {
    for (text, at) in [("server back up", T0 + 5), ("back at 3", T0)] {
        let (_dir, mut store) = temp_store();
        let m = store.insert(&signed(1, "server down")).unwrap();
        store
            .update_notice(&uuid(1), ALICE, "server back up", Some(b"v3"), T0 + 5)
            .unwrap();
        store.mark_read(m.id).unwrap();
        let again = store.update_notice(&uuid(1), ALICE, text, Some(b"v2"), at);
        assert!(
            matches!(&again, Err(StoreError::Superseded { uuid: u }) if *u == uuid(1)),
            "{again:?}"
        );
        let m = store.get(m.id).unwrap();
        assert_eq!(
            (m.text.as_str(), m.updated_at),
            ("server back up", Some(T0 + 5))
        );
        assert!(m.read_at.is_some());
    }
}

/// Kept 8 days after it came, by this host's clock.
#[test]
fn what_is_past_its_time_is_forgotten_by_this_hosts_clock() {
    let (_dir, mut store) = temp_store();
    let now = crate::clock::now_ms();
    let mut old = signed(1, "nine days ago");
    old.received_at = now - 9 * 86_400_000;
    let id = store.insert(&old).unwrap().id;
    store.delete(id).unwrap();
    // Not recorded at all: it came longer ago than a frame is accepted.
    assert_eq!(remembered(&store), 0);
    // A record past its time is forgotten at the next delete.
    store
        .conn_ref()
        .execute(
            "INSERT INTO signed_gone (uuid, author, keep_until) VALUES (?1, 'x@H9', ?2)",
            rusqlite::params![uuid(7), now - 1],
        )
        .unwrap();
    let id = store.insert(&fresh(2, "now")).unwrap().id;
    store.delete(id).unwrap();
    assert_eq!(remembered(&store), 1);
    store.insert(&old).unwrap();
    is_replayed(store.insert(&fresh(2, "now")), 2);
    // A record past its time refuses nothing, pruned or not yet.
    store
        .conn_ref()
        .execute(
            "UPDATE signed_gone SET keep_until = ?1 WHERE uuid = ?2",
            rusqlite::params![crate::clock::now_ms() - 1, uuid(2)],
        )
        .unwrap();
    store.insert(&fresh(2, "now")).unwrap();
}

#[test]
fn the_trigger_keeps_uuids_as_long_and_as_many_as_the_code_says() {
    // 13 made it, 14 made it again.
    for (n, m) in [(13, MIGRATIONS[12]), (14, MIGRATIONS[13])] {
        assert!(
            m.contains(&format!("OLD.received_at + {REMEMBERED_MS}")),
            "migration {n}'s trigger and gone::REMEMBERED_MS differ"
        );
        assert!(
            m.contains(&format!(
                "(SELECT max(id) FROM signed_gone) - {MAX_REMEMBERED}"
            )),
            "migration {n}'s trigger and gone::MAX_REMEMBERED differ"
        );
    }
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
    assert_eq!(
        remembered_as(&store, &format!("{:032x}", 1001)),
        0,
        "the oldest is forgotten"
    );
}
