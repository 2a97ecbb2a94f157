//! What a host on the bus can make up: a frame "signed" on a host that
//! has no entry of its own in the directory, here the NetBIOS name of a PC
//! on the receiver's LAN, which the forger claims as a name of its own.
//! Sent longer ago than a host takes to write its entry, it is dropped at
//! once (not kept waiting 10 minutes in one of the receiver's 1 024
//! places), and the lookup it caused sends nothing of the receiver's to
//! the forger: a send to that PC still asks NetBIOS first. And a host
//! that claims a reader's name is not told what she read unless her host's
//! admin vetted it.

use std::time::Duration;

use bytes::Bytes;
use messngr_lan::Lan;
use messngr_proto::wire::Emit;
use messngr_proto::wire::native::{Message, Priority, Repr, Signer};

use super::replay::publish_again;
use super::support::{Daemon, NatsCluster, block_on_in, text, wait_for};
use super::{relay, routed_lan, two_hosts, wait_published};

/// `host`'s key, as its own directory entry gives it.
fn host_key(lan: &Lan, nats: &NatsCluster, host: &str) -> messngr_secure::PublicKey {
    let (urls, key) = (nats.urls(lan), format!("host.{}", hex::encode_upper(host)));
    let value = block_on_in(lan.ns(1), move || async move {
        let js = async_nats::jetstream::new(async_nats::connect(urls).await.expect("connect"));
        let kv = js
            .get_key_value("messngr_directory")
            .await
            .expect("the bucket");
        kv.get(key).await.expect("get").expect("the entry")
    });
    let signed: serde_json::Value = serde_json::from_slice(&value).expect("a signed entry");
    let entry: serde_json::Value =
        serde_json::from_str(signed["entry"].as_str().expect("entry")).expect("an entry");
    entry["key"].as_str().expect("key").parse().expect("a key")
}

/// A message frame to `to`, naming `host` as its author's host, with keys
/// and a signature that nobody made, sent an hour ago (a fresh one, whose
/// host may be writing its entry just now, waits a while, within the
/// budget of `native::waiting`).
fn made_up(host: &str, to: &str) -> Vec<u8> {
    let m = Message {
        uuid: *b"made-up-message!",
        sent_at: Some(messngr_store::clock::now_ms() - 3_600_000),
        from: host,
        to,
        text: "the printer wants your password",
        priority: Priority::Normal,
        popup_secs: None,
        signer: Some(Signer {
            author: "root",
            host,
            author_key: [7; 32],
            host_key: [8; 32],
            cert: [9; 64],
        }),
        signature: Some([1; 64]),
        replaces: None,
        retract: false,
        alert: None,
        expires_at: None,
        vouched: None,
    };
    Repr::Message(m).to_vec().expect("a frame")
}

#[test]
fn a_frame_signed_on_a_host_without_an_entry_is_dropped_and_routes_nothing() {
    let Some(lan) = routed_lan() else { return };
    let (nats, h1, h2) = two_hosts(&lan);
    // BOB: a PC on H2's LAN, without the relay. EVIL, on the other site,
    // claims BOB as a name of its own in the directory, and OPS2 too (in a
    // NetBIOS scope of its own, so that only the directory knows it).
    let bob = Daemon::start(&lan, 4, "BOB", "");
    let evil = Daemon::start(
        &lan,
        2,
        "EVIL",
        &format!(
            "scope = \"EVIL\"\nnames = [\"BOB\", \"OPS2\"]\n{}",
            nats.relay_config(&lan, "")
        ),
    );
    wait_published(&evil, &nats);

    // EVIL seals to H2 a frame "signed" on BOB.
    let subject = format!(
        "messngr.mail.{}.{}",
        hex::encode_upper("H2"),
        hex::encode_upper("OPS2")
    );
    let sealer = messngr_secure::Identity::generate().expect("a key");
    let envelope = messngr_secure::seal(
        &sealer,
        &host_key(&lan, &nats, "H2"),
        subject.as_bytes(),
        &made_up("BOB", "OPS2"),
    )
    .expect("sealed");
    let dropped = relay(&h2)["dropped"].as_u64().unwrap_or(0);
    publish_again(&lan, &nats, &(subject, Bytes::from(envelope)));
    // Dropped at once, counted and logged; the stream forgot it.
    wait_for(
        Duration::from_secs(20),
        || {
            relay(&h2)["dropped"].as_u64().unwrap_or(0) > dropped
                && nats.stream_messages(&lan, "MESSNGR_MAIL") == Some(0)
        },
        || format!("{}\n{}", relay(&h2), h2.log()),
    );
    h2.wait_log("a message from BOB, not believed");
    assert!(h2.inbox().is_empty(), "{:?}", h2.inbox());

    // A send to BOB from H2 still reaches the PC on its LAN, not EVIL.
    let o = h2.cli_ok(&["send", "BOB", "the door code is 4711"]);
    assert!(!text(&o).contains("relay"), "{}", text(&o));
    assert_eq!(bob.wait_inbox(1)[0]["text"], "the door code is 4711");
    std::thread::sleep(Duration::from_secs(2));
    assert!(evil.inbox().is_empty(), "{:?}", evil.inbox());

    // H1's admin vetted H2: its message to OPS2 goes there alone. Read at
    // H2, its receipt goes to H1 (its author), and not to EVIL, the one
    // other host that claims OPS2, which H2's admin did not vet.
    h1.vet(&h2, "H2");
    h1.cli_ok(&["send", "OPS2", "the minutes are attached"]);
    let got = h2.wait_inbox(1);
    h2.cli_ok(&["read", &got[0]["id"].as_i64().expect("id").to_string()]);
    h2.wait_log("not sent to EVIL, which claims OPS2 but is not vetted here");
    h2.wait_log("queued for H1 (its author)");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(relay(&evil)["dropped"], 0, "EVIL was sent a receipt");
    assert!(evil.inbox().is_empty(), "{:?}", evil.inbox());
}
