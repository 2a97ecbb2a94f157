//! Insert, list, filter, read, delete, export, JSON.

use super::{T0, msg, temp_store};
use crate::{Direction, Filter, StoreError, Transport};

#[test]
fn insert_then_get_returns_what_was_stored() {
    let (_dir, mut store) = temp_store();
    let m = msg("ALICE", "H1", "Grüße aus Köln", T0);
    let stored = store.insert(&m).unwrap();
    assert_eq!(stored.id, 1);
    assert_eq!(stored.uuid.len(), 32);
    assert!(!stored.verified);
    assert!(stored.is_unread());
    assert_eq!(store.get(stored.id).unwrap(), stored);
    assert_eq!(stored.text, "Grüße aus Köln");
    assert_eq!(stored.codepage.as_deref(), Some("cp850"));
    assert_eq!(stored.transport, Transport::Smb);
    assert!(matches!(store.get(99), Err(StoreError::NotFound(99))));
}

#[test]
fn uuids_are_fresh_and_a_given_one_is_kept_and_deduplicated() {
    let (_dir, mut store) = temp_store();
    let a = store.insert(&msg("A", "H1", "one", T0)).unwrap();
    let b = store.insert(&msg("A", "H1", "two", T0)).unwrap();
    assert_ne!(a.uuid, b.uuid);
    let mut m = msg("PEER", "H1", "signed", T0);
    m.uuid = Some("00112233445566778899aabbccddeeff".into());
    let c = store.insert(&m).unwrap();
    assert_eq!(c.uuid, "00112233445566778899aabbccddeeff");
    match store.insert(&m) {
        Err(StoreError::Duplicate { id, .. }) => assert_eq!(id, c.id),
        other => panic!("{other:?}"),
    }
    m.uuid = Some("not-a-uuid".into());
    assert!(matches!(store.insert(&m), Err(StoreError::Invalid(_))));
    assert_eq!(store.count(&Filter::default()).unwrap(), 3);
}

#[test]
fn legacy_transports_are_never_verified() {
    let (_dir, mut store) = temp_store();
    for t in [Transport::Smb, Transport::Mailslot, Transport::Rpc] {
        let mut m = msg("BOSS", "H1", "trust me", T0);
        m.transport = t;
        m.verified = true;
        assert!(matches!(store.insert(&m), Err(StoreError::Invalid(_))));
    }
    let mut m = msg("PEER", "H1", "signed", T0);
    m.transport = Transport::Messngr;
    m.verified = true;
    m.sender_key = Some("SHA256:abc".into());
    let s = store.insert(&m).unwrap();
    assert!(s.verified);
    // The schema says so too, for writers other than this crate.
    store.insert(&msg("BOSS", "H1", "unverified", T0)).unwrap();
    let err = store
        .conn_ref()
        .execute(
            "UPDATE messages SET verified = 1 WHERE transport = 'smb'",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("CHECK"), "{err}");
    assert_eq!(store.count(&Filter::default()).unwrap(), 2);
}

#[test]
fn list_filters_and_orders_oldest_first() {
    let (_dir, mut store) = temp_store();
    store.insert(&msg("ALICE", "H1", "1", T0)).unwrap();
    store.insert(&msg("bob", "H1", "2", T0 + 1000)).unwrap();
    store.insert(&msg("Alice", "USER", "3", T0 + 2000)).unwrap();
    store.insert(&msg("MÜLLER", "H1", "4", T0 + 3000)).unwrap();
    let texts = |f: &Filter| -> Vec<String> {
        store.list(f).unwrap().into_iter().map(|m| m.text).collect()
    };
    assert_eq!(texts(&Filter::default()), ["1", "2", "3", "4"]);
    let from = |n: &str| Filter {
        from: Some(n.into()),
        ..Filter::default()
    };
    assert_eq!(texts(&from("alice")), ["1", "3"]);
    assert_eq!(texts(&from("BOB")), ["2"]);
    assert_eq!(texts(&from("müller")), ["4"]);
    assert_eq!(texts(&from("ali")), Vec::<String>::new());
    let since = Filter {
        since: Some(T0 + 1000),
        ..Filter::default()
    };
    assert_eq!(texts(&since), ["2", "3", "4"]);
    let to = Filter {
        to: Some("user".into()),
        ..Filter::default()
    };
    assert_eq!(texts(&to), ["3"]);
    let newest2 = Filter {
        limit: Some(2),
        ..Filter::default()
    };
    assert_eq!(texts(&newest2), ["3", "4"]);
    let sent = Filter {
        direction: Direction::Out,
        ..Filter::default()
    };
    assert!(texts(&sent).is_empty());
}

#[test]
fn owner_filter_separates_users_inboxes() {
    let (_dir, mut store) = temp_store();
    let mut a = msg("X", "ALICE", "for alice", T0);
    a.owner_user = Some("alice".into());
    store.insert(&a).unwrap();
    store.insert(&msg("X", "H1", "for the host", T0)).unwrap();
    let f = Filter {
        owner: Some("alice".into()),
        ..Filter::default()
    };
    let l = store.list(&f).unwrap();
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].text, "for alice");
}

#[test]
fn unread_mark_read_and_count() {
    let (_dir, mut store) = temp_store();
    let a = store.insert(&msg("A", "H1", "a", T0)).unwrap();
    let b = store.insert(&msg("B", "H1", "b", T0 + 1)).unwrap();
    assert_eq!(store.count_unread().unwrap(), 2);
    let read = store.mark_read(a.id).unwrap();
    let first = read.read_at.unwrap();
    assert_eq!(store.count_unread().unwrap(), 1);
    let unread = store.list(&Filter::unread()).unwrap();
    assert_eq!(unread.iter().map(|m| m.id).collect::<Vec<_>>(), [b.id]);
    // Reading again keeps the first time.
    std::thread::sleep(std::time::Duration::from_millis(3));
    assert_eq!(store.mark_read(a.id).unwrap().read_at, Some(first));
    assert!(matches!(store.mark_read(42), Err(StoreError::NotFound(42))));
}

#[test]
fn delete_is_for_good_and_ids_are_not_reused() {
    let (_dir, mut store) = temp_store();
    let a = store.insert(&msg("A", "H1", "first", T0)).unwrap();
    let b = store.insert(&msg("A", "H1", "second", T0)).unwrap();
    let mut r = msg("H1", "A", "re: second", T0 + 5);
    r.direction = Direction::Out;
    r.in_reply_to = Some(b.id);
    let reply = store.insert(&r).unwrap();
    store.delete(b.id).unwrap();
    assert!(matches!(store.get(b.id), Err(StoreError::NotFound(_))));
    assert!(matches!(store.delete(b.id), Err(StoreError::NotFound(_))));
    assert_eq!(store.get(reply.id).unwrap().in_reply_to, None);
    store.delete(reply.id).unwrap();
    let c = store.insert(&msg("A", "H1", "third", T0)).unwrap();
    assert!(c.id > reply.id, "id {} reused", c.id);
    assert_eq!(store.list(&Filter::default()).unwrap().len(), 2);
    let mut bad = msg("H1", "A", "re: nothing", T0);
    bad.in_reply_to = Some(b.id);
    assert!(matches!(store.insert(&bad), Err(StoreError::Invalid(_))));
    let _ = a;
}

#[test]
fn receipts_count_a_broadcast() {
    let (_dir, mut store) = temp_store();
    let mut m = msg("H1", "WORKGROUP", "fire drill at 3", T0);
    m.direction = Direction::Out;
    let sent = store.insert(&m).unwrap();
    for r in ["A", "B", "C", "D"] {
        store
            .set_receipt(&sent.uuid, r, crate::ReceiptState::Sent, T0)
            .unwrap();
    }
    use crate::ReceiptState::{Delivered, Read};
    assert!(store.set_receipt(&sent.uuid, "A", Read, T0 + 2).unwrap());
    let changed = store
        .set_receipt(&sent.uuid, "A", Delivered, T0 + 3)
        .unwrap(); // late: ignored
    assert!(
        !changed,
        "a state earlier than the recorded one changes nothing"
    );
    store
        .set_receipt(&sent.uuid, "B", Delivered, T0 + 1)
        .unwrap();
    let s = store.receipt_summary(&sent.uuid).unwrap();
    assert_eq!((s.total, s.delivered, s.read), (4, 2, 1));
    let a = &store.receipts(&sent.uuid).unwrap()[0];
    assert_eq!((a.recipient.as_str(), a.state, a.at), ("A", Read, T0 + 2));
    assert!(
        store
            .set_receipt("0".repeat(32).as_str(), "A", Read, T0)
            .is_err()
    );
    store.delete(sent.id).unwrap();
    assert_eq!(store.receipt_summary(&sent.uuid).unwrap().total, 0);
}

#[test]
fn a_sent_message_keeps_its_recipients_in_its_own_transaction() {
    let (_dir, mut store) = temp_store();
    let mut m = msg("alice", "/users", "fire drill at 3", T0);
    m.direction = Direction::Out;
    m.delivered_to = vec!["ALICE@H1".into(), "BOB@H1".into()];
    let sent = store.insert(&m).unwrap();
    let rows = store.receipts(&sent.uuid).unwrap();
    let got: Vec<(&str, crate::ReceiptState)> = rows
        .iter()
        .map(|r| (r.recipient.as_str(), r.state))
        .collect();
    assert_eq!(
        got,
        [
            ("ALICE@H1", crate::ReceiptState::Delivered),
            ("BOB@H1", crate::ReceiptState::Delivered)
        ]
    );
    // A received message has no recipients; a recipient has a name.
    let mut bad = msg("H2", "H1", "hello", T0);
    bad.delivered_to = vec!["X".into()];
    assert!(matches!(store.insert(&bad), Err(StoreError::Invalid(_))));
    let mut bad = msg("alice", "H2", "hello", T0);
    bad.direction = Direction::Out;
    bad.delivered_to = vec![String::new()];
    assert!(matches!(store.insert(&bad), Err(StoreError::Invalid(_))));
}

#[test]
fn uuids_made_here_grow_with_time_so_their_indexes_grow_at_one_edge() {
    let (_dir, mut store) = temp_store();
    let made: Vec<String> = (0..200).map(|_| crate::new_uuid()).collect();
    assert!(made.windows(2).all(|w| w[0] < w[1]), "not in time order");
    let stored = store.insert(&msg("A", "H1", "hi", T0)).unwrap();
    assert!(crate::message::is_uuid(&stored.uuid));
    assert!(
        made[199] < stored.uuid,
        "{} then {}",
        made[199],
        stored.uuid
    );
    // A version 7 uuid: its 13th hex digit says so, and 74 bits are random.
    assert_eq!(&stored.uuid[12..13], "7");
    assert_eq!(crate::new_uuid_bytes()[6] >> 4, 7);
}
