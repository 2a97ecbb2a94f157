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
//! * **publishes**: how many the message stream took for each load (fewer
//!   than messages when messages that queued up went as bundles);
//! * **the sender alone**: H2 stopped, the same load acknowledged by the
//!   relay (what H1 and the cluster take when nobody takes messages out);
//! * **raw round trip**: the raw publishes again, with a durable pull
//!   consumer double-acking each one as a messngr host does: what the
//!   cluster itself does for the cycle every relayed message needs
//!   (publish, deliver, ack, and the work queue's removal);
//! * **raw round trip, acks batched**: the same, taken 64 at a time by a
//!   consumer that acknowledges each batch with one ack of its last, from
//!   a stream that keeps what was taken until its age (a work queue takes
//!   no such acks): what a relay redesigned around batched acks could
//!   ask of the cluster.
//!
//! For each, the CPU time it took per message, by process (each daemon,
//! the three nats-servers, this process: the senders or the raw client),
//! read from /proc before and after, and how busy the machine was: what
//! the rate is bound by on this machine.
//!
//! Figures are printed, never asserted (speed is the benchmark's to
//! report); what is asserted is that every message arrived.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{AckPolicy, PullConsumer};
use messngr_api::{Client, Send, Unread};
use messngr_lan::Lan;
use support::{Daemon, NatsCluster, block_on_in, wait_for};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Sends `text` to OPS2; what became of it ("queued", "kept").
fn try_send(client: &mut Client, text: &str) -> String {
    let request = Send::new("OPS2", text);
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
    /// Publishes taken in batches of up to 64 by a durable pull consumer
    /// that acknowledges all of a batch at once (`AckPolicy::All`, one
    /// double ack of its last), on a stream of limits retention (a work
    /// queue takes no such acks, and a limits stream removes nothing when
    /// acked): what a receiver that batched its acknowledgements, on a
    /// stream that keeps what was taken until its age, could reach.
    RoundTripBatched,
}

/// Unread messages at H2 (root sees all).
fn unread(socket: &Path) -> u64 {
    let mut c = Client::connect(socket).expect("H2's socket");
    c.call(Unread {}).expect("unread").count
}

/// CPU time (user and system, every thread) of `pid` so far, in ms; 0 for
/// a process gone.
fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command's closing parenthesis the fields run from the
    // third (state): utime and stime, the 14th and 15th, in USER_HZ
    // (100 a second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    fields.iter().sum::<f64>() * 10.0
}

/// The machine's busy and total CPU time so far, in ms (all cores).
fn machine_ms() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: f64 = ticks.iter().take(8).sum();
    // idle and iowait are the 4th and 5th.
    let idle = ticks.get(3).unwrap_or(&0.0) + ticks.get(4).unwrap_or(&0.0);
    ((total - idle) * 10.0, total * 10.0)
}

/// Who the CPU time is counted for: a label and its processes.
type Parts = Vec<(&'static str, Vec<u32>)>;

/// CPU time of each part, and the machine's (busy, total), at one moment.
struct Cpu(Vec<f64>, (f64, f64));

impl Cpu {
    fn now(parts: &Parts) -> Cpu {
        Cpu(
            parts
                .iter()
                .map(|(_, pids)| pids.iter().map(|p| cpu_ms(*p)).sum())
                .collect(),
            machine_ms(),
        )
    }

    /// Per message from `self` until `after`, printed under `what`; the
    /// JSON of it.
    fn per_message(
        &self,
        after: &Cpu,
        parts: &Parts,
        messages: u64,
        what: &str,
    ) -> serde_json::Value {
        let n = messages.max(1) as f64;
        let each: Vec<(&str, f64)> = parts
            .iter()
            .zip(self.0.iter().zip(&after.0))
            .map(|((label, _), (a, b))| (*label, (b - a) / n))
            .collect();
        let sum: f64 = each.iter().map(|(_, ms)| ms).sum();
        let (busy, total) = (after.1.0 - self.1.0, after.1.1 - self.1.1);
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get()) as f64;
        println!(
            "  CPU per message, {what}: {} = {sum:.3} ms; machine {:.0} % busy; at {cores} cores fully busy: {:.0}/s",
            each.iter()
                .map(|(l, ms)| format!("{l} {ms:.3}"))
                .collect::<Vec<_>>()
                .join(" + "),
            100.0 * busy / total.max(1.0),
            cores * 1000.0 / sum.max(1e-9),
        );
        let mut j = serde_json::Map::new();
        for (l, ms) in &each {
            j.insert((*l).to_owned(), serde_json::json!(ms));
        }
        j.insert("busy".into(), serde_json::json!(busy / total.max(1.0)));
        serde_json::Value::Object(j)
    }
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
        Raw::RoundTripBatched => "batch",
    };
    block_on_in(ns.to_owned(), move || async move {
        use async_nats::jetstream::{self, stream};
        let client = async_nats::connect(servers).await.expect("connect");
        let js = jetstream::new(client);
        let stream = js
            .get_or_create_stream(stream::Config {
                name: format!("BENCH_{}", kind.to_uppercase()),
                subjects: vec![format!("bench.{kind}.>")],
                // A work queue takes explicit acks only: the batched
                // consumer's stream keeps what was taken (no removal).
                retention: if what == Raw::RoundTripBatched {
                    stream::RetentionPolicy::Limits
                } else {
                    stream::RetentionPolicy::WorkQueue
                },
                storage: stream::StorageType::File,
                num_replicas: 3,
                ..Default::default()
            })
            .await
            .expect("stream");
        let taken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        match what {
            Raw::RoundTrip => take_all(stream, taken.clone()).await,
            Raw::RoundTripBatched => take_batched(stream, taken.clone()).await,
            Raw::Publish => {}
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
        if what != Raw::Publish {
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
}

/// `stream`'s durable pull consumer `name`, acking by `ack`.
async fn durable(
    stream: &async_nats::jetstream::stream::Stream,
    name: &str,
    ack: AckPolicy,
) -> PullConsumer {
    let config = async_nats::jetstream::consumer::pull::Config {
        durable_name: Some(name.into()),
        ack_policy: ack,
        max_ack_pending: 1024,
        ..Default::default()
    };
    stream
        .get_or_create_consumer(name, config)
        .await
        .expect("consumer")
}

/// Takes `stream`'s messages through a durable pull consumer, 64 at a
/// time, double-acking each as `relay::mail` does; counts them in `taken`.
async fn take_all(
    stream: async_nats::jetstream::stream::Stream,
    taken: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use futures_util::TryStreamExt;
    let c = durable(&stream, "bench", AckPolicy::Explicit).await;
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

/// Takes `stream`'s messages through a durable pull consumer that acks
/// all up to a sequence, in batches of up to 64, double-acking the last
/// of each; counts them in `taken`.
async fn take_batched(
    stream: async_nats::jetstream::stream::Stream,
    taken: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use futures_util::StreamExt;
    let c = durable(&stream, "batch", AckPolicy::All).await;
    tokio::spawn(async move {
        loop {
            let Ok(mut batch) = c
                .fetch()
                .max_messages(64)
                .expires(Duration::from_millis(50))
                .messages()
                .await
            else {
                // (Not a spin: the CPU figures would count it.)
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let mut last = None;
            let mut n = 0;
            while let Some(Ok(m)) = batch.next().await {
                n += 1;
                last = Some(m);
            }
            if let Some(m) = last {
                m.double_ack().await.expect("ack");
                taken.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
            }
        }
    });
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

    let me = std::process::id();
    let parts: Parts = vec![
        ("H1", vec![h1.pid()]),
        ("H2", vec![h2.pid()]),
        ("nats-servers", nats.pids()),
        ("senders", vec![me]),
    ];

    // messngr, end to end.
    let seq = || nats.stream_last_seq(&lan, "MESSNGR_MAIL").unwrap_or(0);
    let seq0 = seq();

    let before = unread(&h2.socket());
    let net0 = nats.traffic(&lan);
    let cpu0 = Cpu::now(&parts);
    let started = Instant::now();
    let queued = load(&h1.socket(), count, senders, "relay bench");
    let sent = (count / senders * senders) as u64;
    wait_for(
        Duration::from_secs(120),
        || unread(&h2.socket()) >= before + sent,
        || h2.log(),
    );
    let stored = started.elapsed();
    let cpu1 = Cpu::now(&parts);
    let net1 = nats.traffic(&lan);
    let publishes = seq().saturating_sub(seq0);

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
    let raw_parts: Parts = vec![("nats-servers", nats.pids()), ("client", vec![me])];
    let net_raw0 = nats.traffic(&lan);
    let cpu_raw0 = Cpu::now(&raw_parts);
    let (raw_rate, raw_lat) = raw(&lan.ns(3), urls.clone(), count, size, senders, Raw::Publish);
    let cpu_raw1 = Cpu::now(&raw_parts);
    let net_raw1 = nats.traffic(&lan);
    let (trip_rate, _) = raw(
        &lan.ns(3),
        urls.clone(),
        count,
        size,
        senders,
        Raw::RoundTrip,
    );
    let cpu_trip1 = Cpu::now(&raw_parts);
    let net_trip1 = nats.traffic(&lan);
    let (batch_rate, _) = raw(
        &lan.ns(3),
        urls,
        count,
        size,
        senders,
        Raw::RoundTripBatched,
    );
    let cpu_batch1 = Cpu::now(&raw_parts);

    // The sender alone: H2 stopped, the same load only queued (last, as
    // it leaves its messages waiting in the cluster).
    let _stopped = h2.stop_for_now();
    let alone_parts: Parts = vec![
        ("H1", vec![h1.pid()]),
        ("nats-servers", nats.pids()),
        ("senders", vec![me]),
    ];
    let net_alone0 = nats.traffic(&lan);
    let cpu_alone0 = Cpu::now(&alone_parts);
    let seq_alone0 = seq();
    let alone = load(&h1.socket(), count, senders, "sender alone");
    let cpu_alone1 = Cpu::now(&alone_parts);
    let net_alone1 = nats.traffic(&lan);
    let publishes_alone = seq().saturating_sub(seq_alone0);

    let e2e = sent as f64 / stored.as_secs_f64();
    let q = sent as f64 / queued.as_secs_f64();
    let alone = sent as f64 / alone.as_secs_f64();
    let row = |what: &str, rate: f64| println!("{what:<52} {rate:>8.0}/s");
    // The tests' daemons log at debug; bench/relay.sh runs them at info.
    let log = support::daemon_log_level();
    println!(
        "\nrelay benchmark: {sent} messages, {senders} senders, 3-node nats-server 2.9.10 cluster (replicas 3), two subnets; daemons log at {log}"
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
    row(
        "raw round trip, acks batched (AckAll, 64 a pull)",
        batch_rate,
    );
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
    println!(
        "{:<52} {publishes} and {publishes_alone} for {sent} messages each",
        "publishes (bundles), end to end and sender alone"
    );
    println!("{:<52} {}", "cross-site latency, send to stored", ms(&lat));
    println!("{:<52} {}", "raw publish latency", ms(&raw_lat));
    let raw_count = (count / senders * senders) as u64;
    // "n/a" when a node did not answer.
    let per = |a: Option<(u64, u64)>, b: Option<(u64, u64)>, n: u64| match (a, b) {
        (Some(a), Some(b)) => format!(
            "{:.1} in, {:.1} out",
            b.0.saturating_sub(a.0) as f64 / n as f64,
            b.1.saturating_sub(a.1) as f64 / n as f64
        ),
        _ => "n/a".to_owned(),
    };
    println!(
        "{:<52} messngr {}; raw publish {}; raw round trip {}; sender alone {}",
        "server messages per message (all nodes' /varz)",
        per(net0, net1, sent),
        per(net_raw0, net_raw1, raw_count),
        per(net_raw1, net_trip1, raw_count),
        per(net_alone0, net_alone1, sent),
    );
    let cpu = serde_json::json!({
        "end_to_end": cpu0.per_message(&cpu1, &parts, sent, "messngr end to end"),
        "sender_alone": cpu_alone0.per_message(&cpu_alone1, &alone_parts, sent, "messngr, the sender alone"),
        "raw_publish": cpu_raw0.per_message(&cpu_raw1, &raw_parts, raw_count, "raw publish"),
        "raw_round_trip": cpu_raw1.per_message(&cpu_trip1, &raw_parts, raw_count, "raw round trip"),
        "raw_round_trip_batched": cpu_trip1.per_message(&cpu_batch1, &raw_parts, raw_count, "raw round trip, acks batched"),
    });
    println!(
        "RELAY_BENCH_JSON {}",
        serde_json::json!({
            "messages": sent, "senders": senders,
            "messngr_end_to_end_per_s": e2e, "messngr_queued_per_s": q,
            "messngr_sender_alone_per_s": alone,
            "raw_publish_per_s": raw_rate, "raw_round_trip_per_s": trip_rate,
            "raw_round_trip_batched_per_s": batch_rate,
            "raw_payload_bytes": size,
            "publishes": {"end_to_end": publishes, "sender_alone": publishes_alone},
            "ratio": e2e / raw_rate, "ratio_round_trip": e2e / trip_rate,
            "latency_ms": {"p50": percentile(&lat, 0.5), "p99": percentile(&lat, 0.99)},
            "raw_latency_ms": {"p50": percentile(&raw_lat, 0.5), "p99": percentile(&raw_lat, 0.99)},
            "cpu_ms_per_message": cpu,
        })
    );
}
