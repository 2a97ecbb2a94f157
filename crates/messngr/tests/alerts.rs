//! The Alerter (issue 12, part 1) on a namespace LAN with real daemons, a
//! real legacy receiver (Samba's smbd) and real systemd tools: an alert
//! reaches a messngr host (signed, marked as an alert with its title), the
//! members of a Unix group on the raising host and smbd (its text led by an
//! `ALERT` line); a repeat within the collapse window is one message with a
//! count; a user who may not raise alerts is refused with the reason; the
//! systemd template passes `systemd-analyze verify`; and `--unit` carries
//! the failed unit's lines from a real journal (written by
//! systemd-journal-remote, read by journalctl).
//!
//! Needs root, Samba and systemd-journal-remote (`ci/install-deps`).

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{BIN, Daemon, Smbd, TestUser, lan, text, wait_for};

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

/// A Unix group of the given users, removed on drop.
struct Group(String);

impl Group {
    fn create(tag: &str, members: &[&TestUser]) -> Group {
        let name = format!("mg{}{tag}", std::process::id());
        let _ = Command::new("groupdel").arg(&name).output();
        let o = Command::new("groupadd")
            .args(["--system", &name])
            .output()
            .unwrap();
        assert!(o.status.success(), "groupadd {name}: {}", text(&o));
        for u in members {
            let o = Command::new("usermod")
                .args(["-aG", &name, &u.name])
                .output()
                .unwrap();
            assert!(o.status.success(), "usermod {}: {}", u.name, text(&o));
        }
        Group(name)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("groupdel").arg(&self.0).output();
    }
}

/// The alerts in `inbox` (received ones).
fn alerts(inbox: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    inbox
        .iter()
        .filter(|m| m["direction"] == "in" && m["alert"] == true)
        .collect()
}

#[test]
fn an_alert_reaches_a_messngr_host_a_group_and_a_legacy_receiver_marked() {
    let Some(lan) = lan(3) else { return };
    let smbd = Smbd::start(&lan, 3, "H3");
    let (alice, bob) = (TestUser::create("a"), TestUser::create("b"));
    let group = Group::create("ops", &[&alice, &bob]);
    let d1 = Daemon::start(
        &lan,
        1,
        "H1",
        &format!("[alerter]\nnormal = [\"H2\", \"@{}\", \"H3\"]", group.0),
    );
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    wait_for(
        Duration::from_secs(20),
        || d1.cli(&["lookup", "H3"]).status.success(),
        || smbd.log(),
    );

    let v = json(&d1.cli_ok(&[
        "alert",
        "--json",
        "--title",
        "backup",
        "The nightly backup failed",
    ]));
    assert_eq!(v["collapsed"], false, "{v}");
    assert_eq!(v["failed"], serde_json::json!([]), "{v}\n{}", d1.log());

    // The messngr host: signed by root@H1, marked, with its title.
    let inbox = d2.wait_inbox(1);
    let got = alerts(&inbox);
    assert_eq!(got.len(), 1, "{inbox:?}");
    let m = got[0];
    assert_eq!(m["title"], "backup", "{m}");
    assert_eq!(m["text"], "The nightly backup failed", "{m}");
    assert_eq!(
        (&m["verified"], &m["author"]),
        (&serde_json::json!(true), &serde_json::json!("root@H1"))
    );
    assert_eq!(m["repeats"], 1);
    let read = d2.cli_ok(&["read", &m["id"].to_string()]);
    assert!(
        text(&read).starts_with("[verified root@H1] ALERT: backup from "),
        "{}",
        text(&read)
    );
    let table = text(&d2.cli_ok(&["inbox"]));
    assert!(table.contains("[ALERT: backup] The nightly"), "{table}");

    // Each member of the group, in this host's inbox as theirs.
    let inbox = d1.inbox();
    for u in [&alice, &bob] {
        let theirs: Vec<_> = alerts(&inbox)
            .into_iter()
            .filter(|m| m["owner_user"] == u.name.as_str())
            .collect();
        assert_eq!(theirs.len(), 1, "{}: {inbox:?}", u.name);
        assert_eq!(theirs[0]["title"], "backup");
        assert_eq!(theirs[0]["verified"], true);
    }

    // The legacy receiver: plain text, led by the alert's line.
    wait_for(
        Duration::from_secs(10),
        || !smbd.received().is_empty(),
        || format!("{}\n{}", smbd.log(), d1.log()),
    );
    let got = String::from_utf8_lossy(&smbd.received()[0]).into_owned();
    // smbd writes CR LF as LF.
    assert!(got.starts_with("ALERT: backup\n"), "{got:?}");
    assert!(got.contains("The nightly backup failed"), "{got:?}");
}

/// A group member whose share of the inbox is full does not make the
/// alert fail for the others: they get it, it is tracked, and raising it
/// again collapses (before, the error had the Alerter forget it and send
/// it to everyone again).
#[test]
fn a_member_over_quota_does_not_cost_the_others_their_alert() {
    let Some(lan) = lan(1) else { return };
    let (alice, bob) = (TestUser::create("q"), TestUser::create("p"));
    let group = Group::create("quota", &[&alice, &bob]);
    let d = Daemon::start(
        &lan,
        1,
        "H1",
        &format!(
            "max_messages_per_owner = 1\n[alerter]\nnormal = [\"@{}\"]",
            group.0
        ),
    );
    d.wait_settled();
    d.cli_ok(&["alert", "--title", "first", "First alert"]);
    // Bob's is deleted: he has room again, Alice has none.
    let bobs = alerts(&d.inbox())
        .into_iter()
        .find(|m| m["owner_user"] == bob.name.as_str())
        .and_then(|m| m["id"].as_i64())
        .unwrap_or_else(|| panic!("{:?}", d.inbox()));
    d.cli_ok(&["rm", &bobs.to_string()]);
    for _ in 0..2 {
        let o = d.cli(&["alert", "--title", "second", "Second alert"]);
        assert!(o.status.success(), "{}\n{}", text(&o), d.log());
    }
    let inbox = d.inbox();
    let second = |u: &TestUser| {
        alerts(&inbox)
            .into_iter()
            .filter(|m| m["owner_user"] == u.name.as_str() && m["title"] == "second")
            .map(|m| m["repeats"].as_u64().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        second(&bob),
        [2],
        "once, the repeat collapsed into it: {inbox:?}"
    );
    assert_eq!(second(&alice), Vec::<u64>::new(), "{inbox:?}");
}

#[test]
fn a_repeated_alert_is_one_message_with_a_count() {
    let Some(lan) = lan(2) else { return };
    let user = TestUser::create("c");
    let d1 = Daemon::start(
        &lan,
        1,
        "H1",
        &format!("[alerter]\nurgent = [\"H2\", \"{}\"]", user.name),
    );
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    let raise = || {
        d1.cli_ok(&[
            "alert",
            "--priority",
            "urgent",
            "--title",
            "disk full",
            "--key",
            "disk:/var",
            "/var is 100% full",
        ])
    };
    let first = text(&raise());
    assert!(first.contains("Alert delivered to H2"), "{first}");
    d2.wait_inbox(1);
    let second = text(&raise());
    assert!(
        second.contains("Alert collapsed: raised 2 times"),
        "{second}\n{}",
        d1.log()
    );
    let third = text(&raise());
    assert!(third.contains("raised 3 times"), "{third}");
    assert!(third.contains("H2"), "{third}");

    // One message at each receiver, saying how often.
    wait_for(
        Duration::from_secs(10),
        || {
            alerts(&d2.inbox())
                .first()
                .is_some_and(|m| m["repeats"] == 3)
        },
        || format!("{:?}\n{}", d2.inbox(), d2.log()),
    );
    let inbox = d2.inbox();
    let got = alerts(&inbox);
    assert_eq!(got.len(), 1, "{inbox:?}");
    assert_eq!(got[0]["text"], "/var is 100% full\n(3 times)");
    assert_eq!(got[0]["title"], "disk full");
    let inbox = d1.inbox();
    let local: Vec<_> = alerts(&inbox)
        .into_iter()
        .filter(|m| m["owner_user"] == user.name.as_str())
        .collect();
    assert_eq!(local.len(), 1, "{inbox:?}");
    assert_eq!(local[0]["repeats"], 3, "{}", local[0]);
    let read = text(&d1.cli_ok(&["read", &local[0]["id"].to_string()]));
    assert!(
        read.contains("ALERT: disk full (3 times) from root"),
        "{read}"
    );

    // Another alert is not collapsed into it.
    let other = text(&d1.cli_ok(&["alert", "--priority", "urgent", "/home is full"]));
    assert!(other.contains("Alert delivered to H2"), "{other}");

    // Its resolution updates the same message everywhere.
    let resolved = text(&d1.cli_ok(&[
        "alert",
        "--priority",
        "urgent",
        "--key",
        "disk:/var",
        "--resolved",
        "/var has room again",
    ]));
    assert!(resolved.contains("Alert resolved"), "{resolved}");
    let resolved_text = "RESOLVED: /var has room again";
    wait_for(
        Duration::from_secs(10),
        || {
            alerts(&d2.inbox())
                .iter()
                .any(|m| m["text"] == resolved_text)
        },
        || format!("{:?}\n{}", d2.inbox(), d2.log()),
    );
    let inbox = d2.inbox();
    assert_eq!(alerts(&inbox).len(), 2, "{inbox:?}");
    let inbox = d1.inbox();
    assert!(
        alerts(&inbox)
            .iter()
            .any(|m| m["owner_user"] == user.name.as_str() && m["text"] == resolved_text),
        "{inbox:?}"
    );
}

#[test]
fn a_user_who_may_not_raise_alerts_is_refused_with_the_reason() {
    let Some(lan) = lan(1) else { return };
    let (raiser, other) = (TestUser::create("r"), TestUser::create("o"));
    let d = Daemon::start(
        &lan,
        1,
        "H1",
        &format!(
            "[alerter]\nnormal = [\"H1\"]\nraisers = [\"{}\"]",
            raiser.name
        ),
    );
    d.open_to_users();
    d.wait_settled();
    let o = other.cli(&d.socket(), &["alert", "let me in"]);
    assert!(!o.status.success(), "{}", text(&o));
    let said = text(&o);
    assert!(
        said.contains(&format!("{} may not raise alerts", other.name)) && said.contains("raisers"),
        "{said}"
    );
    assert!(alerts(&d.inbox()).is_empty());
    // A listed raiser may.
    let o = raiser.cli(&d.socket(), &["alert", "the backup failed"]);
    assert!(o.status.success(), "{}\n{}", text(&o), d.log());
    let inbox = d.wait_inbox(1);
    assert_eq!(alerts(&inbox).len(), 1, "{inbox:?}");
}

const TEMPLATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../packaging/systemd/messngr-alert@.service"
);

/// The template's ExecStart for the failed unit `unit`, as words.
fn exec_start(unit: &str) -> Vec<String> {
    let unit_text = std::fs::read_to_string(TEMPLATE).unwrap();
    let line = unit_text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart=");
    line.split_whitespace()
        .map(|w| w.replace("%i", unit))
        .collect()
}

#[test]
fn the_systemd_template_verifies() {
    let unit_text = std::fs::read_to_string(TEMPLATE).unwrap();
    assert_eq!(exec_start("x.service")[..2], ["/usr/bin/messngr", "alert"]);
    assert!(
        exec_start("x.service")
            .windows(2)
            .any(|w| w == ["--unit", "x.service"])
    );
    // verify checks that ExecStart's program exists: point it at the
    // binary under test (the only change), and verify an instance, as
    // OnFailure=messngr-alert@%n.service makes one.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("messngr-alert@.service"),
        unit_text.replace("ExecStart=/usr/bin/messngr", &format!("ExecStart={BIN}")),
    )
    .unwrap();
    support::verify_unit(&dir.path().join("messngr-alert@nginx.service.service"));
}

/// Writes a journal with systemd-journal-remote from export format: three
/// lines of `unit`, one of another unit.
fn journal(dir: &Path, unit: &str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    let mut export = String::new();
    for (i, (u, msg)) in [
        (unit, "Starting the nightly job"),
        ("other.service", "a line of another unit"),
        (unit, "disk /dev/sdz1 is full"),
        (unit, "Main process exited, code=exited, status=1/FAILURE"),
    ]
    .iter()
    .enumerate()
    {
        export.push_str(&format!(
            "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n\
             _BOOT_ID=0123456789abcdef0123456789abcdef\n_SYSTEMD_UNIT={u}\n\
             _HOSTNAME=h1\nSYSLOG_IDENTIFIER=nightly\nPRIORITY=3\nMESSAGE={msg}\n\n",
            now + i as u128 * 1000,
            1000 + i
        ));
    }
    let input = dir.join("export");
    std::fs::write(&input, export).unwrap();
    let remote = [
        "/lib/systemd/systemd-journal-remote",
        "/usr/lib/systemd/systemd-journal-remote",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .expect("systemd-journal-remote (install it: ci/install-deps)");
    std::fs::create_dir_all(dir.join("journal")).unwrap();
    let o = Command::new(remote)
        .arg(format!(
            "--output={}",
            dir.join("journal/remote.journal").display()
        ))
        .arg(&input)
        .output()
        .unwrap();
    assert!(o.status.success(), "systemd-journal-remote: {}", text(&o));
}

#[test]
fn a_failed_units_alert_carries_its_journal_lines() {
    let Some(lan) = lan(2) else { return };
    let d1 = Daemon::start(&lan, 1, "H1", "[alerter]\nurgent = [\"H2\"]");
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    // Urgent from another host stays urgent only from a vetted key.
    d2.vet(&d1, "H1");
    let dir = tempfile::tempdir().unwrap();
    journal(dir.path(), "nightly.service");

    // What the template runs, on the journal just written.
    let failed = || {
        Command::new(BIN)
            .arg("--socket")
            .arg(d1.socket())
            .args(&exec_start("nightly.service")[1..])
            .arg("--journal-directory")
            .arg(dir.path().join("journal"))
            .output()
            .unwrap()
    };
    let o = failed();
    assert!(o.status.success(), "{}\n{}", text(&o), d1.log());

    let inbox = d2.wait_inbox(1);
    let got = alerts(&inbox);
    assert_eq!(got.len(), 1, "{inbox:?}");
    let m = got[0];
    assert_eq!(m["title"], "nightly.service failed", "{m}");
    assert_eq!(m["priority"], "urgent", "{m}");
    let body = m["text"].as_str().unwrap();
    assert!(body.starts_with("nightly.service failed on "), "{body}");
    for line in [
        "nightly: Starting the nightly job",
        "nightly: disk /dev/sdz1 is full",
        "nightly: Main process exited, code=exited, status=1/FAILURE",
    ] {
        assert!(body.contains(line), "{line} missing: {body}");
    }
    assert!(!body.contains("another unit"), "{body}");

    // The unit failing again collapses by its name, though the journal
    // lines differ.
    journal(dir.path(), "nightly.service");
    let o = failed();
    assert!(text(&o).contains("Alert collapsed"), "{}", text(&o));
}

#[test]
fn a_broadcast_alert_is_stored_once_and_marked_by_its_line_in_the_datagram() {
    let Some(lan) = lan(3) else { return };
    let d1 = Daemon::start(&lan, 1, "H1", "[alerter]\nlow = [\"*\"]");
    let d2 = Daemon::start(&lan, 2, "H2", "");
    let d3 = Daemon::start(&lan, 3, "H3", "");
    for d in [&d1, &d2, &d3] {
        d.wait_settled();
    }
    // H1 meets H2 (its key is pinned: it gets a signed copy); H3 it never
    // met: it gets only the datagram, as a legacy host would.
    d1.cli_ok(&["send", "H2", "hello"]);
    let o = d1.cli_ok(&[
        "alert",
        "--priority",
        "low",
        "--title",
        "drill",
        "Fire drill at 3",
    ]);
    assert!(text(&o).contains("Alert broadcast to *"), "{}", text(&o));

    let is_drill =
        |m: &&serde_json::Value| m["text"].as_str().is_some_and(|t| t.contains("Fire drill"));
    wait_for(
        Duration::from_secs(10),
        || d3.inbox().iter().any(|m| is_drill(&m)),
        || d3.log(),
    );
    let inbox = d3.inbox();
    let got: Vec<_> = inbox.iter().filter(is_drill).collect();
    assert_eq!(got.len(), 1, "{inbox:?}");
    assert_eq!(got[0]["transport"], "mailslot");
    assert_eq!(
        got[0]["text"], "ALERT: drill\nFire drill at 3",
        "{}",
        got[0]
    );

    // H2 keeps the signed copy, marked, and drops the datagram repeating it.
    wait_for(
        Duration::from_secs(10),
        || d2.inbox().iter().any(|m| is_drill(&m)),
        || d2.log(),
    );
    std::thread::sleep(Duration::from_millis(500));
    let inbox = d2.inbox();
    let got: Vec<_> = inbox.iter().filter(is_drill).collect();
    assert_eq!(got.len(), 1, "{inbox:?}\n{}", d2.log());
    assert_eq!(
        (&got[0]["alert"], &got[0]["title"]),
        (&serde_json::json!(true), &serde_json::json!("drill"))
    );
    assert_eq!(got[0]["text"], "Fire drill at 3");
}
