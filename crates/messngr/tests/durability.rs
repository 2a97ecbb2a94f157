//! The durability promise end to end: a message whose END the receiver
//! acknowledged is in its inbox, exactly once, even when the daemon is
//! killed (SIGKILL: no shutdown, as in a crash) in the middle of the
//! stream, again and again.
//!
//! Several SMB sessions from host 2 send numbered messages (each attempt a
//! new number, so a retry can never stand in for a lost one) to the daemon
//! on host 1 and record which were acknowledged; the daemon is killed and
//! restarted on the same state directory several times while they send.
//! Afterwards the inbox is exported and compared with the record.
//!
//! Needs root (namespace LAN); skipped otherwise, failed under CI.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{Daemon, SmbSession, enter_netns, lan, wait_for};

const SESSIONS: usize = 4;
const CRASHES: usize = 5;

/// What the senders did: every text attempted, and those acknowledged.
#[derive(Default)]
struct Record {
    attempted: BTreeSet<String>,
    acknowledged: BTreeSet<String>,
}

/// Every message in the daemon's inbox, oldest first, by `messngr export`.
fn exported(d: &Daemon) -> Vec<String> {
    let out = d.cli_ok(&["export", "--format", "jsonl"]);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let m = v.get("message").unwrap_or(&v);
            m["text"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn every_acknowledged_message_survives_sigkill_exactly_once() {
    let Some(lan) = lan(2) else { return };
    let mut d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();
    let to = SocketAddr::from((lan.ip(1), 139));
    let ns = lan.ns(2);
    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(AtomicUsize::new(0));
    let record = Arc::new(Mutex::new(Record::default()));
    let senders: Vec<_> = (0..SESSIONS)
        .map(|s| {
            let (ns, stop, acks, record) = (ns.clone(), stop.clone(), acks.clone(), record.clone());
            std::thread::spawn(move || {
                enter_netns(&ns);
                let mut n = 0u64;
                let mut session = None;
                while !stop.load(Ordering::Relaxed) {
                    let Some(smb) = session.as_mut() else {
                        session = SmbSession::open(to, "H1", Duration::from_secs(5));
                        if session.is_none() {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        continue;
                    };
                    let text =
                        format!("durable s{s} n{n:06} {}", "x".repeat((n % 7) as usize * 40));
                    n += 1;
                    record.lock().unwrap().attempted.insert(text.clone());
                    if smb.send(text.as_bytes()) {
                        record.lock().unwrap().acknowledged.insert(text);
                        acks.fetch_add(1, Ordering::Relaxed);
                    } else {
                        session = None;
                    }
                }
            })
        })
        .collect();
    for crash in 0..CRASHES {
        // Mid-stream: after the senders got some acknowledgements from
        // this run of the daemon, at a point that varies with the load.
        let before = acks.load(Ordering::Relaxed);
        let want = 40 + 37 * crash;
        wait_for(
            Duration::from_secs(60),
            || acks.load(Ordering::Relaxed) >= before + want,
            || d.log(),
        );
        d = d.crash_and_restart(&lan);
    }
    // Once more acknowledged after the last restart, then stop.
    let before = acks.load(Ordering::Relaxed);
    wait_for(
        Duration::from_secs(60),
        || acks.load(Ordering::Relaxed) >= before + 20,
        || d.log(),
    );
    stop.store(true, Ordering::Relaxed);
    for t in senders {
        t.join().unwrap();
    }
    let record = record.lock().unwrap();
    let started = Instant::now();
    let stored = exported(&d);
    let mut times: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &stored {
        *times.entry(t.as_str()).or_default() += 1;
    }
    let lost: Vec<_> = record
        .acknowledged
        .iter()
        .filter(|t| !times.contains_key(t.as_str()))
        .collect();
    let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
    let unknown: Vec<_> = times
        .keys()
        .filter(|t| !record.attempted.contains(**t))
        .collect();
    let unacknowledged_stored = times
        .keys()
        .filter(|t| !record.acknowledged.contains(**t))
        .count();
    println!(
        "{SESSIONS} sessions, {CRASHES} SIGKILLs: {} messages attempted, {} acknowledged, {} stored \
         ({} stored without an acknowledgement: the daemon died between COMMIT and the reply); \
         export {:?}",
        record.attempted.len(),
        record.acknowledged.len(),
        stored.len(),
        unacknowledged_stored,
        started.elapsed(),
    );
    assert!(
        lost.is_empty(),
        "acknowledged but lost: {lost:?}\n{}",
        d.log()
    );
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    assert!(unknown.is_empty(), "stored but never sent: {unknown:?}");
}
