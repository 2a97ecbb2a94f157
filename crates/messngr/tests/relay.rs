//! The relay between sites (issue 14, its first part): a 3-node NATS
//! JetStream cluster (Debian's nats-server 2.9.10, every stream with 3
//! replicas) across two subnets joined by a router, a messngr daemon on
//! each subnet. NetBIOS cannot cross the router; the relay's directory
//! can. Everything runs inside the test's own namespaces.
//!
//! Hosts: 1, 2 and 3 on 10.77.0.0/24, 4 and 5 on 10.77.1.0/24. NATS nodes
//! n1, n2, n3 on hosts 1, 2 and 4; H1 on host 3, H2 on host 5 (and H3 on
//! host 4, another site in its own NetBIOS scope, for a user at two).
//!
//! Here: the directory, the message stream and a node killed. Beside it,
//! in `relay/`: a user at two sites (`two_sites`), a NATS user per host
//! against a hostile client (`accounts`), the secure gateway (`gateway`),
//! messages sent at once going as bundles (`bundles`), a cluster back
//! with empty stores (`rebuilt`), the servers reached over TLS (`tls`),
//! a JWT account's credentials (`creds`), envelopes published again
//! (`replay`).

mod support;

#[path = "relay/accounts.rs"]
mod accounts;
#[path = "relay/bundles.rs"]
mod bundles;
#[path = "relay/creds.rs"]
mod creds;
#[path = "relay/forged.rs"]
mod forged;
#[path = "relay/gateway.rs"]
mod gateway;
#[path = "relay/rebuilt.rs"]
mod rebuilt;
#[path = "relay/replay.rs"]
mod replay;
#[path = "relay/tls.rs"]
mod tls;
#[path = "relay/two_sites.rs"]
mod two_sites;

use std::time::Duration;

use messngr_lan::Lan;
use support::{BIN, Capture, Daemon, NatsCluster, run_in, text, wait_for};

fn routed_lan() -> Option<Lan> {
    Lan::up_routed(3, 2).expect("build the routed test LAN")
}

fn has_text(inbox: &[serde_json::Value], text: &str) -> bool {
    inbox.iter().any(|m| m["text"] == text)
}

/// The relay part of `d`'s status.
fn relay(d: &Daemon) -> serde_json::Value {
    d.status()["relay"].clone()
}

/// Until `d`'s relay is connected and its directory entry written.
fn wait_published(d: &Daemon, nats: &NatsCluster) {
    wait_for(
        Duration::from_secs(30),
        || {
            let r = relay(d);
            r["connected"] == true
                && r["directory"] == true
                && r["published"].as_u64() >= Some(1)
                && r["receiving"] == true
        },
        || format!("{}\n{}\n{}", relay(d), d.log(), nats.logs()),
    );
}

/// The usual two sites: a 3-node cluster (hosts 1, 2 and 4), H1 on host 3
/// and H2 on host 5 holding OPS2, both with their entries written.
fn two_hosts(lan: &Lan) -> (NatsCluster, Daemon, Daemon) {
    let nats = NatsCluster::start(lan, &[1, 2, 4]);
    let h1 = Daemon::start(lan, 3, "H1", &nats.relay_config(lan, ""));
    let h2 = Daemon::start(
        lan,
        5,
        "H2",
        &format!("names = [\"OPS2\"]\n{}", nats.relay_config(lan, "")),
    );
    wait_published(&h1, &nats);
    wait_published(&h2, &nats);
    (nats, h1, h2)
}

/// The first envelope published on `subject` (a wildcard) from now on,
/// copied as an operator of the cluster could (its subject and payload):
/// a thread, subscribed before this returns.
fn tap(
    lan: &Lan,
    nats: &NatsCluster,
    subject: &str,
) -> std::thread::JoinHandle<(String, bytes::Bytes)> {
    let (urls, subject) = (nats.urls(lan), subject.to_owned());
    let (ready, subscribed) = std::sync::mpsc::channel();
    let thread = support::spawn_in(lan.ns(1), move || async move {
        use futures_util::StreamExt;
        let client = async_nats::connect(urls).await.expect("connect");
        let mut sub = client.subscribe(subject).await.expect("subscribe");
        client.flush().await.expect("flush");
        let _ = ready.send(());
        let m = tokio::time::timeout(Duration::from_secs(60), sub.next())
            .await
            .expect("an envelope within 60 s")
            .expect("the subscription");
        (m.subject.to_string(), m.payload)
    });
    subscribed
        .recv_timeout(Duration::from_secs(30))
        .expect("the tap subscribed");
    thread
}

/// `d` sends `text` to OPS2 (on the other site), which the cluster stores
/// at once: `send` says so.
fn send_queued(d: &Daemon, text: &str) {
    let o = d.cli_ok(&["send", "OPS2", text]);
    assert!(
        support::text(&o).contains("queued for OPS2 at the relay"),
        "{}",
        support::text(&o)
    );
}

/// `messngr doctor`'s `relay` check of `d`, run in host `i`.
fn doctor_relay(lan: &Lan, i: usize, d: &Daemon) -> serde_json::Value {
    let socket = d.socket();
    let o = run_in(
        lan,
        i,
        BIN,
        &["--socket", socket.to_str().unwrap(), "doctor", "--json"],
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("doctor --json: {e}\n{}", text(&o)));
    report["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["check"] == "relay"))
        .cloned()
        .unwrap_or_else(|| panic!("no relay check in {report:#}"))
}

#[test]
fn names_on_another_subnet_are_found_and_reached_through_the_relay() {
    let Some(lan) = routed_lan() else { return };
    let mut nats = NatsCluster::start(&lan, &[1, 2, 4]);
    // H2 renews its entry rarely (every 100 s), so that what a hostile
    // host writes below stays the newest for the test's length.
    let h1 = Daemon::start(&lan, 3, "H1", &nats.relay_config(&lan, ""));
    let h2 = Daemon::start(
        &lan,
        5,
        "H2",
        &format!(
            // No allow_from for H1's subnet: a relayed message is proven
            // by its signature and seal, not by a network source.
            "names = [\"OPS2\"]\n{}",
            nats.relay_config(&lan, "directory_ttl_secs = 300\n")
        ),
    );
    wait_published(&h1, &nats);
    wait_published(&h2, &nats);
    assert_eq!(relay(&h1)["servers"].as_array().map(Vec::len), Some(3));
    let shown = text(&h2.cli_ok(&["status"]));
    assert!(
        shown.contains("directory ready, taking this host's messages"),
        "{shown}"
    );
    let doctor = doctor_relay(&lan, 3, &h1);
    assert_eq!(doctor["status"], "ok", "{doctor}");
    assert!(
        doctor["summary"]
            .as_str()
            .is_some_and(|s| s.contains("connected to n") && s.contains("entry written")),
        "{doctor}"
    );

    // A daemon without [relay] on H1's subnet cannot find H2: NetBIOS
    // stops at the router.
    let alone = Daemon::start(&lan, 2, "ALONE", "");
    let o = alone.cli(&["lookup", "H2"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(alone.status().get("relay").is_none_or(|r| r.is_null()));
    assert_eq!(doctor_relay(&lan, 2, &alone)["status"], "skip");

    // H1 finds H2's alias through the directory, at H2's address.
    let o = h1.cli_ok(&["lookup", "OPS2"]);
    let shown = text(&o);
    assert!(
        shown.contains(&format!("{} OPS2<03>", lan.ip(5)))
            && shown.contains("host H2, by the relay's directory"),
        "{shown}"
    );

    // And reaches it through the relay: signed, sealed to H2's key, held
    // by the cluster until H2 took it.
    send_queued(&h1, "across the router");
    let got = h2.wait_inbox(1);
    assert_eq!(got[0]["text"], "across the router");
    assert_eq!(got[0]["verified"], true, "{}", got[0]);
    assert_eq!(got[0]["author"], "root@H1", "{}", got[0]);

    // What the cluster sees is routing: a capture at each server (client
    // and route traffic; H1 publishes to one of them, the stream's
    // replicas are on all three) holds the publish on H2's subject, and
    // none holds the text or its author.
    let caps: Vec<Capture> = [1, 2, 4]
        .into_iter()
        .map(|h| Capture::start_filtered(&lan, h, "tcp port 4222 or tcp port 6222"))
        .collect();
    h1.cli_ok(&["send", "OPS2", "the quarterly figures are in"]);
    assert!(has_text(&h2.wait_inbox(2), "the quarterly figures are in"));
    let pcaps: Vec<Vec<u8>> = caps.into_iter().map(|c| c.finish_with_pcap().2).collect();
    let has = |pcap: &[u8], needle: &[u8]| pcap.windows(needle.len()).any(|w| w == needle);
    assert!(
        pcaps.iter().any(|p| has(p, b"messngr.mail.4832.4F505332")),
        "no capture saw the publish (H1's relay: {})",
        relay(&h1)
    );
    for pcap in &pcaps {
        assert!(
            !has(pcap, b"quarterly figures"),
            "the text crossed the relay in clear"
        );
        assert!(!has(pcap, b"root"), "the author crossed the relay in clear");
    }

    // H2 is down for a while: the message waits at the relay, and H2 has
    // it, once, when it starts again.
    // One sent with --expires 2s waits too, and has expired when H2
    // starts: dropped there, counted, never shown.
    let stopped = h2.stop_for_now();
    let o = h1.cli_ok(&[
        "send",
        "--expires",
        "2s",
        "OPS2",
        "stale by the time you read it",
    ]);
    assert!(text(&o).contains("queued"), "{}", text(&o));
    let o = h1.cli_ok(&["send", "OPS2", "while you were away"]);
    assert!(text(&o).contains("queued"), "{}", text(&o));
    std::thread::sleep(Duration::from_secs(3));
    let h2 = stopped.start(&lan);
    assert!(
        has_text(&h2.wait_inbox(3), "while you were away"),
        "{}",
        h2.log()
    );
    h2.wait_log("it expired before it arrived");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(h2.inbox().len(), 3, "delivered once, the expired one never");
    assert!(relay(&h2)["dropped"].as_u64() >= Some(1), "{}", relay(&h2));

    // The node H1 is connected to dies (SIGKILL): H1 moves to another, and
    // the directory (3 replicas) still answers.
    let server = relay(&h1)["server"]
        .as_str()
        .expect("the connected server's name")
        .to_owned();
    nats.kill(&server);
    wait_for(
        Duration::from_secs(30),
        || {
            let r = relay(&h1);
            r["connected"] == true && r["server"].as_str().is_some_and(|s| s != server)
        },
        || format!("{}\n{}", relay(&h1), h1.log()),
    );
    wait_for(
        Duration::from_secs(30),
        || {
            nats.stream_leader(&lan, "KV_messngr_directory")
                .is_some_and(|l| l != server)
        },
        || format!("the directory's stream elected no leader\n{}", nats.logs()),
    );
    let o = h1.cli_ok(&["lookup", "OPS2"]);
    assert!(
        text(&o).contains("by the relay's directory"),
        "{}",
        text(&o)
    );
    assert!(
        !h1.log().contains("did not answer for OPS2"),
        "the directory itself answered, not an earlier answer of it"
    );

    // The two nodes left hang (SIGSTOP): H1's connection stays up, and
    // nothing answers on it; the directory's stream has no leader to ask,
    // and no quorum to elect one. A lookup then stands on the directory's
    // answer of moments ago (within its TTL), and says so in the log,
    // instead of failing after 15 s.
    for node in ["n1", "n2", "n3"].into_iter().filter(|n| *n != server) {
        nats.freeze(node);
    }
    let o = h1.cli(&["lookup", "OPS2"]);
    assert!(
        o.status.success() && text(&o).contains("host H2, by the relay's directory"),
        "{} ({})\n{}",
        text(&o),
        o.status,
        h1.log()
    );
    h1.wait_log("relay: the directory did not answer for OPS2");
    // A send meanwhile is kept on disk, not failed: the cluster may yet
    // take it (it goes below, once the cluster is back).
    let o = h1.cli_ok(&["send", "OPS2", "sent while the cluster hung"]);
    assert!(text(&o).contains("kept on this host"), "{}", text(&o));

    // Every node gone: a logged state, not a crash. Lookups say why, and
    // what is local still works.
    nats.kill_all();
    wait_for(
        Duration::from_secs(30),
        || relay(&h1)["connected"] == false,
        || format!("{}\n{}", relay(&h1), h1.log()),
    );
    let o = h1.cli(&["lookup", "OPS2"]);
    assert!(text(&o).contains("relay is not connected"), "{}", text(&o));
    // `messngr doctor` names it, with what to check.
    let doctor = doctor_relay(&lan, 3, &h1);
    assert_eq!(doctor["status"], "fail", "{doctor}");
    assert!(
        doctor["summary"]
            .as_str()
            .is_some_and(|s| s.contains("not connected to any of nats://")
                && s.contains("messages for other sites kept here")),
        "{doctor}"
    );
    assert!(
        doctor["fix"]
            .as_str()
            .is_some_and(|s| s.contains("[relay] servers")),
        "{doctor}"
    );
    h1.cli_ok(&["send", "H1", "still here"]);
    assert_eq!(h1.wait_inbox(1)[0]["text"], "still here");
    h1.wait_log("relay: disconnected");

    // A message to the other site meanwhile is kept here, signed and on
    // disk, and `status` counts it (with the one of the hang); they go once
    // the cluster is back.
    let o = h1.cli_ok(&["send", "OPS2", "kept until the relay returns"]);
    assert!(text(&o).contains("kept on this host"), "{}", text(&o));
    let shown = text(&h1.cli_ok(&["status"]));
    assert!(shown.contains("relay: NOT connected"), "{shown}");
    assert!(
        shown.contains("2 messages for other sites kept here"),
        "{shown}"
    );
    // One kept, then changed: signed again with the new text, it goes
    // so (it reached nobody yet); another withdrawn: it never leaves.
    let kept_id = |t: &str| {
        let v: serde_json::Value =
            serde_json::from_slice(&h1.cli_ok(&["send", "--json", "OPS2", t]).stdout)
                .expect("JSON");
        v["id"].as_i64().expect("the sender's copy").to_string()
    };
    let typo = kept_id("the meeting is at 3");
    let o = h1.cli_ok(&["update", &typo, "the meeting is at 4"]);
    assert!(
        text(&o).contains("changed before it left this host"),
        "{}",
        text(&o)
    );
    let o = h1.cli(&["track", &typo, "--remind"]);
    assert!(
        !o.status.success() && text(&o).contains("remind them once it has left"),
        "{}",
        text(&o)
    );
    let mistake = kept_id("sent by mistake");
    let o = h1.cli_ok(&["retract", &mistake]);
    assert!(
        text(&o).contains("withdrawn before it left this host"),
        "{}",
        text(&o)
    );
    for node in ["n1", "n2", "n3"] {
        nats.restart(&lan, node);
    }
    wait_for(
        Duration::from_secs(90),
        || {
            let inbox = h2.inbox();
            has_text(&inbox, "kept until the relay returns")
                && has_text(&inbox, "sent while the cluster hung")
                && has_text(&inbox, "the meeting is at 4")
        },
        || format!("{}\n{}\n{}", relay(&h1), h1.log(), h2.log()),
    );
    wait_for(
        Duration::from_secs(10),
        || relay(&h1)["kept"] == 0,
        || relay(&h1).to_string(),
    );
    h1.wait_log("kept here while the relay was away, queued for OPS2 at H2");
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !has_text(&h2.inbox(), "sent by mistake"),
        "withdrawn, and arrived"
    );
    let inbox = h2.inbox();
    let mended = inbox
        .iter()
        .find(|m| m["text"] == "the meeting is at 4")
        .expect("the changed one");
    assert_eq!(mended["verified"], true, "{mended}");
    assert!(!has_text(&inbox, "the meeting is at 3"), "{inbox:?}");
    // The sender's copy says what went.
    let own = text(&h1.cli_ok(&["read", &typo]));
    assert!(own.contains("the meeting is at 4"), "{own}");
    // While the cluster was away the client tried again every few seconds
    // (about a dozen times here); the log said why once per outage, not
    // at each try (two outages: the node killed above, and this one).
    let warned = h1
        .log()
        .matches("WARN messngr_daemon::relay::client: relay: client error: nats: IO error")
        .count();
    assert!(
        (1..=2).contains(&warned),
        "said {warned} times:\n{}",
        h1.log()
    );

    // A hostile daemon on the bus calls itself H2: its signed entry, with
    // its own key and address, is the newest now. H1 has H2's key pinned,
    // so the directory cannot replace it: refused, counted, nothing sent.
    // (It sits on H1's subnet in another NetBIOS scope, so that only the
    // directory, not a broadcast, can answer for "H2".)
    let hostile = Daemon::start(
        &lan,
        1,
        "H2",
        &format!("scope = \"EVIL\"\n{}", nats.relay_config(&lan, "")),
    );
    wait_published(&hostile, &nats);
    let dropped_before = relay(&h1)["dropped"].as_u64().unwrap_or(0);
    let o = h1.cli(&["lookup", "H2"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("not the pinned one"), "{}", text(&o));
    let o = h1.cli(&["send", "H2", "for the real H2 only"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(hostile.inbox().is_empty());
    assert!(relay(&h1)["dropped"].as_u64().unwrap_or(0) > dropped_before);
    drop(hostile);
}

#[test]
fn a_node_killed_during_a_stream_of_messages_loses_and_duplicates_nothing_acknowledged() {
    let Some(lan) = routed_lan() else { return };
    let mut nats = NatsCluster::start(&lan, &[1, 2, 4]);
    let h1 = Daemon::start(&lan, 3, "H1", &nats.relay_config(&lan, ""));
    let h2 = Daemon::start(&lan, 5, "H2", &nats.relay_config(&lan, ""));
    wait_published(&h1, &nats);
    wait_published(&h2, &nats);
    h1.cli_ok(&["send", "H2", "first"]);
    h2.wait_inbox(1);

    // 40 messages, one after another; after the 10th, the node leading the
    // message stream dies (SIGKILL). A send that answered "queued" was
    // acknowledged by the cluster: it must arrive, once. One that failed
    // during the failover was not, and may be missing.
    let leader = nats
        .stream_leader(&lan, "MESSNGR_MAIL")
        .expect("the stream's leader");
    let mut acknowledged = vec!["first".to_owned()];
    let mut failed = Vec::new();
    for i in 0..40 {
        if i == 10 {
            nats.kill(&leader);
        }
        let body = format!("stream message {i}");
        let o = h1.cli(&["send", "H2", &body]);
        if o.status.success() && text(&o).contains("queued") {
            acknowledged.push(body);
        } else {
            failed.push(text(&o));
        }
    }
    assert!(
        acknowledged.len() > 30,
        "the cluster took {} of 41; failed: {failed:?}",
        acknowledged.len()
    );
    let counts = |inbox: &[serde_json::Value]| {
        let mut seen = std::collections::BTreeMap::<String, usize>::new();
        for m in inbox {
            *seen
                .entry(m["text"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
        seen
    };
    wait_for(
        Duration::from_secs(60),
        || {
            let seen = counts(&h2.inbox());
            acknowledged.iter().all(|t| seen.contains_key(t))
        },
        || format!("{}\n{}", h2.log(), nats.logs()),
    );
    let seen = counts(&h2.inbox());
    assert!(seen.values().all(|&n| n == 1), "a message twice: {seen:?}");

    // The node comes back and catches up: nothing is offered twice.
    nats.restart(&lan, &leader);
    h1.cli_ok(&["send", "H2", "after the return"]);
    wait_for(
        Duration::from_secs(30),
        || counts(&h2.inbox()).contains_key("after the return"),
        || h2.log(),
    );
    std::thread::sleep(Duration::from_secs(3));
    let seen = counts(&h2.inbox());
    assert!(seen.values().all(|&n| n == 1), "a message twice: {seen:?}");
    assert!(
        acknowledged.iter().all(|t| seen.contains_key(t)),
        "{seen:?}"
    );
}
