//! RPC on UDP 135 (issue 13): MS-MSRP `NetrSendMessage` over connectionless
//! DCE/RPC from a third-party sender — scapy's `DceRpc4` and NDR string
//! fields (tests/peers/rpc_scapy.py; impacket has no connectionless
//! client) — to a messngr daemon with `rpc = true`, judged by Wireshark's
//! Messenger dissector; retransmissions, pings of the protocol, hostile
//! stubs and fragments, the policy's refusals, a host off the LAN, and the
//! default (`rpc = false`: nothing listens).
//!
//! Needs root, python3 with scapy and tshark; skipped when not root (failed
//! under CI).

mod support;

use serde_json::Value;
use support::{Capture, Daemon, Lan, lan, text, wait_for};

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/rpc_scapy.py");
const MSGSVC: &str = "17fdd703-1827-4e34-79d4-24a55c53bb37";

/// Packet types and status codes (C706; [MS-MSRP] §3.2.4.1).
const RESPONSE: u64 = 2;
const FAULT: u64 = 3;
const REJECT: u64 = 6;
const FACK: u64 = 9;
const NCA_UNK_IF: u64 = 0x1C01_0003;
const NCA_OP_RNG_ERROR: u64 = 0x1C01_0002;
const NCA_PROTO_ERROR: u64 = 0x1C01_000B;
const NCA_S_FAULT_NDR: u64 = 0x6F7;
const ERROR_ACCESS_DENIED: u64 = 5;
const NERR_NAME_NOT_FOUND: u64 = 0x8E1;

/// Runs the scapy sender in host `from` against `to`'s address: one JSON
/// answer per try.
fn send(lan: &Lan, from: usize, to: usize, args: &[&str]) -> Vec<Value> {
    let out = lan
        .command(from, "/usr/bin/python3")
        .arg(PEER)
        .args(["--dst", &lan.ip(to).to_string()])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "rpc_scapy.py: {}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?} in {}", text(&out))))
        .collect()
}

/// The one answer of a single try, as (packet type, status).
fn answer(v: &[Value]) -> (u64, u64) {
    assert_eq!(v.len(), 1, "{v:?}");
    (
        v[0]["ptype"].as_u64().unwrap_or_else(|| panic!("{v:?}")),
        v[0]["status"].as_u64().unwrap_or_else(|| panic!("{v:?}")),
    )
}

fn rpc_texts(d: &Daemon) -> Vec<String> {
    d.inbox()
        .iter()
        .filter(|m| m["transport"] == "rpc")
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_rpc_sender_is_stored_once_answered_after_the_store_and_dissected_clean() {
    let Some(lan) = lan(2) else { return };
    let d = Daemon::start(&lan, 1, "RECVBOX", "rpc = true");
    d.wait_settled();
    let cap = Capture::start_filtered(&lan, 1, "udp port 135");
    // A client's retransmission (same activity and sequence number) gets
    // the same response and is stored once.
    let act = "6d6c616e-0000-4000-8000-0000000000aa";
    let tries = send(
        &lan,
        2,
        1,
        &["--act", act, "--text", "rpc hello", "--repeat", "2"],
    );
    assert_eq!(tries.len(), 2, "{tries:?}");
    for t in &tries {
        assert_eq!(
            (t["ptype"].as_u64(), t["status"].as_u64()),
            (Some(RESPONSE), Some(0)),
            "{tries:?}"
        );
        assert_eq!(t["act"], act);
    }
    let inbox = d.wait_inbox(1);
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    let m = &inbox[0];
    assert_eq!(m["transport"], "rpc");
    assert_eq!(m["verified"], false);
    assert_eq!(m["from"], "SENDERBOX");
    assert_eq!(m["text"], "rpc hello");
    assert_eq!(
        m["source_addr"]
            .as_str()
            .map(|s| s.starts_with(&lan.ip(2).to_string())),
        Some(true),
        "{m}"
    );

    // A name this host does not hold: the call ran, and says so.
    let r = send(&lan, 2, 1, &["--to", "NOBODY", "--text", "to nobody"]);
    assert_eq!(answer(&r), (RESPONSE, NERR_NAME_NOT_FOUND));
    let cap_text = cap.decode();
    assert!(cap_text.contains("NetrSendMessage"), "{cap_text}");
    assert!(cap_text.contains("rpc hello"), "{cap_text}");
    assert!(!cap_text.contains("Malformed"), "{cap_text}");
    // The response is Wireshark's: a DCE/RPC response to the request.
    assert!(cap_text.contains("Packet type: Response (2)"), "{cap_text}");
    assert_eq!(rpc_texts(&d), ["rpc hello"]);
}

#[test]
fn hostile_calls_get_rejects_or_silence_and_the_daemon_serves_on() {
    let Some(lan) = lan(2) else { return };
    let d = Daemon::start(&lan, 1, "RECVBOX", "rpc = true");
    d.wait_settled();
    // Another interface (msgsvc's alias management, which lives only on
    // \PIPE\MSGSVC), another operation, a fragment, a stub that lies.
    let r = send(&lan, 2, 1, &["--if-id", MSGSVC]);
    assert_eq!(answer(&r), (REJECT, NCA_UNK_IF));
    let r = send(&lan, 2, 1, &["--if-vers", "2"]);
    assert_eq!(answer(&r), (REJECT, NCA_UNK_IF));
    let r = send(&lan, 2, 1, &["--opnum", "1"]);
    assert_eq!(answer(&r), (REJECT, NCA_OP_RNG_ERROR));
    // A fragment number past the most a call may have (64).
    let r = send(&lan, 2, 1, &["--flags1", "0x24", "--fragnum", "65000"]);
    assert_eq!(answer(&r), (REJECT, NCA_PROTO_ERROR));
    // From: MaximumCount 16, Offset 0, ActualCount 4000 (the packet has 4).
    let lying = "10000000000000000a0f00004142434400000000";
    let r = send(&lan, 2, 1, &["--stub-hex", lying]);
    assert_eq!(answer(&r), (FAULT, NCA_S_FAULT_NDR));
    // An unterminated, oversize To: 300 bytes claimed and sent.
    let long = format!(
        "020000000000000002000000410000002c010000000000002c010000{}",
        "42".repeat(300)
    );
    let r = send(&lan, 2, 1, &["--stub-hex", &long]);
    assert_eq!(answer(&r), (FAULT, NCA_S_FAULT_NDR));
    // A broadcast call is never delivered nor answered; nor is one sent to
    // the broadcast address (the socket never hears it).
    let r = send(&lan, 2, 1, &["--flags1", "0x60", "--wait", "1"]);
    assert_eq!(r[0]["timeout"], true, "{r:?}");
    // A maybe call is stored and never answered.
    let r = send(
        &lan,
        2,
        1,
        &["--flags1", "0x10", "--text", "maybe", "--wait", "1"],
    );
    assert_eq!(r[0]["timeout"], true, "{r:?}");
    let r = send(&lan, 2, 1, &["--text", "still serving"]);
    assert_eq!(answer(&r), (RESPONSE, 0));
    wait_for(
        std::time::Duration::from_secs(10),
        || rpc_texts(&d).len() >= 2,
        || d.log(),
    );
    let mut texts = rpc_texts(&d);
    texts.sort();
    assert_eq!(texts, ["maybe", "still serving"], "{}", d.log());
}

#[test]
fn a_fragmented_call_is_put_together_facked_and_stored_once() {
    let Some(lan) = lan(2) else { return };
    let d = Daemon::start(&lan, 1, "RECVBOX", "rpc = true");
    d.wait_settled();
    let long = format!("fragmented: {}", "0123456789".repeat(60));
    // Three fragments, each but the last facked (fragment numbers 0, 1),
    // then the response once the whole call is stored.
    let r = send(&lan, 2, 1, &["--text", &long, "--fragments", "3"]);
    let kinds: Vec<(u64, u64)> = r
        .iter()
        .map(|v| {
            (
                v["ptype"].as_u64().unwrap_or(99),
                v["fragnum"].as_u64().unwrap_or(99),
            )
        })
        .collect();
    assert_eq!(kinds, [(FACK, 0), (FACK, 1), (RESPONSE, 0)], "{r:?}");
    assert_eq!(r[2]["status"], 0, "{r:?}");
    // Without facks asked for, only the response.
    let r = send(
        &lan,
        2,
        1,
        &[
            "--text",
            "in two parts",
            "--fragments",
            "2",
            "--flags1",
            "0x28",
        ],
    );
    assert_eq!(answer(&r), (RESPONSE, 0));
    wait_for(
        std::time::Duration::from_secs(10),
        || rpc_texts(&d).len() >= 2,
        || d.log(),
    );
    let mut texts = rpc_texts(&d);
    texts.sort();
    assert_eq!(texts, [long, "in two parts".to_owned()]);
}

#[test]
fn a_policy_refusal_is_rejected_and_stores_nothing() {
    let Some(lan) = lan(2) else { return };
    let d = Daemon::start(&lan, 1, "RECVBOX", "rpc = true\ndeny_names = [\"SPAM*\"]");
    d.wait_settled();
    // Refused, and its retransmission gets the same reject: nothing stored.
    let r = send(
        &lan,
        2,
        1,
        &["--from", "SPAMMER", "--text", "buy now", "--repeat", "2"],
    );
    assert_eq!(r.len(), 2, "{r:?}");
    for t in &r {
        assert_eq!(
            answer(std::slice::from_ref(t)),
            (REJECT, ERROR_ACCESS_DENIED)
        );
    }
    // A name not held here is not revealed to a refused sender either.
    let r = send(&lan, 2, 1, &["--from", "SPAMMER", "--to", "NOBODY"]);
    assert_eq!(answer(&r), (REJECT, ERROR_ACCESS_DENIED));
    assert!(d.refused("denied_name") >= 1, "{}", d.status());
    // An answer is never aimed at another service's port.
    let r = send(
        &lan,
        2,
        1,
        &["--sport", "53", "--text", "from 53", "--wait", "1"],
    );
    assert_eq!(r[0]["timeout"], true, "{r:?}");
    assert!(d.refused("denied_source") >= 1, "{}", d.status());
    let r = send(&lan, 2, 1, &["--from", "ALICE", "--text", "hi"]);
    assert_eq!(answer(&r), (RESPONSE, 0));
    assert_eq!(rpc_texts(&d), ["hi"], "{}", d.log());
}

#[test]
fn a_host_off_the_lan_hears_nothing_and_stores_nothing() {
    let Some(lan) = Lan::up_routed(1, 1).expect("build the routed LAN") else {
        return;
    };
    let d = Daemon::start(&lan, 1, "RECVBOX", "rpc = true");
    d.wait_settled();
    let r = send(&lan, 2, 1, &["--text", "from afar", "--wait", "1"]);
    assert_eq!(r[0]["timeout"], true, "{r:?}");
    assert!(d.refused("off_lan") >= 1, "{}", d.status());
    assert!(rpc_texts(&d).is_empty());
}

#[test]
fn with_rpc_off_nothing_listens_on_udp_135() {
    let Some(lan) = lan(2) else { return };
    let d = Daemon::start(&lan, 1, "RECVBOX", "");
    d.wait_settled();
    let r = send(&lan, 2, 1, &["--wait", "2"]);
    assert_eq!(r[0]["refused"], true, "port unreachable expected: {r:?}");
    let ss = lan.command(1, "ss").args(["-Hunl"]).output().unwrap();
    let listening = String::from_utf8_lossy(&ss.stdout).into_owned();
    assert!(!listening.contains(":135 "), "{listening}");
    assert!(listening.contains(":138 "), "the daemon is up: {listening}");
    assert!(rpc_texts(&d).is_empty());
}

#[test]
fn send_transport_forces_one_way_and_never_downgrades_a_pinned_host() {
    let Some(lan) = lan(2) else { return };
    let h1 = Daemon::start(&lan, 1, "H1", "rpc = true");
    let h2 = Daemon::start(&lan, 2, "H2", "");
    h1.wait_settled();
    h2.wait_settled();
    for (via, words) in [
        ("rpc", "by rpc"),
        ("smb", "by smb"),
        ("mailslot", "by mailslot"),
    ] {
        let out = h2.cli(&["send", "--transport", via, "H1", words]);
        assert!(out.status.success(), "{via}: {}\n{}", text(&out), h1.log());
    }
    wait_for(
        std::time::Duration::from_secs(10),
        || h1.inbox().len() >= 3,
        || h1.log(),
    );
    let mut got: Vec<(String, String)> = h1
        .inbox()
        .iter()
        .map(|m| {
            (
                m["transport"].as_str().unwrap().to_owned(),
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("mailslot".to_owned(), "by mailslot".to_owned()),
            ("rpc".to_owned(), "by rpc".to_owned()),
            ("smb".to_owned(), "by smb".to_owned()),
        ]
    );
    // H2 serves no RPC: the sender is told nothing listens there.
    let out = h1.cli(&["send", "--transport", "rpc", "H2", "anyone?"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("nothing serves RPC"), "{}", text(&out));
    // Once H1's key is pinned (the first messngr message), a forced
    // plain-text way is refused, and nothing more reaches H1.
    let out = h2.cli(&["send", "--transport", "native", "H1", "sealed"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = h2.cli(&["send", "--transport", "rpc", "H1", "in the clear"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("pinned key"), "{}", text(&out));
    let out = h2.cli(&["send", "--transport", "smb", "*", "to all"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("--transport smb does not apply"),
        "{}",
        text(&out)
    );
    let texts: Vec<String> = h1
        .inbox()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert!(texts.contains(&"sealed".to_owned()));
}
