//! Who may take the daemon's names away, on a private namespace LAN: an
//! attacker's hand-made conflict demand and release (built by scapy) may
//! not; a real nmbd that held the name first may, until it leaves, and then
//! the name comes back by itself.
//!
//! Every test builds its own LAN (removed on drop, also on failure); nothing
//! here touches the machine's network. Needs root, nmbd, nmblookup and
//! python3-scapy (`ci/install-deps`); skipped with a message when not root
//! (failed under CI); without the peers it fails.

mod support;

use std::time::Duration;

use support::{Daemon, Nmbd, SambaClient, SmbConf, lan, run_in, text, wait_for};

/// The scapy script that sends a conflict demand or a release.
const TAKEOVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/peers/nbns_takeover_scapy.py"
);

fn counter(d: &Daemon, key: &str) -> u64 {
    d.status()["counters"][key].as_u64().unwrap_or(0)
}

/// The `names` entry of `status --json` for `name`.
fn entry(d: &Daemon, name: &str) -> serde_json::Value {
    let s = d.status();
    s["names"]
        .as_array()
        .and_then(|a| a.iter().find(|n| n["name"] == name).cloned())
        .unwrap_or_else(|| panic!("no {name} in {s}"))
}

#[test]
fn an_unsolicited_conflict_demand_does_not_take_our_name() {
    let Some(lan) = lan(3) else { return };
    let d = Daemon::start(&lan, 1, "H1", "names = [\"HELPDESK\"]");
    d.wait_settled();
    assert_eq!(d.state_of("HELPDESK<03>").as_deref(), Some("registered"));
    let received = counter(&d, "nbns_received");

    // Host 2 claims nothing and demands our alias, then releases it "for" us.
    for kind in ["demand", "release"] {
        let args = [TAKEOVER, "10.77.0.2", "10.77.0.1", "HELPDESK", kind];
        let o = run_in(&lan, 2, "/usr/bin/python3", &args);
        assert!(o.status.success(), "scapy {kind}: {}", text(&o));
    }
    wait_for(
        Duration::from_secs(5),
        || counter(&d, "nbns_received") >= received + 2,
        || d.log(),
    );

    assert_eq!(
        d.state_of("HELPDESK<03>").as_deref(),
        Some("registered"),
        "{}",
        d.log()
    );
    let client = SambaClient::new();
    let o = client.nmblookup(&lan, 3, &["-B", "10.77.0.255", "HELPDESK#03"]);
    assert!(
        text(&o).contains("10.77.0.1 HELPDESK<03>"),
        "the alias no longer resolves:\n{}\n{}",
        text(&o),
        d.log()
    );
    let c = &d.status()["counters"];
    assert_eq!(c["conflict_demands_ignored"], 1, "{c}");
    assert_eq!(c["releases_ignored"], 1, "{c}");
    assert_eq!(c["conflicts"], 0, "{c}");
    let o = d.cli_ok(&["status"]);
    assert!(
        text(&o).contains("1 conflict demands and 1 releases of our names ignored"),
        "{}",
        text(&o)
    );
    assert!(
        d.log()
            .contains("ignored a conflict demand or release for one of our names from 10.77.0.2"),
        "{}",
        d.log()
    );
}

#[test]
fn a_name_nmbd_holds_comes_back_when_nmbd_leaves() {
    let Some(lan) = lan(3) else { return };
    let nmbd = Nmbd::start(&lan, 2, SmbConf::new("HELPDESK"));
    let client = SambaClient::new();
    let resolve = |host| text(&client.nmblookup(&lan, host, &["-B", "10.77.0.255", "HELPDESK#03"]));
    wait_for(
        Duration::from_secs(20),
        || resolve(3).contains("10.77.0.2 HELPDESK<03>"),
        || nmbd.log(),
    );

    let d = Daemon::start(&lan, 1, "H1", "names = [\"HELPDESK\"]\nname_retry_secs = 1");
    d.wait_settled();
    let lost = entry(&d, "HELPDESK<03>");
    assert_eq!(lost["state"], "conflict", "{lost}\n{}", d.log());
    assert_eq!(lost["held_by"], "10.77.0.2", "{lost}");
    assert!(lost["retry_in_secs"].as_u64().is_some(), "{lost}");
    assert!(
        d.log()
            .contains("cannot use HELPDESK<03>: 10.77.0.2 holds it"),
        "{}",
        d.log()
    );
    let o = d.cli_ok(&["name", "list"]);
    assert!(
        text(&o).contains("(held by 10.77.0.2, retrying in"),
        "{}",
        text(&o)
    );
    // While nmbd runs, each new claim (after 1, 2, 4 s …) is refused again.
    wait_for(
        Duration::from_secs(15),
        || counter(&d, "conflicts") >= 3,
        || format!("{}\n{}", d.log(), nmbd.log()),
    );
    assert_eq!(d.state_of("HELPDESK<03>").as_deref(), Some("conflict"));
    assert!(resolve(3).contains("10.77.0.2 HELPDESK<03>"));

    // nmbd goes away (killed: it releases nothing); the next claim wins,
    // at most 30 s later (the wait is capped at 30 × name_retry_secs).
    drop(nmbd);
    wait_for(
        Duration::from_secs(45),
        || d.state_of("HELPDESK<03>").as_deref() == Some("registered"),
        || d.log(),
    );
    let back = entry(&d, "HELPDESK<03>");
    assert!(
        back.get("held_by").is_none() && back.get("retry_in_secs").is_none(),
        "{back}"
    );
    let o = resolve(3);
    assert!(o.contains("10.77.0.1 HELPDESK<03>"), "{o}\n{}", d.log());
}
