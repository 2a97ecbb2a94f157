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
//! * **latency**: one message at a time, from the send until H2 stored it.
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

fn send(client: &mut Client, text: &str) {
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
    assert_eq!(sent[0].outcome, "queued", "{sent:?}");
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
) -> (f64, Vec<Duration>) {
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
            js.get_or_create_stream(stream::Config {
                name: "BENCH_RAW".into(),
                subjects: vec!["bench.raw.>".into()],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                num_replicas: 3,
                ..Default::default()
            })
            .await
            .expect("stream");
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
                        js.publish(format!("bench.raw.{t}.{i}"), payload.clone())
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
            let rate = all.len() as f64 / started.elapsed().as_secs_f64();
            all.sort();
            (rate, all)
        })
    })
    .join()
    .unwrap()
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
    let mut warm = Client::connect(&h1.socket()).unwrap();
    send(&mut warm, "warm up");
    wait_for(
        Duration::from_secs(15),
        || unread(&h2.socket()) >= 1,
        || h2.log(),
    );

    // messngr, end to end.
    let before = unread(&h2.socket());
    let started = Instant::now();
    let threads: Vec<_> = (0..senders)
        .map(|t| {
            let socket = h1.socket();
            let n = count / senders;
            std::thread::spawn(move || {
                let mut c = Client::connect(&socket).unwrap();
                for i in 0..n {
                    send(&mut c, &format!("relay bench {t}-{i}: {}", "x".repeat(80)));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let queued = started.elapsed();
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
    let (raw_rate, raw_lat) = raw(&lan.ns(3), nats.urls(&lan), count, size, senders);

    let e2e = sent as f64 / stored.as_secs_f64();
    let q = sent as f64 / queued.as_secs_f64();
    println!(
        "\nrelay benchmark: {sent} messages, {senders} senders, 3-node nats-server 2.9.10 cluster (replicas 3), two subnets\n\
         {:<44} {:>10.0}/s\n{:<44} {:>10.0}/s\n{:<44} {:>10.0}/s  (messngr end to end = {:.2}x raw)\n\
         {:<44} p50 {:.2} ms, p99 {:.2} ms\n{:<44} p50 {:.2} ms, p99 {:.2} ms",
        "messngr, stored at the receiver (end to end)",
        e2e,
        "messngr, acknowledged by the relay (queued)",
        q,
        format!("raw JetStream publish ({size} B, same cluster)"),
        raw_rate,
        e2e / raw_rate,
        "cross-site latency, send to stored",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        "raw publish latency",
        percentile(&raw_lat, 0.5),
        percentile(&raw_lat, 0.99),
    );
    println!(
        "RELAY_BENCH_JSON {}",
        serde_json::json!({
            "messages": sent, "senders": senders,
            "messngr_end_to_end_per_s": e2e, "messngr_queued_per_s": q,
            "raw_publish_per_s": raw_rate, "raw_payload_bytes": size,
            "ratio": e2e / raw_rate,
            "latency_ms": {"p50": percentile(&lat, 0.5), "p99": percentile(&lat, 0.99)},
            "raw_latency_ms": {"p50": percentile(&raw_lat, 0.5), "p99": percentile(&raw_lat, 0.99)},
        })
    );
}
