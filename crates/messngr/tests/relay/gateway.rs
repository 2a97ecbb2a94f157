//! The secure gateway: a legacy message on one LAN, to a person on
//! another site; its forward published again once she deleted it brings
//! nothing back; a local send to her name on the gateway host, and a
//! messngr peer's on its LAN, reach her too.

use std::time::Duration;

use super::{has_text, routed_lan, wait_published};
use crate::support::{Daemon, NatsCluster, SambaClient, acknowledged, text, wait_for};

/// The secure gateway: `smbclient -M ALICE` on one subnet, to a gateway
/// that answers for ALICE there; ALICE is on the other subnet. The message
/// reaches her through the relay, unverified, with the gateway that
/// vouched for where it came from.
#[test]
fn a_legacy_message_to_a_gateway_reaches_the_user_on_another_site_unverified() {
    let Some(lan) = routed_lan() else { return };
    let nats = NatsCluster::start(&lan, &[1, 2, 4]);
    let h2 = Daemon::start(
        &lan,
        5,
        "H2",
        &format!("names = [\"ALICE\"]\n{}", nats.relay_config(&lan, "")),
    );
    let gw = Daemon::start(
        &lan,
        3,
        "GW",
        &nats.relay_config(&lan, "gateway = [\"ALICE\"]\n"),
    );
    wait_published(&h2, &nats);
    wait_published(&gw, &nats);
    // The gateway answers for ALICE on its LAN, and does not claim her in
    // the directory: a lookup there still finds H2 alone.
    wait_for(
        Duration::from_secs(30),
        || text(&gw.cli(&["lookup", "ALICE"])).contains(&lan.ip(3).to_string()),
        || text(&gw.cli(&["lookup", "ALICE"])),
    );
    let samba = SambaClient::new();
    let gw_ip = lan.ip(3).to_string();
    // Until H2's admin vetted the gateway, its forwards are refused there:
    // any host could otherwise put anyone's words in front of ALICE.
    let o = samba.message(&lan, 1, "ALICE", Some(&gw_ip), b"from an unvetted gateway");
    assert!(acknowledged(&o), "{}\n{}", text(&o), gw.log());
    h2.wait_log("not from a vetted gateway");
    assert!(h2.inbox().is_empty());
    h2.vet(&gw, "GW");
    // The forward is copied on its way, as an operator could.
    let tap = super::tap(
        &lan,
        &nats,
        &format!("messngr.mail.{}.>", hex::encode("H2")),
    );
    let o = samba.message(&lan, 1, "ALICE", Some(&gw_ip), b"the printer is on fire");
    assert!(acknowledged(&o), "{}\n{}", text(&o), gw.log());
    // On the gateway's disk first, as the legacy sender was told.
    assert!(has_text(&gw.wait_inbox(2), "the printer is on fire"));
    let got = h2.wait_inbox(1);
    let m = &got[0];
    assert_eq!(m["text"], "the printer is on fire", "{m}");
    // FROM as the legacy sender gave it (smbclient sends its user name).
    assert_eq!(m["from"], "alice", "{m}");
    assert_eq!(m["verified"], false, "{m}");
    assert!(m["author"].is_null(), "{m}");
    assert_eq!(
        m["gateway"],
        format!("GW: smb from {}", lan.ip(1)).as_str(),
        "{m}"
    );
    let shown = text(&h2.cli_ok(&["read", &m["id"].as_i64().expect("id").to_string()]));
    assert!(
        shown.contains(&format!(
            "[UNVERIFIED, forwarded by gateway GW: smb from {}]",
            lan.ip(1)
        )),
        "{shown}"
    );
    gw.wait_log(&format!(
        "for ALICE (smb from {}) forwarded: Queued",
        lan.ip(1)
    ));

    // She deletes it; the forward published again is dropped and counted
    // as a replay, and does not come back.
    let forward = tap.join().expect("the tap");
    h2.cli_ok(&["rm", &m["id"].as_i64().expect("id").to_string()]);
    let replayed = h2.refused("replayed");
    super::replay::publish_again(&lan, &nats, &forward);
    super::replay::wait_refused(&lan, &nats, &h2, "replayed", replayed + 1);
    std::thread::sleep(Duration::from_secs(1));
    assert!(h2.inbox().is_empty(), "{:?}", h2.inbox());

    // A local account's send to ALICE on the gateway host is hers too
    // (through the relay, signed by its author), not the gateway's copy.
    let sent = text(&gw.cli_ok(&["send", "ALICE", "sent on the gateway host"]));
    assert!(sent.contains("queued"), "{sent}\n{}", gw.log());
    let got = h2.wait_inbox(1);
    assert_eq!(got[0]["text"], "sent on the gateway host", "{got:?}");
    assert_eq!(got[0]["verified"], true, "{got:?}");
    assert_eq!(got[0]["author"], "root@GW", "{got:?}");
    assert!(
        !has_text(&gw.inbox(), "sent on the gateway host"),
        "not kept as the gateway's copy: {:?}",
        gw.inbox()
    );

    // A messngr peer on the gateway's LAN, with no relay of its own,
    // reaches her too: its signed message forwarded, the gateway vouching
    // for where it came from and who signed it, and whether its admin
    // vetted that key (first seen on the LAN, it is anyone's claim).
    let pc = Daemon::start(&lan, 2, "PC2", "");
    let from_peer = |text_sent: &str, n: usize| {
        let sent = text(&pc.cli_ok(&["send", "ALICE", text_sent]));
        assert!(sent.contains("GW") || sent.contains(&gw_ip), "{sent}");
        let got = h2.wait_inbox(n);
        let m = got
            .iter()
            .find(|m| m["text"] == text_sent)
            .expect("the peer's message")
            .clone();
        assert_eq!(m["verified"], false, "{m}");
        m["gateway"].as_str().expect("its gateway").to_owned()
    };
    let peer = format!("GW: messngr from {}, signed by root@PC2", lan.ip(2));
    assert_eq!(
        from_peer("from a messngr peer", 2),
        format!("{peer} (a key the gateway's admin did not vet)")
    );
    gw.vet(&pc, "PC2");
    assert_eq!(from_peer("from a vetted messngr peer", 3), peer);
}
