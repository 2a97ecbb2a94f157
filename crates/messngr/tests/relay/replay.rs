//! Replays through the relay: whoever can read the message stream (its
//! operators, or a host given the cluster's one user) can copy an
//! envelope and publish it again, within the 7 days a frame is accepted.
//! Offered again after its message was deleted, or a live notice's update
//! once it or a newer one was shown, it is dropped and counted, and
//! changes nothing. (A bundle's replay is in `bundles.rs`, a gateway
//! forward's in `gateway.rs`.)

use std::time::Duration;

use bytes::Bytes;
use messngr_lan::Lan;

use super::support::{Daemon, NatsCluster, block_on_in, text, wait_for};
use super::{routed_lan, two_hosts};

/// Every envelope waiting in the message stream (its subject and
/// payload), in stream order, copied as an operator could.
pub(super) fn copy_waiting(lan: &Lan, nats: &NatsCluster) -> Vec<(String, Bytes)> {
    let urls = nats.urls(lan);
    block_on_in(lan.ns(1), move || async move {
        let js = async_nats::jetstream::new(async_nats::connect(urls).await.expect("connect"));
        let stream = js.get_stream("MESSNGR_MAIL").await.expect("the stream");
        let state = &stream.cached_info().state;
        let mut waiting = Vec::new();
        for seq in state.first_sequence..=state.last_sequence {
            // A work queue's sequence numbers have gaps where messages
            // were taken.
            if let Ok(m) = stream.get_raw_message(seq).await {
                waiting.push((m.subject.to_string(), m.payload));
            }
        }
        waiting
    })
}

/// The envelope published last on the message stream, while its host is
/// away.
fn copy_last(lan: &Lan, nats: &NatsCluster) -> (String, Bytes) {
    copy_waiting(lan, nats)
        .pop()
        .expect("an envelope waiting in the stream")
}

/// Publishes `envelope` again, on its subject (with no de-duplication id:
/// the replayer chooses), and waits until the stream stored it.
pub(super) fn publish_again(lan: &Lan, nats: &NatsCluster, (subject, payload): &(String, Bytes)) {
    let (urls, subject, payload) = (nats.urls(lan), subject.clone(), payload.clone());
    block_on_in(lan.ns(1), move || async move {
        let js = async_nats::jetstream::new(async_nats::connect(urls).await.expect("connect"));
        js.publish(subject, payload)
            .await
            .expect("publish")
            .await
            .expect("stored");
    });
}

/// Until `d` counted `n` refusals for `reason`, and the stream is empty
/// (it took what it refused).
pub(super) fn wait_refused(lan: &Lan, nats: &NatsCluster, d: &Daemon, reason: &str, n: u64) {
    wait_for(
        Duration::from_secs(30),
        || d.refused(reason) >= n && nats.stream_messages(lan, "MESSNGR_MAIL") == Some(0),
        || format!("{}\n{}", d.status()["refused"], d.log()),
    );
}

#[test]
fn an_envelope_published_again_is_dropped_once_its_message_is_gone_or_updated() {
    let Some(lan) = routed_lan() else { return };
    let (nats, h1, h2) = two_hosts(&lan);

    // H2 is away: the message and two updates wait in the stream, where
    // they are copied.
    let h2 = h2.stop_for_now();
    let sent: serde_json::Value = serde_json::from_slice(
        &h1.cli_ok(&["send", "--json", "OPS2", "the door code is 4711"])
            .stdout,
    )
    .expect("JSON");
    assert_eq!(sent["outcome"], "queued", "{sent}");
    let sent_id = sent["id"].as_i64().expect("the sender's copy").to_string();
    let message = copy_last(&lan, &nats);
    h1.cli_ok(&["update", &sent_id, "the door code is 4711 until Friday"]);
    let first_update = copy_last(&lan, &nats);
    h1.cli_ok(&["update", &sent_id, "the door code is 0815"]);
    let second_update = copy_last(&lan, &nats);
    assert!(message.1 != first_update.1 && first_update.1 != second_update.1);

    // H2 is back: it shows the message as last updated (whatever order
    // the updates are taken in), and she reads it.
    let h2 = h2.start(&lan);
    let shown = |d: &Daemon, want: &str| {
        let inbox = d.inbox();
        inbox.len() == 1 && inbox[0]["text"] == want
    };
    wait_for(
        Duration::from_secs(60),
        || {
            shown(&h2, "the door code is 0815")
                && nats.stream_messages(&lan, "MESSNGR_MAIL") == Some(0)
        },
        || format!("{:?}\n{}", h2.inbox(), h2.log()),
    );
    let id = h2.inbox()[0]["id"].as_i64().expect("id").to_string();
    h2.cli_ok(&["read", &id]);
    let superseded = h2.refused("superseded");

    // Each update again: dropped and counted; the text stays the latest,
    // and read.
    publish_again(&lan, &nats, &second_update);
    wait_refused(&lan, &nats, &h2, "superseded", superseded + 1);
    publish_again(&lan, &nats, &first_update);
    wait_refused(&lan, &nats, &h2, "superseded", superseded + 2);
    let inbox = h2.inbox();
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    assert_eq!(inbox[0]["text"], "the door code is 0815", "{inbox:?}");
    assert!(!inbox[0]["read_at"].is_null(), "unread again: {inbox:?}");

    // She deletes it; the message again: dropped and counted, not shown.
    h2.cli_ok(&["rm", &id]);
    let replayed = h2.refused("replayed");
    publish_again(&lan, &nats, &message);
    wait_refused(&lan, &nats, &h2, "replayed", replayed + 1);
    h2.wait_log("received here before and is gone since");
    std::thread::sleep(Duration::from_secs(1));
    assert!(h2.inbox().is_empty(), "{:?}", h2.inbox());
    let o = h2.cli_ok(&["status"]);
    assert!(
        text(&o).contains("replayed") && text(&o).contains("superseded"),
        "{}",
        text(&o)
    );
}
