//! A cluster that comes back with empty stores (its disks lost, or an
//! admin who rebuilt it): the daemons make the directory and the message
//! stream again by themselves, without a restart, and what is sent then
//! arrives. And a stream swapped meanwhile, by someone with the cluster's
//! credentials, for one made otherwise: refused, not used, said.

use std::time::Duration;

use async_nats::jetstream;
use messngr_lan::Lan;

use super::support::{Daemon, NatsCluster, block_on_in, text, wait_for};
use super::{doctor_relay, has_text, relay, routed_lan, wait_published};

/// Runs `f` with a JetStream client of the cluster (no credentials: the
/// test's cluster has none), from host 1's namespace.
fn with_jetstream<F, Fut>(lan: &Lan, nats: &NatsCluster, f: F)
where
    F: FnOnce(jetstream::Context) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let urls = nats.urls(lan);
    block_on_in(lan.ns(1), move || async move {
        let client = async_nats::connect(urls).await.expect("connect");
        f(jetstream::new(client)).await;
    });
}

/// Whether `d` refuses the message stream now.
fn refuses_mail(d: &Daemon) -> bool {
    refuses(d, "MESSNGR_MAIL")
}

/// Whether `d` refuses `stream` now.
fn refuses(d: &Daemon, stream: &str) -> bool {
    relay(d)["refused"]
        .as_array()
        .is_some_and(|r| r.iter().any(|s| s == stream))
}

#[test]
fn a_cluster_back_with_empty_stores_is_made_ready_again_without_a_restart() {
    let Some(lan) = routed_lan() else { return };
    let mut nats = NatsCluster::start(&lan, &[1, 2, 4]);
    // Entries renewed every 10 s (a third of the TTL), so H2's comes back
    // within the test's waits.
    let cfg = nats.relay_config(&lan, "directory_ttl_secs = 30\n");
    let h1 = Daemon::start(&lan, 3, "H1", &cfg);
    let h2 = Daemon::start(&lan, 5, "H2", &format!("names = [\"OPS2\"]\n{cfg}"));
    wait_published(&h1, &nats);
    wait_published(&h2, &nats);
    h1.cli_ok(&["send", "OPS2", "before the rebuild"]);
    assert!(has_text(&h2.wait_inbox(1), "before the rebuild"));

    nats.rebuild(&lan);
    // (The daemons may have made it again already, empty.)
    assert!(matches!(
        nats.stream_last_seq(&lan, "MESSNGR_MAIL"),
        None | Some(0)
    ));

    // H2 writes its entry again: the directory's bucket made anew.
    let written = relay(&h2)["published"].as_u64().unwrap_or(0);
    wait_for(
        Duration::from_secs(60),
        || relay(&h2)["published"].as_u64() > Some(written),
        || format!("{}\n{}\n{}", relay(&h2), h2.log(), nats.logs()),
    );

    // A message sent now arrives (queued at once, or kept until the
    // message stream is made anew): the stream, and H2's consumer, made
    // again by the daemons.
    let o = h1.cli_ok(&["send", "OPS2", "after the rebuild"]);
    let said = text(&o);
    assert!(
        said.contains("queued") || said.contains("kept on this host"),
        "{said}"
    );
    wait_for(
        Duration::from_secs(90),
        || has_text(&h2.inbox(), "after the rebuild"),
        || {
            format!(
                "{}\n{}\n{}\n{}",
                relay(&h1),
                h1.log(),
                h2.log(),
                nats.logs()
            )
        },
    );
    assert!(!refuses_mail(&h1) && !refuses_mail(&h2));

    // Someone with the cluster's credentials swaps the message stream for
    // one that drops what it holds after a second. Both daemons find it
    // (when their consumers went with the old one, or at their next check)
    // and refuse it.
    with_jetstream(&lan, &nats, |js| async move {
        let bad = jetstream::stream::Config {
            name: "MESSNGR_MAIL".into(),
            subjects: vec!["messngr.mail.>".into()],
            retention: jetstream::stream::RetentionPolicy::WorkQueue,
            max_age: Duration::from_secs(1),
            duplicate_window: Duration::from_secs(1),
            num_replicas: 3,
            ..Default::default()
        };
        js.delete_stream("MESSNGR_MAIL").await.expect("delete");
        // The daemons make it again at once: whoever comes first, it ends
        // up made otherwise (made so, or changed).
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while js.create_stream(bad.clone()).await.is_err()
            && js.update_stream(bad.clone()).await.is_err()
        {
            assert!(std::time::Instant::now() < deadline, "swapping the stream");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    wait_for(
        Duration::from_secs(60),
        || refuses_mail(&h1) && refuses_mail(&h2),
        || format!("{}\n{}\n{}", relay(&h1), relay(&h2), h1.log()),
    );
    let doctor = doctor_relay(&lan, 3, &h1);
    assert_eq!(doctor["status"], "fail", "{doctor}");
    assert!(
        doctor["summary"]
            .as_str()
            .is_some_and(|s| s.contains("MESSNGR_MAIL is not as messngr makes it")),
        "{doctor}"
    );
    assert!(
        text(&h1.cli_ok(&["status"])).contains("MESSNGR_MAIL is made otherwise"),
        "{}",
        text(&h1.cli_ok(&["status"]))
    );
    // Nothing is taken from it, and status says so.
    wait_for(
        Duration::from_secs(30),
        || relay(&h2)["receiving"] == false,
        || relay(&h2).to_string(),
    );
    let shown = text(&h2.cli_ok(&["status"]));
    assert!(shown.contains("NOT taking this host's messages"), "{shown}");
    // Not "yet": it waits for the admin, whose refusal line follows.
    assert!(!shown.contains("messages yet"), "{shown}");
    // A send is kept here, not published into it.
    let o = h1.cli_ok(&["send", "OPS2", "while the stream was swapped"]);
    assert!(text(&o).contains("kept on this host"), "{}", text(&o));
    assert_eq!(nats.stream_last_seq(&lan, "MESSNGR_MAIL"), Some(0));

    // The admin deletes it: messngr makes it again, and the message goes.
    with_jetstream(&lan, &nats, |js| async move {
        js.delete_stream("MESSNGR_MAIL").await.expect("delete");
    });
    wait_for(
        Duration::from_secs(90),
        || has_text(&h2.inbox(), "while the stream was swapped"),
        || format!("{}\n{}\n{}", relay(&h1), h1.log(), h2.log()),
    );
    assert!(!refuses_mail(&h1) && !refuses_mail(&h2));
    assert_eq!(relay(&h2)["receiving"], true, "{}", relay(&h2));
    assert_eq!(doctor_relay(&lan, 3, &h1)["status"], "ok");

    // Changed in place (`nats stream edit`): nothing fails, the consumers
    // go on; it is found at the next check (a third of the TTL, 10 s here).
    set_max_age(&lan, &nats, Duration::from_secs(1));
    wait_for(
        Duration::from_secs(60),
        || refuses_mail(&h1) && refuses_mail(&h2),
        || format!("{}\n{}\n{}", relay(&h1), relay(&h2), h1.log()),
    );
    let o = h1.cli_ok(&["send", "OPS2", "while the stream was changed"]);
    assert!(text(&o).contains("kept on this host"), "{}", text(&o));
    // Put back as messngr makes it: used again at the next check, and
    // what was kept goes.
    set_max_age(&lan, &nats, Duration::from_secs(7 * 24 * 3600));
    wait_for(
        Duration::from_secs(90),
        || has_text(&h2.inbox(), "while the stream was changed"),
        || format!("{}\n{}\n{}", relay(&h1), h1.log(), h2.log()),
    );
    assert!(!refuses_mail(&h1) && !refuses_mail(&h2));

    // The directory's stream changed in place (entries kept 10 s, less
    // than any host's TTL: hosts would vanish between renewals): refused
    // at each host's next renewal; lookups say so, and nothing is taken.
    const DIRECTORY: &str = "KV_messngr_directory";
    set_directory_age(&lan, &nats, Duration::from_secs(10));
    wait_for(
        Duration::from_secs(60),
        || refuses(&h1, DIRECTORY) && refuses(&h2, DIRECTORY),
        || format!("{}\n{}\n{}", relay(&h1), relay(&h2), h1.log()),
    );
    let o = h1.cli(&["lookup", "OPS2"]);
    assert!(
        !o.status.success() && text(&o).contains("made otherwise"),
        "{}",
        text(&o)
    );
    let o = h1.cli_ok(&["send", "OPS2", "while the directory was changed"]);
    let said = text(&o);
    assert!(
        said.contains("queued") || said.contains("kept on this host"),
        "{said}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(!has_text(&h2.inbox(), "while the directory was changed"));
    // Put back (the TTL the hosts made it with): used again, and the
    // message arrives.
    set_directory_age(&lan, &nats, Duration::from_secs(30));
    wait_for(
        Duration::from_secs(90),
        || has_text(&h2.inbox(), "while the directory was changed"),
        || format!("{}\n{}\n{}", relay(&h1), h1.log(), h2.log()),
    );
    // Each host clears its refusal at its own next check (a third of its
    // TTL): H2's may come first, and it takes the message at once.
    wait_for(
        Duration::from_secs(60),
        || !refuses(&h1, DIRECTORY) && !refuses(&h2, DIRECTORY),
        || format!("{}\n{}", relay(&h1), relay(&h2)),
    );
}

/// Changes how long the directory's stream keeps entries, in place.
fn set_directory_age(lan: &Lan, nats: &NatsCluster, age: Duration) {
    with_jetstream(lan, nats, move |js| async move {
        let mut stream = js
            .get_stream("KV_messngr_directory")
            .await
            .expect("the stream");
        let mut config = stream.info().await.expect("its info").config.clone();
        config.max_age = age;
        config.duplicate_window = config.duplicate_window.min(age);
        js.update_stream(config).await.expect("update");
    });
}

/// Changes how long the message stream keeps messages, in place.
fn set_max_age(lan: &Lan, nats: &NatsCluster, age: Duration) {
    with_jetstream(lan, nats, move |js| async move {
        let mut stream = js.get_stream("MESSNGR_MAIL").await.expect("the stream");
        let mut config = stream.info().await.expect("its info").config.clone();
        config.max_age = age;
        // (JetStream's rule: no longer than what it keeps.)
        config.duplicate_window = age.min(Duration::from_secs(120));
        js.update_stream(config).await.expect("update");
    });
}
