//! Peer strings are shown inert everywhere (issue #10): a hostile
//! messngr peer's names and refusal reason, full of escape sequences, line
//! breaks and bidi controls, reach neither the daemon's log nor the CLI's
//! stderr as they are — each stays one line, its controls made visible.
//! The peer is a hand-made script (tests/peers/hostile_native.py), built
//! byte by byte, not our encoder. Needs root; skipped
//! otherwise, failed under CI.

mod support;

use std::io::BufRead;
use std::process::Stdio;

use support::{Daemon, lan, text};

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/hostile_native.py");

/// No control byte but LF, and no line the peer started.
fn assert_inert(what: &str, s: &str) {
    assert!(
        !s.chars()
            .any(|c| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c)),
        "{what} holds a raw control: {s:?}"
    );
    assert!(
        !s.lines().any(|l| l.starts_with("FAKE LOG LINE")),
        "{what} has a line the peer wrote: {s}"
    );
}

#[test]
fn a_hostile_peers_names_and_reasons_stay_one_inert_line() {
    let Some(lan) = lan(2) else { return };
    let d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();

    // A native message whose FROM and TO are hostile: refused (not ours),
    // and the log line naming it is inert.
    let o = support::run_in(
        &lan,
        2,
        "/usr/bin/python3",
        &[PEER, "send", "10.77.0.1", "H1"],
    );
    assert!(o.status.success(), "{}", text(&o));
    d.wait_log("not one of our names");
    let log = d.log();
    assert!(
        log.contains("NOTUS^[[2J^[]0;owned^G^JFAKE LOG LINE"),
        "{log}"
    );
    assert_inert("the daemon's log", &log);

    // A "messngr peer" that refuses with a hostile reason: the CLI says so
    // on one inert line and exits 4.
    let mut peer = lan
        .command(2, "/usr/bin/python3")
        .args([PEER, "refuse"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(peer.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "listening\n");
    let o = d.cli(&[
        "send",
        "--priority",
        "urgent",
        "-I",
        "10.77.0.2",
        "H2",
        "hello?",
    ]);
    let _ = peer.kill();
    let _ = peer.wait();
    assert_eq!(o.status.code(), Some(4), "{}\n{}", text(&o), d.log());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("refused the message (BadMessage: ^[[2J^[]0;owned^G^JFAKE LOG LINE \u{FFFD}evil\u{FFFD})"),
        "{err}"
    );
    assert_inert("send's stderr", &err);
    assert_inert("the daemon's log", &d.log());
}
