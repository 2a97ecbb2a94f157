//! SMB message commands (0xD0, 0xD5–0xD7 and their replies) and the sans-IO
//! receiver and sender.
//!
//! 1. The whole input as one SMB: whatever parses (as a request, a reply, or
//!    by its reply flag) must emit and parse back to an equal value, unless
//!    it is a request over an emit limit (names > 15 bytes, blocks > 128),
//!    which parse accepts and emit refuses by design. Emit may normalise:
//!    extra words and bytes are dropped, error replies lose their body.
//! 2. The input as a sequence of records `[kind][len][len bytes]` fed to a
//!    [`Receiver`]: kind < 0x80 builds an SMB of a message-ish command with
//!    the record as WordCount/words/ByteCount/bytes, kind ≥ 0x80 feeds the
//!    bytes raw. Every delivery is accepted or refused (by a bit of kind);
//!    every reply must parse as a reply to the same command.
//! 3. The same records as replies to a [`Sender`] whose text is the input.
#![no_main]
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use messngr_proto::assembly::{
    Action, Progress, Receiver, ReceiverConfig, Refusal, Sender, SenderConfig,
};
use messngr_proto::wire::Emit;
use messngr_proto::wire::smb::header::{Command, Header, SMB_FLAGS_REPLY, Status};
use messngr_proto::wire::smb::message::{Body, Repr};

const COMMANDS: [u8; 8] = [0xD0, 0xD5, 0xD7, 0xD6, 0xD7, 0xD1, 0x72, 0xD4];

fn records(data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let (&kind, tail) = rest.split_first()?;
        let (&len, tail) = tail.split_first()?;
        let n = usize::from(len).min(tail.len());
        let (body, tail) = tail.split_at(n);
        rest = tail;
        Some((kind, body))
    })
}

fn smb_of(kind: u8, body: &[u8], reply: bool) -> Vec<u8> {
    if kind >= 0x80 {
        return body.to_vec();
    }
    let mut header = Header::request(Command::from(COMMANDS[usize::from(kind % 8)]));
    if reply {
        header.flags = SMB_FLAGS_REPLY;
        if kind & 0x40 != 0 {
            header.status = Status::srv(u16::from(kind & 0x07));
        }
    }
    let mut out = vec![0u8; 32];
    let mut w = messngr_proto::wire::codec::Writer::new(&mut out);
    header.emit(&mut w).expect("32 bytes");
    out.extend_from_slice(body);
    out
}

fn check_round_trip(data: &[u8]) {
    for (parsed, as_request) in [
        (Repr::parse_request(data), Some(true)),
        (Repr::parse_reply(data), Some(false)),
        (Repr::parse(data), None),
    ] {
        let Ok(repr) = parsed else { continue };
        if let Body::Request(r) = repr.body
            && r.check_limits().is_err()
        {
            assert!(repr.to_vec().is_err());
            continue;
        }
        let bytes = repr.to_vec().expect("a parsed SMB within the limits emits");
        assert_eq!(bytes.len(), repr.buffer_len());
        let again = match as_request.unwrap_or(!repr.header.is_reply()) {
            true => Repr::parse_request(&bytes),
            false => Repr::parse_reply(&bytes),
        };
        assert_eq!(again, Ok(repr));
    }
}

fn drive_receiver(data: &[u8]) {
    let t0 = Instant::now();
    let config = ReceiverConfig {
        max_message_len: 600,
        max_block_len: 200,
        max_name_len: 40,
        max_blocks: 8,
        ..ReceiverConfig::default()
    };
    let mut rx = Receiver::new(config, t0);
    for (i, (kind, body)) in records(data).enumerate() {
        let now = t0 + Duration::from_millis(i as u64);
        let smb = smb_of(kind, body, false);
        let reply = match rx.handle(now, &smb) {
            Action::Reply(bytes) => bytes,
            Action::Deliver { token, message } => {
                assert!(message.text.len() <= config.max_message_len);
                assert!(message.block_ends.len() <= config.max_blocks.max(1));
                assert_eq!(
                    message.blocks().map(<[u8]>::len).sum::<usize>(),
                    message.text.len()
                );
                assert_eq!(rx.handle(now, &smb), Action::Busy);
                assert_eq!(rx.poll_timeout(), None);
                if kind & 1 == 0 {
                    rx.accept(token).expect("pending token")
                } else {
                    rx.refuse(token, Refusal::NoRoom).expect("pending token")
                }
            }
            Action::Busy => panic!("busy without a pending delivery"),
            Action::Close(_) => continue,
        };
        let request = Header::parse(&smb).expect("a replied SMB has a header");
        let repr = Repr::parse_reply(&reply).expect("our replies parse");
        assert_eq!(repr.header.command, request.command);
        assert!(repr.header.is_reply());
        assert_eq!(rx.pending(), None);
    }
    let _ = rx.close();
}

fn drive_sender(data: &[u8]) {
    let t0 = Instant::now();
    let config = SenderConfig {
        block_len: usize::from(data.first().copied().unwrap_or(0)),
        single_request: data.len() % 2 == 1,
        ..SenderConfig::default()
    };
    let mut tx = Sender::new(b"fuzz", b"RECVBOX", data, config);
    for (kind, body) in records(data) {
        let Some(req) = tx.poll_request(t0) else {
            break;
        };
        assert!(Repr::parse_request(&req).is_ok());
        let reply = smb_of(kind, body, true);
        if let Progress::Failed(_) | Progress::Done = tx.handle_reply(&reply) {
            break;
        }
    }
    // Whatever state it is in, a request and a missed reply end the send.
    let _ = tx.poll_request(t0);
    assert_ne!(
        tx.handle_timeout(t0 + Duration::from_secs(3600)),
        Progress::Pending
    );
}

fuzz_target!(|data: &[u8]| {
    check_round_trip(data);
    drive_receiver(data);
    drive_sender(data);
});
