//! The daemon's name service against real Samba, on a private namespace LAN.
//!
//! Every test builds its own LAN (removed on drop, also on failure); nothing
//! here touches the machine's network. Needs root, nmbd and nmblookup
//! (`ci/install-deps`); skipped with a message otherwise, failed under CI.

mod support;

use std::time::Duration;

use support::{Daemon, Nmbd, SambaClient, SmbConf, lan, run_in, text, wait_for};

#[test]
fn nmblookup_finds_our_names_and_node_status_lists_them() {
    let Some(lan) = lan(2) else { return };
    let cap = support::Capture::start(&lan, 1);
    let d = Daemon::start(&lan, 1, "H1", "names = [\"HELPDESK\"]");
    d.wait_settled();
    let client = SambaClient::new();

    for name in ["H1#03", "H1#00", "H1#20", "HELPDESK#03"] {
        let o = client.nmblookup(&lan, 2, &["-B", "10.77.0.255", name]);
        let (n, s) = name.split_once('#').unwrap();
        assert!(
            text(&o).contains(&format!("10.77.0.1 {n}<{s}>")),
            "nmblookup {name}:\n{}\n{}",
            text(&o),
            d.log()
        );
    }
    // A unicast query (RD clear), as `nmblookup -U` sends it.
    let o = client.nmblookup(&lan, 2, &["-U", "10.77.0.1", "H1#03"]);
    assert!(text(&o).contains("10.77.0.1 H1<03>"), "{}", text(&o));
    // Names we do not own get no answer.
    let o = client.nmblookup(&lan, 2, &["-B", "10.77.0.255", "NOSUCH#03"]);
    assert!(text(&o).contains("name_query failed"), "{}", text(&o));

    let o = client.nmblookup(&lan, 2, &["-A", "10.77.0.1"]);
    let out = text(&o);
    for line in [
        "H1              <00> -         B <ACTIVE>",
        "H1              <03> -         B <ACTIVE>",
        "H1              <20> -         B <ACTIVE>",
        "MLAN            <00> - <GROUP> B <ACTIVE>",
        "HELPDESK        <03> -         B <ACTIVE>",
        "MAC Address = 02-77-00-00-00-01",
    ] {
        assert!(out.contains(line), "node status lacks {line:?}:\n{out}");
    }
    let st = d.status();
    assert!(
        st["counters"]["queries_answered"].as_u64().unwrap() >= 5,
        "{st}"
    );
    assert!(
        st["counters"]["node_status_answered"].as_u64().unwrap() >= 1,
        "{st}"
    );
    // Registrations, answers, node status and the releases, judged by Wireshark.
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    cap.assert_clean(30);
}

#[test]
fn messngr_lookup_finds_what_nmbd_registered() {
    let Some(lan) = lan(2) else { return };
    let nmbd = Nmbd::start(&lan, 2, SmbConf::new("RECVBOX"));
    let d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();
    // nmbd answers only after its own registration rounds (about 4 s).
    wait_for(
        Duration::from_secs(20),
        || d.cli(&["lookup", "RECVBOX#20"]).status.success(),
        || nmbd.log(),
    );
    let o = d.cli(&["lookup", "RECVBOX#03", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["addresses"][0], "10.77.0.2", "{v}");

    let o = d.cli(&["lookup", "-A", "10.77.0.2"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("RECVBOX         <20> -         B <ACTIVE>"),
        "{out}"
    );
    assert!(
        out.contains("MLAN            <1e> - <GROUP> B <ACTIVE>"),
        "{out}"
    );

    let o = d.cli(&["lookup", "NOSUCH"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a name nobody holds: exit 1\n{}",
        text(&o)
    );
}

#[test]
fn a_name_nmbd_holds_is_refused_to_us() {
    let Some(lan) = lan(2) else { return };
    let nmbd = Nmbd::start(&lan, 2, SmbConf::new("RECVBOX"));
    let client = SambaClient::new();
    // Wait until nmbd owns its names.
    wait_for(
        Duration::from_secs(20),
        || {
            let o = client.nmblookup(&lan, 1, &["-B", "10.77.0.255", "RECVBOX#20"]);
            text(&o).contains("10.77.0.2 RECVBOX<20>")
        },
        || nmbd.log(),
    );
    let d = Daemon::start(&lan, 1, "RECVBOX", "");
    d.wait_settled();
    assert_eq!(
        d.state_of("RECVBOX<00>").as_deref(),
        Some("conflict"),
        "{}",
        d.log()
    );
    assert_eq!(
        d.state_of("RECVBOX<20>").as_deref(),
        Some("conflict"),
        "{}",
        d.log()
    );
    assert_eq!(
        d.state_of("MLAN<00>").as_deref(),
        Some("registered"),
        "group names are shared"
    );
    assert!(
        d.log()
            .contains("cannot use RECVBOX<00>: 10.77.0.2 holds it"),
        "{}",
        d.log()
    );
    // A name nobody holds still works: the alias command claims it.
    let o = d.cli(&["name", "add", "OTHER"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("OTHER<03> registered"),
        "{}",
        text(&o)
    );
}

#[test]
fn nmbd_cannot_take_a_name_we_hold() {
    let Some(lan) = lan(3) else { return };
    let cap = support::Capture::start(&lan, 1);
    let d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();
    let nmbd = Nmbd::start(&lan, 2, SmbConf::new("H1"));
    // nmbd registers H1<00>, <03>, <20>: we refuse each (0xAD86) and nmbd gives up.
    wait_for(
        Duration::from_secs(20),
        || d.status()["counters"]["defended"].as_u64().unwrap_or(0) >= 3,
        || format!("{}\n{}", d.log(), nmbd.log()),
    );
    std::thread::sleep(Duration::from_secs(4));
    let client = SambaClient::new();
    let o = client.nmblookup(&lan, 3, &["-B", "10.77.0.255", "H1#03"]);
    let out = text(&o);
    assert!(out.contains("10.77.0.1 H1<03>"), "{out}");
    assert!(
        !out.contains("10.77.0.2 H1<03>"),
        "nmbd must not answer for H1<03>:\n{out}\n{}",
        nmbd.log()
    );
    assert_eq!(d.state_of("H1<03>").as_deref(), Some("registered"));
    // Our defences (0xAD86) and nmbd's registrations, judged by Wireshark.
    cap.assert_clean(10);
}

#[test]
fn names_are_released_on_sigterm() {
    let Some(lan) = lan(2) else { return };
    let d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();
    let (status, log) = d.stop();
    assert!(status.success(), "daemon exit: {status:?}\n{log}");
    for name in ["H1<00>", "H1<03>", "H1<20>", "MLAN<00>"] {
        assert!(
            log.contains(&format!("released {name}")),
            "no release of {name}:\n{log}"
        );
    }
}

#[test]
fn malformed_datagrams_are_counted_and_the_daemon_keeps_answering() {
    let Some(lan) = lan(2) else { return };
    let d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();
    // Garbage and a truncated query at UDP 137, sent from host 2 with bash's /dev/udp.
    let script = "printf '\\xff\\xff\\xff' > /dev/udp/10.77.0.1/137; \
                  printf '\\x12\\x34\\x01\\x10\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x20FC' > /dev/udp/10.77.0.1/137";
    let o = run_in(&lan, 2, "bash", &["-c", script]);
    assert!(o.status.success(), "{}", text(&o));
    wait_for(
        Duration::from_secs(5),
        || {
            d.status()["counters"]["nbns_malformed"]
                .as_u64()
                .unwrap_or(0)
                >= 2
        },
        || d.log(),
    );
    let client = SambaClient::new();
    let o = client.nmblookup(&lan, 2, &["-B", "10.77.0.255", "H1#03"]);
    assert!(text(&o).contains("10.77.0.1 H1<03>"), "{}", text(&o));
}

#[test]
fn registration_query_and_release_go_through_nmbd_as_wins_server() {
    let Some(lan) = lan(3) else { return };
    let cap = support::Capture::start(&lan, 1);
    let wins = Nmbd::start(&lan, 2, SmbConf::new("WINSBOX").wins_support());
    let client = SambaClient::new();
    // Ask the WINS server itself (unicast, recursion desired): it answers from its database.
    let ask_wins =
        |name: &str| text(&client.nmblookup(&lan, 3, &["-U", "10.77.0.2", "--recursion", name]));
    wait_for(
        Duration::from_secs(20),
        || ask_wins("WINSBOX#20").contains("10.77.0.2 WINSBOX<20>"),
        || wins.log(),
    );

    // A host that registered at WINS and then died without releasing: only WINS knows it.
    let ghost = Nmbd::start(&lan, 3, SmbConf::new("GHOST").wins_server(lan.ip(2)));
    wait_for(
        Duration::from_secs(20),
        || ask_wins("GHOST#20").contains("10.77.0.3 GHOST<20>"),
        || ghost.log(),
    );
    drop(ghost);

    let d = Daemon::start(&lan, 1, "H1", "wins_server = \"10.77.0.2\"");
    d.wait_settled();
    assert_eq!(
        d.state_of("H1<03>").as_deref(),
        Some("registered"),
        "{}",
        d.log()
    );
    assert!(
        ask_wins("H1#03").contains("10.77.0.1 H1<03>"),
        "WINS does not know H1<03>:\n{}\n{}",
        d.log(),
        wins.log()
    );

    let o = d.cli_ok(&["lookup", "GHOST#20"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("10.77.0.3 GHOST<20>"),
        "{}",
        text(&o)
    );

    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    wait_for(
        Duration::from_secs(5),
        || !ask_wins("H1#03").contains("10.77.0.1 H1<03>"),
        || wins.log(),
    );

    cap.assert_clean(11);
}

#[test]
fn a_flooding_host_does_not_starve_the_others() {
    use messngr_proto::wire::Emit;
    use messngr_proto::wire::name::{EncodedName, NetbiosName};
    use messngr_proto::wire::nbns::Repr;

    let Some(lan) = lan(3) else { return };
    let d = Daemon::start(&lan, 1, "H1", "nbns_rate_limit = 50");
    d.wait_settled();
    let query = Repr::name_query_request(
        0x4242,
        EncodedName::new("H1#03".parse::<NetbiosName>().unwrap()),
        false,
    )
    .to_vec()
    .unwrap();
    let escaped: String = query.iter().map(|b| format!("\\x{b:02x}")).collect();
    // Host 2 sends queries as fast as bash can for 3 s (at most 300 000; it stops by itself).
    let flood = format!(
        "end=$((SECONDS+3)); n=0; while [ $SECONDS -lt $end ] && [ $n -lt 300000 ]; do \
         printf '{escaped}' > /dev/udp/10.77.0.1/137; n=$((n+1)); done"
    );
    let mut flooder = lan.command(2, "bash").args(["-c", &flood]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let client = SambaClient::new();
    let o = client.nmblookup(&lan, 3, &["-B", "10.77.0.255", "H1#03"]);
    let still_running = flooder.try_wait().unwrap().is_none();
    flooder.wait().unwrap();
    assert!(
        still_running,
        "the flood ended before the other host asked; the test proves nothing"
    );
    assert!(
        text(&o).contains("10.77.0.1 H1<03>"),
        "host 3 starved:\n{}",
        text(&o)
    );
    let c = &d.status()["counters"];
    assert!(c["nbns_rate_limited"].as_u64().unwrap() > 1000, "{c}");
    assert!(c["queries_answered"].as_u64().unwrap() < 1000, "{c}");
}
