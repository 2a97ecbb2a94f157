//! The relay's outbox: messages for other sites kept while the relay is
//! down, in order, once, across a reopen.

use super::T0;
use crate::Store;

#[test]
fn the_relays_outbox_keeps_messages_once_in_order_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite");
    let mut store = Store::open(&path).unwrap();
    let (u1, u2) = ("a".repeat(32), "b".repeat(32));
    let first = store.outbox_push("ALICE", &u1, b"frame 1", T0, 0).unwrap();
    store
        .outbox_push("OPS2", &u2, b"frame 2", T0 + 1, 0)
        .unwrap();
    // The same uuid again (a retry) is kept once.
    assert_eq!(
        store
            .outbox_push("ALICE", &u1, b"frame 1", T0 + 2, 0)
            .unwrap(),
        first
    );
    drop(store);
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.outbox_len().unwrap(), 2);
    let kept = store.outbox(0, 10).unwrap();
    assert_eq!(
        kept.iter()
            .map(|q| (q.target.as_str(), q.frame.as_slice()))
            .collect::<Vec<_>>(),
        [
            ("ALICE", b"frame 1".as_slice()),
            ("OPS2", b"frame 2".as_slice())
        ]
    );
    assert_eq!(kept[0].uuid, u1);
    // Paged on past the first (a sender's next round).
    let next: Vec<i64> = store
        .outbox(kept[0].id, 10)
        .unwrap()
        .iter()
        .map(|q| q.id)
        .collect();
    assert_eq!(next, [kept[1].id]);
    // Changed before it left: its frame replaced, in its place.
    assert_eq!(store.outbox_frame(&u2).unwrap().unwrap(), b"frame 2");
    // Only over the frame it replaces (not one changed since).
    assert!(
        !store
            .outbox_replace(&u2, b"frame 1", b"frame 2, again")
            .unwrap()
    );
    assert!(
        store
            .outbox_replace(&u2, b"frame 2", b"frame 2, again")
            .unwrap()
    );
    assert_eq!(store.outbox_frame(&u2).unwrap().unwrap(), b"frame 2, again");
    assert_eq!(store.outbox(0, 10).unwrap()[1].id, kept[1].id);
    // Withdrawn before it left: forgotten by uuid, once.
    assert!(store.outbox_holds(&u2).unwrap());
    assert!(store.outbox_forget(&u2).unwrap());
    assert!(!store.outbox_holds(&u2).unwrap());
    assert!(!store.outbox_forget(&u2).unwrap());
    assert!(store.outbox_frame(&u2).unwrap().is_none());
    assert!(
        !store
            .outbox_replace(&u2, b"frame 2, again", b"too late")
            .unwrap()
    );
    store.outbox_remove(kept[0].id).unwrap();
    assert_eq!(store.outbox(0, 10).unwrap().len(), 0);
    // Bad rows are refused by the schema: an empty frame, a long name.
    assert!(store.outbox_push("X", &"c".repeat(32), b"", T0, 0).is_err());
    assert!(
        store
            .outbox_push(&"N".repeat(16), &"d".repeat(32), b"f", T0, 0)
            .is_err()
    );
    // One account other than root keeps at most MAX_OUTBOX_PER_USER.
    for i in 0..crate::MAX_OUTBOX_PER_USER {
        store
            .outbox_push("BOB", &format!("{i:032x}"), b"f", T0, 1000)
            .unwrap();
    }
    let e = store
        .outbox_push("BOB", &"e".repeat(32), b"f", T0, 1000)
        .unwrap_err();
    assert!(e.to_string().contains("of your messages"), "{e}");
    store
        .outbox_push("BOB", &"f".repeat(32), b"f", T0, 1001)
        .unwrap();
    store
        .outbox_push("BOB", &"9".repeat(32), b"f", T0, 0)
        .unwrap();
}

#[test]
fn the_gateways_cursor_starts_unset_survives_a_reopen_and_is_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite");
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.gateway_cursor().unwrap(), None);
    assert_eq!(store.last_message_id().unwrap(), 0);
    let m = store
        .insert(&super::msg("WINPC", "ALICE", "hi", T0))
        .unwrap();
    assert_eq!(store.last_message_id().unwrap(), m.id);
    store.set_gateway_cursor(m.id, "ALICE").unwrap();
    store.set_gateway_cursor(m.id + 5, "ALICE BOB").unwrap();
    drop(store);
    let mut store = Store::open(&path).unwrap();
    assert_eq!(
        store.gateway_cursor().unwrap(),
        Some((m.id + 5, "ALICE BOB".to_owned()))
    );
    store.clear_gateway_cursor().unwrap();
    assert_eq!(store.gateway_cursor().unwrap(), None);
}
