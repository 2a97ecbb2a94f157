//! The counts the triggers keep (`message_counts`) against `count(*)` over
//! the messages, after any mix of inserts, reads, deletes and updates made
//! through the store or behind its back in SQL.

use proptest::prelude::*;

use super::model::scopes;
use super::{T0, msg, temp_store};
use crate::schema::{COUNT_BLOCK_SHIFT, MIGRATIONS};
use crate::{Direction, Filter, Priority, Store};

#[derive(Debug, Clone)]
enum Op {
    Insert {
        owner: u8,
        priority: u8,
        out: bool,
    },
    Read(usize),
    Unread(usize),
    Delete(usize),
    SetOwner(usize, u8),
    SetPriority(usize, u8),
    SetSender(usize, u8),
    /// Skips ids (as deleted messages do), so that a few rows spread over
    /// several blocks of counts.
    Skip(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3u8, 0..3u8, any::<bool>())
            .prop_map(|(owner, priority, out)| Op::Insert { owner, priority, out }),
        1 => any::<usize>().prop_map(Op::Read),
        1 => any::<usize>().prop_map(Op::Unread),
        1 => any::<usize>().prop_map(Op::Delete),
        1 => (any::<usize>(), 0..3u8).prop_map(|(i, o)| Op::SetOwner(i, o)),
        1 => (any::<usize>(), 0..3u8).prop_map(|(i, p)| Op::SetPriority(i, p)),
        1 => (any::<usize>(), 0..3u8).prop_map(|(i, s)| Op::SetSender(i, s)),
        1 => (1..1500u16).prop_map(Op::Skip),
    ]
}

const SENDERS: [&str; 3] = ["ALICE", "Bob", "carol"];

fn owner(o: u8) -> Option<String> {
    ["alice", "bob"]
        .get(usize::from(o))
        .map(|s| (*s).to_owned())
}

fn apply(store: &mut Store, ids: &mut Vec<i64>, op: &Op) {
    let pick = |i: &usize| (!ids.is_empty()).then(|| ids[i % ids.len()]);
    let sql = |store: &Store, sql: &str, p: rusqlite::types::Value, id: i64| {
        store
            .conn_ref()
            .execute(sql, rusqlite::params![p, id])
            .unwrap();
    };
    match op {
        Op::Insert {
            owner: o,
            priority,
            out,
        } => {
            let mut m = msg(SENDERS[usize::from(*priority) % 3], "H1", "t", T0);
            m.owner_user = owner(*o);
            m.priority = Priority::from_i64(i64::from(*priority)).unwrap();
            if *out {
                m.direction = Direction::Out;
            }
            ids.push(store.insert(&m).unwrap().id);
        }
        Op::Read(i) => {
            if let Some(id) = pick(i) {
                store.mark_read(id).unwrap();
            }
        }
        Op::Unread(i) => {
            if let Some(id) = pick(i) {
                let null = rusqlite::types::Value::Null;
                sql(
                    store,
                    "UPDATE messages SET read_at = ?1 WHERE id = ?2",
                    null,
                    id,
                );
            }
        }
        Op::Delete(i) => {
            if let Some(id) = pick(i) {
                store.delete(id).unwrap();
                ids.retain(|x| *x != id);
            }
        }
        Op::SetOwner(i, o) => {
            if let Some(id) = pick(i) {
                let v = owner(*o).map_or(rusqlite::types::Value::Null, Into::into);
                sql(
                    store,
                    "UPDATE messages SET owner_user = ?1 WHERE id = ?2",
                    v,
                    id,
                );
            }
        }
        Op::SetPriority(i, p) => {
            if let Some(id) = pick(i) {
                let v = i64::from(*p).into();
                sql(
                    store,
                    "UPDATE messages SET priority = ?1 WHERE id = ?2",
                    v,
                    id,
                );
            }
        }
        Op::SetSender(i, s) => {
            if let Some(id) = pick(i) {
                let v = SENDERS[usize::from(*s)].to_lowercase().into();
                sql(
                    store,
                    "UPDATE messages SET from_fold = ?1 WHERE id = ?2",
                    v,
                    id,
                );
            }
        }
        Op::Skip(n) => {
            store
                .conn_ref()
                .execute(
                    "UPDATE sqlite_sequence SET seq = seq + ?1 WHERE name = 'messages'",
                    [i64::from(*n)],
                )
                .unwrap();
        }
    }
}

/// `count(*)` over the messages: the answer the counts must give.
pub(super) fn brute(store: &Store, f: &Filter) -> u64 {
    let (cond, params) = f.to_sql();
    let n: i64 = store
        .conn_ref()
        .query_row(
            &format!("SELECT count(*) FROM messages WHERE {cond}"),
            rusqlite::params_from_iter(params),
            |r| r.get(0),
        )
        .unwrap();
    n as u64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn kept_counts_equal_counting_the_rows(ops in prop::collection::vec(op(), 1..60)) {
        let (_dir, mut store) = temp_store();
        // What is tested is the counting, not the fsync: spare the disk.
        store.conn_ref().pragma_update(None, "synchronous", "OFF").unwrap();
        let mut ids = Vec::new();
        for op in &ops {
            apply(&mut store, &mut ids, op);
        }
        let mut befores = vec![None, Some(1), Some(1024), Some(1025)];
        // Some ids, and the one after each (the end of a block included).
        let step = ids.len() / 8 + 1;
        befores.extend(ids.iter().step_by(step).map(|id| Some(*id)));
        befores.extend(ids.iter().step_by(step).map(|id| Some(*id + 1)));
        for scope in scopes() {
            for direction in [Direction::In, Direction::Out] {
                for unread_only in [false, true] {
                    for max_priority in [None, Some(Priority::Low), Some(Priority::Normal)] {
                        for from in [None, Some("BOB")] {
                            for before in &befores {
                                let f = Filter {
                                    scope: scope.clone(),
                                    direction,
                                    unread_only,
                                    max_priority,
                                    from: from.map(str::to_owned),
                                    before: *before,
                                    ..Filter::default()
                                };
                                prop_assert_eq!(
                                    store.count(&f).unwrap(), brute(&store, &f), "{:?}", f
                                );
                            }
                        }
                    }
                }
            }
        }
        // unread_counts (from the counts) against a GROUP BY of the rows.
        let mut fast = store.unread_counts().unwrap();
        fast.sort();
        let mut slow: Vec<(Option<String>, Priority, u64)> = store
            .conn_ref()
            .prepare(
                "SELECT owner_user, priority, count(*) FROM messages \
                 WHERE direction = 'in' AND read_at IS NULL GROUP BY owner_user, priority",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, Priority::from_i64(r.get(1)?).unwrap(), r.get::<_, i64>(2)? as u64))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        slow.sort();
        prop_assert_eq!(fast, slow);
        // No row of counts is left at zero or below.
        let empty: i64 = store
            .conn_ref()
            .query_row("SELECT count(*) FROM message_counts WHERE n <= 0", [], |r| r.get(0))
            .unwrap();
        prop_assert_eq!(empty, 0);
        // The totals (by sender) add up to the blocks' counts.
        let off: i64 = store
            .conn_ref()
            .query_row(
                "SELECT count(*) FROM (SELECT direction, host, owner, unread, priority, \
                 sum(n) AS n FROM message_totals GROUP BY 1, 2, 3, 4, 5) t \
                 WHERE n IS NOT (SELECT coalesce(sum(n), 0) \
                 FROM message_counts c WHERE c.direction = t.direction AND c.host = t.host \
                 AND c.owner = t.owner AND c.unread = t.unread AND c.priority = t.priority)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        prop_assert_eq!(off, 0);
    }
}

#[test]
fn the_block_size_of_the_triggers_is_the_one_the_counts_read() {
    let shift = format!("id >> {COUNT_BLOCK_SHIFT}");
    for triggers in &MIGRATIONS[2..4] {
        assert_eq!(
            triggers.matches(">>").count(),
            triggers.matches(&shift).count()
        );
        assert!(triggers.contains(&shift));
    }
}

/// An inbox at version 3 (counts by block only, 3's triggers) gets the
/// counts by sender from its rows, and 4's triggers keep both after.
#[test]
fn a_version_3_inbox_gets_counts_by_sender() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        for (i, from) in ["alice", "bob", "bob"].into_iter().enumerate() {
            conn.execute(
                "INSERT INTO messages (uuid, received_at, transport, from_name, to_name, \
                 from_fold, to_fold, text, raw) VALUES (?1, ?2, 'smb', ?3, 'H1', ?3, 'h1', 'x', x'00')",
                rusqlite::params![format!("{i:032x}"), T0, from],
            )
            .unwrap();
        }
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(
        store.pragma_i64("user_version").unwrap(),
        crate::SCHEMA_VERSION
    );
    let from_bob = Filter {
        from: Some("BOB".into()),
        ..Filter::default()
    };
    assert_eq!(store.count(&from_bob).unwrap(), 2);
    let m = store.insert(&msg("Bob", "H1", "new", T0)).unwrap();
    assert_eq!(store.count(&from_bob).unwrap(), 3);
    store.mark_read(m.id).unwrap();
    let unread_bob = Filter {
        unread_only: true,
        ..from_bob.clone()
    };
    assert_eq!(store.count(&unread_bob).unwrap(), 2);
    store.delete(m.id).unwrap();
    assert_eq!(store.count(&from_bob).unwrap(), 2);
    assert_eq!(store.count(&Filter::default()).unwrap(), 3);
    assert_eq!(brute(&store, &from_bob), 2);
}

#[test]
fn counts_with_since_take_the_smaller_side() {
    let (_dir, mut store) = temp_store();
    let rows = super::model::fill(&mut store, 2600);
    for at in [rows[5].at, rows[1300].at, rows[2590].at, T0 - 1, i64::MAX] {
        for scope in scopes() {
            let f = Filter {
                since: Some(at),
                scope,
                unread_only: true,
                ..Filter::default()
            };
            assert_eq!(store.count(&f).unwrap(), brute(&store, &f), "{f:?}");
        }
    }
}

/// The counts that walk messages walk only an index: a sender's (of one
/// owner or all), a `since` range (either side), a block's ids.
#[test]
fn counts_that_walk_walk_an_index_only() {
    use crate::counts::count_rows_sql;
    use crate::filter::{Owner, Since};
    let (_dir, store) = temp_store();
    let from = Filter {
        from: Some("bob".into()),
        ..Filter::default()
    };
    let since = Filter {
        since: Some(T0),
        unread_only: true,
        max_priority: Some(Priority::Normal),
        ..Filter::default()
    };
    let cases = [
        (&from, Owner::Any, Since::Ignore, None),
        (&from, Owner::User("alice"), Since::Ignore, None),
        (&from, Owner::Host, Since::Ignore, None),
        (&since, Owner::Any, Since::Index, None),
        (&since, Owner::User("alice"), Since::Index, None),
        (&since, Owner::Host, Since::Before, None),
        (
            &Filter::unread(),
            Owner::Any,
            Since::Ignore,
            Some((1024, 1500)),
        ),
        (
            &Filter::default(),
            Owner::User("alice"),
            Since::Ignore,
            Some((1024, 1500)),
        ),
    ];
    for (f, owner, s, ids) in cases {
        let (sql, params) = count_rows_sql(f, owner, s, ids);
        let p = super::page::plan(&store, &sql, params);
        eprintln!("-- count {f:?} {owner:?} {s:?} {ids:?}\n{p}\n");
        assert!(p.contains("COVERING INDEX") || p.contains("rowid>?"), "{p}");
        assert!(!p.contains("SCAN messages"), "{p}");
    }
}

/// Sender names are the network's to choose: counts without a sender (every
/// page, the tray) read a row per owner and priority, however many senders
/// there were; and ids, on which the index and the counts are keyed, never
/// change.
#[test]
fn many_sender_names_do_not_make_counts_walk_them() {
    let (_dir, mut store) = super::temp_store();
    let batch: Vec<_> = (0..3000)
        .map(|i| super::msg(&format!("SPAM{i}"), "H1", "x", super::T0 + i))
        .collect();
    for r in store.insert_batch(&batch).unwrap() {
        r.unwrap();
    }
    let rows = |table: &str| -> i64 {
        store
            .conn_ref()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(rows("message_totals"), 3000, "one row per sender");
    assert_eq!(
        rows("message_owner_totals"),
        1,
        "one row per owner and priority"
    );
    assert_eq!(store.count(&crate::Filter::default()).unwrap(), 3000);
    assert_eq!(store.count_unread().unwrap(), 3000);
    assert_eq!(
        store
            .unread_counts()
            .unwrap()
            .iter()
            .map(|r| r.2)
            .sum::<u64>(),
        3000
    );
    let before = crate::Filter {
        before: Some(1500),
        ..crate::Filter::default()
    };
    assert_eq!(store.count(&before).unwrap(), 1499);
    store.mark_read(1).unwrap();
    store.delete(2).unwrap();
    assert_eq!(store.count_unread().unwrap(), 2998);
    assert_eq!(store.count(&crate::Filter::default()).unwrap(), 2999);
    let changed = store
        .conn_ref()
        .execute("UPDATE messages SET id = 99999 WHERE id = 3", []);
    assert!(changed.is_err(), "an id never changes");
}
