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

    // A host presenting the receiver's own name (to pass for its local root,
    // `verified root@H1`): never pinned, refused and counted.
    let before = refused(&d1);
    let v = p(&["--case", "claim-name", "--name", "H1"]);
    assert_eq!(v["answers"][0]["kind"], "refused", "{v}");
    assert_eq!(v["answers"][0]["reason"], 4, "{v}");
    counted(&d1, &before, "untrusted");
    assert!(
        !text(&d1.cli_ok(&["trust", "list"])).contains("H1 "),
        "H1 pinned: {}",
        d1.log()
    );

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

/// The first `ed25519:HEX` word of `s`.
fn key_in(s: &str) -> String {
    s.split_whitespace()
        .find(|w| w.len() == 72 && w.starts_with("ed25519:"))
        .unwrap_or_else(|| panic!("no key in {s}"))
        .to_owned()
}

#[test]
fn a_changed_host_key_is_refused_until_trust_says_otherwise() {
    let Some(lan) = lan(2) else { return };
    let d1 = Daemon::start(&lan, 1, "H1", "");
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    d2.cli_ok(&["send", "H1", "before the new key"]);
    d1.wait_inbox(1);
    let old = key_in(&text(&d1.cli_ok(&["trust", "export"])));
    assert_eq!(old, key_in(&text(&d2.cli_ok(&["trust", "show"]))));
    let list = text(&d1.cli_ok(&["trust", "list"]));
    assert!(list.contains("H2") && list.contains("tofu"), "{list}");
    let show = text(&d1.cli_ok(&["trust", "show", "H2"]));
    assert!(show.contains("H2"), "{show}");

    // H2 gets a new host key (reinstalled): H1 refuses it.
    std::fs::remove_file(d2.dir.path().join("state/host.key")).unwrap();
    let d2 = d2.restart(&lan);
    d2.wait_settled();
    let new = key_in(&text(&d2.cli_ok(&["trust", "show"])));
    assert_ne!(old, new);
    let o = d2.cli(&["send", "H1", "after the new key"]);
    assert_eq!(o.status.code(), Some(6), "{}\n{}", text(&o), d2.log());
    let s = d1.status();
    assert!(
        s["refused"]["key_changed"].as_u64().unwrap_or(0) >= 1,
        "{s}"
    );
    let changes = s["key_changes"].as_array().cloned().unwrap_or_default();
    assert!(changes.iter().any(|c| c["name"] == "H2"), "{s}");
    assert_eq!(texts(&d1), ["before the new key"]);

    // The admin confirms the change: the next contact pins the new key.
    d1.cli_ok(&["trust", "remove", "H2"]);
    d2.cli_ok(&["send", "H1", "pinned anew"]);
    d1.wait_inbox(2);
    assert_eq!(key_in(&text(&d1.cli_ok(&["trust", "export"]))), new);

    // A wrong key pinned by hand: H2 is refused again.
    let wrong = key_in(&text(&d1.cli_ok(&["trust", "show"])));
    d1.cli_ok(&["trust", "add", "H2", &wrong]);
    // (H2's session from the last send is still open, so the handshake
    // is not run again: its signature check against the new pin refuses
    // the message, exit code 4.)
    let o = d2.cli(&["send", "H1", "refused again"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        text(&o).contains("another key than H2's pin"),
        "{}",
        text(&o)
    );
    assert_eq!(texts(&d1), ["before the new key", "pinned anew"]);
}

/// Whether `needle` occurs in `hay`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn secure_messages_show_nothing_on_the_wire_and_legacy_smb_is_unverified() {
    let Some(lan) = lan(2) else { return };
    let cap = Capture::start(&lan, 1);
    let d1 = Daemon::start(&lan, 1, "H1", "");
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    let secret = "the launch code is 0000, keep it secret";
    d2.cli_ok(&["send", "--priority", "urgent", "H1", secret]);
    d2.cli_ok(&["send", "H1", "a second secret, same session"]);
    SambaClient::new().message_to_h1(&lan, "H1", b"legacy words on the wire", || d1.log());
    let inbox = d1.wait_inbox(3);
    let (frames, bad) = {
        let (frames, bad, pcap) = cap.finish_with_pcap();
        // The legacy message is in clear: the search works.
        assert!(contains(&pcap, b"legacy words on the wire"));
        for needle in [
            secret.as_bytes(),
            b"a second secret",
            b"root@H2",
            b"\x0A\x00\x04root", // AUTHOR
            b"\x03\x00\x02H2",   // FROM
            b"\x04\x00\x02H1",   // TO
            b"\x06\x00\x01\x02", // PRIORITY urgent
        ] {
            assert!(
                !contains(&pcap, needle),
                "{:?} is in the capture",
                String::from_utf8_lossy(needle)
            );
        }
        (frames, bad)
    };
    assert!(frames >= 10, "only {frames} frames");
    assert!(bad.is_empty(), "Wireshark objects to:\n{}", bad.join("\n"));

    let m = &inbox[0];
    assert_eq!(m["verified"], true, "{m}");
    assert_eq!(m["author"], "root@H2", "{m}");
    let smb = inbox.iter().find(|m| m["transport"] == "smb").unwrap();
    assert_eq!(smb["verified"], false, "{smb}");
    let table = text(&d1.cli_ok(&["inbox"]));
    assert!(
        table.contains("UNVERIFIED") && table.contains("verified"),
        "{table}"
    );
    let read = |id: &serde_json::Value| text(&d1.cli_ok(&["read", &id.to_string()]));
    let secure = read(&m["id"]);
    assert!(secure.contains("verified root@H2"), "{secure}");
    let legacy = read(&smb["id"]);
    assert!(legacy.contains("UNVERIFIED smb from"), "{legacy}");
}

#[test]
fn send_secure_to_samba_fails_and_plain_send_falls_back() {
    let Some(lan) = lan(2) else { return };
    let smbd = Smbd::start(&lan, 2, "H2");
    let d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();
    let o = d.cli(&[
        "send",
        "--secure",
        "-I",
        "10.77.0.2",
        "H2",
        "must stay secret",
    ]);
    assert_eq!(o.status.code(), Some(6), "{}\n{}", text(&o), d.log());
    let o = d.cli_ok(&["send", "--json", "-I", "10.77.0.2", "H2", "plain is fine"]);
    assert_eq!(json(&o)["transport"], "smb", "{}", text(&o));
    wait_for(
        Duration::from_secs(10),
        || !smbd.received().is_empty(),
        || format!("{}\n{}", smbd.log(), d.log()),
    );
    assert_eq!(smbd.received(), [b"plain is fine".to_vec()]);
}

/// `require_verified_names` and `require_verified_from`: a legacy message
/// claiming a protected name, or from a protected source, is refused and
/// counted `unverified`; a signed one from the same LAN is stored.
#[test]
fn policy_can_require_verified_senders_by_name_and_by_source() {
    let Some(lan) = lan(3) else { return };
    let client = SambaClient::new();
    for (config, refused_name) in [
        ("[secure]\nrequire_verified_names = [\"ALI*\"]\n", "by name"),
        ("[secure]\nrequire_verified_from = [\"lan\"]\n", "by source"),
        ("[secure]\nrequire_secure = true\n", "require_secure"),
    ] {
        let d1 = Daemon::start(&lan, 1, "H1", config);
        let d2 = Daemon::start(&lan, 2, "H2", "");
        d1.wait_settled();
        d2.wait_settled();
        // smbclient sends as alice: unsigned, so refused.
        let o = client.message(&lan, 3, "H1", Some("10.77.0.1"), b"I am alice, trust me");
        assert!(!support::acknowledged(&o), "{refused_name}: {}", text(&o));
        d2.cli_ok(&["send", "H1", "signed by root on H2"]);
        let inbox = d1.wait_inbox(1);
        assert_eq!(
            texts(&d1),
            ["signed by root on H2"],
            "{refused_name}: {inbox:?}"
        );
        assert_eq!(
            refused(&d1)["unverified"],
            1,
            "{refused_name}: {}",
            d1.log()
        );
    }
}
