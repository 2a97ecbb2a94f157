//! The HTTP API (issue #12, point 2) against real daemons on a private
//! namespace LAN, driven by curl inside the hosts' namespaces: tokens made
//! with `messngr token`, required on every request and revocable; `POST
//! /v1/messages` sends as `messngr send` does; `GET /v1/messages` lists
//! only the token's account's messages; `/v1/events` streams a new message
//! live; malformed JSON, oversized bodies, a slow client and a LAN
//! address that was not enabled each get a clear answer or a closed door.
//!
//! Needs root, curl and setpriv; skipped otherwise, failed under CI.

mod support;

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::http::{URL, bearer, curl, json, token_of};
use support::{Daemon, TestUser, lan, text, wait_for};

/// A live `/v1/events` stream, read by curl inside host `i`.
struct Events(std::process::Child);

impl Events {
    fn follow(lan: &messngr_lan::Lan, i: usize, token: &str) -> Events {
        let child = lan
            .command(i, "curl")
            .args([
                "-sS",
                "-N",
                "--max-time",
                "20",
                "-H",
                &bearer(token),
                &format!("{URL}/v1/events"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The subscription is in place once curl has connected.
        std::thread::sleep(Duration::from_millis(500));
        Events(child)
    }

    /// What the stream said until `needle` (or 15 s, or its end).
    fn until(mut self, needle: &str) -> String {
        let mut seen = String::new();
        let mut out = self.0.stdout.take().unwrap();
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        while !seen.contains(needle) && start.elapsed() < Duration::from_secs(15) {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
        seen
    }
}

#[test]
fn tokens_guard_every_request_and_sends_and_lists_work() {
    let Some(lan) = lan(2) else { return };
    let d1 = Daemon::start(&lan, 1, "H1", "");
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();

    // Without a token, or with a wrong one: 401, and nothing is said.
    let (code, body) = curl(&lan, 1, &[&format!("{URL}/v1/messages")]);
    assert_eq!(code, 401, "{body}\n{}", d1.log());
    assert!(body.contains("messngr token create"), "{body}");
    let wrong = "tk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let (code, _) = curl(
        &lan,
        1,
        &["-H", &bearer(wrong), &format!("{URL}/v1/messages")],
    );
    assert_eq!(code, 401);

    let token = token_of(&d1.cli(&["token", "create", "--label", "test"]));
    let listed = text(&d1.cli_ok(&["token", "list"]));
    assert!(
        listed.contains("test") && !listed.contains(&token),
        "{listed}"
    );

    // POST /v1/messages: to H2, as root of H1.
    let (code, body) = publish(
        &lan,
        &token,
        r#"{"to":"H2","text":"over HTTP","track":true}"#,
    );
    assert_eq!(code, 200, "{body}\n{}", d1.log());
    let sent = json(&body);
    assert_eq!(sent[0]["transport"], "messngr", "{sent}");
    assert!(
        sent[0]["id"].is_i64(),
        "a tracked publish has an id: {sent}"
    );
    let got = d2.wait_inbox(1);
    assert_eq!(got[0]["text"], "over HTTP");
    assert_eq!(got[0]["author"], "root@H1", "{}", got[0]);

    // Read on H2: H1's sender hears the signed receipt on its event stream.
    let events = Events::follow(&lan, 1, &token);
    d2.cli_ok(&["read", &got[0]["id"].to_string()]);
    let seen = events.until("\"read\"");
    assert!(
        seen.contains("event: receipt") && seen.contains("\"name\":\"H2\""),
        "{seen}\n{}",
        d1.log()
    );

    // Without `track`, a publish stored here keeps no sender's copy: no id
    // to track, and H1 holds still one sent message (one to another host
    // is kept all the same: its receiver reports receipts).
    let (code, body) = publish(&lan, &token, r#"{"to":"H1","text":"fire and forget"}"#);
    assert_eq!(code, 200, "{body}\n{}", d1.log());
    let sent = json(&body);
    assert!(sent[0]["id"].is_null(), "an untracked publish: {sent}");
    assert_eq!(d1.wait_inbox(1)[0]["text"], "fire and forget");
    let exported = text(&d1.cli_ok(&["export"]));
    let out_rows = exported
        .lines()
        .filter(|l| json(l)["direction"] == "out")
        .count();
    assert_eq!(out_rows, 1, "{exported}");

    // H2 answers; H1 lists it over HTTP, and with ntfy's `auth` parameter.
    d2.cli_ok(&["send", "H1", "answer from H2"]);
    d1.wait_inbox(2);
    let (code, body) = curl(
        &lan,
        1,
        &["-H", &bearer(&token), &format!("{URL}/v1/messages")],
    );
    assert_eq!(code, 200, "{body}");
    let page = json(&body);
    assert!(
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == "answer from H2"),
        "{page}"
    );
    use base64::Engine;
    let auth = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("Bearer {token}"));
    let (code, _) = curl(
        &lan,
        1,
        &[&format!("{URL}/v1/messages?unread=true&auth={auth}")],
    );
    assert_eq!(code, 200);

    // Bad input: a clear 4xx, nothing sent.
    let (code, body) = curl(
        &lan,
        1,
        &[
            "-H",
            &bearer(&token),
            "-H",
            "Content-Type: application/json",
            "-d",
            "{not json",
            &format!("{URL}/v1/messages"),
        ],
    );
    assert_eq!(code, 400, "{body}");
    assert!(
        json(&body)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("JSON"),
        "{body}"
    );
    let big = format!(r#"{{"to":"H2","text":"{}"}}"#, "x".repeat(300 * 1024));
    let file = support::tempdir();
    let path = file.path().join("big.json");
    std::fs::write(&path, big).unwrap();
    let (code, _) = curl(
        &lan,
        1,
        &[
            "-H",
            &bearer(&token),
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &format!("@{}", path.display()),
            &format!("{URL}/v1/messages"),
        ],
    );
    assert_eq!(code, 413);
    assert_eq!(d2.inbox().len(), 1, "nothing more reached H2");

    // A DNS name rebound to 127.0.0.1, or another site's page: refused.
    for (header, want) in [
        ("Host: evil.example", 421),
        ("Sec-Fetch-Site: cross-site", 403),
        ("Origin: http://evil.example", 403),
    ] {
        let (code, body) = curl(
            &lan,
            1,
            &[
                "-H",
                &bearer(&token),
                "-H",
                header,
                &format!("{URL}/v1/messages"),
            ],
        );
        assert_eq!(code, want, "{header}: {body}");
    }

    // Revoked: refused at the next request, and its open stream ends.
    let stream = Events::follow(&lan, 1, &token);
    let id = json(&text(&d1.cli_ok(&["token", "list", "--json"])))[0]["id"].to_string();
    d1.cli_ok(&["token", "revoke", &id]);
    let (code, _) = curl(
        &lan,
        1,
        &["-H", &bearer(&token), &format!("{URL}/v1/messages")],
    );
    assert_eq!(code, 401);
    let started = Instant::now();
    stream.until("never said");
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "the revoked token's stream ended by itself"
    );
}

#[test]
fn a_token_sees_only_its_account_s_messages_and_streams_them_live() {
    let Some(lan) = lan(2) else { return };
    let tmp = support::tempdir();
    let (alice, bob) = (TestUser::create("a"), TestUser::create("b"));
    let users = support::logged_in(tmp.path(), &[(&alice.name, "pts/1"), (&bob.name, "pts/2")]);
    let d1 = Daemon::start(&lan, 1, "H1", &users);
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    d1.open_to_users();
    let a = alice.name.to_uppercase();
    wait_for(
        Duration::from_secs(15),
        || d1.state_of(&format!("{a}<03>")).as_deref() == Some("registered"),
        || d1.log(),
    );
    let ta = token_of(&alice.cli(&d1.socket(), &["token", "create"]));
    let tb = token_of(&bob.cli(&d1.socket(), &["token", "create"]));

    // Alice follows her events; a message for her arrives from H2.
    let events = Events::follow(&lan, 1, &ta);
    d2.cli_ok(&["send", &alice.name, "for alice only"]);
    let seen = events.until("for alice only");
    assert!(
        seen.contains("event: message") && seen.contains("for alice only"),
        "{seen}\n{}",
        d1.log()
    );

    let list = |t: &str| curl(&lan, 1, &["-H", &bearer(t), &format!("{URL}/v1/messages")]);
    let (code, body) = list(&ta);
    assert_eq!(code, 200);
    assert!(body.contains("for alice only"), "{body}");
    let (code, body) = list(&tb);
    assert_eq!(code, 200);
    assert!(
        !body.contains("for alice only"),
        "bob sees alice's message: {body}"
    );
    let id = json(&list(&ta).1)["messages"][0]["id"].to_string();
    let (code, _) = curl(
        &lan,
        1,
        &["-H", &bearer(&tb), &format!("{URL}/v1/messages/{id}")],
    );
    assert_eq!(code, 404, "bob cannot read it either");
}

#[test]
fn the_lan_gets_no_listener_unless_asked_and_a_slow_client_is_cut_off() {
    let Some(lan) = lan(2) else { return };
    let d1 = Daemon::start(&lan, 1, "H1", "");
    d1.wait_settled();
    // From H2: nothing listens on H1's LAN address.
    let h1 = lan.ip(1).to_string();
    let (code, _) = curl(&lan, 2, &[&format!("http://{h1}:839/v1/messages")]);
    assert_eq!(code, 0, "a LAN listener without lan = true");

    // A client that never finishes its headers is closed (slow-loris).
    let started = Instant::now();
    let mut child = lan
        .command(1, "python3")
        .args([
            "-c",
            "import socket,sys\ns=socket.create_connection(('127.0.0.1',839))\ns.sendall(b'GET /v1/messages HTTP/1.1\\r\\nHost: x\\r\\n')\ns.settimeout(60)\nprint(len(s.recv(100)))",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let status = child.wait().unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.success(), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "closed by the header deadline, not the client"
    );
    // The daemon still serves.
    let (code, _) = curl(&lan, 1, &[&format!("{URL}/v1/messages")]);
    assert_eq!(code, 401);

    // listen on the LAN without lan = true: the daemon says what to do.
    let dir = support::tempdir();
    let cfg = dir.path().join("messngr.toml");
    std::fs::write(
        &cfg,
        format!(
            "netbios_name = \"H9\"\ninterface = \"eth0\"\nstate_dir = \"{}\"\nsocket = \"{}\"\n[http]\nlisten = [\"{h1}:839\"]\n",
            dir.path().join("state").display(),
            dir.path().join("api.sock").display()
        ),
    )
    .unwrap();
    let o = lan
        .command(1, env!("CARGO_BIN_EXE_messngr"))
        .args(["daemon", "--config", cfg.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("http.lan = true"), "{}", text(&o));
}

/// `POST /v1/messages` from host 1 with `body`, as the token's account.
fn publish(lan: &messngr_lan::Lan, token: &str, body: &str) -> (u16, String) {
    curl(
        lan,
        1,
        &[
            "-H",
            &bearer(token),
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
            &format!("{URL}/v1/messages"),
        ],
    )
}
