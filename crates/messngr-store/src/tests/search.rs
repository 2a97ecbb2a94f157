//! Full-text search (migration 3): what the user types is never FTS5
//! syntax, the index follows inserts, deletes and updates, an old inbox is
//! indexed when it is migrated, and search pages like `page`.

use proptest::prelude::*;

use super::model::{expected, fill, scopes};
use super::page::plan;
use super::{T0, msg, temp_store};
use crate::search::{fts_query, search_sql};
use crate::{Filter, Scope, Store, StoreError};

fn texts(store: &Store, query: &str) -> Vec<String> {
    store
        .search(query, &Filter::default(), 100)
        .unwrap()
        .messages
        .into_iter()
        .map(|m| m.text)
        .collect()
}

#[test]
fn fts5_is_compiled_in() {
    let (_dir, store) = temp_store();
    let on: i64 = store
        .conn_ref()
        .query_row("SELECT sqlite_compileoption_used('ENABLE_FTS5')", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(on, 1);
}

#[test]
fn terms_are_quoted_as_fts5_strings() {
    assert_eq!(fts_query("hello").unwrap(), r#""hello""#);
    assert_eq!(fts_query("  a\tb\n").unwrap(), r#""a" "b""#);
    assert_eq!(fts_query(r#"say"hi""#).unwrap(), r#""say""hi""""#);
    assert_eq!(fts_query("NEAR( x*").unwrap(), r#""NEAR(" "x*""#);
    assert_eq!(fts_query("-beta OR").unwrap(), r#""-beta" "OR""#);
    assert_eq!(fts_query("a\0b").unwrap(), r#""a" "b""#);
}

#[test]
fn an_empty_search_says_what_to_do() {
    let (_dir, store) = temp_store();
    for q in ["", "   \t\n", "*", "\"", "- * \" ("] {
        match store.search(q, &Filter::default(), 10) {
            Err(StoreError::Invalid(why)) => assert!(why.contains("word"), "{why}"),
            other => panic!("{q:?}: {other:?}"),
        }
    }
    let many = vec!["w"; 33].join(" ");
    assert!(matches!(
        store.search(&many, &Filter::default(), 10),
        Err(StoreError::Invalid(_))
    ));
}

#[test]
fn operators_and_punctuation_are_searched_as_words() {
    let (_dir, mut store) = temp_store();
    for text in [
        "alpha beta",
        "alpha gamma",
        "alphabet soup",
        "alpha or beta",
        r#"she said "hi" NEAR(the door)"#,
        "Grüße aus Köln",
    ] {
        store.insert(&msg("ALICE", "H1", text, T0)).unwrap();
    }
    // All words must be there: OR is a word, not an operator.
    assert_eq!(texts(&store, "alpha OR beta"), ["alpha or beta"]);
    assert_eq!(texts(&store, "beta alpha"), ["alpha beta", "alpha or beta"]);
    // `-` is no NOT: "-beta" is the word beta.
    assert_eq!(
        texts(&store, "alpha -beta"),
        ["alpha beta", "alpha or beta"]
    );
    // `*` is no prefix query.
    assert!(texts(&store, "alph*").is_empty());
    assert_eq!(texts(&store, "NEAR(").len(), 1);
    assert_eq!(texts(&store, r#""hi""#).len(), 1);
    assert_eq!(texts(&store, r#"said"hi"#).len(), 1);
    assert_eq!(texts(&store, "text:alpha").len(), 0);
    // Case and accents do not matter; names are searched too.
    assert_eq!(texts(&store, "KOLN GRUSSE").len(), 0, "ß is not ss");
    assert_eq!(texts(&store, "koln gruße"), ["Grüße aus Köln"]);
    assert_eq!(texts(&store, "alice soup"), ["alphabet soup"]);
}

#[test]
fn a_deleted_message_is_no_longer_found_and_an_updated_one_is_reindexed() {
    let (_dir, mut store) = temp_store();
    let gone = store
        .insert(&msg("ALICE", "H1", "the zanzibar plan", T0))
        .unwrap();
    let kept = store
        .insert(&msg("BOB", "H1", "lunch at noon", T0))
        .unwrap();
    assert_eq!(texts(&store, "zanzibar").len(), 1);
    store.delete(gone.id).unwrap();
    assert!(texts(&store, "zanzibar").is_empty());
    assert_eq!(
        store
            .search("zanzibar", &Filter::default(), 10)
            .unwrap()
            .older,
        0
    );
    store
        .conn_ref()
        .execute(
            "UPDATE messages SET text = 'dinner at eight' WHERE id = ?",
            [kept.id],
        )
        .unwrap();
    assert!(texts(&store, "lunch").is_empty());
    assert_eq!(texts(&store, "dinner"), ["dinner at eight"]);
    // The index agrees with its content table.
    store
        .conn_ref()
        .execute(
            "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)",
            [],
        )
        .unwrap();
}

#[test]
fn search_pages_with_the_filters_and_counts_what_is_older() {
    let (_dir, mut store) = temp_store();
    // Every message says "message N wordD" with D = N % 10.
    let rows = fill(&mut store, 1500);
    for scope in scopes() {
        for unread_only in [false, true] {
            let f = Filter {
                scope: scope.clone(),
                unread_only,
                from: Some("carol".into()),
                ..Filter::default()
            };
            // "word7": the rows whose model index ends in 7.
            let want: Vec<i64> = expected(&rows, &f)
                .into_iter()
                .filter(|id| {
                    let i = rows.iter().position(|r| r.id == *id).unwrap();
                    i % 10 == 7
                })
                .collect();
            let mut seen = Vec::new();
            let mut page_filter = f.clone();
            loop {
                let page = store.search("message word7", &page_filter, 13).unwrap();
                let ids: Vec<i64> = page.messages.iter().map(|m| m.id).collect();
                assert!(ids.windows(2).all(|w| w[0] < w[1]));
                let below = want
                    .iter()
                    .filter(|id| page_filter.before.is_none_or(|b| **id < b))
                    .filter(|id| ids.first().is_none_or(|first| *id < first))
                    .count() as u64;
                assert_eq!(page.older, below, "{page_filter:?}");
                let Some(&first) = ids.first() else { break };
                seen.splice(0..0, ids);
                page_filter.before = Some(first);
            }
            assert_eq!(seen, want, "{f:?}");
        }
    }
    let nobody = Filter {
        scope: Scope::Owners {
            user: None,
            host: false,
        },
        ..Filter::default()
    };
    assert_eq!(
        store.search("message", &nobody, 10).unwrap(),
        crate::Page::default()
    );
}

#[test]
fn a_version_2_inbox_is_migrated_and_its_messages_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in &crate::schema::MIGRATIONS[..2] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 2).unwrap();
        for (i, (text, owner, read)) in [
            ("the old zanzibar note", Some("alice"), None),
            ("another old note", None, Some(T0)),
            ("zanzibar again", None, None),
        ]
        .into_iter()
        .enumerate()
        {
            conn.execute(
                "INSERT INTO messages (uuid, received_at, transport, from_name, to_name, \
                 from_fold, to_fold, text, raw, owner_user, read_at) \
                 VALUES (?1, ?2, 'smb', 'H2', 'H1', 'h2', 'h1', ?3, x'00', ?4, ?5)",
                rusqlite::params![format!("{i:032x}"), T0, text, owner, read],
            )
            .unwrap();
        }
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.pragma_i64("user_version").unwrap(),
        crate::SCHEMA_VERSION
    );
    let page = store.search("zanzibar", &Filter::default(), 10).unwrap();
    let found: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(found, ["the old zanzibar note", "zanzibar again"]);
    let host = Filter {
        scope: Scope::Owners {
            user: None,
            host: true,
        },
        ..Filter::default()
    };
    assert_eq!(
        store.search("zanzibar", &host, 10).unwrap().messages.len(),
        1
    );
    // The counts were made from the old rows too.
    assert_eq!(store.count(&Filter::default()).unwrap(), 3);
    assert_eq!(store.count(&Filter::unread()).unwrap(), 2);
    assert_eq!(store.count(&host).unwrap(), 2);
    let from_h2 = Filter {
        from: Some("h2".into()),
        ..Filter::default()
    };
    assert_eq!(store.count(&from_h2).unwrap(), 3);
}

#[test]
fn a_search_is_driven_by_the_index_newest_first() {
    let (_dir, store) = temp_store();
    let f = Filter {
        scope: Scope::Owners {
            user: Some("alice".into()),
            host: true,
        },
        unread_only: true,
        before: Some(1000),
        since: Some(T0),
        ..Filter::default()
    };
    let (w, from, columns) = search_sql(fts_query("zanzibar").unwrap(), &f);
    let sql = format!(
        "SELECT {columns} FROM {from} WHERE {} ORDER BY messages_fts.rowid DESC LIMIT 50",
        w.sql()
    );
    let p = plan(&store, &sql, w.params);
    eprintln!("-- search\n{p}");
    assert!(p.starts_with("SCAN messages_fts VIRTUAL TABLE"), "{p}");
    assert!(
        p.contains("SEARCH m USING INTEGER PRIMARY KEY (rowid=?)"),
        "{p}"
    );
    assert!(!p.contains("TEMP B-TREE"), "{p}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever is typed, a search is a result or `Invalid`, never an FTS5
    /// syntax error.
    #[test]
    fn any_text_is_a_search_or_invalid(q in ".{0,40}") {
        let (_dir, mut store) = temp_store();
        store.conn_ref().pragma_update(None, "synchronous", "OFF").unwrap();
        store.insert(&msg("ALICE", "H1", "some text", T0)).unwrap();
        match store.search(&q, &Filter::default(), 5) {
            Ok(_) | Err(StoreError::Invalid(_)) => {}
            Err(e) => prop_assert!(false, "{q:?}: {e}"),
        }
    }

    /// The same with FTS5's own syntax characters and keywords.
    #[test]
    fn fts5_syntax_is_a_search_or_invalid(
        q in r#"([a-c"*():^+{},.\- ]|NEAR|AND|OR|NOT|text:){0,12}"#
    ) {
        let (_dir, mut store) = temp_store();
        store.conn_ref().pragma_update(None, "synchronous", "OFF").unwrap();
        store.insert(&msg("ALICE", "H1", "a b c NEAR AND", T0)).unwrap();
        match store.search(&q, &Filter::default(), 5) {
            Ok(_) | Err(StoreError::Invalid(_)) => {}
            Err(e) => prop_assert!(false, "{q:?}: {e}"),
        }
    }
}

/// Messages stored in batches (the daemon's path) are indexed afterwards:
/// not found before, found once indexed; deleting or changing one the index
/// does not have yet leaves the index intact; the progress survives a
/// reopening (nothing is indexed twice or lost).
#[test]
fn batched_messages_are_indexed_after_them_and_exactly_once() {
    let (dir, mut store) = temp_store();
    let batch: Vec<_> = (0..5)
        .map(|i| msg("A", "H1", &format!("walrus number {i}"), T0 + i))
        .collect();
    let stored: Vec<_> = store
        .insert_batch(&batch)
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert!(texts(&store, "walrus").is_empty(), "not indexed yet");
    // Changed and deleted before the index took them.
    store
        .conn_ref()
        .execute(
            "UPDATE messages SET text = 'narwhal number 1' WHERE id = ?",
            [stored[1].id],
        )
        .unwrap();
    store.delete(stored[2].id).unwrap();
    assert_eq!(store.index_pending(2).unwrap(), 2);
    assert_eq!(texts(&store, "walrus"), ["walrus number 0"]);
    drop(store);
    let mut store = Store::open(dir.path().join("inbox.sqlite")).unwrap();
    assert_eq!(store.index_pending(usize::MAX).unwrap(), 2);
    assert_eq!(store.index_pending(usize::MAX).unwrap(), 0);
    assert_eq!(
        texts(&store, "walrus"),
        ["walrus number 0", "walrus number 3", "walrus number 4"]
    );
    assert_eq!(texts(&store, "narwhal"), ["narwhal number 1"]);
    store
        .conn_ref()
        .execute(
            "INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')",
            [],
        )
        .unwrap();
}
