//! Receipts of issue #11 on a private namespace LAN, between real daemons:
//! a read on the recipient's host (by root, or by a real local account)
//! reaches the sender as a signed receipt; `messngr track` says exactly
//! who read; `send --wait` returns 0 once read and 1 when nobody reads in
//! time, like `msg /W`; a `/users` send counts each logged-in user; a
//! receipt from a host that may not report on that recipient is refused,
//! counted and changes nothing.
//!
//! Needs root and setpriv; skipped otherwise, failed under CI.

#[path = "secure/probe.rs"]
mod probe;
mod support;

use std::process::Output;
use std::time::Duration;

use support::{Daemon, TestUser, lan, logged_in, text, wait_for};

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

/// Sends `text` from `d` as root to `to`; the sent message's (id, uuid).
fn send(d: &Daemon, to: &str, text: &str) -> (i64, String) {
    let v = json(&d.cli(&["send", "--json", to, text]));
    let v = if v.is_array() { v[0].clone() } else { v };
    let id = v["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("send to {to} kept no id: {v}\n{}", d.log()));
    (id, v["uuid"].as_str().unwrap_or_default().to_owned())
}

/// `messngr track ID --json` on `d`, as root.
fn track(d: &Daemon, id: i64) -> serde_json::Value {
    json(&d.cli(&["track", "--json", &id.to_string()]))
}

/// Each recipient's state, as "NAME=state", sorted.
fn states(v: &serde_json::Value) -> Vec<String> {
    let mut s: Vec<String> = v["recipients"]
        .as_array()
        .unwrap_or_else(|| panic!("no recipients: {v}"))
        .iter()
        .map(|r| {
            format!(
                "{}={}",
                r["name"].as_str().unwrap(),
                r["state"].as_str().unwrap()
            )
        })
        .collect();
    s.sort();
    s
}

/// Waits until `track` of `id` on `d` shows `want`.
#[track_caller]
fn wait_states(d: &Daemon, id: i64, want: &[&str]) {
    wait_for(
        Duration::from_secs(10),
        || states(&track(d, id)) == want,
        || format!("track {id}: {}\n{}", track(d, id), d.log()),
    );
}

/// The id of the received message whose text is `t` in `d`'s inbox (root).
fn received(d: &Daemon, t: &str) -> i64 {
    wait_for(
        Duration::from_secs(15),
        || d.inbox().iter().any(|m| m["text"] == t),
        || d.log(),
    );
    d.inbox()
        .iter()
        .find(|m| m["text"] == t)
        .and_then(|m| m["id"].as_i64())
        .unwrap()
}

#[test]
fn track_reports_exactly_who_read_across_hosts() {
    let Some(lan) = lan(3) else { return };
    let tmp = support::tempdir();
    let carol = TestUser::create("c");
    let eve = TestUser::create("e");
    let d1 = Daemon::start(&lan, 1, "H1", "");
    let d2 = Daemon::start(&lan, 2, "H2", "");
    let users = logged_in(tmp.path(), &[(&carol.name, "pts/1")]);
    let d3 = Daemon::start(&lan, 3, "H3", &users);
    let carol_nb = carol.name.to_uppercase();
    for d in [&d1, &d2, &d3] {
        d.wait_settled();
    }
    d2.open_to_users();
    d3.open_to_users();
    wait_for(
        Duration::from_secs(15),
        || d3.state_of(&format!("{carol_nb}<03>")).as_deref() == Some("registered"),
        || d3.log(),
    );

    let (to_h1, _) = send(&d2, "H1", "for H1");
    let (to_h3, _) = send(&d2, "H3", "for H3");
    let (to_carol, _) = send(&d2, &carol.name, "for carol");
    let carol_label = format!("{carol_nb}@H3");
    assert_eq!(states(&track(&d2, to_h1)), ["H1=delivered"]);
    assert_eq!(states(&track(&d2, to_h3)), ["H3=delivered"]);
    assert_eq!(
        states(&track(&d2, to_carol)),
        [format!("{carol_label}=delivered")]
    );

    // Root reads on H1: only H1's recipient turns read.
    let id = received(&d1, "for H1");
    d1.cli_ok(&["read", &id.to_string()]);
    wait_states(&d2, to_h1, &["H1=read"]);
    assert_eq!(states(&track(&d2, to_h3)), ["H3=delivered"]);
    assert_eq!(
        states(&track(&d2, to_carol)),
        [format!("{carol_label}=delivered")]
    );

    // carol reads hers on H3, as herself; H3's host message stays unread.
    let mine = json(&carol.cli(&d3.socket(), &["inbox", "--json"]));
    let mine = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"] == "for carol")
        .unwrap_or_else(|| panic!("carol's inbox: {mine}\n{}", d3.log()))["id"]
        .as_i64()
        .unwrap();
    let o = carol.cli(&d3.socket(), &["read", &mine.to_string()]);
    assert!(o.status.success(), "{}", text(&o));
    wait_states(&d2, to_carol, &[&format!("{carol_label}=read")]);
    assert_eq!(states(&track(&d2, to_h3)), ["H3=delivered"]);

    // A second read sends nothing new; root reads H3's host message.
    carol.cli(&d3.socket(), &["read", &mine.to_string()]);
    let id = received(&d3, "for H3");
    d3.cli_ok(&["read", &id.to_string()]);
    wait_states(&d2, to_h3, &["H3=read"]);

    // The human form: "1 of 1 read"; someone else's message looks missing.
    let o = d2.cli_ok(&["track", &to_h3.to_string()]);
    assert!(text(&o).starts_with("1 of 1 read"), "{}", text(&o));
    let o = eve.cli(&d2.socket(), &["track", &to_h3.to_string()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("no message {to_h3}")),
        "{}",
        text(&o)
    );
}

#[test]
fn send_wait_returns_when_read_and_fails_when_nobody_reads() {
    let Some(lan) = lan(2) else { return };
    let d1 = Daemon::start(&lan, 1, "H1", "");
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    // A reader on H1, in parallel: reads the message once it is there.
    let sent = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let id = received(&d1, "read me");
            d1.cli_ok(&["read", &id.to_string()]);
        });
        let o = d2.cli(&["send", "--wait", "10", "H1", "read me"]);
        reader.join().unwrap();
        o
    });
    assert_eq!(sent.status.code(), Some(0), "{}\n{}", text(&sent), d2.log());
    assert!(
        text(&sent).contains("Message read by its 1 recipient"),
        "{}",
        text(&sent)
    );

    let o = d2.cli(&["send", "--wait", "2", "H1", "nobody reads this"]);
    assert_eq!(o.status.code(), Some(1), "{}\n{}", text(&o), d2.log());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not read within 2 s (0 of 1 read); unread: H1"),
        "{err}"
    );
}

#[test]
fn a_users_send_counts_each_logged_in_user() {
    let Some(lan) = lan(1) else { return };
    let tmp = support::tempdir();
    let (alice, bob) = (TestUser::create("a"), TestUser::create("b"));
    let users = logged_in(tmp.path(), &[(&alice.name, "pts/1"), (&bob.name, "pts/2")]);
    let d = Daemon::start(&lan, 1, "H1", &users);
    d.wait_settled();
    d.open_to_users();
    let (a, b) = (alice.name.to_uppercase(), bob.name.to_uppercase());
    for n in [&a, &b] {
        wait_for(
            Duration::from_secs(15),
            || d.state_of(&format!("{n}<03>")).as_deref() == Some("registered"),
            || d.log(),
        );
    }
    let (id, _) = send(&d, "/users", "fire drill at 3");
    let v = track(&d, id);
    assert_eq!(
        (v["total"].as_u64(), v["read"].as_u64()),
        (Some(2), Some(0)),
        "{v}"
    );

    let hers = json(&alice.cli(&d.socket(), &["inbox", "--json"]));
    let hers = hers[0]["id"].as_i64().unwrap_or_else(|| panic!("{hers}"));
    let o = alice.cli(&d.socket(), &["read", &hers.to_string()]);
    assert!(o.status.success(), "{}", text(&o));
    let mut want = [format!("{a}@H1=read"), format!("{b}@H1=delivered")];
    want.sort();
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    wait_states(&d, id, &want);
    let o = d.cli_ok(&["track", &id.to_string()]);
    let shown = text(&o);
    assert!(shown.starts_with("1 of 2 read"), "{shown}");
    // The unread one first, marked.
    let rows: Vec<&str> = shown.lines().skip(1).collect();
    assert!(rows[0].starts_with(&format!("* {b}@H1 ")), "{shown}");
    assert!(rows[1].starts_with(&format!("  {a}@H1 ")), "{shown}");
}

#[test]
fn a_receipt_from_a_host_that_may_not_report_is_refused() {
    let Some(lan) = lan(3) else { return };
    let d1 = Daemon::start(&lan, 1, "H1", "");
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    let (id, uuid) = send(&d1, "H2", "only H2 may say it read this");
    let before = d1.status()["refused"].clone();
    let count = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or(0);
    let log = || d1.log();

    // PROBE3, with a key of its own, signs correctly but reports on H2.
    let v = probe::probe(
        &lan,
        3,
        &[
            "--case", "receipt", "--name", "PROBE3", "--uuid", &uuid, "--reader", "H2",
        ],
        log,
    );
    assert_eq!(v["answers"][0]["kind"], "refused", "{v}");
    assert_eq!(v["answers"][0]["reason"], 5, "{v}");
    let now = d1.status()["refused"].clone();
    assert_eq!(count(&now, "forged"), count(&before, "forged") + 1, "{now}");
    // Another probe host, about its own name, for a message it was never
    // sent: not here.
    let v = probe::probe(
        &lan,
        3,
        &[
            "--case", "receipt", "--name", "PROBE4", "--uuid", &uuid, "--reader", "PROBE4",
        ],
        log,
    );
    assert_eq!(v["answers"][0]["kind"], "refused", "{v}");
    assert_eq!(v["answers"][0]["reason"], 2, "{v}");
    assert_eq!(states(&track(&d1, id)), ["H2=delivered"], "{}", d1.log());

    // The real H2 still can.
    let m = received(&d2, "only H2 may say it read this");
    d2.cli_ok(&["read", &m.to_string()]);
    wait_states(&d1, id, &["H2=read"]);
}
