//! NetBIOS scope (issue 13, RFC 1001 §5.2): with `scope = "corp.example"`
//! messngr's names, lookups, datagrams and sessions all live in that scope.
//! Real peers: nmbd with `netbios scope` (the same one: they see each
//! other; another one: they do not, and may even hold the same name
//! without a conflict), nmblookup and smbclient with `--option=netbios
//! scope=SCOPE` (Samba 4.17 has no `-i` any more).
//!
//! Needs root and Samba; skipped when not root (failed under CI).

mod support;

use std::time::Duration;

use support::{Daemon, Nmbd, SambaClient, SmbConf, acknowledged, lan, run_in, text, wait_for};

const SCOPE: &str = "corp.example";

/// `smbclient -M H1 -I 10.77.0.1` from host 3, in `scope` (none: empty).
fn message(lan: &support::Lan, scope: Option<&str>, words: &str) -> std::process::Output {
    let option = scope.map(|s| format!("--option=netbios scope={s}"));
    let options: Vec<&str> = option.iter().map(String::as_str).collect();
    SambaClient::new().message_with(lan, 3, "H1", Some("10.77.0.1"), words.as_bytes(), &options)
}

/// `nmblookup -i SCOPE NAME` (broadcast) from host 3.
fn nmblookup(lan: &support::Lan, scope: Option<&str>, name: &str) -> String {
    let client = SambaClient::new();
    let conf = client.conf().to_str().unwrap().to_owned();
    let option = scope.map(|s| format!("--option=netbios scope={s}"));
    let mut args = vec!["-s", &conf, "-B", "10.77.0.255"];
    args.extend(option.as_deref());
    args.push(name);
    text(&run_in(lan, 3, "nmblookup", &args))
}

#[test]
fn the_same_scope_sees_each_other_and_the_empty_scope_does_not() {
    let Some(lan) = lan(3) else { return };
    let nmbd = Nmbd::start(&lan, 2, SmbConf::new("RECVBOX").set("netbios scope", SCOPE));
    let d = Daemon::start(&lan, 1, "H1", &format!("scope = \"{SCOPE}\""));
    d.wait_settled();
    // messngr finds nmbd's name in the scope (nmbd answers after its own
    // registration rounds).
    wait_for(
        Duration::from_secs(20),
        || d.cli(&["lookup", "RECVBOX#20"]).status.success(),
        || format!("{}\n{}", nmbd.log(), d.log()),
    );
    // Samba finds messngr's name in the scope, and not outside it.
    let found = nmblookup(&lan, Some(SCOPE), "H1#03");
    assert!(found.contains("10.77.0.1 H1<03>"), "{found}");
    let outside = nmblookup(&lan, None, "H1#03");
    assert!(!outside.contains("10.77.0.1 H1<03>"), "{outside}");
    // A session in the scope is taken; the same name outside it is not ours.
    let o = message(&lan, Some(SCOPE), "in scope");
    assert!(acknowledged(&o), "{}\n{}", text(&o), d.log());
    let o = message(&lan, None, "outside the scope");
    assert!(!acknowledged(&o), "{}", text(&o));
    let texts: Vec<String> = d
        .wait_inbox(1)
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["in scope"], "{}", d.log());
}

#[test]
fn another_scope_is_invisible_and_may_hold_the_same_name() {
    let Some(lan) = lan(3) else { return };
    // nmbd holds H1 in the empty scope: no conflict for messngr's H1 in
    // corp.example, and neither sees the other's.
    let nmbd = Nmbd::start(&lan, 2, SmbConf::new("H1"));
    wait_for(
        Duration::from_secs(20),
        || nmblookup(&lan, None, "H1#20").contains("10.77.0.2 H1<20>"),
        || nmbd.log(),
    );
    let d = Daemon::start(&lan, 1, "H1", &format!("scope = \"{SCOPE}\""));
    d.wait_settled();
    assert_eq!(
        d.state_of("H1<03>").as_deref(),
        Some("registered"),
        "{}",
        d.log()
    );
    let o = d.cli(&["lookup", "H1#20"]);
    let said = text(&o);
    assert!(
        !said.contains("10.77.0.2"),
        "nmbd's H1 is in another scope: {said}"
    );
    let found = nmblookup(&lan, None, "H1#03");
    assert!(!found.contains("10.77.0.1"), "{found}");
    let found = nmblookup(&lan, Some(SCOPE), "H1#03");
    assert!(found.contains("10.77.0.1 H1<03>"), "{found}");
}

#[test]
fn a_scope_that_is_not_one_is_a_clear_error() {
    let out = support::cli_with_config("scope = \"corp..example\"\n", &["status"]);
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("scope") && said.contains("corp.example"),
        "{said}"
    );
}

/// Several interfaces (issue 13): messngr in the routed LAN's router, on
/// eth0 (10.77.0.254) and eth1 (10.77.1.254), two broadcast domains. On
/// each, nmbd and Samba's tools find its names by broadcast, smbclient's
/// message is taken, and nmbd's name is not stolen from the other side.
#[test]
fn each_interface_is_served_in_its_own_broadcast_domain() {
    let Some(lan) = support::Lan::up_routed(1, 1).expect("build the routed LAN") else {
        return;
    };
    // nmbd holds TAKEN on side 2 before messngr claims it on both sides.
    let nmbd = Nmbd::start(&lan, 2, SmbConf::new("TAKEN"));
    wait_for(
        Duration::from_secs(20),
        || nmblookup_from(&lan, 2, "10.77.1.255", "TAKEN#20").contains("10.77.1.2 TAKEN<20>"),
        || nmbd.log(),
    );
    let d = Daemon::start_in_router(
        &lan,
        "GATEBOX",
        "interface = [\"eth0\", \"eth1\"]\nnames = [\"TAKEN\"]",
    );
    d.wait_log("also serving eth1");
    // Host 1 (10.77.0.1) and host 2 (10.77.1.2), each on one side.
    for (host, bcast, ip) in [
        (1, "10.77.0.255", "10.77.0.254"),
        (2, "10.77.1.255", "10.77.1.254"),
    ] {
        let client = SambaClient::new();
        let conf = client.conf().to_str().unwrap().to_owned();
        wait_for(
            Duration::from_secs(20),
            || {
                let o = run_in(
                    &lan,
                    host,
                    "nmblookup",
                    &["-s", &conf, "-B", bcast, "GATEBOX#03"],
                );
                text(&o).contains(&format!("{ip} GATEBOX<03>"))
            },
            || d.log(),
        );
        let words = format!("from side {host}");
        let o = client.message_with(&lan, host, "GATEBOX", Some(ip), words.as_bytes(), &[]);
        assert!(acknowledged(&o), "side {host}: {}\n{}", text(&o), d.log());
    }
    let mut texts: Vec<String> = d
        .wait_inbox(2)
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    texts.sort();
    assert_eq!(texts, ["from side 1", "from side 2"]);
    // Each side defends its own names: TAKEN, refused on side 2 (nmbd
    // holds it there), is still this host's on side 1.
    let side1 = nmblookup_from(&lan, 1, "10.77.0.255", "TAKEN#03");
    assert!(
        side1.contains("10.77.0.254 TAKEN<03>"),
        "{side1}\n{}",
        d.log()
    );
    let side2 = nmblookup_from(&lan, 2, "10.77.1.255", "TAKEN#03");
    assert!(!side2.contains("10.77.1.254"), "{side2}");
    // The refusal came from side 2's nmbd, and only the eth1 claim lost.
    d.wait_log("cannot use TAKEN<03>: 10.77.1.2 holds it");
    assert!(
        !d.log().contains("cannot use TAKEN<03>: 10.77.0."),
        "nobody on side 1 refused: {}",
        d.log()
    );
}

/// `nmblookup -B BCAST NAME` from host `i`.
fn nmblookup_from(lan: &support::Lan, i: usize, bcast: &str, name: &str) -> String {
    let client = SambaClient::new();
    let conf = client.conf().to_str().unwrap().to_owned();
    text(&run_in(
        lan,
        i,
        "nmblookup",
        &["-s", &conf, "-B", bcast, name],
    ))
}
