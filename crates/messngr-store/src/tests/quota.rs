//! Quotas (checked in the insert's transaction, batches included) and the
//! expiry of read messages (counts and the full-text index stay exact).

use super::{T0, msg, temp_store};
use crate::{Direction, Filter, NewMessage, Quota, QuotaBucket, Store, StoreError};

fn to_owner(owner: Option<&str>, text: &str) -> NewMessage {
    let mut m = msg("BOB", owner.unwrap_or("H1"), text, T0);
    m.owner_user = owner.map(str::to_owned);
    m
}

fn refused(r: crate::Result<crate::Message>) -> (QuotaBucket, u64) {
    match r {
        Err(StoreError::QuotaFull { bucket, limit }) => (bucket, limit),
        other => panic!("expected QuotaFull, got {other:?}"),
    }
}

#[test]
fn the_total_quota_refuses_the_next_received_message_until_one_is_deleted() {
    let (_dir, mut store) = temp_store();
    store.set_quota(Quota {
        max_messages: Some(3),
        max_messages_per_owner: None,
    });
    let mut ids = Vec::new();
    for (i, owner) in [Some("alice"), None, Some("bob")].iter().enumerate() {
        ids.push(
            store
                .insert(&to_owner(*owner, &format!("m{i}")))
                .unwrap()
                .id,
        );
    }
    // A record of a sent message is this host's own: not counted.
    let mut out = msg("H1", "H2", "sent", T0);
    out.direction = Direction::Out;
    store.insert(&out).unwrap();
    let (bucket, limit) = refused(store.insert(&to_owner(Some("carol"), "one too many")));
    assert_eq!((bucket, limit), (QuotaBucket::Total, 3));
    let e = store.insert(&to_owner(None, "x")).unwrap_err();
    assert!(e.is_quota_full() && !e.is_full(), "{e}");
    assert!(e.to_string().contains("limit of 3"), "{e}");
    assert_eq!(
        store.count(&Filter::default()).unwrap(),
        3,
        "nothing stored"
    );
    store.delete(ids[0]).unwrap();
    store
        .insert(&to_owner(Some("carol"), "room again"))
        .unwrap();
}

#[test]
fn each_owner_and_the_host_have_their_own_limit() {
    let (_dir, mut store) = temp_store();
    store.set_quota(Quota {
        max_messages: Some(100),
        max_messages_per_owner: Some(2),
    });
    for owner in [Some("alice"), Some("bob"), None] {
        for i in 0..2 {
            store.insert(&to_owner(owner, &format!("{i}"))).unwrap();
        }
    }
    let (bucket, limit) = refused(store.insert(&to_owner(Some("alice"), "a3")));
    assert_eq!((bucket, limit), (QuotaBucket::Owner("alice".into()), 2));
    let (bucket, _) = refused(store.insert(&to_owner(None, "h3")));
    assert_eq!(bucket, QuotaBucket::Host);
    store.insert(&to_owner(Some("carol"), "c1")).unwrap();
    // Reading a message does not free room; deleting one does.
    let first = store.list(&Filter::default()).unwrap()[0].id;
    store.mark_read(first).unwrap();
    refused(store.insert(&to_owner(Some("alice"), "a3")));
    store.delete(first).unwrap();
    store.insert(&to_owner(Some("alice"), "a3")).unwrap();
}

/// In one batch the earlier messages count for the later ones; a refusal
/// is that message's alone, the others of the batch are stored.
#[test]
fn a_batch_counts_its_own_messages_and_refuses_only_those_over() {
    let (_dir, mut store) = temp_store();
    store.set_quota(Quota {
        max_messages: Some(4),
        max_messages_per_owner: Some(2),
    });
    let batch: Vec<NewMessage> = ["alice", "alice", "alice", "bob", "bob", "carol"]
        .iter()
        .map(|o| to_owner(Some(o), o))
        .collect();
    let results = store.insert_batch(&batch).unwrap();
    let verdicts: Vec<Option<QuotaBucket>> = results
        .into_iter()
        .map(|r| match r {
            Ok(_) => None,
            Err(StoreError::QuotaFull { bucket, .. }) => Some(bucket),
            Err(e) => panic!("{e}"),
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            None,
            None,
            Some(QuotaBucket::Owner("alice".into())),
            None,
            None,
            Some(QuotaBucket::Total),
        ]
    );
    assert_eq!(store.count(&Filter::default()).unwrap(), 4);
}

/// A retry of a stored message (same uuid) is a duplicate, answered as
/// stored, even when the inbox is full.
#[test]
fn a_retry_of_a_stored_message_is_a_duplicate_not_a_refusal() {
    let (_dir, mut store) = temp_store();
    store.set_quota(Quota {
        max_messages: Some(1),
        max_messages_per_owner: None,
    });
    let mut m = to_owner(None, "once");
    m.uuid = Some("0123456789abcdef0123456789abcdef".into());
    let id = store.insert(&m).unwrap().id;
    match store.insert(&m) {
        Err(StoreError::Duplicate { id: dup, .. }) => assert_eq!(dup, id),
        other => panic!("{other:?}"),
    }
}

/// Each count table against a GROUP BY of the rows it counts.
fn assert_counts_exact(store: &Store) {
    let rows = |sql: &str| -> Vec<Vec<rusqlite::types::Value>> {
        let mut stmt = store.conn_ref().prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| (0..n).map(|i| r.get(i)).collect())
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    for (kept, brute) in [
        (
            "SELECT direction, host, owner, unread, priority, n FROM message_owner_totals \
             WHERE n > 0 ORDER BY 1, 2, 3, 4, 5",
            "SELECT direction, owner_user IS NULL, coalesce(owner_user, ''), read_at IS NULL, \
             priority, count(*) FROM messages GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
        ),
        (
            "SELECT direction, sender, host, owner, unread, priority, n FROM message_totals \
             WHERE n > 0 ORDER BY 1, 2, 3, 4, 5, 6",
            "SELECT direction, from_fold, owner_user IS NULL, coalesce(owner_user, ''), \
             read_at IS NULL, priority, count(*) FROM messages \
             GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6",
        ),
        (
            "SELECT direction, block, host, owner, unread, priority, n FROM message_counts \
             WHERE n > 0 ORDER BY 1, 2, 3, 4, 5, 6",
            "SELECT direction, id >> 10, owner_user IS NULL, coalesce(owner_user, ''), \
             read_at IS NULL, priority, count(*) FROM messages \
             GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6",
        ),
    ] {
        assert_eq!(rows(kept), rows(brute), "{kept}");
    }
    store
        .conn_ref()
        .execute(
            "INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')",
            [],
        )
        .unwrap();
}

const DAY: i64 = 24 * 3600 * 1000;

/// Old read messages go, in batches; unread, recent and sent ones stay;
/// the counts, the quota's view and the full-text index stay exact, both
/// for indexed messages and for those still waiting for the index.
#[test]
fn expiry_deletes_old_read_messages_in_batches_and_keeps_counts_and_index_exact() {
    let (_dir, mut store) = temp_store();
    store.set_quota(Quota {
        max_messages: Some(1000),
        max_messages_per_owner: Some(10),
    });
    let owners = [Some("alice"), Some("bob"), None];
    let mut keep = Vec::new();
    let mut go = Vec::new();
    // Indexed at once (insert), then more stored by batch (not indexed yet).
    for i in 0..30i64 {
        let owner = owners[(i % 3) as usize];
        let old = i % 2 == 0;
        let read = i % 3 != 2 || i % 5 == 0;
        let mut m = to_owner(owner, &format!("word{i} expiry"));
        m.received_at = if old { T0 - 100 * DAY } else { T0 - DAY };
        m.priority = crate::Priority::from_i64(i % 3).unwrap();
        let id = if i < 15 {
            store.insert(&m).unwrap().id
        } else {
            store.insert_batch(&[m]).unwrap().remove(0).unwrap().id
        };
        if read {
            store.mark_read(id).unwrap();
        }
        if old && read { &mut go } else { &mut keep }.push(id);
    }
    let mut out = msg("H1", "H2", "sent long ago", T0 - 100 * DAY);
    out.direction = Direction::Out;
    keep.push(store.insert(&out).unwrap().id);
    assert!(go.len() >= 6, "{go:?}");
    let cutoff = T0 - 90 * DAY;
    let mut batches = 0;
    loop {
        let n = store.expire_read(cutoff, 4).unwrap();
        assert!(n <= 4);
        batches += 1;
        if n < 4 {
            break;
        }
    }
    assert!(batches >= 2, "in batches: {batches}");
    let mut left: Vec<i64> = store
        .list(&Filter::default())
        .unwrap()
        .iter()
        .chain(
            store
                .list(&Filter {
                    direction: Direction::Out,
                    ..Filter::default()
                })
                .unwrap()
                .iter(),
        )
        .map(|m| m.id)
        .collect();
    left.sort_unstable();
    keep.sort_unstable();
    assert_eq!(left, keep);
    assert_counts_exact(&store);
    // The rest of the index catches up; no expired message is found.
    store.index_pending(usize::MAX).unwrap();
    assert_counts_exact(&store);
    let found = store
        .search("expiry", &Filter::default(), 1000)
        .unwrap()
        .messages
        .len();
    assert_eq!(
        found,
        keep.len() - 1,
        "every kept received message, no expired one"
    );
    for id in &go {
        assert!(matches!(store.get(*id), Err(StoreError::NotFound(_))));
    }
    // Nothing more to expire; and the quota sees the freed room.
    assert_eq!(store.expire_read(cutoff, 4).unwrap(), 0);
    let alice = store
        .list(&Filter::default())
        .unwrap()
        .iter()
        .filter(|m| m.owner_user.as_deref() == Some("alice"))
        .count();
    for i in alice..10 {
        store
            .insert(&to_owner(Some("alice"), &format!("a{i}")))
            .unwrap();
    }
    refused(store.insert(&to_owner(Some("alice"), "full")));
    assert_counts_exact(&store);
}

#[test]
fn messages_past_the_senders_expiry_are_deleted_and_counts_stay_exact() {
    let (_dir, mut store) = temp_store();
    assert_eq!(store.next_expiry().unwrap(), None);
    let mut keep = msg("BOB", "H1", "no expiry", T0);
    keep.expires_at = None;
    store.insert(&keep).unwrap();
    for (i, at) in [T0 + 5_000, T0 + 1_000, T0 + 9_000].iter().enumerate() {
        let mut m = msg("BOB", "H1", &format!("expiring {i}"), T0);
        m.expires_at = Some(*at);
        store.insert(&m).unwrap();
    }
    assert_eq!(store.next_expiry().unwrap(), Some(T0 + 1_000));
    // Before any is due: nothing goes.
    assert_eq!(store.delete_expired(T0 + 999, 100).unwrap(), 0);
    // Two are due; one per batch when the limit says so.
    assert_eq!(store.delete_expired(T0 + 5_000, 1).unwrap(), 1);
    assert_eq!(store.delete_expired(T0 + 5_000, 100).unwrap(), 1);
    assert_eq!(store.next_expiry().unwrap(), Some(T0 + 9_000));
    let left: Vec<String> = store
        .list(&Filter::default())
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(left, ["no expiry", "expiring 2"]);
    assert_eq!(store.count_unread().unwrap(), 2);
    assert_eq!(store.count(&Filter::unread()).unwrap(), 2);
}
