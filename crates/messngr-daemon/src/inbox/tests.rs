//! The inbox against a real store: decoding, owners, group commit,
//! quotas and expiry.

use std::net::SocketAddr;
use std::time::SystemTime;

use tokio::sync::oneshot;

use super::*;
use crate::intake::Transport;

fn incoming(text: &str) -> Incoming {
    Incoming {
        transport: Transport::Smb,
        source: SocketAddr::from(([10, 77, 0, 2], 1040)),
        from: b"ALICE".to_vec(),
        to: b"H1".to_vec(),
        text: text.as_bytes().to_vec(),
        block_ends: vec![text.len()],
        received_at: SystemTime::now(),
        native: None,
    }
}

/// Deliveries are queued without waiting for each other's COMMIT, yet
/// stored in arrival order, and every one is answered once on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_stored_in_order_and_each_answered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(INBOX_FILE);
    let store = StoreHandle::open(&path).unwrap();
    let inbox = Arc::new(Inbox {
        receipts: super::receipts::Recorder::new(store.clone()),
        store,
        path,
        codepages: crate::codepages::CodePages::default(),
        access: crate::access::Access::default(),
        stored: tokio::sync::broadcast::channel(4).0,
        copies: Arc::new(super::copies::Copies::new(
            "WORKGROUP",
            messngr_proto::text::CodePage::default(),
        )),
        flow: Arc::default(),
        in_flight: Arc::new(tokio::sync::Semaphore::new(super::MAX_IN_FLIGHT)),
    });
    let (tx, rx) = mpsc::channel(8);
    let runner = tokio::spawn(run(inbox.clone(), rx, Default::default()));
    let mut answers = Vec::new();
    for i in 0..50 {
        let (done, answer) = oneshot::channel();
        let message = incoming(&format!("m{i}"));
        tx.send(Delivery {
            message,
            done: Some(done),
        })
        .await
        .unwrap();
        answers.push(answer);
    }
    // A datagram: nobody waits for it, it is stored all the same.
    tx.send(Delivery {
        message: incoming("datagram"),
        done: None,
    })
    .await
    .unwrap();
    let mut ids = Vec::new();
    for a in answers {
        ids.push(a.await.unwrap().unwrap().0);
    }
    assert!(ids.windows(2).all(|w| w[1] > w[0]), "{ids:?}");
    drop(tx);
    runner.await.unwrap();
    // A writer job: queued behind every insert, the datagram's too
    // (reads go to the reader, which does not wait for them).
    let texts: Vec<String> = inbox
        .store
        .run(|s| s.list(&messngr_store::Filter::default()))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts.len(), 51);
    // Counted for /metrics: every one stored, none left in flight (the
    // datagram's answer is counted on a task of its own, which may run
    // after the runner ended: waited for, 5 s at most).
    let stored = || {
        inbox
            .flow
            .get(crate::flow::Route::Smb, crate::flow::Outcome::Stored)
    };
    for _ in 0..500 {
        if stored() == 51 && inbox.in_flight() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(stored(), 51);
    assert_eq!(inbox.in_flight(), 0);
    assert_eq!(texts[0], "m0");
    assert_eq!(texts[49], "m49");
}

/// A datagram over the quota is dropped and counted as quota_full; a
/// waiting receiver gets NotStored of the quota kind; expiry then
/// frees room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_quota_datagrams_are_counted_and_expiry_frees_room() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Arc::new(Inbox::open_at(&dir.path().join(INBOX_FILE)));
    inbox
        .store
        .set_quota(messngr_store::Quota {
            max_messages: Some(1),
            max_messages_per_owner: None,
        })
        .unwrap();
    let policy = Arc::new(crate::policy::Policy::default());
    let (tx, rx) = mpsc::channel(8);
    let runner = tokio::spawn(run(inbox.clone(), rx, policy.clone()));
    let send = |text: &str, wait: bool| {
        let (done, answer) = oneshot::channel();
        let d = Delivery {
            message: incoming(text),
            done: wait.then_some(done),
        };
        (d, answer)
    };
    let (d, first) = send("first", true);
    tx.send(d).await.unwrap();
    let id = first.await.unwrap().unwrap().0;
    let (d, _) = send("datagram", false);
    tx.send(d).await.unwrap();
    let (d, refused) = send("waiting", true);
    tx.send(d).await.unwrap();
    let e = refused.await.unwrap().unwrap_err();
    assert_eq!(e.kind, crate::intake::NotStoredKind::QuotaFull, "{e}");
    assert_eq!(e.refusal(), crate::policy::Refusal::QuotaFull);
    // The waiting receiver counts its own; the datagram was counted here.
    assert_eq!(policy.refusals().snapshot().get("quota_full"), Some(&1));
    // Read, and received long ago: expiry deletes it, room again.
    inbox.store.mark_read(id).await.unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let later = std::time::Duration::from_secs(3600);
    assert_eq!(expiry::expire(&inbox.store, later, &stop).await.unwrap(), 0);
    let none = std::time::Duration::ZERO;
    assert_eq!(expiry::expire(&inbox.store, none, &stop).await.unwrap(), 1);
    let (d, again) = send("room again", true);
    tx.send(d).await.unwrap();
    again.await.unwrap().unwrap();
    drop(tx);
    runner.await.unwrap();
}
