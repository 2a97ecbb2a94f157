//! Live notices (issue #11, point 5) on a namespace LAN with real daemons
//! and a real desktop: a sender updates and then withdraws a message it
//! sent; every recipient's inbox follows, the pop-up on Xvfb (dunst) is
//! replaced in place, and only the author can do it.
//!
//! Needs root; the desktop part needs xvfb, dbus and dunst (`ci/install-deps`);
//! skipped with a message otherwise, failed under CI.

#[path = "agent/desktop.rs"]
mod desktop;
#[path = "secure/probe.rs"]
mod probe;
mod support;

use std::time::Duration;

use desktop::{Desktop, desktop_lan};
use support::{lan, text, wait_for};

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

/// The received message the sent one with this uuid became in `inbox`:
/// stored under its uuid (another host), or linked to it by `notice_id`
/// (this host).
fn by_uuid<'a>(inbox: &'a [serde_json::Value], uuid: &str) -> &'a serde_json::Value {
    inbox
        .iter()
        .find(|m| m["uuid"] == uuid || m["notice_id"] == uuid)
        .unwrap_or_else(|| panic!("no message {uuid} in {inbox:?}"))
}

#[test]
fn an_update_and_a_retraction_reach_every_recipient_and_only_from_the_author() {
    let Some(lan) = lan(3) else { return };
    let d1 = support::Daemon::start(&lan, 1, "H1", "");
    let d2 = support::Daemon::start(&lan, 2, "H2", "");
    let d3 = support::Daemon::start(&lan, 3, "H3", "");
    for d in [&d1, &d2, &d3] {
        d.wait_settled();
    }

    // H2 sends to H1 and to H3, and to its own host name (stored here).
    let mut sent = Vec::new();
    for to in ["H1", "H3", "H2"] {
        let v = json(&d2.cli_ok(&["send", "--json", to, "The server reboots in 10 minutes"]));
        assert_eq!(v["transport"], "messngr", "{v}");
        let id = v["id"].as_i64().unwrap_or_else(|| panic!("no id: {v}"));
        sent.push((to, id, v["uuid"].as_str().unwrap().to_owned()));
    }
    let recipients = [(&d1, &sent[0]), (&d3, &sent[1]), (&d2, &sent[2])];
    for (d, (_, _, uuid)) in recipients {
        let inbox = d.wait_inbox(1);
        assert_eq!(
            by_uuid(&inbox, uuid)["text"],
            "The server reboots in 10 minutes"
        );
        // Read it: the update must make it unread again.
        let id = by_uuid(&inbox, uuid)["id"].as_i64().unwrap().to_string();
        d.cli_ok(&["read", &id]);
    }

    // A countdown: each update reaches its recipient, in place.
    for (to, id, _) in &sent {
        for left in ["5 minutes", "1 minute"] {
            let v = json(&d2.cli_ok(&[
                "update",
                "--json",
                &id.to_string(),
                &format!("The server reboots in {left}"),
            ]));
            assert_eq!(v["reached"].as_array().map(Vec::len), Some(1), "{to}: {v}");
            assert_eq!(v["failed"], serde_json::json!([]), "{to}: {v}");
        }
    }
    for (d, (_, _, uuid)) in recipients {
        let inbox = d.wait_inbox(1);
        let m = by_uuid(&inbox, uuid);
        assert_eq!(m["text"], "The server reboots in 1 minute", "{m}");
        assert!(m["updated_at_ms"].is_i64(), "{m}");
        assert!(m["read_at_ms"].is_null(), "an update is unread again: {m}");
        assert_eq!(m["author"], "root@H2", "{m}");
        assert_eq!(
            inbox.len(),
            1,
            "an update is no message of its own: {inbox:?}"
        );
    }

    // Nobody else can change it: H3's root cannot update H2's message
    // (H3 has no sent message with that id), and H1 cannot update what
    // it received.
    let received_id = by_uuid(&d1.wait_inbox(1), &sent[0].2)["id"]
        .as_i64()
        .unwrap();
    let o = d1.cli(&["update", &received_id.to_string(), "hijacked"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no sent message"),
        "{}",
        text(&o)
    );

    // Withdrawn: the words are gone everywhere.
    for (_, id, _) in &sent {
        let v = json(&d2.cli_ok(&["retract", "--json", &id.to_string()]));
        assert_eq!(v["reached"].as_array().map(Vec::len), Some(1), "{v}");
    }
    for (d, (_, _, uuid)) in recipients {
        let inbox = d.wait_inbox(1);
        let m = by_uuid(&inbox, uuid);
        assert_eq!(m["text"], "", "{m}");
        assert!(m["retracted_at_ms"].is_i64(), "{m}");
        let read = d.cli_ok(&["read", &m["id"].as_i64().unwrap().to_string()]);
        assert!(!text(&read).contains("reboots"), "{}", text(&read));
    }
    // Withdrawn once is withdrawn: a second retraction is refused.
    let o = d2.cli(&["retract", &sent[0].1.to_string()]);
    assert!(!o.status.success(), "{}", text(&o));
}

/// A trusted third host (its key pinned at its first message) signs a
/// notice naming H2's message: refused, counted, and H1's copy unchanged.
#[test]
fn another_author_cannot_change_a_message() {
    let Some(lan) = lan(3) else { return };
    let d1 = support::Daemon::start(&lan, 1, "H1", "");
    let d2 = support::Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    let v = json(&d2.cli_ok(&["send", "--json", "H1", "Meeting at ten"]));
    let uuid = v["uuid"].as_str().unwrap().to_owned();
    d1.wait_inbox(1);
    let log = || d1.log();
    // The probe has a fresh key each run: a host name of its own each time.
    for (author, name) in [("alice", "PROBE1"), ("root", "PROBE2")] {
        let v = probe::probe(
            &lan,
            3,
            &[
                "--case",
                "notice",
                "--name",
                name,
                "--author",
                author,
                "--replaces",
                &uuid,
                "--text",
                "Meeting cancelled",
            ],
            log,
        );
        let a = &v["answers"][0];
        assert_eq!(a["kind"], "refused", "{v}");
        assert_eq!(a["reason"], 2, "not a message of this author here: {v}");
    }
    let inbox = d1.inbox();
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    assert_eq!(inbox[0]["text"], "Meeting at ten");
    assert!(inbox[0]["updated_at_ms"].is_null(), "{}", inbox[0]);
    assert_eq!(d1.status()["refused"]["not_here"], 2, "{}", d1.log());
}

#[test]
fn an_update_replaces_the_pop_up_in_place() {
    let Some((_one_desktop, _lan, [d1, d2])) = desktop_lan::<2>() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut desk = Desktop::start(tmp.path());
    desk.agent(&d1.socket());
    let v = json(&d2.cli_ok(&[
        "send",
        "--json",
        "--priority",
        "urgent",
        "H1",
        "Fire drill in 10 minutes",
    ]));
    let id = v["id"].as_i64().unwrap().to_string();
    wait_for(
        Duration::from_secs(20),
        || desk.displayed() == 1,
        || desk.logs(),
    );

    d2.cli_ok(&["update", &id, "Fire drill in 2 minutes"]);
    // Replaced in place: still one pop-up, with the new text.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(desk.displayed(), 1, "{}", desk.logs());
    desk.dunstctl(&["close-all"]).expect("dunstctl close-all");
    let history = desk.dunstctl(&["history"]).unwrap_or_default();
    assert!(history.contains("Fire drill in 2 minutes"), "{history}");
    assert!(
        !history.contains("Fire drill in 10 minutes"),
        "not replaced: {history}"
    );
    assert!(history.contains("(updated)"), "{history}");

    // Withdrawn while on screen: the pop-up says so, without the words.
    let v = json(&d2.cli_ok(&["send", "--json", "H1", "Free cake in the kitchen"]));
    let id = v["id"].as_i64().unwrap().to_string();
    wait_for(
        Duration::from_secs(20),
        || desk.displayed() == 1,
        || desk.logs(),
    );
    d2.cli_ok(&["retract", &id]);
    wait_for(
        Duration::from_secs(10),
        || {
            desk.dunstctl(&["close-all"]);
            let h = desk.dunstctl(&["history"]).unwrap_or_default();
            h.contains("withdrawn by its author")
        },
        || desk.logs(),
    );
    let history = desk.dunstctl(&["history"]).unwrap_or_default();
    assert!(
        !history.contains("Free cake"),
        "the words stayed: {history}"
    );
}

/// `track --remind`: only the recipient who has not read the message gets
/// it again (unread, popping up); the one who read it is left alone.
#[test]
fn remind_reaches_only_the_unread() {
    let Some(lan) = lan(3) else { return };
    let d1 = support::Daemon::start(&lan, 1, "H1", "");
    let d2 = support::Daemon::start(&lan, 2, "H2", "");
    let d3 = support::Daemon::start(&lan, 3, "H3", "");
    for d in [&d1, &d2, &d3] {
        d.wait_settled();
    }
    let mut ids = Vec::new();
    for to in ["H1", "H3"] {
        let v = json(&d2.cli_ok(&["send", "--json", to, "Please sign the form"]));
        ids.push((
            v["id"].as_i64().unwrap().to_string(),
            v["uuid"].as_str().unwrap().to_owned(),
        ));
    }
    // H1 reads its copy; H3 does not.
    let read_id = by_uuid(&d1.wait_inbox(1), &ids[0].1)["id"]
        .as_i64()
        .unwrap();
    d1.cli_ok(&["read", &read_id.to_string()]);
    wait_for(
        Duration::from_secs(10),
        || text(&d2.cli_ok(&["track", &ids[0].0])).contains("1 of 1 read"),
        || d2.log(),
    );
    for (id, uuid) in &ids {
        let o = d2.cli_ok(&["track", "--remind", id]);
        let out = text(&o);
        if uuid == &ids[0].1 {
            assert!(out.contains("nobody to reach"), "{out}");
        } else {
            assert!(out.contains("reminded at H3"), "{out}");
        }
    }
    let h1 = by_uuid(&d1.wait_inbox(1), &ids[0].1).clone();
    assert!(
        h1["read_at_ms"].is_i64() && h1["updated_at_ms"].is_null(),
        "{h1}"
    );
    let h3 = by_uuid(&d3.wait_inbox(1), &ids[1].1).clone();
    assert!(
        h3["read_at_ms"].is_null() && h3["updated_at_ms"].is_i64(),
        "{h3}"
    );
    assert_eq!(h3["text"], "Please sign the form");
}
