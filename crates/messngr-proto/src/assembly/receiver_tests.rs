//! Unit tests of the receiver: every transition of §8.3, the limits, the
//! durability handshake and the timers.
#![allow(clippy::unwrap_used)] // tests may panic; see the workspace lint

use std::time::{Duration, Instant};

use super::*;
use crate::wire::codec::Writer;
use crate::wire::smb::header::{Command, Header, Smb, Status, dos};
use crate::wire::smb::message::{Body, Reply, Repr, Request};
use crate::wire::{Emit, Error};

fn req(request: Request<'_>) -> Vec<u8> {
    Repr::request(request).to_vec().unwrap()
}

fn raw(command: u8, words: &[u8], bytes: &[u8]) -> Vec<u8> {
    let smb = Smb {
        header: Header::request(Command::from(command)),
        words,
        bytes,
    };
    let mut buf = vec![0; smb.buffer_len()];
    smb.emit(&mut Writer::new(&mut buf)).unwrap();
    buf
}

fn start(from: &'static [u8], to: &'static [u8]) -> Vec<u8> {
    req(Request::SendStart {
        originator: from,
        destination: to,
    })
}

fn text(group_id: u16, text: &[u8]) -> Vec<u8> {
    req(Request::SendText { group_id, text })
}

fn end(group_id: u16) -> Vec<u8> {
    req(Request::SendEnd { group_id })
}

/// The reply's Command, Status and body.
fn reply(action: &Action) -> (Command, Status, Reply) {
    let Action::Reply(bytes) = action else {
        panic!("expected a reply, got {action:?}");
    };
    let repr = Repr::parse(bytes).unwrap();
    assert!(repr.header.is_reply());
    let Body::Reply(body) = repr.body else {
        panic!("not a reply body")
    };
    (repr.header.command, repr.status(), body)
}

fn is_error(action: &Action, code: u16) -> bool {
    matches!(reply(action), (_, s, Reply::Error) if s == Status::srv(code))
}

fn is_ack(action: &Action) -> bool {
    matches!(reply(action), (_, s, Reply::Ack) if s.is_success())
}

fn deliver(action: Action) -> (Token, MessageReceived) {
    match action {
        Action::Deliver { token, message } => (token, message),
        other => panic!("expected a delivery, got {other:?}"),
    }
}

fn rx() -> (Receiver, Instant) {
    let now = Instant::now();
    (Receiver::new(ReceiverConfig::default(), now), now)
}

#[test]
fn multi_block_message_is_assembled_and_acked_only_on_accept() {
    let (mut rx, t0) = rx();
    let (cmd, status, body) = reply(&rx.handle(t0, &start(b"alice", b"target")));
    assert_eq!(
        (cmd, status),
        (Command::SendStartMbMessage, Status::SUCCESS)
    );
    assert_eq!(body, Reply::Start { group_id: Some(1) });
    assert!(rx.in_message());
    assert!(is_ack(&rx.handle(t0, &text(1, b"Hello, "))));
    // Group id 0 (smbd-style senders) and any other id are accepted.
    assert!(is_ack(&rx.handle(t0, &text(0, b"world"))));
    let t1 = t0 + Duration::from_secs(1);
    let (token, msg) = deliver(rx.handle(t1, &end(7)));
    assert_eq!(msg.from, b"alice");
    assert_eq!(msg.to, b"target");
    assert_eq!(msg.destination_name().to_string(), "TARGET<03>");
    assert_eq!(msg.text, b"Hello, world");
    assert_eq!(
        msg.blocks().collect::<Vec<_>>(),
        [&b"Hello, "[..], b"world"]
    );
    assert!(msg.multi_block);
    assert_eq!((msg.started, msg.completed), (t0, t1));
    assert_eq!(rx.pending(), Some(token));
    assert!(!rx.in_message());
    // Nothing else is taken while the message is not durable.
    assert_eq!(rx.handle(t1, &start(b"x", b"y")), Action::Busy);
    let ack = rx.accept(token).unwrap();
    assert!(is_ack(&Action::Reply(ack.clone())));
    assert_eq!(ack[4], 0xD6);
    assert_eq!(rx.accept(token), Err(UnknownToken));
    assert_eq!(rx.pending(), None);
}

#[test]
fn send_message_is_delivered_with_its_nul_stripped() {
    let (mut rx, t0) = rx();
    let (token, msg) = deliver(rx.handle(
        t0,
        &req(Request::SendMessage {
            originator: b"H2",
            destination: b"RECVBOX",
            text: b"line\x14two\0",
        }),
    ));
    assert_eq!(msg.text, b"line\x14two");
    assert_eq!(msg.block_ends, [8]);
    assert!(!msg.multi_block);
    let bytes = rx.accept(token).unwrap();
    assert_eq!(reply(&Action::Reply(bytes)).0, Command::SendMessage);
    // Only one NUL goes.
    let (_, msg) = deliver(rx.handle(
        t0,
        &req(Request::SendMessage {
            originator: b"H2",
            destination: b"RECVBOX",
            text: b"x\0\0",
        }),
    ));
    assert_eq!(msg.text, b"x\0");
}

#[test]
fn a_send_message_leaves_an_open_multi_block_message_alone() {
    let (mut rx, t0) = rx();
    rx.handle(t0, &start(b"a", b"b"));
    rx.handle(t0, &text(1, b"part"));
    let single = req(Request::SendMessage {
        originator: b"c",
        destination: b"d",
        text: b"single",
    });
    let (token, _) = deliver(rx.handle(t0, &single));
    rx.accept(token).unwrap();
    let (_, msg) = deliver(rx.handle(t0, &end(1)));
    assert_eq!(msg.text, b"part");
}

#[test]
fn refusals_become_dos_errors_and_the_session_goes_on() {
    let cases = [
        (Refusal::NoRoom, Status::srv(dos::ERRNOROOM)),
        (Refusal::MessagesOff, Status::srv(dos::ERRMSGOFF)),
        (Refusal::Paused, Status::srv(dos::ERRPAUSED)),
        (
            Refusal::Status(Status::Nt(0xC000_00D0)),
            Status::Nt(0xC000_00D0),
        ),
        (Refusal::Status(Status::SUCCESS), Status::srv(dos::ERRERROR)),
    ];
    let (mut rx, t0) = rx();
    for (why, status) in cases {
        rx.handle(t0, &start(b"a", b"b"));
        let (token, _) = deliver(rx.handle(t0, &end(1)));
        assert_eq!(rx.refuse(Token(token.0 + 1), why), Err(UnknownToken));
        let bytes = rx.refuse(token, why).unwrap();
        assert_eq!(
            reply(&Action::Reply(bytes)),
            (Command::SendEndMbMessage, status, Reply::Error)
        );
    }
    rx.handle(t0, &start(b"a", b"b"));
    assert!(matches!(rx.handle(t0, &end(1)), Action::Deliver { .. }));
}

#[test]
fn text_or_end_without_start_is_errerror() {
    let (mut rx, t0) = rx();
    assert!(is_error(&rx.handle(t0, &text(1, b"x")), dos::ERRERROR));
    assert!(is_error(&rx.handle(t0, &end(1)), dos::ERRERROR));
    assert!(!rx.in_message());
    // And the session is still usable.
    rx.handle(t0, &start(b"a", b"b"));
    assert!(is_ack(&rx.handle(t0, &text(1, b"x"))));
}

#[test]
fn a_second_start_replaces_the_open_message() {
    let (mut rx, t0) = rx();
    rx.handle(t0, &start(b"a", b"b"));
    rx.handle(t0, &text(1, b"lost"));
    let (_, _, body) = reply(&rx.handle(t0, &start(b"c", b"d")));
    assert_eq!(body, Reply::Start { group_id: Some(2) });
    rx.handle(t0, &text(2, b"kept"));
    let (_, msg) = deliver(rx.handle(t0, &end(2)));
    assert_eq!((&msg.from[..], &msg.text[..]), (&b"c"[..], &b"kept"[..]));
}

#[test]
fn other_commands_get_errsmbcmd_and_keep_the_state() {
    let (mut rx, t0) = rx();
    rx.handle(t0, &start(b"a", b"b"));
    for code in [0xD1u8, 0xD2, 0xD3, 0xD4, 0x72, 0x25, 0xD8, 0x00] {
        let action = rx.handle(t0, &raw(code, &[], b"\x02NT LM 0.12\0"));
        assert!(is_error(&action, dos::ERRSMBCMD), "{code:#x}");
        assert_eq!(reply(&action).0, Command::from(code));
    }
    // A truncated unknown command is answered too (its body is never read).
    let mut cut = raw(0xD1, &[], b"");
    cut.truncate(33);
    assert!(is_error(&rx.handle(t0, &cut), dos::ERRSMBCMD));
    assert!(rx.in_message());
    assert!(is_ack(&rx.handle(t0, &text(1, b"still here"))));
}

#[test]
fn malformed_bodies_get_errerror_and_drop_the_open_message() {
    let (mut rx, t0) = rx();
    rx.handle(t0, &start(b"a", b"b"));
    // 0xD7 with a 0x04 buffer format instead of 0x01.
    let bad = raw(0xD7, &[1, 0], b"\x04\x02\x00hi");
    assert!(is_error(&rx.handle(t0, &bad), dos::ERRERROR));
    assert!(!rx.in_message());
    assert!(is_error(&rx.handle(t0, &end(1)), dos::ERRERROR));
    // A malformed 0xD0 (no data block) and a truncated SMB.
    assert!(is_error(
        &rx.handle(t0, &raw(0xD0, &[], b"\x04a\0\x04b\0")),
        dos::ERRERROR
    ));
    let mut cut = start(b"a", b"b");
    cut.truncate(40);
    assert!(is_error(&rx.handle(t0, &cut), dos::ERRERROR));
    // The session still works.
    rx.handle(t0, &start(b"a", b"b"));
    assert!(matches!(rx.handle(t0, &end(1)), Action::Deliver { .. }));
}

#[test]
fn limits_answer_errnoroom_or_errerror() {
    let config = ReceiverConfig {
        max_message_len: 10,
        max_block_len: 6,
        max_name_len: 4,
        max_blocks: 3,
        ..ReceiverConfig::default()
    };
    let t0 = Instant::now();
    let mut rx = Receiver::new(config, t0);
    assert_eq!(rx.config().max_blocks, 3);
    // Names: 4 bytes pass, 5 are malformed (a long START also drops the open message).
    assert!(matches!(
        reply(&rx.handle(t0, &start(b"abcd", b"wxyz"))).2,
        Reply::Start { .. }
    ));
    assert!(is_error(
        &rx.handle(t0, &start(b"abcde", b"x")),
        dos::ERRERROR
    ));
    assert!(!rx.in_message());
    // A block over max_block_len.
    rx.handle(t0, &start(b"a", b"b"));
    assert!(is_error(
        &rx.handle(t0, &text(0, b"1234567")),
        dos::ERRNOROOM
    ));
    assert!(!rx.in_message());
    // The total over max_message_len.
    rx.handle(t0, &start(b"a", b"b"));
    assert!(is_ack(&rx.handle(t0, &text(0, b"123456"))));
    assert!(is_error(&rx.handle(t0, &text(0, b"12345")), dos::ERRNOROOM));
    assert!(is_error(&rx.handle(t0, &end(0)), dos::ERRERROR));
    // More than max_blocks blocks.
    rx.handle(t0, &start(b"a", b"b"));
    for _ in 0..3 {
        assert!(is_ack(&rx.handle(t0, &text(0, b""))));
    }
    assert!(is_error(&rx.handle(t0, &text(0, b"")), dos::ERRNOROOM));
    // A single 0xD0 over the block limit; a long name in it.
    let long = raw(0xD0, &[], b"\x04a\0\x04b\0\x01\x07\x001234567");
    assert!(is_error(&rx.handle(t0, &long), dos::ERRNOROOM));
    let name = raw(0xD0, &[], b"\x04abcde\0\x04b\0\x01\x01\x00x");
    assert!(is_error(&rx.handle(t0, &name), dos::ERRERROR));
    // Exactly at the limits is fine.
    let ok = raw(0xD0, &[], b"\x04abcd\0\x04b\0\x01\x07\x00123456\0");
    assert!(matches!(rx.handle(t0, &ok), Action::Deliver { .. }));
}

#[test]
fn group_ids_are_never_zero() {
    let (mut rx, t0) = rx();
    rx.last_group_id = u16::MAX - 1;
    let gid = |rx: &mut Receiver| match reply(&rx.handle(t0, &start(b"a", b"b"))).2 {
        Reply::Start { group_id } => group_id.unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(gid(&mut rx), u16::MAX);
    assert_eq!(gid(&mut rx), 1);
    assert_eq!(gid(&mut rx), 2);
}

#[test]
fn replies_copy_the_request_ids() {
    let (mut rx, t0) = rx();
    let mut repr = Repr::request(Request::SendStart {
        originator: b"a",
        destination: b"b",
    });
    repr.header.pid_low = 0x539F;
    repr.header.mid = 9;
    repr.header.tid = 3;
    let Action::Reply(bytes) = rx.handle(t0, &repr.to_vec().unwrap()) else {
        panic!()
    };
    let h = Repr::parse(&bytes).unwrap().header;
    assert_eq!(
        (h.pid_low, h.mid, h.tid, h.flags, h.flags2),
        (0x539F, 9, 3, 0x80, 0)
    );
}

#[test]
fn non_smb_input_closes_the_session() {
    let (mut rx, t0) = rx();
    // SMB2 (as a modern client would send) and a cut SMB1 header.
    assert!(matches!(
        rx.handle(t0, b"\xfeSMB@\0\0\0"),
        Action::Close(Error::Malformed(_))
    ));
    let cut = start(b"a", b"b");
    assert!(matches!(
        rx.handle(t0, &cut[..20]),
        Action::Close(Error::Truncated { .. })
    ));
    assert!(matches!(rx.handle(t0, b""), Action::Close(_)));
}

#[test]
fn idle_timer_and_close() {
    let (mut rx, t0) = rx();
    assert_eq!(rx.poll_timeout(), Some(t0 + DEFAULT_IDLE_TIMEOUT));
    let t1 = t0 + Duration::from_secs(10);
    rx.handle(t1, &start(b"a", b"b"));
    rx.handle(t1, &text(1, b"half"));
    assert_eq!(rx.poll_timeout(), Some(t1 + DEFAULT_IDLE_TIMEOUT));
    assert!(!rx.handle_timeout(t1 + Duration::from_secs(59)));
    assert!(rx.handle_timeout(t1 + DEFAULT_IDLE_TIMEOUT));
    let partial = rx.clone().close().unwrap();
    assert_eq!((partial.text, partial.completed), (b"half".to_vec(), t1));
    // No timer while the daemon is storing a message.
    let (token, _) = deliver(rx.handle(t1, &end(1)));
    assert_eq!(rx.poll_timeout(), None);
    assert!(!rx.handle_timeout(t1 + Duration::from_secs(3600)));
    rx.accept(token).unwrap();
    assert!(rx.close().is_none());
    let never = ReceiverConfig {
        idle_timeout: Duration::MAX,
        ..ReceiverConfig::default()
    };
    let rx = Receiver::new(never, t0);
    assert_eq!(rx.poll_timeout(), None);
    assert!(!rx.handle_timeout(t0 + Duration::from_secs(1 << 40)));
}
