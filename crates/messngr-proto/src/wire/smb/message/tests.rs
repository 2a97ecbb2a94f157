//! Unit tests of the message commands: captured frames field by field, the
//! 0xD0 layout of [MS-MSRP] §2.2.3.1, error replies, emit limits, property
//! tests.
#![allow(clippy::unwrap_used)] // tests may panic; see the workspace lint

use proptest::prelude::*;

use super::*;
use crate::wire::smb::header::{SMB_FLAGS_REPLY, dos};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

// SMBs (NBSS header removed) from smbclient-M.hex / .srv.hex and smbd-receive.hex.
const START: &str = "ff534d42d50000000000000000000000000000000000000000009f5300000000000f0004616c696365000474617267657400";
const START_REPLY: &str =
    "ff534d42d50000000080000000000000000000000000000000009f53000000000134120000";
const TEXT: &str = "ff534d42d70000000000000000000000000000000000000000009f53000000000134122100011e0048656c6c6f2066726f6d2068322076696120736d62636c69656e74202d4d";
const TEXT_REPLY: &str = "ff534d42d70000000080000000000000000000000000000000009f5300000000000000";
const END: &str = "ff534d42d60000000000000000000000000000000000000000009f53000000000134120000";
const SMBD_START_REPLY: &str =
    "ff534d42d50000000080034000000000000000000000000000000b5700000000000000";

fn round_trip(hex: &str) -> Repr<'static> {
    let bytes: &'static [u8] = unhex(hex).leak();
    let repr = Repr::parse(bytes).unwrap();
    assert_eq!(repr.to_vec().unwrap(), bytes, "{repr:?}");
    repr
}

#[test]
fn smbclient_requests_field_by_field() {
    let start = round_trip(START);
    assert_eq!(start.header.command, Command::SendStartMbMessage);
    assert_eq!((start.header.pid_low, start.header.flags), (0x539F, 0));
    assert_eq!(
        start.body,
        Body::Request(Request::SendStart {
            originator: b"alice",
            destination: b"target",
        })
    );
    let text = round_trip(TEXT);
    assert_eq!(
        text.body,
        Body::Request(Request::SendText {
            group_id: 0x1234,
            text: b"Hello from h2 via smbclient -M",
        })
    );
    let end = round_trip(END);
    assert_eq!(
        end.body,
        Body::Request(Request::SendEnd { group_id: 0x1234 })
    );
}

#[test]
fn replies_of_the_sink_and_of_smbd() {
    let start = round_trip(START_REPLY);
    assert_eq!(start.header.flags, SMB_FLAGS_REPLY);
    assert_eq!(
        start.body,
        Body::Reply(Reply::Start {
            group_id: Some(0x1234)
        })
    );
    assert_eq!(round_trip(TEXT_REPLY).body, Body::Reply(Reply::Ack));
    let smbd = round_trip(SMBD_START_REPLY);
    assert_eq!(smbd.header.flags2, 0x4003);
    assert_eq!(smbd.status(), Status::Nt(0));
    assert_eq!(smbd.body, Body::Reply(Reply::Start { group_id: None }));
}

#[test]
fn built_replies_equal_the_sink_replies() {
    let start = unhex(START);
    let start = Repr::parse(&start).unwrap();
    let reply = Repr::start_reply(&start.header, Some(0x1234));
    assert_eq!(reply.to_vec().unwrap(), unhex(START_REPLY));
    let text = unhex(TEXT);
    let text = Repr::parse(&text).unwrap();
    assert_eq!(Repr::ack(&text.header).to_vec().unwrap(), unhex(TEXT_REPLY));
}

#[test]
fn send_message_layout_follows_ms_msrp() {
    let repr = Repr::request(Request::SendMessage {
        originator: b"H2",
        destination: b"RECVBOX",
        text: b"hi\x14there\0",
    });
    let bytes = repr.to_vec().unwrap();
    assert_eq!(bytes.len(), repr.buffer_len());
    assert_eq!(&bytes[..5], b"\xffSMB\xd0");
    assert_eq!(&bytes[5..32], &[0; 27]);
    // WordCount 0, ByteCount 25, 04 "H2" 00 04 "RECVBOX" 00 01 0900 data.
    assert_eq!(&bytes[32..35], &[0, 25, 0]);
    assert_eq!(
        &bytes[35..],
        b"\x04H2\0\x04RECVBOX\0\x01\x09\x00hi\x14there\0"
    );
    assert_eq!(Repr::parse(&bytes), Ok(repr));
    let reply = Repr::ack(&repr.header).to_vec().unwrap();
    assert_eq!(reply.len(), 35);
    assert_eq!(Repr::parse(&reply).unwrap().body, Body::Reply(Reply::Ack));
}

#[test]
fn error_replies_in_dos_and_nt_form_for_any_command() {
    for code in [0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0x72, 0x00] {
        let req = Header::request(Command::from(code));
        let dos = Repr::error(&req, Status::srv(dos::ERRSMBCMD));
        let bytes = dos.to_vec().unwrap();
        assert_eq!(bytes.len(), 35);
        assert_eq!(
            &bytes[4..12],
            &[code, 0x02, 0x00, 0x40, 0x00, 0x80, 0x00, 0x00]
        );
        assert_eq!(&bytes[32..], &[0, 0, 0]);
        assert_eq!(Repr::parse(&bytes), Ok(dos));
        let nt = Repr::error(&req, Status::Nt(0xC000_00D0));
        let bytes = nt.to_vec().unwrap();
        assert_eq!(&bytes[5..12], &[0xD0, 0x00, 0x00, 0xC0, 0x80, 0x00, 0x40]);
        assert_eq!(Repr::parse_reply(&bytes), Ok(nt));
    }
}

#[test]
fn error_replies_ignore_their_body_and_come_back_canonical() {
    let req = Header::request(Command::SendTextMbMessage);
    let smb = Smb {
        header: req.reply(Status::srv(dos::ERRNOROOM)),
        words: &[1, 2],
        bytes: b"xyz",
    };
    let mut buf = vec![0; smb.buffer_len()];
    smb.emit(&mut Writer::new(&mut buf)).unwrap();
    let repr = Repr::parse(&buf).unwrap();
    assert_eq!(repr.body, Body::Reply(Reply::Error));
    assert_eq!(repr.status(), Status::srv(dos::ERRNOROOM));
    assert_eq!(repr.to_vec().unwrap().len(), 35);
}

#[test]
fn lenient_parse_of_long_names_and_blocks_strict_emit() {
    let long = [b'n'; 20];
    let text = [b't'; 200];
    let smb = |command: Command, words: &'static [u8], bytes: Vec<u8>| {
        let smb = Smb {
            header: Header::request(command),
            words,
            bytes: bytes.leak(),
        };
        let mut buf = vec![0; smb.buffer_len()];
        smb.emit(&mut Writer::new(&mut buf)).unwrap();
        buf
    };
    let mut start = vec![4];
    start.extend(long);
    start.extend([0, 4]);
    start.extend(long);
    start.push(0);
    let start = smb(Command::SendStartMbMessage, &[], start);
    let repr = Repr::parse(&start).unwrap();
    assert_eq!(
        repr.to_vec(),
        Err(Error::TooLong("message name over 15 bytes"))
    );
    let Body::Request(req) = repr.body else {
        panic!()
    };
    assert!(req.check_limits().is_err());

    let mut block = vec![1, 200, 0];
    block.extend(text);
    let text_smb = smb(Command::SendTextMbMessage, &[0, 0], block);
    let repr = Repr::parse(&text_smb).unwrap();
    assert_eq!(
        repr.to_vec(),
        Err(Error::TooLong("message block over 128 bytes"))
    );
    let nul = Repr::request(Request::SendStart {
        originator: b"a\0b",
        destination: b"x",
    });
    assert_eq!(
        nul.to_vec(),
        Err(Error::Malformed("NUL inside a message name"))
    );
}

#[test]
fn extra_words_and_bytes_are_dropped() {
    let smb = Smb {
        header: Header::request(Command::SendEndMbMessage),
        words: &[7, 0, 9, 9],
        bytes: b"junk",
    };
    let mut buf = vec![0; smb.buffer_len()];
    smb.emit(&mut Writer::new(&mut buf)).unwrap();
    let repr = Repr::parse(&buf).unwrap();
    assert_eq!(repr.body, Body::Request(Request::SendEnd { group_id: 7 }));
    assert_eq!(repr.to_vec().unwrap().len(), 37);
}

#[test]
fn malformed_requests_are_refused() {
    let start = unhex(START);
    let mut bad_format = start.clone();
    bad_format[35] = 0x03;
    assert!(matches!(Repr::parse(&bad_format), Err(Error::Malformed(_))));
    let mut no_nul = start.clone();
    let last = no_nul.len() - 1;
    no_nul[last] = b'x';
    assert!(matches!(Repr::parse(&no_nul), Err(Error::Malformed(_))));
    let mut text = unhex(TEXT);
    text[37] = 0x04;
    assert!(matches!(Repr::parse(&text), Err(Error::Malformed(_))));
    let mut text = unhex(TEXT);
    text[38] = 0x1F; // DataLength one past the ByteCount
    assert!(matches!(Repr::parse(&text), Err(Error::Truncated { .. })));
    // 0xD6 / 0xD7 without a group id.
    let mut end = Header::request(Command::SendEndMbMessage).reply(Status::SUCCESS);
    end.flags = 0;
    let smb = Smb {
        header: end,
        words: &[],
        bytes: &[],
    };
    let mut buf = vec![0; smb.buffer_len()];
    smb.emit(&mut Writer::new(&mut buf)).unwrap();
    assert!(matches!(Repr::parse(&buf), Err(Error::Malformed(_))));
    for cut in 0..start.len() {
        assert!(Repr::parse(&start[..cut]).is_err());
    }
}

#[test]
fn other_commands_are_not_parsed() {
    for code in [0xD1u8, 0xD2, 0xD3, 0xD4, 0x72, 0xD8] {
        let smb = Smb {
            header: Header::request(Command::from(code)),
            words: &[],
            bytes: &[],
        };
        assert!(matches!(Request::parse(&smb), Err(Error::Unsupported(_))));
        let ok = Smb {
            header: smb.header.reply(Status::SUCCESS),
            ..smb
        };
        assert!(matches!(Reply::parse(&ok), Err(Error::Unsupported(_))));
    }
}

#[test]
fn emit_refuses_inconsistent_headers() {
    let mut repr = Repr::request(Request::SendEnd { group_id: 1 });
    repr.header.command = Command::SendTextMbMessage;
    assert!(repr.to_vec().is_err());
    let req = Header::request(Command::SendTextMbMessage);
    assert!(Repr::error(&req, Status::SUCCESS).to_vec().is_err());
    assert!(Repr::start_reply(&req, Some(1)).to_vec().is_err());
    let mut ack = Repr::ack(&req);
    ack.header.status = Status::srv(1);
    assert!(ack.to_vec().is_err());
    let mut nt = Repr::error(&req, Status::Nt(0xC000_0001));
    nt.header.flags2 = 0;
    assert!(nt.to_vec().is_err());
    let short = Repr::ack(&req);
    assert!(matches!(
        short.emit(&mut [0; 34]),
        Err(Error::BufferTooSmall { .. })
    ));
    assert_eq!(short.emit(&mut [0; 40]), Ok(35));
}

fn arb_name() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(1u8..=255, 0..=MAX_NAME_LEN)
}

fn arb_block() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=MAX_BLOCK_LEN)
}

#[derive(Debug, Clone)]
enum Owned {
    Send(Vec<u8>, Vec<u8>, Vec<u8>),
    Start(Vec<u8>, Vec<u8>),
    Text(u16, Vec<u8>),
    End(u16),
}

impl Owned {
    fn request(&self) -> Request<'_> {
        match self {
            Self::Send(o, d, t) => Request::SendMessage {
                originator: o,
                destination: d,
                text: t,
            },
            Self::Start(o, d) => Request::SendStart {
                originator: o,
                destination: d,
            },
            Self::Text(group_id, text) => Request::SendText {
                group_id: *group_id,
                text,
            },
            Self::End(group_id) => Request::SendEnd {
                group_id: *group_id,
            },
        }
    }
}

fn arb_request() -> impl Strategy<Value = Owned> {
    prop_oneof![
        (arb_name(), arb_name(), arb_block()).prop_map(|(o, d, t)| Owned::Send(o, d, t)),
        (arb_name(), arb_name()).prop_map(|(o, d)| Owned::Start(o, d)),
        (any::<u16>(), arb_block()).prop_map(|(g, t)| Owned::Text(g, t)),
        any::<u16>().prop_map(Owned::End),
    ]
}

fn arb_header(command: Command) -> impl Strategy<Value = Header> {
    (any::<u16>(), any::<u16>(), any::<u16>(), any::<u16>()).prop_map(
        move |(pid, tid, uid, mid)| {
            let mut h = Header::request(command);
            h.pid_low = pid;
            h.tid = tid;
            h.uid = uid;
            h.mid = mid;
            h
        },
    )
}

proptest! {
    #[test]
    fn requests_round_trip(owned in arb_request(), ids in arb_header(Command::SendMessage)) {
        let request = owned.request();
        let repr = Repr {
            header: Header { command: request.command(), ..ids },
            body: Body::Request(request),
        };
        let bytes = repr.to_vec().unwrap();
        prop_assert_eq!(bytes.len(), repr.buffer_len());
        prop_assert_eq!(Repr::parse(&bytes), Ok(repr));
    }

    #[test]
    fn replies_round_trip(
        ids in arb_header(Command::SendMessage),
        command in prop::sample::select(vec![0xD0u8, 0xD5, 0xD6, 0xD7]),
        gid in any::<Option<u16>>(),
        error in prop_oneof![
            Just(None),
            (1u8..=255, any::<u16>()).prop_map(|(class, code)| Some(Status::Dos { class, code })),
            (1u32..).prop_map(|v| Some(Status::Nt(v))),
        ],
    ) {
        let req = Header { command: Command::from(command), ..ids };
        let repr = match (error, command) {
            (Some(status), _) => Repr::error(&req, status),
            (None, 0xD5) => Repr::start_reply(&req, gid),
            (None, _) => Repr::ack(&req),
        };
        let bytes = repr.to_vec().unwrap();
        prop_assert_eq!(bytes.len(), repr.buffer_len());
        prop_assert_eq!(Repr::parse(&bytes), Ok(repr));
        prop_assert_eq!(Repr::parse_reply(&bytes), Ok(repr));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        tail in prop::collection::vec(any::<u8>(), 0..80),
        command in prop::sample::select(vec![0xD0u8, 0xD5, 0xD6, 0xD7, 0xD1, 0x72]),
        flags in any::<u8>(),
        flags2 in any::<u16>(),
        status in any::<[u8; 4]>(),
    ) {
        let mut bytes = unhex(START)[..32].to_vec();
        bytes[4] = command;
        bytes[5..9].copy_from_slice(&status);
        bytes[9] = flags;
        bytes[10..12].copy_from_slice(&flags2.to_le_bytes());
        bytes.extend(tail);
        for parsed in [Repr::parse(&bytes), Repr::parse_request(&bytes), Repr::parse_reply(&bytes)] {
            let Ok(repr) = parsed else { continue };
            if let Body::Request(r) = repr.body
                && r.check_limits().is_err()
            {
                prop_assert!(repr.to_vec().is_err());
                continue;
            }
            let again = repr.to_vec().unwrap();
            let back = match repr.body {
                Body::Request(_) => Repr::parse_request(&again),
                Body::Reply(_) => Repr::parse_reply(&again),
            };
            prop_assert_eq!(back, Ok(repr));
        }
    }
}
