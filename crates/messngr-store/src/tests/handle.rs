//! The async handle: one thread, many callers.

use super::{T0, msg};
use crate::{Filter, StoreError, StoreHandle};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_inserts_all_land_with_distinct_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inbox.sqlite");
    let store = StoreHandle::open(&path).unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.insert(msg("A", "H1", &format!("m{i}"), T0 + i)).await
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap().id);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    assert_eq!(store.count_unread().await.unwrap(), 20);
    let first = store.list(Filter::default()).await.unwrap()[0].clone();
    assert_eq!(store.get(first.id).await.unwrap(), first);
    assert!(store.mark_read(first.id).await.unwrap().read_at.is_some());
    store.delete(first.id).await.unwrap();
    assert_eq!(store.count(Filter::default()).await.unwrap(), 19);
    assert!(matches!(
        store.get(first.id).await,
        Err(StoreError::NotFound(_))
    ));

    let other = store.clone();
    store.close().await.unwrap();
    assert!(matches!(
        other.count_unread().await,
        Err(StoreError::Closed)
    ));
    // Closed means closed: a new store on the same file sees every message.
    let again = StoreHandle::open(&path).unwrap();
    assert_eq!(again.count_unread().await.unwrap(), 19);
}

#[test]
fn run_blocking_serves_a_cli() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path().join("inbox.sqlite")).unwrap();
    let m = store
        .run_blocking(|s| s.insert(&msg("A", "H1", "hello", T0)))
        .unwrap();
    let page = store
        .run_blocking(|s| s.page(&crate::Filter::default(), 10))
        .unwrap();
    assert_eq!(page.messages, [m]);
}

#[tokio::test]
async fn a_panicking_job_does_not_stop_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path().join("inbox.sqlite")).unwrap();
    let r: Result<(), _> = store.run(|_| panic!("bug in a job")).await;
    assert!(matches!(r, Err(StoreError::Closed)));
    assert_eq!(store.count_unread().await.unwrap(), 0);
}

/// Holds the store's thread in a job until the returned sender is used (or
/// dropped), so that the inserts queued meanwhile form one batch.
async fn hold(store: &StoreHandle) -> (std::sync::mpsc::Sender<()>, tokio::task::JoinHandle<()>) {
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let s = store.clone();
    let busy = tokio::spawn(async move {
        s.run(move |_| {
            started_tx.send(()).unwrap();
            let _ = release_rx.recv();
            Ok(())
        })
        .await
        .unwrap();
    });
    tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
        .await
        .unwrap();
    (release_tx, busy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserts_queued_together_are_all_stored_and_answered_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path().join("inbox.sqlite")).unwrap();
    let (release, busy) = hold(&store).await;
    let mut answers = Vec::new();
    for i in 0..10 {
        answers.push(store.queue_insert(msg("A", "H1", &format!("m{i}"), T0 + i)));
    }
    // A writer job queued behind them sees every one of them committed
    // (reads go to the reader connection, which does not queue behind).
    let count = tokio::spawn({
        let s = store.clone();
        async move { s.run(|s| s.count(&Filter::default())).await }
    });
    let late = store.queue_insert(msg("A", "H1", "late", T0 + 10));
    release.send(()).unwrap();
    busy.await.unwrap();
    let mut ids = Vec::new();
    for (i, a) in answers.into_iter().enumerate() {
        let m = a.await.unwrap();
        assert_eq!(m.text, format!("m{i}"));
        ids.push(m.id);
    }
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    let late = late.await.unwrap();
    assert_eq!(late.id, ids[9] + 1);
    let counted = count.await.unwrap().unwrap();
    assert!((10..=11).contains(&counted), "{counted}");
    let listed = store.list(Filter::default()).await.unwrap();
    assert_eq!(listed.len(), 11);
    assert_eq!(listed[0].text, "m0");
    assert_eq!(listed[10].text, "late");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_batch_answers_every_caller_and_stores_none_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path().join("inbox.sqlite")).unwrap();
    let kept = store
        .insert(msg("ALICE", "H1", "before", T0))
        .await
        .unwrap();
    // The database may grow by two pages: small messages fit, 64 KiB does
    // not (SQLITE_FULL, as on a full disk).
    store
        .run(|s| {
            let pages = s.pragma_i64("page_count")?;
            s.conn_ref()
                .pragma_update(None, "max_page_count", pages + 2)?;
            Ok(())
        })
        .await
        .unwrap();
    let (release, busy) = hold(&store).await;
    let small1 = store.queue_insert(msg("BOB", "H1", "small one", T0 + 1));
    let big = store.queue_insert(msg("BOB", "H1", &"x".repeat(64 * 1024), T0 + 2));
    let small2 = store.queue_insert(msg("CAROL", "H1", "small two", T0 + 3));
    release.send(()).unwrap();
    busy.await.unwrap();
    // One batch: the small ones fit, but they shared the big one's
    // transaction, so they are refused with it — none was acknowledged.
    for (what, answer) in [
        ("small1", small1.await),
        ("big", big.await),
        ("small2", small2.await),
    ] {
        assert!(
            matches!(answer, Err(StoreError::Full)),
            "{what}: {answer:?}"
        );
    }
    assert_eq!(
        store.list(Filter::default()).await.unwrap(),
        std::slice::from_ref(&kept),
        "nothing of the failed batch may be stored"
    );
    // Alone, a small message is stored: the store works on.
    let again = store
        .insert(msg("BOB", "H1", "small one", T0 + 4))
        .await
        .unwrap();
    assert_eq!(again.id, kept.id + 1);
}

/// Pages that a batch of `n` small messages adds to a new store.
async fn pages_for(n: usize) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path().join("inbox.sqlite")).unwrap();
    let pages = || store.run(|s| s.pragma_i64("page_count"));
    let before = pages().await.unwrap();
    let (release, busy) = hold(&store).await;
    let answers: Vec<_> = (0..n)
        .map(|i| store.queue_insert(msg("A", "H1", &format!("m{i}"), T0)))
        .collect();
    release.send(()).unwrap();
    busy.await.unwrap();
    for a in answers {
        a.await.unwrap();
    }
    pages().await.unwrap() - before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_queued_together_is_never_split_between_transactions() {
    let room = pages_for(crate::handle::MAX_BATCH).await + 2;
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path().join("inbox.sqlite")).unwrap();
    // Room for a batch of small messages, not for a 64 KiB one.
    store
        .run(move |s| {
            let pages = s.pragma_i64("page_count")?;
            s.conn_ref()
                .pragma_update(None, "max_page_count", pages + room)?;
            Ok(())
        })
        .await
        .unwrap();
    let (release, busy) = hold(&store).await;
    let before: Vec<_> = (0..crate::handle::MAX_BATCH - 1)
        .map(|i| store.queue_insert(msg("A", "H1", &format!("m{i}"), T0)))
        .collect();
    // The pair's first message is the batch's last that fits the bound;
    // it goes into the transaction of the second (which fails), not into
    // one that commits without it.
    let (first, second) = store.queue_together(
        msg("ALICE", "H1", "the message", T0 + 1),
        msg("ALICE", "H1", &"x".repeat(64 * 1024), T0 + 1),
    );
    release.send(()).unwrap();
    busy.await.unwrap();
    assert!(matches!(second.await, Err(StoreError::Full)));
    let first = first.await;
    assert!(matches!(first, Err(StoreError::Full)), "{first:?}");
    for a in before {
        assert!(matches!(a.await, Err(StoreError::Full)));
    }
    assert!(store.list(Filter::default()).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_of_a_pair_is_stored_or_refused_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path().join("inbox.sqlite")).unwrap();
    let mut forged = msg("A", "H1", "verified over SMB?", T0);
    forged.verified = true;
    let (good, forged) = store.queue_together(msg("A", "H1", "good", T0), forged);
    assert_eq!(good.await.unwrap().text, "good");
    assert!(matches!(forged.await, Err(StoreError::Invalid(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_refused_on_its_own_does_not_fail_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path().join("inbox.sqlite")).unwrap();
    let (release, busy) = hold(&store).await;
    let good = store.queue_insert(msg("A", "H1", "good", T0));
    let mut forged = msg("A", "H1", "verified over SMB?", T0 + 1);
    forged.verified = true;
    let forged = store.queue_insert(forged);
    let mut first = msg("A", "H1", "first copy", T0 + 2);
    first.uuid = Some("0123456789abcdef0123456789abcdef".into());
    let mut second = first.clone();
    second.text = "second copy".into();
    let first = store.queue_insert(first);
    let second = store.queue_insert(second);
    release.send(()).unwrap();
    busy.await.unwrap();
    assert_eq!(good.await.unwrap().text, "good");
    assert!(matches!(forged.await, Err(StoreError::Invalid(_))));
    let first = first.await.unwrap();
    match second.await {
        Err(StoreError::Duplicate { id, .. }) => assert_eq!(id, first.id),
        other => panic!("{other:?}"),
    }
    let texts: Vec<String> = store
        .list(Filter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["good", "first copy"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_search_export_and_count_through_the_handle() {
    use crate::{Page, Scope};
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path().join("inbox.sqlite")).unwrap();
    for (i, owner) in [Some("alice"), None, Some("bob"), Some("alice")]
        .into_iter()
        .enumerate()
    {
        let mut m = msg("A", "H1", &format!("note {i} zanzibar"), T0 + i as i64);
        m.owner_user = owner.map(str::to_owned);
        store.queue_insert(m).await.unwrap();
    }
    let alice = Filter {
        scope: Scope::Owners {
            user: Some("alice".into()),
            host: true,
        },
        ..Filter::default()
    };
    let page: Page = store.page(alice.clone(), 2).await.unwrap();
    let texts: Vec<&str> = page.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["note 1 zanzibar", "note 3 zanzibar"]);
    assert_eq!(page.older, 1);
    let found = store
        .search("ZANZIBAR note".into(), alice.clone(), 10)
        .await
        .unwrap();
    assert_eq!((found.messages.len(), found.older), (3, 0));
    assert_eq!(store.count(alice).await.unwrap(), 3);
    let all = store.export_page(Scope::All, 0, 10).await.unwrap();
    assert_eq!(all.len(), 4);
    let rest = store.export_page(Scope::All, all[1].id, 10).await.unwrap();
    assert_eq!(rest, all[2..]);
    assert!(matches!(
        store.search(" ".into(), Filter::default(), 10).await,
        Err(StoreError::Invalid(_))
    ));
}

/// Reads run on their own connection: an insert is committed and answered
/// while a long query is still running (before, it queued behind it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insert_never_waits_behind_a_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path().join("inbox.sqlite")).unwrap();
    let (release, held) = std::sync::mpsc::channel::<()>();
    let (started, running) = tokio::sync::oneshot::channel();
    let reading = store.clone();
    let read = tokio::spawn(async move {
        reading
            .read(move |s| {
                let _ = started.send(());
                let _ = held.recv_timeout(std::time::Duration::from_secs(20));
                s.count(&Filter::default())
            })
            .await
    });
    running.await.unwrap();
    let stored = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        store.insert(msg("A", "H1", "while a reader is busy", T0)),
    )
    .await
    .expect("the insert must not wait for the read")
    .unwrap();
    // The read's own query runs once released, after the commit: it sees it.
    release.send(()).unwrap();
    assert_eq!(read.await.unwrap().unwrap(), 1);
    assert_eq!(
        store.get(stored.id).await.unwrap().text,
        "while a reader is busy"
    );
    // Closing stops both threads.
    store.close().await.unwrap();
    assert!(matches!(
        store.get(stored.id).await,
        Err(StoreError::Closed)
    ));
}

/// The daemon's path: inserts through the handle are acknowledged before
/// the index has them, and a search through the handle finds every one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_through_the_handle_finds_every_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path().join("inbox.sqlite")).unwrap();
    let mut answers = Vec::new();
    for i in 0..300 {
        answers.push(store.queue_insert(msg("A", "H1", &format!("okapi {i}"), T0 + i)));
    }
    for a in answers {
        a.await.unwrap();
    }
    let page = store
        .search("okapi".into(), Filter::default(), 1000)
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 300);
    assert_eq!(page.older, 0);
}
