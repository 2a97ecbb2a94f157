//! `messngr doctor` on broken and healthy hosts of a private namespace
//! LAN: a real nmbd holding the NetBIOS ports, a /32 address (no
//! broadcast address), an nftables rule dropping UDP 137, a name held first
//! by a real nmbd, an inbox at its quota; and a healthy host, where every
//! check passes. Each problem is named, with its fix, and the exit status
//! is 1; 0 on the healthy host.
//!
//! Needs root, Samba and nftables (`ci/install-deps`); skipped (with a
//! message) when not root outside CI.

mod support;

use std::process::Output;

use serde_json::Value;
use support::{BIN, Daemon, Nmbd, SambaClient, SmbConf, lan, run_in, text, wait_for};

/// A config for doctor in host `i`'s namespace: eth0, `socket`, `extra`.
fn config(dir: &std::path::Path, socket: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("doctor.toml");
    std::fs::write(
        &path,
        format!(
            "interface = \"eth0\"\nsocket = \"{}\"\n{extra}\n",
            socket.display()
        ),
    )
    .unwrap();
    path
}

/// `messngr --config CONFIG doctor --json [MORE…]` in host `i`: the exit
/// status and the report.
fn doctor_with(
    lan: &support::Lan,
    i: usize,
    config: &std::path::Path,
    more: &[&str],
) -> (Output, Value) {
    let mut args = vec!["--config", config.to_str().unwrap(), "doctor", "--json"];
    args.extend_from_slice(more);
    let o = run_in(lan, i, BIN, &args);
    let report = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("doctor --json: {e}\n{}", text(&o)));
    (o, report)
}

/// [`doctor_with`], nothing more.
fn doctor(lan: &support::Lan, i: usize, config: &std::path::Path) -> (Output, Value) {
    doctor_with(lan, i, config, &[])
}

/// The check `id` of a report.
fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["check"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

fn failed(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["check"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn a_healthy_host_passes_and_a_full_inbox_fails() {
    let Some(lan) = lan(2) else { return };
    let d = Daemon::start(
        &lan,
        1,
        "H1",
        "max_messages = 2\nmax_messages_per_owner = 2\n",
    );
    d.wait_settled();
    let cfg = config(d.dir.path(), &d.socket(), "");
    let (o, report) = doctor(&lan, 1, &cfg);
    assert_eq!(o.status.code(), Some(0), "{report:#}\n{}", d.log());
    assert_eq!(report["ok"], true);
    let ports = check(&report, "ports");
    assert_eq!(ports["status"], "ok");
    assert!(
        ports["summary"]
            .as_str()
            .unwrap()
            .contains("served by messngr"),
        "{ports}"
    );
    let daemon = check(&report, "daemon")["summary"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        daemon.contains("runs as") && !daemon.contains("runs as root"),
        "{daemon}"
    );
    assert_eq!(check(&report, "names")["status"], "ok");
    assert_eq!(check(&report, "broadcast")["status"], "ok");
    assert_eq!(check(&report, "firewall")["status"], "ok");
    assert_eq!(check(&report, "inbox")["status"], "ok");

    // The inbox at its quota: named, with what to do.
    let client = SambaClient::new();
    for m in ["one", "two"] {
        client.message_to_h1(&lan, "H1", m.as_bytes(), || d.log());
    }
    d.wait_inbox(2);
    let (o, report) = doctor(&lan, 1, &cfg);
    assert_eq!(o.status.code(), Some(1), "{report:#}");
    assert_eq!(failed(&report), ["inbox"], "{report:#}");
    let inbox = check(&report, "inbox");
    assert!(
        inbox["summary"]
            .as_str()
            .unwrap()
            .contains("2 of max_messages 2 received"),
        "{inbox}"
    );
    assert!(
        inbox["fix"].as_str().unwrap().contains("max_messages"),
        "{inbox}"
    );
}

#[test]
fn nmbd_holding_the_ports_is_named_with_the_samba_way_out() {
    let Some(lan) = lan(2) else { return };
    let nmbd = Nmbd::start(&lan, 1, SmbConf::new("SAMBA1"));
    let dir = support::tempdir();
    let cfg = config(dir.path(), &dir.path().join("none.sock"), "");
    wait_for(
        std::time::Duration::from_secs(10),
        || {
            let o = run_in(&lan, 1, "ss", &["-Hulnp", "sport = :137"]);
            text(&o).contains("nmbd")
        },
        || nmbd.log(),
    );
    let (o, report) = doctor(&lan, 1, &cfg);
    assert_eq!(o.status.code(), Some(1), "{report:#}");
    let ports = check(&report, "ports");
    assert_eq!(ports["status"], "fail", "{ports}");
    let summary = ports["summary"].as_str().unwrap();
    assert!(
        summary.contains("UDP 137 (names) is held by nmbd (pid "),
        "{summary}"
    );
    let fix = ports["fix"].as_str().unwrap();
    assert!(
        fix.contains("serve_netbios = false") && fix.contains("message command"),
        "{fix}"
    );
    // The daemon is not running: named too.
    assert_eq!(check(&report, "daemon")["status"], "fail");

    // With serve_netbios = false the same nmbd is expected, and smb.conf
    // without a message command is the problem.
    let cfg = config(
        dir.path(),
        &dir.path().join("none.sock"),
        "serve_netbios = false",
    );
    let (_, report) = doctor_with(
        &lan,
        1,
        &cfg,
        &["--smb-conf", nmbd.conf().to_str().unwrap()],
    );
    assert_eq!(check(&report, "ports")["status"], "ok", "{report:#}");
    let samba = check(&report, "samba");
    assert_eq!(samba["status"], "fail", "{samba}");
    assert!(
        samba["fix"]
            .as_str()
            .unwrap()
            .contains("message command = /usr/bin/messngr deliver %s %f %L"),
        "{samba}"
    );
}

#[test]
fn a_subnet_of_one_and_a_dropping_firewall_are_named() {
    let Some(lan) = lan(2) else { return };
    let dir = support::tempdir();
    let cfg = config(dir.path(), &dir.path().join("none.sock"), "");
    // Host 1's address as a /32: a subnet of one, nobody to broadcast to.
    let (lone, lan_addr) = (format!("{}/32", lan.ip(1)), format!("{}/24", lan.ip(1)));
    for args in [
        vec!["address", "flush", "dev", "eth0"],
        vec!["address", "add", &lone, "dev", "eth0"],
    ] {
        let o = run_in(&lan, 1, "ip", &args);
        assert!(o.status.success(), "ip {args:?}: {}", text(&o));
    }
    let (o, report) = doctor(&lan, 1, &cfg);
    assert_eq!(o.status.code(), Some(1), "{report:#}");
    let b = check(&report, "broadcast");
    assert_eq!(b["status"], "fail", "{b}");
    assert!(
        b["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("eth0 {lone} has no broadcast address")),
        "{b}"
    );
    assert!(
        b["fix"].as_str().unwrap().contains(&format!(
            "ip address del {lone} dev eth0 && ip address add {lan_addr} brd + dev eth0"
        )),
        "{b}"
    );
    // The fix it gives works: applied, the check passes. So does an address
    // added without `brd` (the kernel routes the subnet's broadcast).
    let fixed = [
        vec!["address", "del", &lone, "dev", "eth0"],
        vec!["address", "add", &lan_addr, "brd", "+", "dev", "eth0"],
        vec!["address", "flush", "dev", "eth0"],
        vec!["address", "add", &lan_addr, "dev", "eth0"],
    ];
    for args in fixed {
        let o = run_in(&lan, 1, "ip", &args);
        assert!(o.status.success(), "{}", text(&o));
        if args[1] != "add" {
            continue;
        }
        let (_, report) = doctor(&lan, 1, &cfg);
        let b = check(&report, "broadcast");
        assert_eq!(b["status"], "ok", "{report:#}");
        let want = format!("broadcast {}", lan.broadcast());
        assert!(b["summary"].as_str().unwrap().contains(&want), "{b}");
    }

    // A firewall dropping UDP 137 (real nftables, in host 2's namespace).
    let rules = "table inet filter {\n chain input {\n  type filter hook input priority 0; policy accept;\n  udp dport 137 drop\n }\n}\n";
    let file = dir.path().join("rules.nft");
    std::fs::write(&file, rules).unwrap();
    let o = run_in(&lan, 2, "nft", &["-f", file.to_str().unwrap()]);
    assert!(o.status.success(), "nft: {}", text(&o));
    let (o, report) = doctor(&lan, 2, &cfg);
    assert_eq!(o.status.code(), Some(1), "{report:#}");
    let f = check(&report, "firewall");
    assert_eq!(f["status"], "fail", "{f}");
    assert!(
        f["summary"].as_str().unwrap().contains("UDP 137: rule")
            && f["summary"].as_str().unwrap().contains("does drop"),
        "{f}"
    );
    assert!(!f["summary"].as_str().unwrap().contains("TCP 139"), "{f}");
}

#[test]
fn a_name_held_first_by_another_host_is_a_conflict() {
    let Some(lan) = lan(2) else { return };
    let _nmbd = Nmbd::start(&lan, 2, SmbConf::new("H1").broadcast_resolution());
    let client = SambaClient::new();
    wait_for(
        std::time::Duration::from_secs(15),
        || text(&client.nmblookup(&lan, 1, &["H1#03"])).contains("H1<03>"),
        || "nmbd on host 2 never answered for H1<03>".into(),
    );
    let d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();
    let cfg = config(d.dir.path(), &d.socket(), "");
    let (o, report) = doctor(&lan, 1, &cfg);
    assert_eq!(o.status.code(), Some(1), "{report:#}\n{}", d.log());
    let names = check(&report, "names");
    assert_eq!(names["status"], "fail", "{names}");
    assert!(
        names["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("H1<03> (held by {})", lan.ip(2))),
        "{names}"
    );
    // The text form says the same, with the fix, for a person.
    let o = run_in(&lan, 1, BIN, &["--config", cfg.to_str().unwrap(), "doctor"]);
    let t = text(&o);
    assert!(
        t.contains("FAIL  names") && t.contains("fix: find it with"),
        "{t}"
    );
    assert!(t.contains("1 problem found"), "{t}");
}
