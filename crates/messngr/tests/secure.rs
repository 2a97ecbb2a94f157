//! The secure channel of issue #11 under attack, on a private namespace LAN:
//! a hostile peer (`secure-probe` from messngr-bench) tampers, replays,
//! re-signs, claims a trusted host's name and sends malformed frames to a
//! real daemon, which must refuse, count, log and store nothing of it and
//! keep serving; a capture shows no plaintext; a real host whose key
//! changed is refused until `messngr trust` says otherwise; legacy SMB
//! still arrives, marked unverified.
//!
//! Needs root, Samba, tshark and setpriv; skipped otherwise, failed under CI.

#[path = "secure/probe.rs"]
mod probe;
mod support;

use std::time::Duration;

use probe::probe;
use support::{Capture, Daemon, SambaClient, Smbd, lan, text, wait_for};

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

/// The refusal counters of `d`, as JSON.
fn refused(d: &Daemon) -> serde_json::Value {
    d.status()["refused"].clone()
}

/// Asserts that exactly the counter `reason` went up by one since `before`.
#[track_caller]
fn counted(d: &Daemon, before: &serde_json::Value, reason: &str) {
    let now = refused(d);
    let get = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or(0);
    assert_eq!(
        get(&now, reason),
        get(before, reason) + 1,
        "{reason} not counted once: before {before}, now {now}\n{}",
        d.log()
    );
}

/// The texts in `d`'s inbox.
fn texts(d: &Daemon) -> Vec<String> {
    d.inbox()
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn attacks_on_secure_sessions_are_refused_counted_and_store_nothing() {
    let Some(lan) = lan(3) else { return };
    let d1 = Daemon::start(&lan, 1, "H1", "");
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    // H2 sends for real: H1 pins H2's key.
    d2.cli_ok(&["send", "H1", "first, for real"]);
    let m = &d1.wait_inbox(1)[0];
    assert_eq!(m["verified"], true, "{m}");
    assert_eq!(m["author"], "root@H2", "{m}");
    let log = || d1.log();
    let p = |args: &[&str]| probe(&lan, 3, args, log);

    // A correct session from the probe, recorded: accepted and verified.
    let rec = support::tempdir();
    let file = rec.path().join("session.bin");
    let file = file.to_str().unwrap();
    let v = p(&[
        "--case", "ok", "--name", "PROBE1", "--text", "ok once", "--record", file,
    ]);
    assert_eq!(v["answers"][0]["kind"], "accepted", "{v}");
    let inbox = d1.wait_inbox(2);
    assert_eq!(inbox[1]["author"], "alice@PROBE1", "{}", inbox[1]);
    assert_eq!(inbox[1]["verified"], true, "{}", inbox[1]);

    // The same client bytes on a new connection: message 3 was made for
    // another responder ephemeral, so the handshake fails.
    let before = refused(&d1);
    let v = p(&["--case", "replay-session", "--from", file]);
    let kinds: Vec<&str> = v["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap_or_default())
        .collect();
    assert!(kinds.contains(&"handshake"), "{v}");
    assert!(!kinds.contains(&"accepted"), "{v}");
    assert_eq!(v["closed"], true, "{v}");
    counted(&d1, &before, "handshake_failed");

    // One ciphertext byte flipped.
    let before = refused(&d1);
    let v = p(&[
        "--case",
        "tamper",
        "--name",
        "PROBE2",
        "--text",
        "tampered text",
    ]);
    assert_eq!(v["answers"][0]["kind"], "refused", "{v}");
    assert_eq!(v["closed"], true, "{v}");
    counted(&d1, &before, "tampered");

    // The same signed message in two sessions: both Accepted, stored once.
    let before = refused(&d1);
    let v = p(&[
        "--case",
        "replay-message",
        "--name",
        "PROBE3",
        "--text",
        "said twice",
    ]);
    assert_eq!(v["answers"][0]["kind"], "accepted", "{v}");
    assert_eq!(v["answers"][1]["kind"], "accepted", "{v}");
    assert_eq!(v["answers"][0]["uuid"], v["answers"][1]["uuid"], "{v}");
    counted(&d1, &before, "replayed");
    wait_for(
        Duration::from_secs(10),
        || texts(&d1).len() == 3,
        || format!("{:?}\n{}", texts(&d1), d1.log()),
    );

    // A message claiming to be by alice@H2, certified by the probe's own
    // key: as HOST_KEY, and then H2's real key (with the probe's cert).
    let export = text(&d1.cli_ok(&["trust", "export"]));
    let h2_key = export
        .lines()
        .find_map(|l| l.strip_prefix("H2 "))
        .unwrap_or_else(|| panic!("no H2 pin: {export}"))
        .trim()
        .to_owned();
    // (Each run is a fresh key, so a host name of its own.)
    for (name, extra) in [
        ("PROBE4", vec![]),
        ("PROBE6", vec!["--host-key", h2_key.as_str()]),
    ] {
        let before = refused(&d1);
        let args = [
            &["--case", "resign", "--name", name, "--claim-host", "H2"][..],
            &["--text", "forged by the probe"],
            &extra,
        ]
        .concat();
        let v = p(&args);
        assert_eq!(v["answers"][0]["kind"], "refused", "{v}");
        assert_eq!(v["answers"][0]["reason"], 5, "{v}");
        assert_eq!(v["answers"][0]["sealed"], true, "{v}");
        counted(&d1, &before, "forged");
    }

    // A third host presenting H2's name with its own key.
    for case in ["claim-name", "key-changed"] {
        let before = refused(&d1);
        let v = p(&["--case", case, "--name", "H2"]);
        assert_eq!(v["answers"][0]["kind"], "refused", "{v}");
        assert_eq!(v["answers"][0]["reason"], 6, "{v}");
        assert_eq!(v["closed"], true, "{v}");
        counted(&d1, &before, "key_changed");
        let s = d1.status();
        let changes = s["key_changes"].as_array().cloned().unwrap_or_default();
        assert!(
            changes
                .iter()
                .any(|c| c["name"] == "H2" && c["offered"] == v["fingerprint"]),
            "{s}"
        );
    }

    // Malformed input: each ends its session and is counted.
    for (garbage, name, reason) in [
        ("handshake", "PROBE7", "handshake_failed"),
        ("truncated", "PROBE8", "tampered"),
        ("critical", "PROBE9", "malformed"),
        ("oversized", "PROBE10", "too_large"),
    ] {
        let before = refused(&d1);
        let v = p(&["--case", "garbage", "--garbage", garbage, "--name", name]);
        assert_eq!(v["closed"], true, "{garbage}: {v}");
        counted(&d1, &before, reason);
    }

    // Nothing of it was stored, and H1 still serves.
    d2.cli_ok(&["send", "H1", "still serving"]);
    wait_for(
        Duration::from_secs(10),
        || texts(&d1).len() == 4,
        || format!("{:?}\n{}", texts(&d1), d1.log()),
    );
    assert_eq!(
        texts(&d1),
        ["first, for real", "ok once", "said twice", "still serving"],
        "{}",
        d1.log()
    );
    let log = d1.log();
    for needle in [
        "(handshake_failed): handshake",
        "(tampered): sealed frame from PROBE2",
        "(replayed): signed message",
        "(forged): message from PROBE4 refused",
        "REFUSED H2 from 10.77.0.3",
        "(malformed): malformed frame inside the secure session",
        "(too_large)",
    ] {
        assert!(log.contains(needle), "no {needle:?} in the log:\n{log}");
    }
}
