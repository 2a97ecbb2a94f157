//! Unit tests of the sender: the request sequence, group ids, refusals,
//! bad replies, timeouts, and a sender talking to a [`Receiver`].
#![allow(clippy::unwrap_used)] // tests may panic; see the workspace lint

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use crate::wire::smb::header::{Command, Status, dos};
use crate::wire::smb::message::{Body, Repr, Request};
use crate::wire::{Emit, Error};

fn parse(bytes: &[u8]) -> Repr<'_> {
    Repr::parse_request(bytes).unwrap()
}

fn request(bytes: &[u8]) -> Request<'_> {
    match parse(bytes).body {
        Body::Request(r) => r,
        Body::Reply(r) => panic!("not a request: {r:?}"),
    }
}

fn ack_of(bytes: &[u8]) -> Vec<u8> {
    Repr::ack(&parse(bytes).header).to_vec().unwrap()
}

#[test]
fn start_text_end_with_the_group_id_of_the_start_reply() {
    let t0 = Instant::now();
    let config = SenderConfig {
        pid: 0x539F,
        ..SenderConfig::default()
    };
    let mut tx = Sender::new(b"alice", b"target", b"hello", config);
    assert_eq!(tx.block_count(), 1);
    let start = tx.poll_request(t0).unwrap();
    assert_eq!(parse(&start).header.pid_low, 0x539F);
    assert_eq!(
        request(&start),
        Request::SendStart {
            originator: b"alice",
            destination: b"target"
        }
    );
    assert_eq!(tx.poll_request(t0), None, "one request at a time");
    assert_eq!(tx.group_id(), None);
    let reply = Repr::start_reply(&parse(&start).header, Some(0x1234))
        .to_vec()
        .unwrap();
    assert_eq!(tx.handle_reply(&reply), Progress::Pending);
    assert_eq!(tx.group_id(), Some(0x1234));
    let text = tx.poll_request(t0).unwrap();
    assert_eq!(
        request(&text),
        Request::SendText {
            group_id: 0x1234,
            text: b"hello"
        }
    );
    assert_eq!(tx.handle_reply(&ack_of(&text)), Progress::Pending);
    let end = tx.poll_request(t0).unwrap();
    assert_eq!(request(&end), Request::SendEnd { group_id: 0x1234 });
    assert_eq!(tx.handle_reply(&ack_of(&end)), Progress::Done);
    assert_eq!(tx.progress(), Progress::Done);
    assert_eq!(tx.poll_request(t0), None);
    assert_eq!(tx.poll_timeout(), None);
}

#[test]
fn a_start_reply_without_group_id_means_zero() {
    let t0 = Instant::now();
    let mut tx = Sender::new(b"a", b"b", b"", SenderConfig::default());
    let start = tx.poll_request(t0).unwrap();
    let reply = Repr::start_reply(&parse(&start).header, None)
        .to_vec()
        .unwrap();
    tx.handle_reply(&reply);
    assert_eq!(tx.group_id(), Some(0));
    // Empty text: no TEXT at all.
    let end = tx.poll_request(t0).unwrap();
    assert_eq!(request(&end), Request::SendEnd { group_id: 0 });
}

fn lens(tx: &Sender) -> Vec<usize> {
    tx.blocks().map(<[u8]>::len).collect()
}

#[test]
fn text_is_cut_into_blocks_of_at_most_128_bytes() {
    let text: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
    let tx = Sender::new(b"a", b"b", &text, SenderConfig::default());
    assert_eq!(lens(&tx), [128, 128, 44]);
    let tx = Sender::new(
        b"a",
        b"b",
        &text,
        SenderConfig {
            block_len: 127,
            ..SenderConfig::default()
        },
    );
    assert_eq!(lens(&tx), [127, 127, 46]);
    for silly in [0, 1000] {
        let config = SenderConfig {
            block_len: silly,
            ..SenderConfig::default()
        };
        let tx = Sender::new(b"a", b"b", b"abc", config);
        assert_eq!(tx.blocks().collect::<Vec<_>>().concat(), b"abc");
        assert!(lens(&tx).iter().all(|&n| (1..=128).contains(&n)));
    }
    assert_eq!(
        Sender::with_blocks(b"a", b"b", [vec![0; 129]], SenderConfig::default()).err(),
        Some(Error::TooLong("message block over 128 bytes"))
    );
    let tx =
        Sender::with_blocks(b"a", b"b", [&b"ab"[..], b"", b"c"], SenderConfig::default()).unwrap();
    assert_eq!(tx.blocks().collect::<Vec<_>>(), [&b"ab"[..], b"", b"c"]);
}

#[test]
fn names_are_cut_to_15_bytes_or_at_a_nul() {
    let tx = Sender::new(
        b"a-very-long-sender-name",
        b"b\0c",
        b"x",
        SenderConfig::default(),
    );
    assert!(tx.names_truncated());
    assert_eq!(
        (tx.originator(), tx.destination()),
        (&b"a-very-long-sen"[..], &b"b"[..])
    );
    assert!(!Sender::new(b"fifteen-bytes-x", b"b", b"", SenderConfig::default()).names_truncated());
}

#[test]
fn single_request_mode_uses_send_message() {
    let t0 = Instant::now();
    let config = SenderConfig {
        single_request: true,
        ..SenderConfig::default()
    };
    let mut tx = Sender::new(b"H2", b"RECVBOX", b"short", config);
    let d0 = tx.poll_request(t0).unwrap();
    assert_eq!(
        request(&d0),
        Request::SendMessage {
            originator: b"H2",
            destination: b"RECVBOX",
            text: b"short"
        }
    );
    assert_eq!(tx.handle_reply(&ack_of(&d0)), Progress::Done);
    // Longer than one block: multi-block after all.
    let mut tx = Sender::new(b"H2", b"RECVBOX", &[b'x'; 129], config);
    assert_eq!(
        parse(&tx.poll_request(t0).unwrap()).header.command,
        Command::SendStartMbMessage
    );
}

#[test]
fn refusals_are_reported_with_their_status() {
    let t0 = Instant::now();
    for status in [Status::srv(dos::ERRMSGOFF), Status::Nt(0xC000_00D0)] {
        let mut tx = Sender::new(b"a", b"b", b"x", SenderConfig::default());
        let start = tx.poll_request(t0).unwrap();
        let reply = Repr::error(&parse(&start).header, status).to_vec().unwrap();
        let expected = SendError::Refused {
            command: Command::SendStartMbMessage,
            status,
        };
        assert_eq!(tx.handle_reply(&reply), Progress::Failed(expected));
        assert_eq!(tx.poll_request(t0), None);
        assert!(
            expected
                .to_string()
                .contains("recipient does not accept messages")
        );
    }
    assert_eq!(
        status_text(Status::srv(dos::ERRNOROOM)),
        "recipient has no room for the message"
    );
    assert_eq!(
        status_text(Status::srv(dos::ERRPAUSED)),
        "recipient's messenger is paused"
    );
    assert_eq!(
        status_text(Status::srv(dos::ERRRMUNS)),
        "recipient has too many names or sessions"
    );
    assert_eq!(
        status_text(Status::srv(dos::ERRSMBCMD)),
        "recipient does not support this command"
    );
    assert_eq!(
        status_text(Status::srv(dos::ERRERROR)),
        "recipient reported an error"
    );
    assert_eq!(
        status_text(Status::Nt(0xC000_000D)),
        "recipient rejected the request as invalid"
    );
    assert_eq!(status_text(Status::Nt(0)), "success");
}

#[test]
fn wrong_malformed_unsolicited_and_late_replies_fail_the_send() {
    let t0 = Instant::now();
    let fresh = || Sender::new(b"a", b"b", b"x", SenderConfig::default());

    let mut tx = fresh();
    assert_eq!(
        tx.handle_reply(b"whatever"),
        Progress::Failed(SendError::UnsolicitedReply)
    );

    let mut tx = fresh();
    tx.poll_request(t0).unwrap();
    let other = Repr::ack(&crate::wire::smb::header::Header::request(
        Command::SendEndMbMessage,
    ));
    assert_eq!(
        tx.handle_reply(&other.to_vec().unwrap()),
        Progress::Failed(SendError::UnexpectedReply {
            expected: Command::SendStartMbMessage,
            got: Command::SendEndMbMessage
        })
    );

    let mut tx = fresh();
    let start = tx.poll_request(t0).unwrap();
    let mut reply = Repr::start_reply(&parse(&start).header, Some(1))
        .to_vec()
        .unwrap();
    reply.truncate(34);
    assert!(matches!(
        tx.handle_reply(&reply),
        Progress::Failed(SendError::BadReply { .. })
    ));

    let mut tx = fresh();
    tx.poll_request(t0).unwrap();
    let due = t0 + DEFAULT_REPLY_TIMEOUT;
    assert_eq!(tx.poll_timeout(), Some(due));
    assert_eq!(
        tx.handle_timeout(due - Duration::from_millis(1)),
        Progress::Pending
    );
    let late = Progress::Failed(SendError::Timeout {
        command: Command::SendStartMbMessage,
    });
    assert_eq!(tx.handle_timeout(due), late);
    assert_eq!(tx.poll_timeout(), None);
    assert_eq!(tx.handle_reply(b""), late, "once failed, it stays failed");

    // A timeout too large for an Instant never fires.
    let config = SenderConfig {
        reply_timeout: Duration::MAX,
        ..SenderConfig::default()
    };
    let mut tx = Sender::new(b"a", b"b", b"x", config);
    tx.poll_request(t0).unwrap();
    assert_eq!(tx.poll_timeout(), None);
    assert_eq!(
        tx.handle_timeout(t0 + Duration::from_secs(1 << 40)),
        Progress::Pending
    );
}

/// Runs a sender against a receiver until the sender finishes; returns the
/// delivered message (the receiver's daemon accepts everything).
fn converse(tx: &mut Sender) -> Option<MessageReceived> {
    let t0 = Instant::now();
    let mut rx = Receiver::new(ReceiverConfig::default(), t0);
    let mut delivered = None;
    while let Some(req) = tx.poll_request(t0) {
        let reply = match rx.handle(t0, &req) {
            Action::Reply(bytes) => bytes,
            Action::Deliver { token, message } => {
                delivered = Some(message);
                rx.accept(token).unwrap()
            }
            other => panic!("{other:?}"),
        };
        tx.handle_reply(&reply);
    }
    delivered
}

#[test]
fn sender_and_receiver_agree() {
    let mut tx = Sender::new(b"H2", b"RECVBOX", &[b'z'; 300], SenderConfig::default());
    let msg = converse(&mut tx).unwrap();
    assert_eq!(tx.progress(), Progress::Done);
    assert_eq!(
        (msg.text.len(), msg.block_ends.clone()),
        (300, vec![128, 256, 300])
    );
    assert!(msg.multi_block);
}

proptest! {
    #[test]
    fn any_text_arrives_intact(
        text in prop::collection::vec(any::<u8>(), 0..700),
        block_len in 1usize..=128,
        single_request in any::<bool>(),
        from in prop::collection::vec(1u8..=255, 0..20),
    ) {
        let config = SenderConfig { block_len, single_request, ..SenderConfig::default() };
        let mut tx = Sender::new(&from, b"RECVBOX", &text, config);
        let msg = converse(&mut tx).unwrap();
        prop_assert_eq!(tx.progress(), Progress::Done);
        // A 0xD0 loses one trailing NUL at the receiver (§7).
        let expected = if msg.multi_block { &text[..] } else { text.strip_suffix(b"\0").unwrap_or(&text) };
        prop_assert_eq!(&msg.text[..], expected);
        prop_assert_eq!(&msg.from[..], &from[..from.len().min(15)]);
    }
}
