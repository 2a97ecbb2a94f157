//! Who may send: senders off the LAN (a second subnet behind a router
//! namespace) are refused by default and admitted by `allow_from`, with real
//! peers (Samba's `smbclient -M` and `nmblookup`, a second messngr daemon);
//! and a datagram
//! with a forged off-LAN source (scapy) is refused while the same datagram
//! from an on-LAN source is stored.
//!
//! Needs root, Samba and python3-scapy (`ci/install-deps`); skipped (with a
//! message) when not root outside CI.

mod support;

use std::process::Output;

use messngr_lan::Lan;
use support::{Daemon, SambaClient, lan, run_in, text};

/// Host 1 (H1, 10.77.0.1) and host 2 on the LAN; host 3 (10.77.1.3) behind
/// the router.
const REMOTE: usize = 3;

fn routed_lan() -> Option<Lan> {
    Lan::up_routed(2, 1).expect("build the routed test LAN")
}

fn texts(d: &Daemon) -> Vec<String> {
    d.inbox()
        .iter()
        .filter_map(|m| m["text"].as_str().map(str::to_owned))
        .collect()
}

/// `smbclient -M H1 -I 10.77.0.1` from host `i`.
fn smbclient(lan: &Lan, client: &SambaClient, i: usize, message: &str) -> Output {
    client.message(lan, i, "H1", Some("10.77.0.1"), message.as_bytes())
}

/// `messngr send --priority urgent` from the remote daemon to H1.
fn urgent_from_afar(remote: &Daemon) -> Output {
    remote.cli(&[
        "send",
        "-I",
        "10.77.0.1",
        "--priority",
        "urgent",
        "H1",
        "urgent from afar",
    ])
}

#[test]
fn off_lan_senders_are_refused_until_allow_from_admits_them() {
    let Some(lan) = routed_lan() else { return };
    let client = SambaClient::new();
    let remote = Daemon::start(&lan, REMOTE, "R3", "");

    // Default: LAN-only.
    let d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();
    let o = smbclient(&lan, &client, REMOTE, "from behind the router");
    assert!(!o.status.success(), "smbclient: {}\n{}", text(&o), d.log());
    let o = remote.cli(&["send", "-I", "10.77.0.1", "H1", "messngr from afar"]);
    assert_eq!(o.status.code(), Some(4), "{}\n{}", text(&o), d.log());
    assert!(text(&o).contains("refused"), "{}", text(&o));
    let o = urgent_from_afar(&remote);
    assert_eq!(o.status.code(), Some(4), "{}\n{}", text(&o), d.log());
    // The name service does not answer off the LAN (no reflector).
    let o = client.nmblookup(&lan, REMOTE, &["-U", "10.77.0.1", "H1#03"]);
    assert!(
        text(&o).contains("name_query failed to find name H1#03"),
        "nmblookup: {}",
        text(&o)
    );
    // The LAN still gets through (the refusals were not about the message).
    client.message_to_h1(&lan, "H1", b"from the LAN", || d.log());
    let inbox = d.wait_inbox(1);
    assert_eq!(texts(&d), ["from the LAN"], "{inbox:?}");
    assert!(d.refused("off_lan") >= 4, "{}\n{}", d.status(), d.log());
    d.wait_log("refused from 10.77.1.3 (off_lan)");
    let (status, _) = d.stop();
    assert!(status.success());

    // allow_from admits the second subnet: the same senders get through.
    let d = Daemon::start(&lan, 1, "H1", "allow_from = [\"10.77.1.0/24\"]\n");
    d.wait_settled();
    let o = smbclient(&lan, &client, REMOTE, "from behind the router");
    assert!(o.status.success(), "smbclient: {}\n{}", text(&o), d.log());
    let o = client.nmblookup(&lan, REMOTE, &["-U", "10.77.0.1", "H1#03"]);
    assert!(
        text(&o).contains("10.77.0.1 H1<03>"),
        "nmblookup: {}",
        text(&o)
    );
    let o = urgent_from_afar(&remote);
    assert!(o.status.success(), "{}\n{}", text(&o), d.log());
    d.wait_inbox(2);
    let mut t = texts(&d);
    t.sort();
    assert_eq!(t, ["from behind the router", "urgent from afar"]);
    let inbox = d.inbox();
    assert!(
        inbox.iter().all(|m| m["source_addr"]
            .as_str()
            .is_some_and(|s| s.starts_with("10.77.1.3:"))),
        "{inbox:?}"
    );
    assert_eq!(d.refused("off_lan"), 0, "{}", d.status());
}

/// One MESSNGR mailslot datagram to H1, sent by scapy from host 2 as a raw
/// IP packet from `src` (forged unless it is host 2's address).
fn forged(lan: &Lan, src: &str, claim: Option<&str>, message: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/mailslot_scapy.py");
    let mut args = vec![
        script,
        src,
        "10.77.0.1",
        "SENDERBOX",
        "H1",
        message,
        "--spoof",
    ];
    if let Some(c) = claim {
        args.extend(["--claim", c]);
    }
    let o = run_in(lan, 2, "/usr/bin/python3", &args);
    assert!(o.status.success(), "scapy: {}", text(&o));
}

#[test]
fn a_datagram_with_a_forged_off_lan_source_is_refused() {
    let Some(lan) = lan(2) else { return };
    let d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();
    // Off the subnet (and unroutable from here: a forgery).
    forged(&lan, "10.99.0.9", None, "forged from afar");
    // An on-LAN packet claiming an off-LAN SOURCE_IP.
    forged(
        &lan,
        "10.77.0.2",
        Some("10.99.0.9"),
        "claims to be from afar",
    );
    // The same datagram from an on-LAN source (another forgery, but one the
    // LAN could have sent): stored.
    forged(&lan, "10.77.0.77", None, "from the LAN");
    d.wait_inbox(1);
    assert_eq!(texts(&d), ["from the LAN"]);
    assert_eq!(d.inbox()[0]["source_addr"], "10.77.0.77:138");
    assert_eq!(d.refused("off_lan"), 2, "{}\n{}", d.status(), d.log());
}
