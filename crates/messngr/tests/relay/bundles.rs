//! Messages that queue up for one recipient go through the relay together,
//! as bundles (`relay::lanes`), and each still arrives once, as itself;
//! a bundle published again once they are deleted brings none back.

use std::time::Duration;

use messngr_api::{Client, Rm, Send};

use super::replay::{copy_waiting, publish_again, wait_refused};
use super::{routed_lan, two_hosts};

const SENDERS: usize = 8;
const EACH: usize = 8;

#[test]
fn messages_sent_at_once_to_one_name_share_publishes_and_each_arrives_once() {
    let Some(lan) = routed_lan() else { return };
    let (nats, h1, h2) = two_hosts(&lan);
    // The first pins H2's key at H1 (and H1's at H2).
    h1.cli_ok(&["send", "OPS2", "warm up"]);
    assert_eq!(h2.wait_inbox(1)[0]["text"], "warm up");

    // H2 is away: what H1 sends waits in the stream, where it is counted.
    let stopped = h2.stop_for_now();
    let socket = h1.socket();
    let threads: Vec<_> = (0..SENDERS)
        .map(|t| {
            let socket = socket.clone();
            std::thread::spawn(move || {
                let mut c = Client::connect(&socket).expect("H1's socket");
                for i in 0..EACH {
                    let sent = c
                        .call(Send::new("OPS2", format!("burst {t}-{i}")))
                        .expect("send");
                    assert_eq!(sent[0].outcome, "queued", "{sent:?}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a sender");
    }
    let total = SENDERS * EACH;
    // Fewer publishes than messages: some went together. (Each publish is
    // one stream message while H2 is away.)
    let waiting = nats
        .stream_messages(&lan, "MESSNGR_MAIL")
        .expect("the stream's state");
    assert!(
        waiting >= 1 && waiting < total as u64,
        "{total} messages sent at once took {waiting} publishes: none was bundled\n{}",
        h1.log()
    );
    // The largest envelope is a bundle (the texts are of one length), copied
    // as an operator could.
    let bundle = copy_waiting(&lan, &nats)
        .into_iter()
        .max_by_key(|(_, payload)| payload.len())
        .expect("envelopes waiting");

    // H2 starts: every message arrives, once, verified, with its author.
    let h2 = stopped.start(&lan);
    let inbox = h2.wait_inbox(total + 1);
    std::thread::sleep(Duration::from_secs(2));
    let inbox = if h2.inbox().len() == inbox.len() {
        inbox
    } else {
        h2.inbox()
    };
    let mut texts: Vec<&str> = inbox.iter().filter_map(|m| m["text"].as_str()).collect();
    texts.sort_unstable();
    let mut want: Vec<String> = (0..SENDERS)
        .flat_map(|t| (0..EACH).map(move |i| format!("burst {t}-{i}")))
        .collect();
    want.push("warm up".into());
    want.sort_unstable();
    assert_eq!(texts, want, "each message once\n{}", h2.log());
    for m in &inbox {
        assert_eq!(m["verified"], true, "{m}");
        assert_eq!(m["author"], "root@H1", "{m}");
    }
    assert_eq!(
        nats.stream_messages(&lan, "MESSNGR_MAIL"),
        Some(0),
        "H2 took every publish"
    );
    println!("{total} messages in {waiting} publishes");

    // She deletes them all; the bundle published again brings none back:
    // each of its messages is dropped and counted as a replay.
    let mut c = Client::connect(&h2.socket()).expect("H2's socket");
    for m in &inbox {
        c.call(Rm {
            id: m["id"].as_i64().expect("id"),
        })
        .expect("rm");
    }
    let replayed = h2.refused("replayed");
    publish_again(&lan, &nats, &bundle);
    wait_refused(&lan, &nats, &h2, "replayed", replayed + 2);
    std::thread::sleep(Duration::from_secs(1));
    assert!(h2.inbox().is_empty(), "{:?}", h2.inbox());
}
