//! The relay's benchmark, not a test (`bench/relay.sh` runs it, ignored
//! otherwise): on the relay test's network (a 3-node JetStream cluster of
//! Debian's nats-server, replicas 3, across two subnets), in one run:
//!
//! * **raw**: JetStream publishes of bare payloads the size of a relay
//!   envelope, from H1's host, to a stream made like the relay's, with as
//!   many in flight as the messngr load has senders: what the cluster
//!   itself takes;
//! * **messngr**: `send` over H1's API socket to a name held by H2 on the
//!   other subnet, the same number of senders; its rate counted until H2
//!   has stored every message (end to end, durably at the receiver), and
//!   until the relay acknowledged the last one (queued);
//! * **latency**: one message at a time, from the send until H2 stored it;
//! * **the sender alone**: H2 stopped, the same load acknowledged by the
//!   relay (what H1 and the cluster take when nobody takes messages out);
//! * **raw round trip**: the raw publishes again, with a durable pull
//!   consumer double-acking each one as a messngr host does: what the
//!   cluster itself does for the cycle every relayed message needs
//!   (publish, deliver, ack, and the work queue's removal).
//!
//! Figures are printed, never asserted (speed is the benchmark's to
//! report); what is asserted is that every message arrived.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use messngr_api::{Client, Send, Unread, Via};
use messngr_lan::Lan;
use support::{Daemon, NatsCluster, enter_netns, wait_for};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Sends `text` to OPS2; what became of it ("queued", "kept").
fn try_send(client: &mut Client, text: &str) -> String {
    let request = Send {
        target: "OPS2".into(),
        text: text.into(),
        address: None,
        priority: None,
        popup_secs: None,
        secure: false,
        transport: Via::Auto,
        untracked: false,
        expires_secs: None,
    };
    let sent = client.call(request).expect("send");
    sent[0].outcome.clone()
}

fn send(client: &mut Client, text: &str) {
    assert_eq!(try_send(client, text), "queued");
}

/// `count` messages from `senders` API clients at once; how long it took.
fn load(socket: &Path, count: usize, senders: usize, what: &'static str) -> Duration {
    let started = Instant::now();
    let threads: Vec<_> = (0..senders)
        .map(|t| {
            let socket = socket.to_owned();
            let n = count / senders;
            std::thread::spawn(move || {
                let mut c = Client::connect(&socket).unwrap();
                for i in 0..n {
                    send(&mut c, &format!("{what} {t}-{i}: {}", "x".repeat(80)));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    started.elapsed()
}

/// What [`raw`] measures.
#[derive(Clone, Copy, PartialEq)]
enum Raw {
    /// Publishes acknowledged by the stream.
    Publish,
    /// Publishes, each also taken by a durable pull consumer and
    /// double-acked (counted until the last ack).
    RoundTrip,
}

/// Unread messages at H2 (root sees all).
fn unread(socket: &Path) -> u64 {
    let mut c = Client::connect(socket).expect("H2's socket");
    c.call(Unread {}).expect("unread").count
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// `count` publishes of `size` bytes, `inflight` at a time, from inside
/// `ns`, to a stream like MESSNGR_MAIL: (publishes/s, sorted latencies).
fn raw(
    ns: &str,
    servers: Vec<String>,
    count: usize,
    size: usize,
    inflight: usize,
    what: Raw,
) -> (f64, Vec<Duration>) {
    let kind = match what {
        Raw::Publish => "raw",
        Raw::RoundTrip => "trip",
    };
    let ns = ns.to_owned();
    std::thread::spawn(move || {
        enter_netns(&ns);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            use async_nats::jetstream::{self, stream};
            let client = async_nats::connect(servers).await.expect("connect");
            let js = jetstream::new(client);
            let stream = js
                .get_or_create_stream(stream::Config {
                    name: format!("BENCH_{}", kind.to_uppercase()),
                    subjects: vec![format!("bench.{kind}.>")],
                    retention: stream::RetentionPolicy::WorkQueue,
                    storage: stream::StorageType::File,
                    num_replicas: 3,
                    ..Default::default()
                })
                .await
                .expect("stream");
            let taken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            if what == Raw::RoundTrip {
                take_all(stream, taken.clone()).await;
            }
            let payload = bytes::Bytes::from(vec![0x5a; size]);
            let started = Instant::now();
            let mut tasks = Vec::new();
            for t in 0..inflight {
                let js = js.clone();
                let payload = payload.clone();
                let n = count / inflight;
                tasks.push(tokio::spawn(async move {
                    let mut lat = Vec::with_capacity(n);
                    for i in 0..n {
                        let t0 = Instant::now();
                        js.publish(format!("bench.{kind}.{t}.{i}"), payload.clone())
                            .await
                            .expect("publish")
                            .await
                            .expect("ack");
                        lat.push(t0.elapsed());
                    }
                    lat
                }));
            }
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.unwrap());
            }
            if what == Raw::RoundTrip {
                let deadline = Instant::now() + Duration::from_secs(120);
                while taken.load(std::sync::atomic::Ordering::SeqCst) < all.len() {
                    assert!(Instant::now() < deadline, "the consumer stopped taking");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            let rate = all.len() as f64 / started.elapsed().as_secs_f64();
            all.sort();
            (rate, all)
        })
    })
    .join()
    .unwrap()
}

/// Takes `stream`'s messages through a durable pull consumer, 64 at a
/// time, double-acking each as `relay::mail` does; counts them in `taken`.
async fn take_all(
    stream: async_nats::jetstream::stream::Stream,
    taken: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use async_nats::jetstream::consumer;
    use futures_util::TryStreamExt;
    let c: consumer::PullConsumer = stream
        .get_or_create_consumer(
            "bench",
            consumer::pull::Config {
                durable_name: Some("bench".into()),
                ack_policy: consumer::AckPolicy::Explicit,
                max_ack_pending: 1024,
                ..Default::default()
            },
        )
        .await
        .expect("consumer");
    let messages = c.messages().await.expect("messages");
    tokio::spawn(messages.try_for_each_concurrent(64, move |m| {
        let taken = taken.clone();
        async move {
            m.double_ack().await.expect("ack");
            taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    }));
}

#[test]
#[ignore = "a benchmark: bench/relay.sh"]
fn relay_throughput_and_latency() {
    let count = env("MESSNGR_BENCH_COUNT", 2000);
    let senders = env("MESSNGR_BENCH_SENDERS", 8);
    let samples = env("MESSNGR_BENCH_SAMPLES", 200);
    let Some(lan) = Lan::up_routed(3, 2).expect("build the routed test LAN") else {
        return;
    };
    let nats = NatsCluster::start(&lan, &[1, 2, 4]);
    // Quotas off: the benchmark stores more than the default allows a name.
    let quota = "max_messages = 0\nmax_messages_per_owner = 0\n";
    let h1 = Daemon::start(&lan, 3, "H1", &nats.relay_config(&lan, ""));
    let h2 = Daemon::start(
        &lan,
        5,
        "H2",
        &format!("names = [\"OPS2\"]\n{quota}{}", nats.relay_config(&lan, "")),
    );
    for d in [&h1, &h2] {
        wait_for(
            Duration::from_secs(30),
            || d.status()["relay"]["published"].as_u64() >= Some(1),
            || d.log(),
        );
    }
    // Until the relay's message stream is open at H1 (before it, a send
    // is kept for later).
    let mut warm = Client::connect(&h1.socket()).unwrap();
    wait_for(
        Duration::from_secs(30),
        || try_send(&mut warm, "warm up") == "queued",
        || h1.log(),
    );
    wait_for(
        Duration::from_secs(15),
        || unread(&h2.socket()) >= 1,
        || h2.log(),
    );

    // messngr, end to end.
    let before = unread(&h2.socket());
    let started = Instant::now();
    let queued = load(&h1.socket(), count, senders, "relay bench");
    let sent = (count / senders * senders) as u64;
    wait_for(
        Duration::from_secs(120),
        || unread(&h2.socket()) >= before + sent,
        || h2.log(),
    );
    let stored = started.elapsed();

    // Latency, one at a time.
    let mut lat = Vec::with_capacity(samples);
    let mut c = Client::connect(&h1.socket()).unwrap();
    for i in 0..samples {
        let have = unread(&h2.socket());
        let t0 = Instant::now();
        send(&mut c, &format!("latency {i}"));
        while unread(&h2.socket()) <= have {
            std::thread::sleep(Duration::from_micros(500));
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "message {i} never arrived"
            );
        }
        lat.push(t0.elapsed());
    }
    lat.sort();

    // Raw JetStream, the same cluster, the size of a relay envelope (a
    // 100-byte text signed and sealed: about 470 bytes).
    let size = env("MESSNGR_BENCH_RAW_SIZE", 470);
    let urls = nats.urls(&lan);
    let (raw_rate, raw_lat) = raw(&lan.ns(3), urls.clone(), count, size, senders, Raw::Publish);
    let (trip_rate, _) = raw(&lan.ns(3), urls, count, size, senders, Raw::RoundTrip);

    // The sender alone: H2 stopped, the same load only queued (last, as
    // it leaves its messages waiting in the cluster).
    let _stopped = h2.stop_for_now();
    let alone = load(&h1.socket(), count, senders, "sender alone");

    let e2e = sent as f64 / stored.as_secs_f64();
    let q = sent as f64 / queued.as_secs_f64();
    let alone = sent as f64 / alone.as_secs_f64();
    let row = |what: &str, rate: f64| println!("{what:<52} {rate:>8.0}/s");
    println!(
        "\nrelay benchmark: {sent} messages, {senders} senders, 3-node nats-server 2.9.10 cluster (replicas 3), two subnets"
    );
    row("messngr, stored at the receiver (end to end)", e2e);
    row("messngr, acknowledged by the relay (queued)", q);
    row(
        "messngr, the sender alone (receiver stopped, queued)",
        alone,
    );
    row(
        &format!("raw JetStream publish ({size} B, same cluster)"),
        raw_rate,
    );
    row("raw round trip (publish, pull, double ack)", trip_rate);
    println!(
        "messngr end to end = {:.2}x raw publish, {:.2}x raw round trip",
        e2e / raw_rate,
        e2e / trip_rate
    );
    let ms = |l: &[Duration]| {
        format!(
            "p50 {:.2} ms, p99 {:.2} ms",
            percentile(l, 0.5),
            percentile(l, 0.99)
        )
    };
    println!("{:<52} {}", "cross-site latency, send to stored", ms(&lat));
    println!("{:<52} {}", "raw publish latency", ms(&raw_lat));
    println!(
        "RELAY_BENCH_JSON {}",
        serde_json::json!({
            "messages": sent, "senders": senders,
            "messngr_end_to_end_per_s": e2e, "messngr_queued_per_s": q,
            "messngr_sender_alone_per_s": alone,
            "raw_publish_per_s": raw_rate, "raw_round_trip_per_s": trip_rate,
            "raw_payload_bytes": size,
            "ratio": e2e / raw_rate, "ratio_round_trip": e2e / trip_rate,
            "latency_ms": {"p50": percentile(&lat, 0.5), "p99": percentile(&lat, 0.99)},
            "raw_latency_ms": {"p50": percentile(&raw_lat, 0.5), "p99": percentile(&raw_lat, 0.99)},
        })
    );
}
