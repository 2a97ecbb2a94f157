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
    let mut out = Vec::new();
    let out = store
        .run_blocking(move |s| {
            s.export_jsonl(&mut out)?;
            Ok(out)
        })
        .unwrap();
    assert!(String::from_utf8(out).unwrap().contains(&m.uuid));
}

#[tokio::test]
async fn a_panicking_job_does_not_stop_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path().join("inbox.sqlite")).unwrap();
    let r: Result<(), _> = store.run(|_| panic!("bug in a job")).await;
    assert!(matches!(r, Err(StoreError::Closed)));
    assert_eq!(store.count_unread().await.unwrap(), 0);
}
