//! Migration 3's listings: the scope, pages in id order with `before` and
//! the count of older messages, `max_priority`, the export by pages, and
//! the query plans that keep them cheap on a big inbox.

use super::model::{Row, expected, fill, scopes};
use super::{T0, msg, temp_store};
use crate::filter::{Owner, Since};
use crate::page::{export_sql, newest_sql};
use crate::{Direction, Filter, Priority, Scope, Store};

/// Walks every page of `f` (newest first, `limit` each) and checks each
/// page against the model: ids ascending within the page, and `older` the
/// number of matching ids below the page. Returns every id seen, ascending.
fn walk(store: &Store, rows: &[Row], f: &Filter, limit: u32) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut f = f.clone();
    for _ in 0..10_000 {
        let page = store.page(&f, limit).unwrap();
        let ids: Vec<i64> = page.messages.iter().map(|m| m.id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");
        assert!(ids.len() <= limit as usize);
        let below = expected(rows, &f)
            .into_iter()
            .filter(|id| ids.first().is_none_or(|first| id < first))
            .count() as u64;
        assert_eq!(page.older, below, "older of page {ids:?} for {f:?}");
        let Some(&first) = ids.first() else {
            assert_eq!(page.older, 0);
            break;
        };
        seen.splice(0..0, ids);
        if page.older == 0 {
            break;
        }
        f.before = Some(first);
    }
    seen
}

/// Filters over the model's data, each with something to find.
fn filters(rows: &[Row]) -> Vec<Filter> {
    let mid = rows[rows.len() / 2].at;
    let recent = rows[rows.len() - 40].at;
    let old = rows[40].at;
    let mut out = Vec::new();
    for scope in scopes() {
        let base = Filter {
            scope,
            ..Filter::default()
        };
        out.push(base.clone());
        out.push(Filter {
            unread_only: true,
            ..base.clone()
        });
        out.push(Filter {
            from: Some("bob".into()),
            ..base.clone()
        });
        for since in [mid, recent, old] {
            out.push(Filter {
                since: Some(since),
                ..base.clone()
            });
        }
        out.push(Filter {
            max_priority: Some(Priority::Normal),
            unread_only: true,
            ..base.clone()
        });
        out.push(Filter {
            direction: Direction::Out,
            ..base.clone()
        });
    }
    out.push(Filter {
        owner: Some("bob".into()),
        max_priority: Some(Priority::Low),
        ..Filter::default()
    });
    out
}

#[test]
fn pages_stitched_with_before_give_every_message_exactly_once() {
    let (_dir, mut store) = temp_store();
    // More than two blocks of counts (1024 ids each) on each side of
    // `mid`, so that every way of counting is used.
    let rows = fill(&mut store, 3000);
    for f in filters(&rows) {
        let want = expected(&rows, &f);
        assert_eq!(walk(&store, &rows, &f, 97), want, "{f:?}");
        assert_eq!(store.count(&f).unwrap(), want.len() as u64, "{f:?}");
    }
}

#[test]
fn count_honours_before_at_every_id_of_a_block_edge() {
    let (_dir, mut store) = temp_store();
    let rows = fill(&mut store, 2100);
    for scope in scopes() {
        for before in [0, 1, 2, 1023, 1024, 1025, 2047, 2048, 2049, 2101, 5000] {
            for unread_only in [false, true] {
                let f = Filter {
                    scope: scope.clone(),
                    before: Some(before),
                    unread_only,
                    ..Filter::default()
                };
                let want = expected(&rows, &f).len() as u64;
                assert_eq!(store.count(&f).unwrap(), want, "{f:?}");
            }
        }
    }
}

#[test]
fn each_scope_shows_its_owners_and_no_one_else() {
    let (_dir, mut store) = temp_store();
    for (owner, text) in [(Some("alice"), "a"), (Some("bob"), "b"), (None, "h")] {
        let mut m = msg("X", "H1", text, T0);
        m.owner_user = owner.map(str::to_owned);
        store.insert(&m).unwrap();
    }
    let texts = |scope: Scope| -> Vec<String> {
        let f = Filter {
            scope,
            ..Filter::default()
        };
        let page: Vec<String> = store
            .page(&f, 10)
            .unwrap()
            .messages
            .into_iter()
            .map(|m| m.text)
            .collect();
        let listed: Vec<String> = store
            .list(&f)
            .unwrap()
            .into_iter()
            .map(|m| m.text)
            .collect();
        assert_eq!(page, listed);
        assert_eq!(store.count(&f).unwrap(), page.len() as u64);
        page
    };
    let owners = |user: Option<&str>, host| Scope::Owners {
        user: user.map(str::to_owned),
        host,
    };
    assert_eq!(texts(Scope::All), ["a", "b", "h"]);
    assert_eq!(texts(owners(Some("alice"), true)), ["a", "h"]);
    assert_eq!(texts(owners(Some("alice"), false)), ["a"]);
    assert_eq!(texts(owners(None, true)), ["h"]);
    assert!(texts(owners(None, false)).is_empty());
    assert_eq!(texts(owners(Some("carol"), true)), ["h"]);
    assert_eq!(store.unread_counts().unwrap().len(), 3);
}

#[test]
fn a_page_of_nothing_counts_everything_and_an_empty_inbox_nothing() {
    let (_dir, mut store) = temp_store();
    assert_eq!(
        store.page(&Filter::default(), 50).unwrap(),
        crate::Page::default()
    );
    let rows = fill(&mut store, 30);
    let page = store.page(&Filter::default(), 0).unwrap();
    assert!(page.messages.is_empty());
    assert_eq!(page.older, expected(&rows, &Filter::default()).len() as u64);
    let newest = store.page(&Filter::default(), 1).unwrap();
    assert_eq!(newest.messages.len(), 1);
    assert_eq!(newest.older, page.older - 1);
}

#[test]
fn max_priority_keeps_what_is_at_most_that_urgent() {
    let (_dir, mut store) = temp_store();
    for p in [Priority::Low, Priority::Normal, Priority::Urgent] {
        let mut m = msg("X", "H1", p.as_str(), T0);
        m.priority = p;
        store.insert(&m).unwrap();
    }
    for (max, n) in [
        (Priority::Low, 1),
        (Priority::Normal, 2),
        (Priority::Urgent, 3),
    ] {
        let f = Filter {
            max_priority: Some(max),
            ..Filter::default()
        };
        assert_eq!(store.page(&f, 10).unwrap().messages.len(), n);
        assert_eq!(store.count(&f).unwrap(), n as u64);
        assert_eq!(store.list(&f).unwrap().len(), n);
    }
}

#[test]
fn the_export_in_pages_gives_every_message_of_the_scope_once() {
    let (_dir, mut store) = temp_store();
    let rows = fill(&mut store, 700);
    for scope in scopes() {
        let mut seen = Vec::new();
        let mut after = 0;
        loop {
            let page = store.export_page(&scope, after, 33).unwrap();
            assert!(page.len() <= 33);
            let Some(last) = page.last() else { break };
            after = last.id;
            seen.extend(page.iter().map(|m| m.id));
        }
        let want: Vec<i64> = rows
            .iter()
            .filter(|r| {
                [Direction::In, Direction::Out].iter().any(|&direction| {
                    super::model::selects(
                        &Filter {
                            scope: scope.clone(),
                            direction,
                            ..Filter::default()
                        },
                        r,
                    )
                })
            })
            .map(|r| r.id)
            .collect();
        assert_eq!(seen, want, "{scope:?}");
    }
    assert!(store.export_page(&Scope::All, 0, 0).unwrap().is_empty());
}

/// `EXPLAIN QUERY PLAN` of `sql`, one detail per line.
pub(crate) fn plan(store: &Store, sql: &str, params: Vec<rusqlite::types::Value>) -> String {
    let mut stmt = store
        .conn_ref()
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap();
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), |r| {
            r.get::<_, String>(3)
        })
        .unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
}

/// No plan reads the whole table or sorts it: every step searches or scans
/// an index (sorting is allowed only after a `since` range of the time
/// index, at most `counts::SMALL_RANGE` rows, and over the merged arms of
/// a scope of two owners, at most twice the limit).
#[test]
fn pages_and_exports_run_on_indexes() {
    let (_dir, store) = temp_store();
    let alice_and_host = Scope::Owners {
        user: Some("alice".into()),
        host: true,
    };
    let mut cases = Vec::new();
    for scope in [Scope::All, alice_and_host.clone()] {
        let base = Filter {
            scope: scope.clone(),
            before: Some(5000),
            ..Filter::default()
        };
        let variants = [
            (base.clone(), Since::Ignore),
            (
                Filter {
                    unread_only: true,
                    ..base.clone()
                },
                Since::Ignore,
            ),
            (
                Filter {
                    from: Some("bob".into()),
                    ..base.clone()
                },
                Since::Ignore,
            ),
            (
                Filter {
                    since: Some(T0),
                    ..base.clone()
                },
                Since::Check,
            ),
            (
                Filter {
                    since: Some(T0),
                    ..base.clone()
                },
                Since::Index,
            ),
            (
                Filter {
                    direction: Direction::Out,
                    ..base.clone()
                },
                Since::Ignore,
            ),
        ];
        for (f, since) in variants {
            let owners: Vec<Owner<'_>> = f.scope.owners();
            let (sql, params) = newest_sql(&f, &owners, since, 50);
            cases.push((format!("page {f:?} {since:?}"), sql, params, since));
        }
        let (sql, params) = export_sql(&scope, 1000, 50);
        cases.push((format!("export {scope:?}"), sql, params, Since::Ignore));
    }
    for (what, sql, params, since) in cases {
        let p = plan(&store, &sql, params);
        eprintln!("-- {what}\n{p}\n");
        let lines: Vec<&str> = p.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            assert!(
                !line.starts_with("SCAN messages") || line.contains("INDEX"),
                "{what}: a full scan\n{p}"
            );
            if line.contains("TEMP B-TREE") {
                // Allowed: sorting one arm's output (at most the limit) for
                // the merge, or a recent `since` range of the time index.
                let after = i.checked_sub(1).map(|j| lines[j]).unwrap_or("");
                assert!(
                    after.starts_with("SCAN (subquery-")
                        || (since == Since::Index && after.contains("messages_by_dir_time")),
                    "{what}: sorts\n{p}"
                );
            }
        }
    }
}

/// The walks a count of everyone's messages makes: a range of ids on the
/// table itself, a time range on the index by direction and time — never
/// the whole table (at a million messages that is 50 ms instead of 1).
#[test]
fn counts_of_everyone_walk_ranges_not_the_table() {
    let (_dir, mut store) = temp_store();
    fill(&mut store, 50);
    let f = Filter::default();
    let (sql, params) =
        crate::counts::count_rows_sql(&f, Owner::Any, Since::Ignore, Some((0, 1024)));
    let p = plan(&store, &sql, params);
    assert!(
        p.contains("INTEGER PRIMARY KEY (rowid>? AND rowid<?)"),
        "{p}"
    );
    let p = plan(
        &store,
        "SELECT count(*) FROM (SELECT 1 FROM messages INDEXED BY messages_by_dir_time \
         WHERE direction = ?3 AND received_at >= ?1 LIMIT ?2)",
        vec![
            rusqlite::types::Value::Integer(T0),
            rusqlite::types::Value::Integer(1024),
            rusqlite::types::Value::Text("in".into()),
        ],
    );
    assert!(
        p.contains("messages_by_dir_time (direction=? AND received_at>?)"),
        "{p}"
    );
    // And the answers are right.
    assert!(
        crate::counts::time_range_is_small(store.conn_ref(), Direction::In, T0, false).unwrap()
    );
}
