//! Signed messages and live notices (issue #11): who may claim an author,
//! updates and retractions (only by the author, counts and search exact
//! after them), the recipients of receipts, and the migration that adds
//! the columns.

use super::counts::brute;
use super::{T0, msg, temp_store};
use crate::schema::MIGRATIONS;
use crate::{
    Direction, Filter, MAX_AUTHOR, MAX_SIGNED, Message, NewMessage, ReceiptState, Scope, Store,
    StoreError, StoreHandle, Transport,
};

pub(super) const ALICE: &str = "alice@H2";

/// A verified, signed notice from `alice@H2` to the host, with this uuid.
pub(super) fn signed(uuid: u8, text: &str) -> NewMessage {
    let mut m = NewMessage::received(Transport::Messngr, "alice", "H1", text, text.as_bytes());
    m.received_at = T0;
    m.uuid = Some(format!("{uuid:032x}"));
    m.codepage = Some("utf-8".into());
    m.verified = true;
    m.author = Some(ALICE.into());
    m.signed = Some(format!("frame {text}").into_bytes());
    m
}

pub(super) fn uuid(n: u8) -> String {
    format!("{n:032x}")
}

fn texts(store: &Store, query: &str) -> Vec<String> {
    let page = store.search(query, &Filter::default(), 100).unwrap();
    page.messages.into_iter().map(|m| m.text).collect()
}

/// The kept counts and the full-text index agree with the rows.
fn assert_derived_exact(store: &Store) {
    for scope in [
        Scope::All,
        Scope::Owners {
            user: Some("bob".into()),
            host: true,
        },
    ] {
        for direction in [Direction::In, Direction::Out] {
            for unread_only in [false, true] {
                for from in [None, Some("ALICE".to_owned())] {
                    let f = Filter {
                        scope: scope.clone(),
                        direction,
                        unread_only,
                        from,
                        ..Filter::default()
                    };
                    assert_eq!(store.count(&f).unwrap(), brute(store, &f), "{f:?}");
                }
            }
        }
    }
    let slow: i64 = store
        .conn_ref()
        .query_row(
            "SELECT count(*) FROM messages WHERE direction = 'in' AND read_at IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let fast: u64 = store.unread_counts().unwrap().iter().map(|c| c.2).sum();
    assert_eq!(fast, slow as u64);
    assert_eq!(store.count_unread().unwrap(), slow as u64);
    // The index lags behind a batch on purpose (derived.rs): it can agree
    // with its content table only once it has every message.
    let waiting: bool = store
        .conn_ref()
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE id > (SELECT id FROM fts_progress))",
            [],
            |r| r.get(0),
        )
        .unwrap();
    if !waiting {
        store
            .conn_ref()
            .execute(
                "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)",
                [],
            )
            .unwrap();
    }
}

#[test]
fn author_and_signed_frame_need_a_verified_sender() {
    let (_dir, mut store) = temp_store();
    let mut m = signed(1, "hi");
    m.verified = false;
    m.transport = Transport::Smb;
    m.signed = None;
    let e = store.insert(&m).unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(s) if s.contains("unverified")),
        "{e}"
    );
    // A local account's message names its author without a signature.
    m.sender_uid = Some(1000);
    assert_eq!(store.insert(&m).unwrap().author.as_deref(), Some(ALICE));

    let mut m = signed(2, "hi");
    m.verified = false;
    m.author = None;
    let e = store.insert(&m).unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(s) if s.contains("signed frame")),
        "{e}"
    );
    for bad in [String::new(), "a".repeat(MAX_AUTHOR + 1)] {
        let mut m = signed(3, "hi");
        m.author = Some(bad);
        assert!(matches!(store.insert(&m), Err(StoreError::Invalid(_))));
    }
    let mut m = signed(3, "hi");
    m.signed = Some(vec![7; MAX_SIGNED + 1]);
    let e = store.insert(&m).unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(s) if s.contains("over the limit")),
        "{e}"
    );
    // Nothing refused was stored.
    assert_eq!(store.count(&Filter::default()).unwrap(), 1);
    m.signed = Some(vec![7; MAX_SIGNED]);
    assert_eq!(store.insert(&m).unwrap().signed.unwrap().len(), MAX_SIGNED);
}

/// The schema's CHECKs refuse what the store refuses, with its limits.
#[test]
fn the_schema_checks_agree_with_the_store() {
    let sql = MIGRATIONS[6];
    assert!(sql.contains(&format!("BETWEEN 1 AND {MAX_AUTHOR}")));
    assert!(sql.contains(&format!("length(signed) <= {MAX_SIGNED}")));
    let (_dir, store) = temp_store();
    let insert = |author: Option<&str>, signed: Option<&[u8]>| {
        store.conn_ref().execute(
            "INSERT INTO messages (uuid, received_at, transport, from_name, to_name, from_fold, \
             to_fold, text, raw, author, signed) \
             VALUES (lower(hex(randomblob(16))), 0, 'smb', 'a', 'b', 'a', 'b', '', x'', ?1, ?2)",
            rusqlite::params![author, signed],
        )
    };
    assert!(insert(Some(ALICE), None).is_err());
    assert!(insert(None, Some(b"frame")).is_err());
    insert(None, None).unwrap();
}

#[test]
fn new_fields_come_back_from_every_read() {
    let (_dir, mut store) = temp_store();
    let stored = store.insert(&signed(1, "zanzibar notice")).unwrap();
    assert_eq!(stored.author.as_deref(), Some(ALICE));
    assert_eq!(
        stored.signed.as_deref(),
        Some(&b"frame zanzibar notice"[..])
    );
    assert_eq!((stored.updated_at, stored.retracted_at), (None, None));
    assert_eq!(store.get(stored.id).unwrap(), stored);
    assert_eq!(store.find_by_uuid(&uuid(1)).unwrap(), Some(stored.clone()));
    assert_eq!(store.find_by_uuid(&uuid(9)).unwrap(), None);
    let page = store.page(&Filter::default(), 10).unwrap();
    assert_eq!(page.messages, std::slice::from_ref(&stored));
    let found = store.search("zanzibar", &Filter::default(), 10).unwrap();
    assert_eq!(found.messages, [stored]);
}

#[test]
fn the_author_updates_a_notice_and_it_is_unread_again() {
    let (_dir, mut store) = temp_store();
    let old = store.insert(&signed(1, "meeting at ten")).unwrap();
    store.mark_read(old.id).unwrap();
    let updated = store
        .update_notice(&uuid(1), ALICE, "meeting at eleven ☕", Some(b"v2"), T0 + 5)
        .unwrap();
    let expected = Message {
        text: "meeting at eleven ☕".into(),
        raw: "meeting at eleven ☕".as_bytes().to_vec(),
        codepage: Some("utf-8".into()),
        signed: Some(b"v2".to_vec()),
        updated_at: Some(T0 + 5),
        read_at: None,
        ..old.clone()
    };
    assert_eq!(updated, std::slice::from_ref(&expected));
    assert_eq!(store.get(old.id).unwrap(), expected);
    assert_eq!(store.count_unread().unwrap(), 1);
    assert_eq!(texts(&store, "eleven"), ["meeting at eleven ☕"]);
    assert!(texts(&store, "ten").is_empty());
    assert_derived_exact(&store);
}

/// A local sender's deliveries to several accounts here: each stored under
/// its own uuid, all linked to the sent message by `notice_id`; one update
/// of that uuid changes them all, and a retraction withdraws them all.
#[test]
fn a_notice_reaches_every_delivery_linked_to_it() {
    let (_dir, mut store) = temp_store();
    let mut ids = Vec::new();
    for (n, owner) in [(11, "bob"), (12, "carol")] {
        let mut m = signed(n, "server reboots in 10 minutes");
        m.notice_id = Some(uuid(9));
        m.owner_user = Some(owner.into());
        ids.push(store.insert(&m).unwrap().id);
    }
    let other = store.insert(&signed(13, "unrelated")).unwrap();
    let updated = store
        .update_notice(&uuid(9), ALICE, "server reboots in 5 minutes", None, T0 + 5)
        .unwrap();
    let mut got: Vec<i64> = updated.iter().map(|m| m.id).collect();
    got.sort_unstable();
    assert_eq!(got, ids);
    assert!(
        updated
            .iter()
            .all(|m| m.text == "server reboots in 5 minutes")
    );
    assert_eq!(store.get(other.id).unwrap().text, "unrelated");
    assert_eq!(
        store
            .retract_notice(&uuid(9), ALICE, None, T0 + 6)
            .unwrap()
            .len(),
        2
    );
    assert_derived_exact(&store);
}

#[test]
fn nobody_else_updates_or_retracts_a_notice() {
    let (_dir, mut store) = temp_store();
    let notice = store.insert(&signed(1, "mine")).unwrap();
    let mut unsigned = msg("alice", "H1", "unsigned", T0);
    unsigned.uuid = Some(uuid(2));
    let unsigned = store.insert(&unsigned).unwrap();
    let mut sent = signed(3, "sent from here");
    sent.direction = Direction::Out;
    let sent = store.insert(&sent).unwrap();
    for (id, u, author) in [
        (notice.id, uuid(1), "Alice@H2"), // the author compares exactly
        (notice.id, uuid(1), "mallory@H2"),
        (unsigned.id, uuid(2), ALICE), // no author: nobody's notice
        (sent.id, uuid(3), ALICE),     // a sent message is not updated
    ] {
        let before = store.get(id).unwrap();
        assert_eq!(
            store
                .update_notice(&u, author, "forged", None, T0 + 1)
                .unwrap(),
            []
        );
        assert_eq!(store.retract_notice(&u, author, None, T0 + 1).unwrap(), []);
        assert_eq!(store.get(id).unwrap(), before);
    }
    assert_eq!(
        store
            .update_notice(&uuid(9), ALICE, "x", None, T0 + 1)
            .unwrap(),
        []
    );
    assert!(texts(&store, "forged").is_empty());
}

#[test]
fn a_retraction_withdraws_the_words_and_is_final() {
    let (_dir, mut store) = temp_store();
    let old = store.insert(&signed(1, "the zanzibar plan")).unwrap();
    let retracted = store
        .retract_notice(&uuid(1), ALICE, Some(b"retract"), T0 + 7)
        .unwrap();
    let expected = Message {
        text: String::new(),
        raw: Vec::new(),
        signed: Some(b"retract".to_vec()),
        retracted_at: Some(T0 + 7),
        read_at: Some(T0 + 7),
        ..old.clone()
    };
    assert_eq!(retracted, std::slice::from_ref(&expected));
    assert!(expected.is_retracted());
    assert_eq!(store.count_unread().unwrap(), 0);
    assert!(texts(&store, "zanzibar").is_empty());
    assert_derived_exact(&store);
    // Updating a retracted message does nothing; retracting again answers
    // as the first time, unchanged.
    assert_eq!(
        store
            .update_notice(&uuid(1), ALICE, "back again", None, T0 + 8)
            .unwrap(),
        []
    );
    assert_eq!(
        store.retract_notice(&uuid(1), ALICE, None, T0 + 9).unwrap(),
        std::slice::from_ref(&expected)
    );
    assert_eq!(store.get(old.id).unwrap(), expected);
    // A message read before keeps its reading time.
    let read = store.insert(&signed(2, "read first")).unwrap();
    let read = store.mark_read(read.id).unwrap();
    let r = store.retract_notice(&uuid(2), ALICE, None, T0 + 9).unwrap();
    assert_eq!(r[0].read_at, read.read_at);
    assert_derived_exact(&store);
}

/// Counts (by block, sender and owner) and the index stay exact through
/// updates and retractions, for messages the index has and for ones
/// stored by a batch and not indexed yet.
#[test]
fn counts_and_search_agree_after_updates_and_retractions() {
    let (_dir, mut store) = temp_store();
    let mut batch = Vec::new();
    for i in 0..12u8 {
        let mut m = signed(i, &format!("notice{i} draft"));
        m.owner_user = (i % 3 == 0).then(|| "bob".to_owned());
        m.priority = crate::Priority::from_i64(i64::from(i % 3)).unwrap();
        batch.push(m);
    }
    // Half indexed at once, half waiting for the index.
    for m in &batch[..6] {
        store.insert(m).unwrap();
    }
    for r in store.insert_batch(&batch[6..]).unwrap() {
        r.unwrap();
    }
    for i in (0..12u8).step_by(2) {
        let m = store.find_by_uuid(&uuid(i)).unwrap().unwrap();
        store.mark_read(m.id).unwrap();
    }
    assert_derived_exact(&store);
    for i in 0..12u8 {
        match i % 4 {
            0 => {
                store
                    .update_notice(&uuid(i), ALICE, &format!("notice{i} final"), None, T0 + 1)
                    .unwrap();
            }
            1 => {
                store.retract_notice(&uuid(i), ALICE, None, T0 + 1).unwrap();
            }
            2 => {
                store.retract_notice(&uuid(i), ALICE, None, T0 + 1).unwrap();
                store
                    .update_notice(&uuid(i), ALICE, "zombie", None, T0 + 2)
                    .unwrap();
            }
            _ => {}
        }
        assert_derived_exact(&store);
    }
    assert!(store.index_pending(usize::MAX).unwrap() > 0);
    assert_derived_exact(&store); // the integrity check runs now
    assert_eq!(texts(&store, "final").len(), 3);
    assert_eq!(texts(&store, "draft").len(), 3); // 3, 7, 11: untouched
    assert!(texts(&store, "zombie").is_empty());
    for i in 0..12u8 {
        let found = texts(&store, &format!("notice{i}"));
        assert_eq!(found.len(), usize::from(i % 4 == 0 || i % 4 == 3), "{i}");
    }
}

#[test]
fn recipients_are_recorded_once_and_answer_as_they_read() {
    let (_dir, mut store) = temp_store();
    let mut out = signed(1, "to everyone");
    out.direction = Direction::Out;
    store.insert(&out).unwrap();
    let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        store
            .add_recipients(&uuid(1), &names(&["bob", "carol"]), T0)
            .unwrap(),
        2
    );
    store
        .set_receipt(&uuid(1), "bob", ReceiptState::Read, T0 + 3)
        .unwrap();
    // Again (a retry): nothing added, bob's receipt kept.
    assert_eq!(
        store
            .add_recipients(&uuid(1), &names(&["bob", "carol", "dave"]), T0 + 4)
            .unwrap(),
        1
    );
    // A broadcast's recipient appears with its receipt.
    store
        .set_receipt(&uuid(1), "erin", ReceiptState::Delivered, T0 + 5)
        .unwrap();
    assert_eq!(
        store.unread_recipients(&uuid(1)).unwrap(),
        ["carol", "dave", "erin"]
    );
    let r = store.receipts(&uuid(1)).unwrap();
    assert_eq!(
        (r[0].recipient.as_str(), r[0].state),
        ("bob", ReceiptState::Read)
    );
    assert_eq!(r[0].at, T0 + 3);
    let s = store.receipt_summary(&uuid(1)).unwrap();
    assert_eq!((s.total, s.delivered, s.read), (4, 2, 1));

    let e = store
        .add_recipients(&uuid(9), &names(&["bob"]), T0)
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(s) if s.contains("unknown message")),
        "{e}"
    );
    let e = store
        .add_recipients(&uuid(1), &names(&["zed", ""]), T0)
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)));
    assert_eq!(store.receipts(&uuid(1)).unwrap().len(), 4); // zed not added
    assert_eq!(
        store.unread_recipients(&uuid(9)).unwrap(),
        Vec::<String>::new()
    );
}

/// A file made by migrations 1 to 4 only (and one at 6) migrates to the
/// current version with its rows intact and the new columns empty; the
/// old rows have no author, so no update touches them.
#[test]
fn version_4_and_6_inboxes_migrate_with_rows_intact() {
    for version in [4, 6] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.sqlite");
        {
            // Rows written at version 4 (its INSERT triggers count and
            // index them), then brought to `version` as a real file was.
            let conn = rusqlite::Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..4] {
                conn.execute_batch(sql).unwrap();
            }
            for (i, read) in [None, Some(T0)].into_iter().enumerate() {
                conn.execute(
                    "INSERT INTO messages (uuid, received_at, transport, from_name, to_name, \
                     from_fold, to_fold, text, raw, read_at, verified) \
                     VALUES (?1, ?2, 'messngr', 'alice', 'H1', 'alice', 'h1', ?3, x'6869', ?4, 1)",
                    rusqlite::params![uuid(i as u8), T0, format!("old zanzibar {i}"), read],
                )
                .unwrap();
            }
            for sql in &MIGRATIONS[4..version] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", version as i64)
                .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(
            store.pragma_i64("user_version").unwrap(),
            crate::SCHEMA_VERSION
        );
        let rows = store.list(&Filter::default()).unwrap();
        assert_eq!(rows.len(), 2);
        for (i, m) in rows.iter().enumerate() {
            assert_eq!(m.uuid, uuid(i as u8));
            assert_eq!(m.text, format!("old zanzibar {i}"));
            assert_eq!(m.raw, b"hi");
            assert!(m.verified);
            assert_eq!(
                (&m.author, &m.signed, m.updated_at, m.retracted_at),
                (&None, &None, None, None)
            );
        }
        assert_eq!(store.count_unread().unwrap(), 1);
        assert_eq!(texts(&store, "zanzibar").len(), 2);
        assert_eq!(
            store.update_notice(&uuid(0), ALICE, "x", None, T0).unwrap(),
            []
        );
        store.insert(&signed(7, "new one")).unwrap();
        store
            .update_notice(&uuid(7), ALICE, "newer one", None, T0 + 1)
            .unwrap();
        assert_derived_exact(&store);
    }
}

#[tokio::test]
async fn the_handle_serves_notices_and_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path().join("inbox.sqlite")).unwrap();
    let m = store.insert(signed(1, "draft")).await.unwrap();
    assert_eq!(store.find_by_uuid(uuid(1)).await.unwrap(), Some(m.clone()));
    let u = store
        .update_notice(
            uuid(1),
            ALICE.into(),
            "final".into(),
            Some(b"v2".to_vec()),
            T0 + 1,
        )
        .await
        .unwrap();
    assert_eq!(u[0].text, "final");
    assert_eq!(
        store
            .search("final".into(), Filter::default(), 10)
            .await
            .unwrap()
            .messages,
        u
    );
    let r = store
        .retract_notice(uuid(1), ALICE.into(), None, T0 + 2)
        .await
        .unwrap();
    assert_eq!(r[0].retracted_at, Some(T0 + 2));
    assert_eq!(store.get(m.id).await.unwrap(), r[0]);

    let mut out = signed(2, "sent");
    out.direction = Direction::Out;
    store.insert(out).await.unwrap();
    let added = store
        .add_recipients(uuid(2), vec!["bob".into(), "carol".into()], T0)
        .await
        .unwrap();
    assert_eq!(added, 2);
    store
        .set_receipt(uuid(2), "bob".into(), ReceiptState::Read, T0 + 1)
        .await
        .unwrap();
    assert_eq!(store.unread_recipients(uuid(2)).await.unwrap(), ["carol"]);
    assert_eq!(store.receipts(uuid(2)).await.unwrap().len(), 2);
    store.close().await.unwrap();
}
