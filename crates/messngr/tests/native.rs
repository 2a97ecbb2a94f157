//! messngr-to-messngr messages (issue #5, point 6) end to end on a private
//! namespace LAN: priority and `--time` from one messngr daemon to another,
//! the fallback to a plain SMB message for a real Samba smbd (and the CLI
//! saying what was dropped), and a local sender's message to a name this
//! host holds, stored with the sender's uid (root's, and a real throwaway
//! account's).
//!
//! Needs root, Samba and setpriv; skipped otherwise, failed under CI.

mod support;

use std::time::Duration;

use support::{Capture, Daemon, Smbd, TestUser, lan, run_in, text, wait_for};

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

#[test]
fn priority_and_time_travel_between_messngr_daemons() {
    let Some(lan) = lan(2) else { return };
    let cap = Capture::start(&lan, 1);
    let d1 = Daemon::start(&lan, 1, "H1", "");
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    // H1's admin vetted H2's key (urgent needs a vetted host).
    d1.vet(&d2, "H2");

    let o = d2.cli_ok(&[
        "send",
        "--json",
        "--priority",
        "urgent",
        "--time",
        "7",
        "H1",
        "Urgent: the build is red",
    ]);
    let v = json(&o);
    assert_eq!(v["transport"], "messngr", "{v}");
    assert_eq!(v["native"], true, "{v}");
    assert_eq!(v["outcome"], "delivered", "{v}");
    assert!(v.get("warning").is_none(), "{v}");

    // Without --json, by address, a low one; the text may be long.
    let long = "ü".repeat(20_000);
    let o = d2.cli_ok(&["send", "-I", "10.77.0.1", "--priority", "low", "H1", &long]);
    assert!(text(&o).contains("messngr"), "{}", text(&o));

    let inbox = d1.wait_inbox(2);
    let m = &inbox[0];
    assert_eq!(m["text"], "Urgent: the build is red", "{m}");
    assert_eq!(m["transport"], "messngr", "{m}");
    assert_eq!(m["priority"], "urgent", "{m}");
    assert_eq!(m["popup_secs"], 7, "{m}");
    // Encrypted and signed by root's key on H2, certified by H2's host
    // key, which H1's admin pinned: verified, and root@* may send urgent
    // (urgent_senders' default) from a vetted host.
    assert_eq!(m["verified"], true, "{m}");
    assert_eq!(m["author"], "root@H2", "{m}");
    assert!(
        m["sender_key"].as_str().is_some_and(|k| k.len() == 19),
        "{m}"
    );
    assert_eq!(m["sender_uid"], serde_json::Value::Null, "{m}");
    assert_eq!(m["from"], "H2", "{m}");
    assert_eq!(m["to"], "H1", "{m}");
    let m = &inbox[1];
    assert_eq!(m["text"], long.as_str());
    assert_eq!(m["priority"], "low", "{m}");
    assert_eq!(m["popup_secs"], serde_json::Value::Null, "{m}");

    // A reply to a messngr message goes back to its sender.
    let id = inbox[0]["id"].as_i64().unwrap().to_string();
    d1.cli_ok(&["reply", &id, "on it"]);
    let back = d2.wait_inbox(1);
    assert_eq!(back[0]["text"], "on it");

    // Without --priority/--time a messngr peer still gets it encrypted
    // and signed (the session is reused).
    let o = d2.cli(&["send", "--json", "H1", "plain"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(json(&o)["transport"], "messngr");
    assert_eq!(json(&o)["secure"], true);
    let third = &d1.wait_inbox(3)[2];
    assert_eq!(third["transport"], "messngr", "{third}");
    assert_eq!(third["verified"], true, "{third}");

    // A name H1 does not hold: refused by a messngr peer, exit code 4.
    let o = d2.cli(&[
        "send",
        "-I",
        "10.77.0.1",
        "--priority",
        "urgent",
        "NOBODY",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));

    // --expires: the expiry travels signed, the receiver keeps it, and no
    // listing shows the message after it (deleted within a second).
    let o = d2.cli_ok(&["send", "--expires", "3s", "H1", "for the next seconds only"]);
    assert!(text(&o).contains("messngr"), "{}", text(&o));
    let inbox = d1.wait_inbox(4);
    let m = &inbox[3];
    assert_eq!(m["text"], "for the next seconds only", "{m}");
    assert!(m["expires_at_ms"].as_i64().is_some(), "{m}");
    wait_for(
        Duration::from_secs(15),
        || d1.inbox().len() == 3,
        || format!("{:?}\n{}", d1.inbox(), d1.log()),
    );
    d1.wait_log("deleted 1 message(s) past the sender's --expires");
    cap.assert_clean(20);
}

/// Frames made byte by byte by a Python peer (not our encoder): the same
/// uuid twice is accepted twice and stored once; a malformed frame is
/// refused, ends that session, and the daemon goes on serving.
#[test]
fn hand_made_frames_retries_and_a_malformed_one() {
    let Some(lan) = lan(2) else { return };
    let d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/native_raw.py");
    let uuid = "00112233445566778899aabbccddeeff";
    let raw = |mode: &str| {
        let o = run_in(
            &lan,
            2,
            "/usr/bin/python3",
            &[script, "10.77.0.1", "H1", uuid, mode],
        );
        assert!(o.status.success(), "{}\n{}", text(&o), d.log());
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(
        raw("good").trim(),
        format!("accepted {uuid}"),
        "{}",
        d.log()
    );
    let bad = raw("bad");
    assert!(bad.starts_with("refused 1 "), "{bad}");
    assert!(bad.trim_end().ends_with("then closed"), "{bad}");
    assert_eq!(
        raw("good").trim(),
        format!("accepted {uuid}"),
        "{}",
        d.log()
    );
    let inbox = d.wait_inbox(1);
    assert_eq!(inbox.len(), 1, "the retry was stored twice: {inbox:?}");
    let m = &inbox[0];
    assert_eq!(m["uuid"], uuid);
    assert_eq!(m["text"], "raw and urgent, ü");
    assert_eq!(m["from"], "RAWPEER");
    // Unsigned: its urgent is not believed (only verified authors in
    // urgent_senders keep it), so it is stored as normal.
    assert_eq!(m["priority"], "normal");
    assert_eq!(m["popup_secs"], 9);
    assert_eq!(m["verified"], false);
    assert!(d.log().contains("malformed native frame"), "{}", d.log());
}

#[test]
fn a_samba_receiver_gets_a_plain_message_and_the_sender_is_told() {
    let Some(lan) = lan(2) else { return };
    let smbd = Smbd::start(&lan, 2, "H2");
    let d = Daemon::start(&lan, 1, "H1", "");
    d.wait_settled();
    let o = d.cli_ok(&[
        "send",
        "--json",
        "-I",
        "10.77.0.2",
        "--priority",
        "urgent",
        "--time",
        "30",
        "--expires",
        "1h",
        "H2",
        "Urgent, but Samba cannot know",
    ]);
    let v = json(&o);
    assert_eq!(v["transport"], "smb", "{v}");
    assert_eq!(v["native"], false, "{v}");
    let warning = v["warning"].as_str().unwrap_or_default();
    assert!(
        warning.contains("H2 does not speak messngr")
            && warning.contains("priority, --time and --expires were dropped"),
        "{v}"
    );
    // The human form says it on stderr.
    let o = d.cli_ok(&[
        "send",
        "-I",
        "10.77.0.2",
        "--priority",
        "low",
        "H2",
        "second",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("does not speak messngr"), "{stderr}");
    wait_for(
        Duration::from_secs(10),
        || smbd.received().len() >= 2,
        || format!("{}\n{}", smbd.log(), d.log()),
    );
    let got = smbd.received();
    assert_eq!(got[0], b"Urgent, but Samba cannot know");
    assert_eq!(got[1], b"second");
}

#[test]
fn a_local_sender_is_stored_with_its_uid() {
    let Some(lan) = lan(1) else { return };
    let user = TestUser::create("n");
    let up = user.name.to_uppercase();
    let d = Daemon::start(&lan, 1, "H1", &format!("names = [\"{up}\"]"));
    d.open_to_users();
    d.wait_settled();

    // Root, to the host name: urgent by root.
    let o = d.cli_ok(&["send", "--json", "--priority", "urgent", "H1", "from root"]);
    assert_eq!(json(&o)["transport"], "messngr");
    // A person, to the host name (its own name is held here: it is the sender).
    let o = user.cli(&d.socket(), &["send", "--time", "5", "h1", "from a user"]);
    assert!(o.status.success(), "{}\n{}", text(&o), d.log());
    let inbox = d.wait_inbox(2);
    let (r, u) = (&inbox[0], &inbox[1]);
    assert_eq!(r["text"], "from root");
    assert_eq!(r["sender_uid"], 0, "{r}");
    assert_eq!(r["verified"], true, "{r}");
    assert_eq!(r["transport"], "messngr", "{r}");
    assert_eq!(r["priority"], "urgent", "{r}");
    assert_eq!(r["from"], "root", "a verified sender is a person: {r}");
    assert_eq!(u["text"], "from a user");
    assert_eq!(u["sender_uid"], user.uid, "{u}");
    assert_eq!(u["verified"], true, "{u}");
    assert_eq!(u["priority"], "normal", "{u}");
    assert_eq!(u["popup_secs"], 5, "{u}");
    assert_eq!(u["from"], user.name.as_str(), "{u}");
    assert_eq!(u["source_addr"], serde_json::Value::Null, "{u}");

    // Root's reply to the user's message lands in the user's own inbox.
    let id = u["id"].as_i64().unwrap().to_string();
    d.cli_ok(&["reply", &id, "seen"]);
    let o = user.cli(&d.socket(), &["inbox", "--json"]);
    let mine: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let reply = mine.iter().find(|m| m["text"] == "seen");
    let reply = reply.unwrap_or_else(|| panic!("{mine:?}\n{}", d.log()));
    assert_eq!(reply["sender_uid"], 0);
    assert_eq!(reply["owner_user"], user.name.as_str());

    // A user whose name is no messenger name here still signs with it,
    // and a reply reaches that user, not the host's shared inbox.
    let other = TestUser::create("o");
    let o = other.cli(&d.socket(), &["send", "H1", "from an unregistered user"]);
    assert!(o.status.success(), "{}\n{}", text(&o), d.log());
    let m = d.wait_inbox(4);
    let m = m
        .iter()
        .find(|m| m["text"] == "from an unregistered user")
        .unwrap();
    assert_eq!(m["from"], other.name.as_str(), "{m}");
    d.cli_ok(&["reply", &m["id"].as_i64().unwrap().to_string(), "noted"]);
    let o = other.cli(&d.socket(), &["inbox", "--json"]);
    let theirs: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let noted = theirs.iter().find(|m| m["text"] == "noted");
    let noted = noted.unwrap_or_else(|| panic!("{theirs:?}\n{}", d.log()));
    assert_eq!(noted["owner_user"], other.name.as_str(), "{noted}");
    let o = user.cli(&d.socket(), &["inbox", "--json"]);
    let bystander: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        bystander.iter().all(|m| m["text"] != "noted"),
        "a reply to one user is not everyone's: {bystander:?}"
    );
}
