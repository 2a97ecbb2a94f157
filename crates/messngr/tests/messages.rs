//! Messages end to end against real peers on a private namespace LAN:
//! Samba's smbclient and smbd, a scapy-built mailslot datagram, and other
//! messngr daemons. Wireshark judges the captured traffic.
//!
//! Needs root, Samba, python3-scapy and tshark (`ci/install-deps`); skipped
//! with a message otherwise, failed under CI.

mod support;

use std::time::Duration;

use support::{Capture, Daemon, SambaClient, Smbd, lan, logged_in, run_in, text, wait_for};

fn texts(inbox: &[serde_json::Value]) -> Vec<String> {
    inbox
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn smbclient_messages_arrive_exactly() {
    let Some(lan) = lan(2) else { return };
    let cap = Capture::start(&lan, 1);
    let d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();
    let client = SambaClient::new();

    let long: String = (0..1500)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        (
            "ascii, by address",
            "Hello from smbclient".into(),
            Some("10.77.0.1"),
        ),
        (
            "UTF-8 input, by name lookup",
            "Grüße aus h2 — café".into(),
            None,
        ),
        ("1500 bytes", long, Some("10.77.0.1")),
        (
            "several lines",
            "line one\nline two\n\nline four".into(),
            Some("10.77.0.1"),
        ),
    ];
    for (n, (what, message, ip)) in cases.iter().enumerate() {
        let o = client.message(&lan, 2, "H1", *ip, message.as_bytes());
        assert!(o.status.success(), "{what}: smbclient failed: {}", text(&o));
        let inbox = d.wait_inbox(n + 1);
        let got = &inbox.iter().find(|m| m["text"] == message.as_str());
        assert!(
            got.is_some(),
            "{what}: not in the inbox exactly; inbox texts: {:?}\n{}",
            texts(&inbox),
            d.log()
        );
        let m = got.unwrap();
        assert_eq!(m["transport"], "smb");
        assert_eq!(m["verified"], false);
        assert_eq!(m["from"], "alice", "{m}");
        assert_eq!(m["to"], "H1", "{m}");
    }
    cap.assert_clean(21);
}

#[test]
fn messngr_sends_to_samba_smbd() {
    let Some(lan) = lan(2) else { return };
    let smbd = Smbd::start(&lan, 2, "H2");
    let cap = Capture::start(&lan, 1);
    let d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();
    d.cli_ok(&["send", "-I", "10.77.0.2", "H2", "Hello smbd, from messngr"]);
    // By name: nmbd in h2 answers for H2<03> once it has registered (~4 s).
    wait_for(
        Duration::from_secs(20),
        || d.cli(&["lookup", "H2"]).status.success(),
        || smbd.log(),
    );
    let long = "x".repeat(300) + "\nsecond line";
    d.cli_ok(&["send", "H2", &long]);
    wait_for(
        Duration::from_secs(10),
        || smbd.received().len() >= 2,
        || smbd.log(),
    );
    let got = smbd.received();
    assert_eq!(
        got[0],
        b"Hello smbd, from messngr",
        "smbd's file holds {:?}",
        String::from_utf8_lossy(&got[0])
    );
    // smbd strips the CR of CR LF when it delivers (message.c).
    assert_eq!(
        got[1],
        long.as_bytes(),
        "smbd's file holds {:?}",
        String::from_utf8_lossy(&got[1])
    );

    let o = d.cli(&["send", "NOSUCHHOST", "hi"]);
    assert_eq!(o.status.code(), Some(1), "an unknown name: {}", text(&o));
    cap.assert_clean(11);
}

#[test]
fn a_scapy_mailslot_datagram_arrives() {
    let Some(lan) = lan(2) else { return };
    let cap = Capture::start(&lan, 1);
    let d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/mailslot_scapy.py");
    let o = run_in(
        &lan,
        2,
        "/usr/bin/python3",
        &[
            script,
            "10.77.0.2",
            "10.77.0.1",
            "SENDERBOX",
            "H1",
            "Hello via scapy, café",
        ],
    );
    assert!(o.status.success(), "scapy: {}", text(&o));
    let o = run_in(
        &lan,
        2,
        "/usr/bin/python3",
        &[
            script,
            "10.77.0.2",
            "10.77.0.255",
            "SENDERBOX",
            "MLAN",
            "To the workgroup",
            "--group",
        ],
    );
    assert!(o.status.success(), "scapy: {}", text(&o));
    let inbox = d.wait_inbox(2);
    let t = texts(&inbox);
    assert!(t.contains(&"Hello via scapy, café".to_owned()), "{t:?}");
    assert!(t.contains(&"To the workgroup".to_owned()), "{t:?}");
    assert!(
        inbox
            .iter()
            .all(|m| m["transport"] == "mailslot" && m["verified"] == false)
    );
    cap.assert_clean(1);
}

#[test]
fn messngr_to_messngr_both_ways_and_to_everyone() {
    let Some(lan) = lan(3) else { return };
    let cap = Capture::start(&lan, 1);
    let d1 = Daemon::start(&lan, 1, "H1", "");
    let d2 = Daemon::start(&lan, 2, "H2", "");
    let d3 = Daemon::start(&lan, 3, "H3", "");
    for d in [&d1, &d2, &d3] {
        d.wait_settled();
    }
    d1.cli_ok(&["send", "H2", "one to two"]);
    d2.cli_ok(&["send", "H1", "two to one"]);
    assert_eq!(texts(&d2.wait_inbox(1)), ["one to two"]);
    assert_eq!(texts(&d1.wait_inbox(1)), ["two to one"]);
    // A name the receiver does not hold: refused at the session request (exit 4).
    let o = d1.cli(&["send", "-I", "10.77.0.2", "NOBODY", "hi"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    // Nobody listens on TCP 139 at .9: a network error (exit 5).
    let o = d1.cli(&["send", "-I", "10.77.0.9", "GHOST", "hi"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));

    d3.cli_ok(&["send", "*", "to everyone"]);
    for d in [&d1, &d2] {
        let inbox = d.wait_inbox(2);
        assert!(
            texts(&inbox).contains(&"to everyone".to_owned()),
            "{:?}",
            texts(&inbox)
        );
    }
    d3.cli_ok(&["send", "/domain:MLAN", "to the domain"]);
    assert!(texts(&d1.wait_inbox(3)).contains(&"to the domain".to_owned()));

    // read marks read, reply answers the sender the way it came, rm deletes, export lists.
    let first = d2.inbox()[0]["id"].as_i64().unwrap().to_string();
    let o = d2.cli(&["read", &first]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Message from H1 to H2"),
        "{}",
        text(&o)
    );
    let unread = d2.cli(&["inbox", "--unread", "--json"]);
    let unread: Vec<serde_json::Value> = serde_json::from_slice(&unread.stdout).unwrap();
    assert!(
        unread
            .iter()
            .all(|m| m["id"].as_i64().unwrap().to_string() != first),
        "{unread:?}"
    );
    d2.cli_ok(&["reply", &first, "thanks, one"]);
    assert!(texts(&d1.wait_inbox(4)).contains(&"thanks, one".to_owned()));
    let o = d2.cli(&["export", "--format", "text"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("one to two"),
        "{}",
        text(&o)
    );
    // Export holds every message: the received ones and those sent from
    // here to messngr receivers (kept for tracking), each with its direction.
    let o = d2.cli(&["export"]);
    let exported: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let received = exported.iter().filter(|m| m["direction"] == "in").count();
    assert_eq!(received, d2.inbox().len(), "{exported:?}");
    assert!(
        exported
            .iter()
            .any(|m| m["direction"] == "out" && m["author"] == "root@H2"),
        "{exported:?}"
    );
    let o = d2.cli(&["rm", &first]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        d2.inbox()
            .iter()
            .all(|m| m["id"].as_i64().unwrap().to_string() != first)
    );
    let o = d2.cli(&["rm", &first]);
    assert_eq!(o.status.code(), Some(1), "deleting twice: {}", text(&o));
    cap.assert_clean(1);
}

#[test]
fn messages_survive_a_restart_and_bad_frames_do_not_stop_the_daemon() {
    let Some(lan) = lan(2) else { return };
    let d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();
    // A truncated session request, then garbage after a valid one.
    let junk = "printf '\\x81\\x00\\x00\\x44\\x20AB' > /dev/tcp/10.77.0.1/139; \
                printf '\\xff\\xff\\xff\\xff' > /dev/udp/10.77.0.1/138";
    let _ = run_in(&lan, 2, "bash", &["-c", junk]);
    SambaClient::new().message_to_h1(&lan, "H1", b"still here", || d.log());
    assert_eq!(texts(&d.wait_inbox(1)), ["still here"]);
    // Restart on the same state directory: the message is still there.
    let d = d.restart(&lan);
    assert_eq!(texts(&d.inbox()), ["still here"]);
}

#[test]
fn logged_in_users_get_names_and_slash_users_reaches_them() {
    let Some(lan) = lan(2) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let users = logged_in(tmp.path(), &[("alice", "pts/1"), ("bob", "pts/2")]);
    let d = Daemon::start(&lan, 1, "H1", &users);
    d.wait_settled();
    assert_eq!(
        d.state_of("ALICE<03>").as_deref(),
        Some("registered"),
        "{}",
        d.log()
    );
    assert_eq!(
        d.state_of("BOB<03>").as_deref(),
        Some("registered"),
        "{}",
        d.log()
    );
    // From another host, by the user's name, like `net send alice`.
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d2.wait_settled();
    d2.cli_ok(&["send", "alice", "hi alice"]);
    // And `/users` on the host itself reaches both.
    d.cli_ok(&["send", "/users", "the server restarts at noon"]);
    let inbox = d.wait_inbox(3);
    let to: Vec<String> = inbox
        .iter()
        .map(|m| m["to"].as_str().unwrap_or_default().to_ascii_uppercase())
        .collect();
    assert_eq!(to, ["ALICE", "ALICE", "BOB"], "{inbox:?}");
}

#[test]
fn a_full_disk_refuses_the_message_instead_of_acknowledging_it() {
    let Some(lan) = lan(2) else { return };
    let tmp = support::tempdir();
    let state = tmp.path().join("state");
    let _disk = support::SmallDisk::mount(&state, "4m");
    let d = Daemon::start(
        &lan,
        1,
        "H1",
        &format!("state_dir = \"{}\"", state.display()),
    );
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d.wait_settled();
    d2.wait_settled();
    // Fill the disk to the last byte.
    let filler = state.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let small = [0u8; 512];
        while f.write_all(&small).is_ok() {}
        let _ = f.sync_all();
    }
    let message = "x".repeat(1500);
    let o = d2.cli(&["send", "-I", "10.77.0.1", "H1", &message]);
    assert_eq!(
        o.status.code(),
        Some(4),
        "a full disk must refuse (ERRnoroom): {}\n{}",
        text(&o),
        d.log()
    );
    assert!(
        text(&o).contains("no room") || text(&o).to_lowercase().contains("room"),
        "{}",
        text(&o)
    );
    assert!(d.inbox().is_empty(), "nothing may be stored half");
    assert!(d.log().contains("NOT stored"), "{}", d.log());
    // Room again: the next message is stored and acknowledged.
    std::fs::remove_file(&filler).unwrap();
    let o = d2.cli(&["send", "-I", "10.77.0.1", "H1", &message]);
    assert!(o.status.success(), "{}\n{}", text(&o), d.log());
    assert_eq!(texts(&d.wait_inbox(1)), [message]);
}
