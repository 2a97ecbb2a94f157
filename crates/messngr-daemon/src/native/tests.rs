//! The receiving half against a real store: Accepted only once stored, a
//! retry with the same uuid stored once, refusals for names not ours and
//! for malformed frames (which also end the session).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use messngr_proto::wire::native::{Message, Priority as WirePriority, Reason, Repr};

use super::*;
use crate::inbox::Inbox;

const UUID: [u8; 16] = [0xA5; 16];

fn frame(to: &str, text: &str) -> Vec<u8> {
    frame_from("H2", to, text)
}

fn frame_from(from: &str, to: &str, text: &str) -> Vec<u8> {
    frame_signed(UUID, from, to, text, None)
}

/// A message frame with `signer`'s fields and a made-up signature (what
/// checks only who signed it needs), or unsigned.
pub(super) fn frame_signed(
    uuid: [u8; 16],
    from: &str,
    to: &str,
    text: &str,
    signer: Option<messngr_proto::wire::native::Signer<'_>>,
) -> Vec<u8> {
    Repr::Message(Message {
        uuid,
        sent_at: Some(1),
        from,
        to,
        text,
        priority: WirePriority::Urgent,
        popup_secs: Some(7),
        signature: signer.map(|_| [4; 64]),
        signer,
        replaces: None,
        retract: false,
        alert: None,
        expires_at: None,
        vouched: None,
    })
    .to_vec()
    .unwrap()
}

/// A receiver on H1 (LAN 10.77.0.0/24) with a real inbox, and the peer
/// frames come from.
struct Fixture {
    _dir: tempfile::TempDir,
    inbox: Arc<Inbox>,
    tx: crate::intake::InboxSender,
    runner: tokio::task::JoinHandle<()>,
    names: Registry,
    peer: SocketAddr,
    policy: Policy,
}

impl Fixture {
    /// `rules` with the LAN set; `quota` on the inbox before it runs.
    fn new(rules: crate::policy::Rules, quota: Option<messngr_store::Quota>) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let inbox = Arc::new(Inbox::open_at(&dir.path().join("inbox.sqlite")));
        if let Some(q) = quota {
            inbox.handle().set_quota(q).unwrap();
        }
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        let runner = tokio::spawn(crate::inbox::run(inbox.clone(), rx, Default::default()));
        let names = Registry::default();
        names.insert("H1#03".parse().unwrap());
        let rules = crate::policy::Rules {
            lan: Some("10.77.0.0/24".parse().unwrap()),
            ..rules
        };
        Fixture {
            _dir: dir,
            inbox,
            tx,
            runner,
            names,
            peer: "10.77.0.2:40000".parse().unwrap(),
            policy: Policy::new(rules, Default::default()),
        }
    }

    /// Hands `bytes` to the receiver.
    async fn receive(&self, bytes: &[u8]) -> Answer {
        receive(bytes, self.peer, &self.names, &self.policy, &self.tx).await
    }

    /// What the inbox holds.
    async fn stored(&self) -> Vec<messngr_store::Message> {
        self.inbox
            .page(0, messngr_store::Filter::default(), 50)
            .await
            .unwrap()
            .messages
    }

    /// Stops the inbox writer.
    async fn stop(self) {
        drop(self.tx);
        self.runner.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_once_accepted_twice_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Arc::new(Inbox::open_at(&dir.path().join("inbox.sqlite")));
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let runner = tokio::spawn(crate::inbox::run(inbox.clone(), rx, Default::default()));
    let names = Registry::default();
    names.insert("H1#03".parse().unwrap());
    let peer: SocketAddr = "10.77.0.2:40000".parse().unwrap();
    let rules = crate::policy::Rules {
        lan: Some("10.77.0.0/24".parse().unwrap()),
        deny_names: crate::policy::NamePatterns::parse(&["spam*".into()]).unwrap(),
        ..Default::default()
    };
    let policy = crate::policy::Policy::new(rules, Default::default());

    let bytes = frame("h1", "Urgent: the build is red");
    for attempt in 0..2 {
        let a = receive(&bytes, peer, &names, &policy, &tx).await;
        assert!(a.close.is_none(), "attempt {attempt}: {a:?}");
        assert_eq!(
            Repr::parse(&a.reply),
            Ok(Repr::Accepted { uuid: UUID }),
            "attempt {attempt}"
        );
    }
    let list = inbox
        .page(0, messngr_store::Filter::default(), 50)
        .await
        .unwrap()
        .messages;
    assert_eq!(list.len(), 1, "{list:?}");
    let m = &list[0];
    assert_eq!(m.uuid, "a5".repeat(16));
    assert_eq!(m.transport, messngr_store::Transport::Messngr);
    // Unsigned: its urgent is stored as normal (urgent_senders).
    assert_eq!(m.priority, messngr_proto::Priority::Normal);
    assert_eq!(m.popup_secs, Some(7));
    assert!(!m.verified);
    assert_eq!(m.sender_uid, None);
    assert_eq!((m.from.as_str(), m.to.as_str()), ("H2", "h1"));
    assert_eq!(m.text, "Urgent: the build is red");

    // The same uuid on a different message is no retry: refused, not
    // acknowledged as if it were stored.
    let other = frame("h1", "a different text under the same uuid");
    let a = receive(&other, peer, &names, &policy, &tx).await;
    assert!(
        matches!(Repr::parse(&a.reply), Ok(Repr::Refused { .. })),
        "{a:?}"
    );
    assert_eq!(m.source_addr.as_deref(), Some("10.77.0.2:40000"));

    // Not one of our names: refused, the session goes on.
    let a = receive(&frame("NOBODY", "hi"), peer, &names, &policy, &tx).await;
    assert!(a.close.is_none());
    assert!(matches!(
        Repr::parse(&a.reply),
        Ok(Repr::Refused {
            uuid: Some(UUID),
            reason: Reason::NotHere,
            ..
        })
    ));
    // A denied sender name: refused (Denied), not stored, counted.
    let spam = frame_from("SPAMMER", "H1", "buy now");
    let a = receive(&spam, peer, &names, &policy, &tx).await;
    assert!(a.close.is_none());
    assert!(
        matches!(
            Repr::parse(&a.reply),
            Ok(Repr::Refused {
                reason: Reason::Denied,
                ..
            })
        ),
        "{a:?}"
    );
    assert_eq!(policy.refusals().get(crate::policy::Refusal::DeniedName), 1);
    // From off the LAN (had the session let it through): refused too.
    let far: SocketAddr = "10.78.0.2:40000".parse().unwrap();
    let a = receive(&frame("H1", "hi"), far, &names, &policy, &tx).await;
    assert!(matches!(
        Repr::parse(&a.reply),
        Ok(Repr::Refused {
            reason: Reason::Denied,
            ..
        })
    ));
    // Empty text: refused.
    let a = receive(&frame("H1", "  "), peer, &names, &policy, &tx).await;
    assert!(matches!(
        Repr::parse(&a.reply),
        Ok(Repr::Refused {
            reason: Reason::BadMessage,
            ..
        })
    ));
    // Malformed (a critical field we do not know): refused, and the session ends.
    let mut bad = frame("H1", "hi");
    bad.extend(b"\x80\x00\x00");
    let a = receive(&bad, peer, &names, &policy, &tx).await;
    assert!(a.close.as_deref().unwrap().contains("critical"), "{a:?}");
    assert!(matches!(
        Repr::parse(&a.reply),
        Ok(Repr::Refused {
            uuid: None,
            reason: Reason::BadMessage,
            ..
        })
    ));
    // An Accepted where a Message belongs: the same.
    let a = receive(
        &Repr::Accepted { uuid: UUID }.to_vec().unwrap(),
        peer,
        &names,
        &policy,
        &tx,
    )
    .await;
    assert!(a.close.is_some());
    drop(tx);
    runner.await.unwrap();
}

/// Over the quota: Refused NoRoom, nothing stored, and counted as
/// `quota_full` (not `not_stored`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_quota_is_no_room_counted_as_quota_full() {
    let quota = messngr_store::Quota {
        max_messages: Some(1),
        max_messages_per_owner: None,
    };
    let f = Fixture::new(Default::default(), Some(quota));
    let a = f.receive(&frame("H1", "first")).await;
    assert_eq!(Repr::parse(&a.reply), Ok(Repr::Accepted { uuid: UUID }));
    let second = Repr::Message(Message {
        uuid: [0x5A; 16],
        sent_at: Some(1),
        from: "H2",
        to: "H1",
        text: "second",
        priority: WirePriority::Normal,
        popup_secs: None,
        signer: None,
        signature: None,
        replaces: None,
        retract: false,
        alert: None,
        expires_at: None,
        vouched: None,
    })
    .to_vec()
    .unwrap();
    let a = f.receive(&second).await;
    assert!(
        matches!(
            Repr::parse(&a.reply),
            Ok(Repr::Refused {
                reason: Reason::NoRoom,
                ..
            })
        ),
        "{a:?}"
    );
    let counted = f.policy.refusals().snapshot();
    assert_eq!(counted.get("quota_full"), Some(&1), "{counted:?}");
    assert_eq!(counted.get("not_stored"), None, "{counted:?}");
    f.stop().await;
}

/// An unsigned frame that says it is an alert is not marked as one (any
/// LAN host can send it): its words stay, as a first line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_alert_is_stored_unmarked_with_its_line() {
    let f = Fixture::new(Default::default(), None);
    let bytes = Repr::Message(Message {
        uuid: UUID,
        sent_at: Some(1),
        from: "H2",
        to: "h1",
        text: "reboot now",
        priority: WirePriority::Normal,
        popup_secs: None,
        signer: None,
        signature: None,
        replaces: None,
        retract: false,
        alert: Some(messngr_proto::wire::native::Alert {
            title: "from the admins",
            repeats: 99,
        }),
        expires_at: None,
        vouched: None,
    })
    .to_vec()
    .unwrap();
    let a = f.receive(&bytes).await;
    assert_eq!(Repr::parse(&a.reply), Ok(Repr::Accepted { uuid: UUID }));
    let list = f.stored().await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert!(list[0].alert.is_none(), "{:?}", list[0].alert);
    assert_eq!(list[0].text, "ALERT: from the admins\nreboot now");
    f.stop().await;
}

/// An update that says it was made further ahead than clocks may differ
/// is refused: ordered by its time, it would hold back its author's next
/// updates, or be applied again when offered again later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_from_the_future_is_refused() {
    let f = Fixture::new(Default::default(), None);
    let origin = Origin {
        verified: crate::secure::Verified {
            author: "root@H2".into(),
            host: "H2".into(),
            fingerprint: "x".into(),
            vetted: false,
        },
        signed: vec![1],
        relay_group: false,
        via_relay: false,
    };
    let ahead = messngr_store::clock::now_ms() + 11 * 60 * 1000;
    let update = |sent_at: i64| Message {
        uuid: [0x6B; 16],
        sent_at: Some(sent_at),
        from: "H2",
        to: "H1",
        text: "moved to 3",
        priority: WirePriority::Normal,
        popup_secs: None,
        signer: None,
        signature: None,
        replaces: Some(UUID),
        retract: false,
        alert: None,
        expires_at: None,
        vouched: None,
    };
    let far = update(ahead);
    let a = super::accept(
        &far,
        f.peer,
        &f.names,
        &f.policy,
        &f.tx,
        Some(origin.clone()),
    )
    .await;
    match Repr::parse(&a.reply) {
        Ok(Repr::Refused {
            reason: Reason::BadMessage,
            text,
            ..
        }) => assert!(text.contains("in the future"), "{text}"),
        other => panic!("{other:?}"),
    }
    // One within the skew is judged as any update (here: its message is
    // not here).
    let near = update(ahead - 2 * 60 * 1000);
    let a = super::accept(&near, f.peer, &f.names, &f.policy, &f.tx, Some(origin)).await;
    match Repr::parse(&a.reply) {
        Ok(Repr::Refused { text, .. }) => assert!(!text.contains("in the future"), "{text}"),
        other => assert!(matches!(other, Ok(Repr::Accepted { .. })), "{other:?}"),
    }
    f.stop().await;
}

/// The group test shared by the receivers and the read receipt's sender.
#[test]
fn a_groups_message_is_told_from_a_persons() {
    let policy = Policy::default();
    let registry = Registry::default();
    let team = crate::config::netbios_name("team", "TEAM").expect("a name");
    registry.insert_group(team);
    let groups = ["OPS".to_owned()];
    let to_a_group = |to: &str| {
        let relay_group = crate::relay::is_relay_group(to, &groups);
        let workgroup = policy.is_workgroup(to.as_bytes());
        crate::relay::to_a_group(to, relay_group, workgroup, &registry)
    };
    for to in ["*", "ops", " OPS", "TEAM"] {
        assert!(to_a_group(to), "{to}");
    }
    for to in ["ALICE", "OPS2", "H2"] {
        assert!(!to_a_group(to), "{to}");
    }
    // Read sync also wants a person's name here: one held now, or an
    // account's (root's, held or not); not a group left since (OPS, no
    // longer in `groups`, nor held), nor a group held (TEAM).
    registry.insert(crate::config::netbios_name("alice", "ALICE").expect("a name"));
    for to in ["ALICE", " alice ", "root"] {
        assert!(crate::relay::held_here(to, &registry), "{to}");
    }
    for to in ["OPS", "TEAM", "OPS2", "*"] {
        assert!(!crate::relay::held_here(to, &registry), "{to}");
    }
}
