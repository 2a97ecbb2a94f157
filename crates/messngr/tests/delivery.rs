//! Delivery to people, end to end: a message sent from another namespace
//! host shows on a (tmux) terminal of its recipient with its escape
//! sequences neutralised, `mesg n` is honoured, and `[[hook]]` programs get
//! hostile text literally, never through a shell, killed after their
//! timeout without holding up the next message.
//!
//! Needs root, Samba's smbclient and tmux (`ci/install-deps`). The tmux
//! server runs in the root namespace on a private socket (no network); the
//! daemons only inside the test LAN.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use messngr_proto::text::sanitize_for_display;
use support::{Daemon, SambaClient, TestUser, lan, logged_in, text, wait_for};

/// A tmux server on a private socket with one pane that only sleeps (no
/// prompt to mix with what is written on its tty). Killed on drop.
struct Tmux {
    sock: PathBuf,
}

impl Tmux {
    fn start(dir: &Path) -> Tmux {
        let t = Tmux {
            sock: dir.join("tmux.sock"),
        };
        let o = t.run(&["new-session", "-d", "-x", "160", "-y", "50", "sleep 3600"]);
        assert!(o.status.success(), "tmux: {}", text(&o));
        t
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.sock)
            .args(args)
            .env_remove("TMUX")
            .output()
            .unwrap()
    }

    fn display(&self, format: &str) -> String {
        let o = self.run(&["display", "-p", format]);
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-J"]).stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn tmux_or_skip() -> bool {
    let ok = Command::new("tmux").arg("-V").output().is_ok();
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux missing under CI: run ci/install-deps"
        );
        eprintln!("skipped: tmux missing (ci/install-deps)");
    }
    ok
}

#[test]
fn terminal_delivery_shows_text_and_neutralises_escapes() {
    if !tmux_or_skip() {
        return;
    }
    let Some(lan) = lan(2) else { return };
    let alice = TestUser::create("a");
    let bob = TestUser::create("b");
    let tmp = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(tmp.path());
    let tty = tmux.display("#{pane_tty}");
    let line = tty
        .strip_prefix("/dev/")
        .expect("a tty under /dev")
        .to_owned();
    let title = tmux.display("#{pane_title}");
    // alice's terminal, as login would leave it: hers, group tty, mesg y.
    std::os::unix::fs::chown(&tty, Some(alice.uid), Some(support::tty_gid())).unwrap();
    std::fs::set_permissions(&tty, std::fs::Permissions::from_mode(0o620)).unwrap();
    // A stale session on a terminal that is gone comes first: it fails
    // (logged) and the live one still gets every message. bob's stale
    // entry names alice's terminal: his messages must not appear there.
    let users = logged_in(
        tmp.path(),
        &[
            (&alice.name, "pts/9999"),
            (&alice.name, &line),
            (&bob.name, &line),
        ],
    );

    let d = Daemon::start(
        &lan,
        1,
        "H1",
        &format!("terminals = true\nterminal_host_messages = true\n{users}"),
    );
    let (alice_nb, bob_nb) = (alice.name.to_uppercase(), bob.name.to_uppercase());
    wait_for(
        Duration::from_secs(15),
        || {
            d.state_of(&format!("{alice_nb}<03>")).as_deref() == Some("registered")
                && d.state_of(&format!("{bob_nb}<03>")).as_deref() == Some("registered")
        },
        || d.log(),
    );
    let client = SambaClient::new();
    let send = |to: &str, message: &[u8]| client.message_to_h1(&lan, to, message, || d.log());

    send(
        &alice_nb,
        b"hello alice\r\n[verified root@H1] Message from root to ALICE on H1 at 12:00\n\x1b]2;pwned\x07title? \x1b[2Jcleared? \x1b[31mred",
    );
    wait_for(
        Duration::from_secs(15),
        || tmux.screen().contains("red"),
        || format!("screen:\n{}\nlog:\n{}", tmux.screen(), d.log()),
    );
    let screen = tmux.screen();
    // The banner says where it came from, unverified, before any text;
    // every text line is prefixed, so the fake banner cannot pass.
    assert!(
        screen.contains("[UNVERIFIED smb from 10.")
            && screen.contains(&format!("] Message from alice to {alice_nb} on H1 at ")),
        "{screen}"
    );
    assert!(screen.contains("\n| hello alice"), "{screen}");
    for l in screen.lines().filter(|l| l.contains("Message from root")) {
        assert!(
            l.starts_with("| [verified root@H1] Message"),
            "{l:?} in {screen}"
        );
    }
    assert!(
        screen.contains("| ^[]2;pwned^Gtitle? ^[[2Jcleared? ^[[31mred"),
        "{screen}"
    );
    assert_eq!(tmux.display("#{pane_title}"), title, "the title changed");
    assert_ne!(title, "pwned");
    assert!(d.log().contains("/dev/pts/9999"), "{}", d.log());

    // bob's message: his utmp entry names a terminal that is alice's.
    send(&bob_nb, b"for bob only");
    d.wait_inbox(2);
    d.wait_log("a stale utmp entry?");
    assert!(!tmux.screen().contains("for bob only"), "{}", tmux.screen());

    // mesg n: no group-write bit, nothing written (the message is stored).
    std::fs::set_permissions(&tty, std::fs::Permissions::from_mode(0o600)).unwrap();
    send(&alice_nb, b"while mesg n");
    d.wait_inbox(3);
    d.wait_log("mesg n");
    assert!(!tmux.screen().contains("while mesg n"), "{}", tmux.screen());

    // mesg y again; a message to the host name reaches every logged-in user.
    std::fs::set_permissions(&tty, std::fs::Permissions::from_mode(0o620)).unwrap();
    send("H1", b"to the whole host");
    wait_for(
        Duration::from_secs(15),
        || tmux.screen().contains("to the whole host"),
        || format!("screen:\n{}\nlog:\n{}", tmux.screen(), d.log()),
    );
    assert!(tmux.screen().contains("Message from alice to H1 on H1"));

    // Quiet: alice's messages wait; when quiet ends, one line says so.
    let o = alice.cli(&d.socket(), &["quiet", "on"]);
    assert!(o.status.success(), "{}", text(&o));
    send(&alice_nb, b"during the meeting");
    d.wait_inbox(5);
    d.wait_log("is quiet (it waits in the inbox)");
    assert!(
        !tmux.screen().contains("during the meeting"),
        "{}",
        tmux.screen()
    );
    let o = alice.cli(&d.socket(), &["quiet", "off"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).starts_with("quiet off; "),
        "{}",
        text(&o)
    );
    wait_for(
        Duration::from_secs(10),
        || tmux.screen().contains("arrived while you were quiet"),
        || format!("screen:\n{}\nlog:\n{}", tmux.screen(), d.log()),
    );
}

/// Priority on terminals: `mesg n` holds for every message, even an urgent
/// one from root on this host (the daemon has dropped root and writes
/// terminals through the tty group only; the message waits in the inbox).
/// Quiet time: only an urgent message from root here interrupts it; a normal
/// one and an urgent one from another host wait, and the banner says who
/// is verified.
#[test]
fn mesg_n_holds_for_everyone_and_only_urgent_from_root_here_overrides_quiet() {
    if !tmux_or_skip() {
        return;
    }
    let Some(lan) = lan(2) else { return };
    let alice = TestUser::create("p");
    let tmp = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(tmp.path());
    let tty = tmux.display("#{pane_tty}");
    let line = tty.strip_prefix("/dev/").expect("a tty under /dev");
    std::os::unix::fs::chown(&tty, Some(alice.uid), Some(support::tty_gid())).unwrap();
    let mesg = |on: bool| {
        let mode = if on { 0o620 } else { 0o600 };
        std::fs::set_permissions(&tty, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let users = logged_in(tmp.path(), &[(&alice.name, line)]);
    // No network sender may send urgent here (urgent_senders = []): H2's
    // signed urgent messages are stored as normal.
    let d1 = Daemon::start(
        &lan,
        1,
        "H1",
        &format!("terminals = true\n{users}\n[secure]\nurgent_senders = []\n"),
    );
    let d2 = Daemon::start(&lan, 2, "H2", "");
    let to = alice.name.to_uppercase();
    wait_for(
        Duration::from_secs(15),
        || d1.state_of(&format!("{to}<03>")).as_deref() == Some("registered"),
        || d1.log(),
    );
    d2.wait_settled();
    let send = |d: &Daemon, text: &str| {
        let o = d.cli(&["send", "--priority", "urgent", &to, text]);
        assert!(o.status.success(), "{}\n{}", support::text(&o), d1.log());
    };

    mesg(false);
    send(&d2, "urgent from H2");
    d1.wait_inbox(1);
    d1.wait_log("mesg n");
    send(&d1, "urgent from root here");
    let inbox = d1.wait_inbox(2);
    wait_for(
        Duration::from_secs(10),
        || d1.log().matches("mesg n").count() >= 2,
        || d1.log(),
    );
    let screen = tmux.screen();
    assert!(!screen.contains("urgent from H2"), "{screen}");
    assert!(!screen.contains("urgent from root here"), "{screen}");
    let local = inbox
        .iter()
        .find(|m| m["text"] == "urgent from root here")
        .unwrap();
    assert_eq!(
        (&local["sender_uid"], &local["verified"], &local["priority"]),
        (&0.into(), &true.into(), &"urgent".into()),
        "{local}"
    );
    let remote = inbox
        .iter()
        .find(|m| m["text"] == "urgent from H2")
        .unwrap();
    assert_eq!(remote["verified"], true, "{remote}");
    assert_eq!(remote["author"], "root@H2", "{remote}");
    assert_eq!(
        remote["priority"], "normal",
        "not in urgent_senders: {remote}"
    );
    assert_eq!(remote["sender_uid"], serde_json::Value::Null, "{remote}");

    // Quiet: a normal message and an urgent one from the LAN wait; root's
    // urgent one here shows.
    mesg(true);
    let o = alice.cli(&d1.socket(), &["quiet", "on"]);
    assert!(o.status.success(), "{}", support::text(&o));
    let o = d2.cli(&["send", &to, "normal during quiet"]);
    assert!(o.status.success(), "{}", support::text(&o));
    send(&d2, "urgent from H2 during quiet");
    d1.wait_inbox(4);
    send(&d1, "urgent from root during quiet");
    wait_for(
        Duration::from_secs(10),
        || tmux.screen().contains("| urgent from root during quiet"),
        || format!("screen:\n{}\nlog:\n{}", tmux.screen(), d1.log()),
    );
    let screen = tmux.screen();
    assert!(!screen.contains("normal during quiet"), "{screen}");
    assert!(!screen.contains("urgent from H2 during quiet"), "{screen}");
    assert!(
        screen.contains("[verified root@H1] Message from root to "),
        "{screen}"
    );
    assert!(d1.log().contains("is quiet (it waits in the inbox)"));
}

/// A hook that records its argv, `MESSNGR_TEXT` and stdin per message id.
const RECORDER: &str = r#"#!/bin/sh
d="$1"
printf '%s' "$MESSNGR_TEXT" > "$d/$MESSNGR_ID.text"
printf '%s\n' "$@" > "$d/$MESSNGR_ID.argv"
cat > "$d/$MESSNGR_ID.json"
"#;

#[test]
fn hooks_get_hostile_text_literally_and_slow_hooks_are_killed() {
    let Some(lan) = lan(2) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // Hooks run as the daemon's unprivileged user: it may write both (so
    // that an injected `touch` would succeed if it ever ran).
    for d in [tmp.path(), &out] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let exec = |name: &str, body: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    };
    let recorder = exec("record.sh", RECORDER);
    // Its child records its pid: killing the hook must kill it too.
    let slow = exec(
        "slow.sh",
        "#!/bin/sh\nsleep 60 &\necho $! > \"$1/$MESSNGR_ID.sleep\"\nwait\n",
    );
    let d = Daemon::start(
        &lan,
        1,
        "H1",
        &format!(
            "[[hook]]\nprogram = \"{}\"\nargs = [\"{}\"]\ntimeout_secs = 1\n\n\
             [[hook]]\nprogram = \"{}\"\nargs = [\"{}\", \"$(touch {}/argv-pwned)\"]\n",
            slow.display(),
            out.display(),
            recorder.display(),
            out.display(),
            tmp.path().display()
        ),
    );
    d.wait_settled();
    let client = SambaClient::new();
    let p = tmp.path().display();
    let messages = [
        format!("$(touch {p}/pwned1)"),
        format!("`touch {p}/pwned2`"),
        format!("x; touch {p}/pwned3; echo \"double\" 'single'"),
        format!("line one\nline two $HOME\n\ttab \x1b[2J && touch {p}/pwned4"),
    ];
    for (n, m) in messages.iter().enumerate() {
        client.message_to_h1(&lan, "H1", m.as_bytes(), || d.log());
        d.wait_inbox(n + 1);
    }
    let inbox = d.inbox();
    assert_eq!(inbox.len(), messages.len());
    for m in &inbox {
        let id = m["id"].as_i64().unwrap();
        let stored = m["text"].as_str().unwrap();
        assert!(messages.iter().any(|x| x == stored), "{stored:?}");
        let file = |ext: &str| out.join(format!("{id}.{ext}"));
        wait_for(
            Duration::from_secs(10),
            || file("json").exists() && file("argv").exists(),
            || d.log(),
        );
        std::thread::sleep(Duration::from_millis(200));
        let expected = sanitize_for_display(stored);
        assert_eq!(std::fs::read_to_string(file("text")).unwrap(), expected);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file("json")).unwrap()).unwrap();
        assert_eq!(json["text"], *expected, "{json}");
        assert_eq!(json["id"], id);
        assert_eq!(
            std::fs::read_to_string(file("argv")).unwrap(),
            format!("{}\n$(touch {p}/argv-pwned)\n", out.display())
        );
    }
    assert!(
        std::fs::read_to_string(out.join(format!("{}.text", inbox[3]["id"])))
            .unwrap()
            .contains("\ttab ^[[2J && touch")
    );
    for f in ["pwned1", "pwned2", "pwned3", "pwned4", "argv-pwned"] {
        assert!(!tmp.path().join(f).exists(), "{f} was created");
    }
    // Every message's slow hook was killed; the recorder still ran for all.
    wait_for(
        Duration::from_secs(10),
        || d.log().matches("ran longer than 1 s: killed").count() == messages.len(),
        || d.log(),
    );
    for m in &inbox {
        let pidfile = out.join(format!("{}.sleep", m["id"]));
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()));
        assert!(
            stat.as_deref().map_or(true, |s| s.contains(") Z ")),
            "the slow hook's child {pid} survived: {stat:?}"
        );
    }
}
