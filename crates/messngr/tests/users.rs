//! Per-user access (issue #5, point 1), end to end: messages sent by
//! smbclient from another namespace host to two users, an alias and the
//! host; then each user runs the CLI under its own uid (setpriv) against
//! the one daemon and must neither see, read, reply to nor delete the other
//! user's messages, nor the host's when they are configured private.
//!
//! The two users are real throwaway accounts (`useradd --system`, deleted
//! afterwards): the daemon resolves the caller's uid to a name as it would
//! in production. Needs root, Samba and setpriv; skipped when not root
//! (failed under CI); without Samba or setpriv it fails.

mod support;

use support::{Daemon, SambaClient, TestUser, lan, text};

fn ids(inbox: &[serde_json::Value]) -> Vec<i64> {
    inbox.iter().map(|m| m["id"].as_i64().unwrap()).collect()
}

fn inbox_as(u: &TestUser, d: &Daemon) -> Vec<serde_json::Value> {
    let o = u.cli(&d.socket(), &["inbox", "--json"]);
    assert!(o.status.success(), "{}: {}\n{}", u.name, text(&o), d.log());
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn one_user_cannot_see_read_reply_to_or_delete_anothers_messages() {
    let Some(lan) = lan(2) else { return };
    let alice = TestUser::create("a");
    let bob = TestUser::create("b");
    let (a_up, b_up) = (alice.name.to_uppercase(), bob.name.to_uppercase());
    let d = Daemon::start(
        &lan,
        1,
        "H1",
        &format!(
            "names = [\"{a_up}\", \"{b_up}\"]\nhost_messages_visible_to_all = false\n\
             [aliases]\nHELPDESK = \"{}\"\n",
            alice.name
        ),
    );
    d.open_to_users();
    d.wait_settled();
    let client = SambaClient::new();
    for (to, message) in [
        (a_up.as_str(), "for alice only"),
        (b_up.as_str(), "for bob only"),
        ("HELPDESK", "for the helpdesk (alice)"),
        ("H1", "for the host"),
    ] {
        client.message_to_h1(&lan, to, message.as_bytes(), || d.log());
    }
    let all = d.wait_inbox(4);
    let id_of = |t: &str| {
        all.iter()
            .find(|m| m["text"] == t)
            .unwrap_or_else(|| panic!("{t:?} not in {all:?}"))["id"]
            .as_i64()
            .unwrap()
    };
    let (a1, b1, help, host) = (
        id_of("for alice only"),
        id_of("for bob only"),
        id_of("for the helpdesk (alice)"),
        id_of("for the host"),
    );
    let owner = |id: i64| all.iter().find(|m| m["id"] == id).unwrap()["owner_user"].clone();
    assert_eq!(owner(a1), alice.name.as_str());
    assert_eq!(owner(b1), bob.name.as_str());
    assert_eq!(owner(help), alice.name.as_str());
    assert!(owner(host).is_null());

    // Listing, and the export built on it.
    assert_eq!(ids(&inbox_as(&alice, &d)), [a1, help]);
    assert_eq!(ids(&inbox_as(&bob, &d)), [b1]);
    let o = alice.cli(&d.socket(), &["export"]);
    assert!(o.status.success(), "{}", text(&o));
    let exported = String::from_utf8_lossy(&o.stdout);
    assert_eq!(exported.lines().count(), 2, "{exported}");
    assert!(!exported.contains("for bob only") && !exported.contains("for the host"));

    // Someone else's message is answered exactly like a missing one.
    let missing = alice.cli(&d.socket(), &["read", "999999"]);
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    for (cmd, id) in [
        (&["read"][..], b1),
        (&["rm"][..], b1),
        (&["reply"][..], b1),
        (&["read"][..], host),
        (&["rm"][..], host),
    ] {
        let id_s = id.to_string();
        let mut args = cmd.to_vec();
        args.push(&id_s);
        if cmd == ["reply"] {
            args.push("sneaky");
        }
        let o = alice.cli(&d.socket(), &args);
        assert_eq!(o.status.code(), Some(1), "alice {args:?}: {}", text(&o));
        assert!(o.stdout.is_empty(), "alice {args:?} printed {}", text(&o));
        assert_eq!(
            String::from_utf8_lossy(&o.stderr).replace(&id_s, "N"),
            String::from_utf8_lossy(&missing.stderr).replace("999999", "N"),
            "alice {args:?}"
        );
    }
    let o = bob.cli(&d.socket(), &["read", &a1.to_string(), "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("for alice"));

    // Nothing was deleted or marked read by the attempts.
    let now = d.inbox();
    assert_eq!(ids(&now), ids(&all));
    assert!(now.iter().all(|m| m["read_at"].is_null()), "{now:?}");

    // Each user acts on their own messages.
    let o = alice.cli(&d.socket(), &["read", &a1.to_string()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("for alice only"));
    let o = bob.cli(&d.socket(), &["rm", &b1.to_string()]);
    assert!(o.status.success(), "{}", text(&o));
    // Root sees what is left: everything but bob's deleted message.
    assert_eq!(ids(&d.inbox()), [a1, help, host]);
    // Names stay root's.
    let o = alice.cli(&d.socket(), &["name", "add", "EVIL"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// Host messages are everyone's to see by default, and no one user's to
/// change: carol can read one (it stays unread for the others) but not
/// delete it; root can do both.
#[test]
fn host_messages_are_everyones_to_see_and_only_roots_to_change() {
    let Some(lan) = lan(2) else { return };
    let carol = TestUser::create("c");
    let d = Daemon::start(&lan, 1, "H1", "");
    d.open_to_users();
    d.wait_settled();
    SambaClient::new().message_to_h1(&lan, "H1", b"to whoever is here", || d.log());
    let all = d.wait_inbox(1);
    let got = inbox_as(&carol, &d);
    assert_eq!(ids(&got), ids(&all));
    assert_eq!(got[0]["text"], "to whoever is here");
    let id = ids(&all)[0].to_string();

    let o = carol.cli(&d.socket(), &["read", &id]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("to whoever is here"));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not marked read"),
        "{}",
        text(&o)
    );
    let o = carol.cli(&d.socket(), &["rm", &id]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        format!(
            "messngr: message {id} is the host's (to H1), shared by every user: only root and admin_group may delete it"
        )
    );
    let now = d.inbox();
    assert_eq!(ids(&now), ids(&all), "carol deleted it");
    assert!(now[0]["read_at"].is_null(), "carol marked it read: {now:?}");

    d.cli_ok(&["read", &id]);
    assert!(!d.inbox()[0]["read_at"].is_null());
    d.cli_ok(&["rm", &id]);
    assert!(d.inbox().is_empty());
}
