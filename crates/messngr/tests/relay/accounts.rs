//! One NATS user per host, with the permissions `messngr generate
//! nats-permissions` prints, against a hostile client on the bus.

use std::time::Duration;

use super::{has_text, relay, routed_lan, wait_published};
use crate::support::{Daemon, NatsCluster, text, wait_for};

/// One NATS account per host, each with `messngr generate
/// nats-permissions`: the hosts work as before, and a hostile client with
/// an account of its own (a daemon on the bus) can neither take another
/// host's mail off the stream, nor overwrite its directory entry, nor
/// watch the mail go by.
#[test]
fn with_an_account_per_host_a_hostile_client_cannot_take_another_hosts_mail() {
    accounts_per_host(crate::support::NATS_SERVER);
}

/// The same permissions on a current server (its acknowledgement and
/// consumer subjects are the newer forms).
#[test]
fn accounts_per_host_on_a_current_nats_server() {
    accounts_per_host(crate::support::CURRENT_NATS_SERVER);
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
        crate::support::enter_netns(&ns);
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
    let dir = crate::support::tempdir();
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
            let o = std::process::Command::new(crate::support::BIN)
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
            // The cluster just formed: a first stream of 3 replicas can take
            // longer than a request waits on a loaded machine, so a timeout
            // is tried again (the same config again is no error).
            let mut tries = 0;
            loop {
                let made = js
                    .create_stream(stream::Config {
                        name: "MESSNGR_MAIL".into(),
                        subjects: vec!["messngr.mail.>".into()],
                        retention: stream::RetentionPolicy::Interest,
                        max_age: Duration::from_secs(1),
                        num_replicas: 3,
                        ..Default::default()
                    })
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                tries += 1;
                match made {
                    Err(e) if e.contains("timed out") && tries < 4 => continue,
                    other => break other,
                }
            }
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
            // H2's claim of OPS2 (written over, it would hide H2 until it
            // renews; emptied, the same).
            let unclaim = stored(
                "$KV.messngr_directory.name.4F505332.4832",
                async_nats::HeaderMap::new(),
            )
            .await;
            // A claim EVIL may write (its own of its own name), sent as a
            // rollup of the whole bucket (which would leave only this).
            let mut rollup = async_nats::HeaderMap::new();
            rollup.insert("Nats-Rollup", "all");
            let wipe = stored("$KV.messngr_directory.name.4556494C.4556494C", rollup).await;
            (
                seen.is_ok(),
                limit(take).or(limit(sneak)),
                overwrite.or(unclaim),
                wipe,
            )
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
    assert!(
        overwrote.is_err(),
        "EVIL wrote H2's entry or its claim: {overwrote:?}"
    );
    assert!(wiped.is_err(), "EVIL rolled the directory up: {wiped:?}");
    // Each refused by the servers for what it was.
    let logs = nats.logs();
    for subject in [
        "\"messngr.mail.>\"",
        "\"$JS.API.CONSUMER.MSG.NEXT.MESSNGR_MAIL.mail-4832\"",
        "\"$JS.ACK.MESSNGR_MAIL.mail-4832.MESSNGR_MAIL.mail-4556494C.1.2.3\"",
        "\"$KV.messngr_directory.host.4832\"",
        "\"$KV.messngr_directory.name.4F505332.4832\"",
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
