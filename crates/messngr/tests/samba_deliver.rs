//! The Samba drop-in (issue #5, point 5): on a host where Samba's smbd and
//! nmbd own the NetBIOS ports, messngr's daemon runs with
//! `serve_netbios = false` and smbd's `message command` is
//! `messngr deliver %s %f %L`. A message sent with `smbclient -M` from
//! another namespace host goes smbd → messngr deliver (run by smbd as its
//! guest user) → the daemon's inbox, exactly.
//!
//! Needs root and Samba (`ci/install-deps`); skipped otherwise, failed under CI.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use support::{BIN, Daemon, SambaClient, Smbd, TestUser, lan, run_in, text, wait_for};

#[test]
fn smbd_hands_messages_to_messngr_deliver() {
    let Some(lan) = lan(2) else { return };
    // smbd runs its message command as its guest account, nobody.
    let d = Daemon::start(
        &lan,
        1,
        "H1",
        "serve_netbios = false\ndeliver_users = [\"nobody\"]\n",
    );
    // smbd runs the message command as its guest user: the socket's
    // directory must be traversable (the socket itself is 0666).
    d.open_to_users();
    let command = format!("{BIN} --socket {} deliver %s %f %L", d.socket().display());
    let smbd = Smbd::start_with(&lan, 1, "H1", Some(&command));
    // messngr left the NetBIOS ports to Samba: smbd holds TCP 139 (messngr
    // holds only its HTTP listener).
    let ss = text(&run_in(&lan, 1, "ss", &["-H", "-ltunp"]));
    let netbios = |l: &&str| {
        [":137 ", ":138 ", ":139 ", ":445 "]
            .iter()
            .any(|p| l.contains(p))
    };
    assert!(ss.contains("smbd"), "{ss}");
    assert!(
        !ss.lines().filter(netbios).any(|l| l.contains("messngr")),
        "{ss}"
    );
    let o = d.cli(&["status"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("serve_netbios = false: Samba's nmbd and smbd hold the names"),
        "{}",
        text(&o)
    );

    // smbclient -M from h2 to H1; the inbox then holds `n` messages.
    let client = SambaClient::new();
    let deliver = |to: &str, message: &str, n: usize| {
        client.message_to_h1(&lan, to, message.as_bytes(), || smbd.log());
        wait_for(
            Duration::from_secs(15),
            || d.inbox().len() >= n,
            || format!("{}\n{}", d.log(), smbd.log()),
        );
    };
    let cases = [
        "Hello through smbd",
        "two\nlines",
        "Grüße aus h2 — café",
        "quotes ' \" and $(touch /tmp/messngr-pwned) `id`; done",
    ];
    for (n, message) in cases.iter().enumerate() {
        deliver("H1", message, n + 1);
    }
    let inbox = d.inbox();
    let texts: Vec<&str> = inbox.iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, cases, "{}", d.log());
    for m in &inbox {
        assert_eq!(m["transport"], "samba", "{m}");
        assert_eq!(m["verified"], false, "{m}");
        assert_eq!(m["from"], "alice", "{m}");
        assert_eq!(
            m["to"].as_str().map(str::to_uppercase).as_deref(),
            Some("H1"),
            "{m}"
        );
    }
    assert!(!std::path::Path::new("/tmp/messngr-pwned").exists());
    // A message to a user's name (%L, the called name) is that user's.
    let dora = TestUser::create("d");
    deliver(&dora.name.to_uppercase(), "for dora", cases.len() + 1);
    let o = dora.cli(&d.socket(), &["inbox", "--json"]);
    let mine: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let texts: Vec<&str> = mine.iter().map(|m| m["text"].as_str().unwrap()).collect();
    // Hers, and the host's (everyone's by default).
    assert_eq!(texts.last(), Some(&"for dora"), "{}", d.log());
    assert_eq!(mine.len(), cases.len() + 1);
    assert_eq!(mine[cases.len()]["owner_user"], dora.name.as_str());
    // smbd's guest (nobody, a service account) delivered them but cannot
    // read them back, although host messages are everyone's by default.
    let o = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            BIN,
            "--socket",
        ])
        .arg(d.socket())
        .args(["inbox", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
}

#[test]
fn deliver_keeps_the_file_when_the_daemon_is_down_and_works_unprivileged() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("msg.X");
    std::fs::write(&file, b"kept").unwrap();
    let o = std::process::Command::new(BIN)
        .arg("--socket")
        .arg(dir.path().join("no.sock"))
        .arg("deliver")
        .arg(&file)
        .args(["alice", "H1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("stays in"), "{}", text(&o));
    assert_eq!(std::fs::read(&file).unwrap(), b"kept");

    // The account in deliver_users may deliver, unprivileged; delivering
    // gives no right to read; any other local user is refused (it could
    // forge a message from the network) and its file is kept.
    let Some(lan) = lan(1) else { return };
    let guest = TestUser::create("g");
    let d = Daemon::start(
        &lan,
        1,
        "H1",
        &format!(
            "serve_netbios = false\nhost_messages_visible_to_all = false\ndeliver_users = [\"{}\"]\n",
            guest.name
        ),
    );
    d.open_to_users();
    let mallory = TestUser::create("m");
    let spool = tempfile::tempdir().unwrap();
    std::fs::set_permissions(spool.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let msg = spool.path().join("msg.Y");
    let raw = b"caf\xc3\xa9 \xe9t\xe9\r\n\x1b[31mred";
    std::fs::write(&msg, raw).unwrap();
    std::fs::set_permissions(&msg, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = mallory.cli(
        &d.socket(),
        &["deliver", msg.to_str().unwrap(), "root", "H1"],
    );
    assert_eq!(o.status.code(), Some(2), "{}\n{}", text(&o), d.log());
    assert!(text(&o).contains("deliver_users"), "{}", text(&o));
    assert!(msg.exists(), "a refused file is kept");
    assert!(d.inbox().is_empty(), "nothing stored for mallory");
    let o = guest.cli(
        &d.socket(),
        &["deliver", msg.to_str().unwrap(), "bob", "H1"],
    );
    assert!(o.status.success(), "{}\n{}", text(&o), d.log());
    assert!(!msg.exists(), "the delivered file is removed");
    let inbox = d.inbox();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0]["from"], "bob");
    assert_eq!(inbox[0]["transport"], "samba");
    // The original bytes are kept exactly, whatever the decoding made of them.
    assert_eq!(inbox[0]["raw"], hex::encode(raw));
    let o = guest.cli(&d.socket(), &["inbox", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
}
