//! Floods on a private namespace LAN (issue 10): spoofed and junk datagrams
//! on UDP 137 and 138 and hundreds of half-open, trickling and keep-alive-only
//! sessions on TCP 139 from one host, while another host's real
//! `smbclient -M` must still be delivered within a second and the daemon's
//! peak RSS stays bounded; the per-source session cap answered 0x83; the
//! fixed deadlines of TCP 139. The attacker is tests/peers/flood.py (a raw
//! socket for the spoofed sources), inside the namespace.
//!
//! Needs root, python3 and Samba's smbclient; skipped when not root (failed
//! under CI); without the peers it fails.

mod support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::{Daemon, Lan, SambaClient, acknowledged, lan, run_in, text, vector};

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/flood.py");
/// The daemon's peak resident set (VmHWM) during the flood must stay under
/// this (a debug build; it measured ~20 MiB when this was written).
const RSS_BOUND_KIB: u64 = 64 * 1024;
/// The issue's own bound for a legitimate message during a flood.
const DELIVERY_BOUND: Duration = Duration::from_secs(1);
const FLOOD_SECS: u64 = 6;

/// The flood's datagrams, "PORT HEX" a line: valid `\MAILSLOT\MESSNGR`
/// messages to RECVBOX<03> (the scapy capture, its text varied), truncated
/// ones, junk, and NBNS queries and registrations.
fn flood_corpus() -> String {
    let valid = vector("mailslot-messngr-scapy.hex");
    let mut lines = Vec::new();
    let mut seed = 0x2545_f491_u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for i in 0..200u32 {
        let mut v = valid.clone();
        // The text ends "...scapy)\0": vary three bytes before the ')'.
        let at = v.len() - 5;
        v[at..at + 3].copy_from_slice(format!("{:03}", i % 1000).as_bytes());
        lines.push(format!("138 {}", hex::encode(&v)));
        let cut = (next() as usize) % valid.len();
        lines.push(format!("138 {}", hex::encode(&valid[..cut])));
        let junk: Vec<u8> = (0..(next() % 600)).map(|_| next() as u8).collect();
        lines.push(format!(
            "{} {}",
            if i % 2 == 0 { 138 } else { 137 },
            hex::encode(&junk)
        ));
    }
    for name in [
        "nbns-query-03-bcast-req.hex",
        "nbns-registration-03-bcast.hex",
        "nbns-nodestatus-req.hex",
    ] {
        lines.push(format!("137 {}", hex::encode(vector(name))));
    }
    lines.join("\n") + "\n"
}

/// A `/proc/PID/status` field in KiB.
fn proc_kib(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

fn peer(lan: &Lan, host: usize, args: &[&str]) -> Child {
    lan.command(host, "python3")
        .arg(PEER)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn report(child: Child) -> serde_json::Value {
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "flood.py: {}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
}

#[test]
fn a_flood_on_every_port_leaves_room_for_a_real_message() {
    let Some(lan) = lan(3) else { return };
    let d = Daemon::start(&lan, 1, "RECVBOX", "");
    d.wait_settled();
    let pid = d.pid();
    let corpus = d.dir.path().join("corpus");
    std::fs::write(&corpus, flood_corpus()).unwrap();
    let secs = FLOOD_SECS.to_string();
    let udp = peer(
        &lan,
        2,
        &["udp", "10.77.0.1", corpus.to_str().unwrap(), &secs, "20000"],
    );
    let tcp = peer(&lan, 2, &["tcp", "10.77.0.1", &secs, "450"]);
    // Let the flood fill whatever it can fill.
    std::thread::sleep(Duration::from_secs(2));

    let smb = SambaClient::new();
    let start = Instant::now();
    let o = smb.message(
        &lan,
        3,
        "RECVBOX",
        Some("10.77.0.1"),
        b"a real message in a flood",
    );
    let took = start.elapsed();
    assert!(acknowledged(&o), "smbclient -M: {}\n{}", text(&o), d.log());

    let udp = report(udp);
    let tcp = report(tcp);
    let hwm = proc_kib(pid, "VmHWM:");
    let exported = d.cli_ok(&["export"]);
    let stored = String::from_utf8_lossy(&exported.stdout).lines().count();
    let real = String::from_utf8_lossy(&exported.stdout).contains("a real message in a flood");
    let status = d.status();
    println!(
        "flood: {} datagrams sent in {FLOOD_SECS} s, tcp {tcp}; the real message took {took:?}; \
         daemon VmHWM {hwm} KiB (bound {RSS_BOUND_KIB}); {stored} messages stored; refused {}",
        udp["sent"], status["refused"]
    );
    assert!(real, "the real message is stored\n{}", d.log());
    assert!(
        took < DELIVERY_BOUND,
        "the real message took {took:?} (bound {DELIVERY_BOUND:?})"
    );
    assert!(hwm < RSS_BOUND_KIB, "VmHWM {hwm} KiB");
    assert!(udp["sent"].as_u64().unwrap() >= 20_000, "{udp}");
    assert!(tcp["opened"].as_u64().unwrap() >= 450, "{tcp}");
    // Spoofed messages: the global mailslot rate (200/s, a second's burst)
    // over the flood, and the real one.
    let bound = 200 * (FLOOD_SECS as usize + 2) + 1;
    assert!(stored <= bound, "{stored} messages stored, bound {bound}");
    assert!(d.refused("rate_limited") > 0, "{}", status["refused"]);
    assert!(d.refused("too_many_sessions") > 0, "{}", status["refused"]);
    // Still serving: the same sender once more.
    let o = smb.message(&lan, 3, "RECVBOX", Some("10.77.0.1"), b"and after it");
    assert!(acknowledged(&o), "{}\n{}", text(&o), d.log());
}

#[test]
fn a_host_over_its_session_cap_is_told_insufficient_resources() {
    let Some(lan) = lan(2) else { return };
    let d = Daemon::start(&lan, 1, "RECVBOX", "[limits]\nsessions_per_source = 4\n");
    d.wait_settled();
    let o = run_in(&lan, 2, "python3", &[PEER, "cap", "10.77.0.1", "6"]);
    assert!(o.status.success(), "{}", text(&o));
    let answers: Vec<String> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(answers, ["82", "82", "82", "82", "83", "83"], "{}", d.log());
    assert_eq!(d.refused("too_many_sessions"), 2);
    // The sessions are gone once the peer is: a new one is welcome.
    let o = run_in(&lan, 2, "python3", &[PEER, "cap", "10.77.0.1", "1"]);
    assert_eq!(text(&o).trim(), "[\"82\"]", "{}", d.log());
}

#[test]
fn tcp_139_deadlines_are_fixed_from_accept() {
    let Some(lan) = lan(2) else { return };
    let d = Daemon::start(&lan, 1, "RECVBOX", "");
    d.wait_settled();
    let o = run_in(&lan, 2, "python3", &[PEER, "deadlines", "10.77.0.1"]);
    assert!(o.status.success(), "{}", text(&o));
    let closed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    println!("closed after (s): {closed}");
    let at = |k: &str| {
        closed[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k} still open after 20 s: {closed}\n{}", d.log()))
    };
    // REQUEST_TIMEOUT is 10 s from accept; a keep-alive first ends it at once.
    assert!(at("keepalive_first") < 3.0, "{closed}");
    for k in ["silent", "trickle"] {
        assert!((8.0..15.0).contains(&at(k)), "{k}: {closed}");
    }
    assert!(d.refused("timeout") >= 2, "{}", d.status());
    assert!(d.refused("malformed") >= 1, "{}", d.status());
}
