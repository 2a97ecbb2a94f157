//! The captured TCP 139 exchanges (`smbclient-M*.hex` with the sink's
//! `.srv.hex` replies, and `smbd-receive.hex`) decoded field by field,
//! re-encoded byte for byte, replayed into the [`Receiver`] and answered by
//! the [`Sender`].
#![allow(clippy::unwrap_used)] // tests may panic; see the workspace lint

mod common;

use std::time::Instant;

use common::{Dir, VectorFrame};
use messngr_proto::assembly::{
    Action, MessageReceived, Progress, Receiver, ReceiverConfig, Sender, SenderConfig,
};
use messngr_proto::wire::Emit;
use messngr_proto::wire::nbss::{self, PacketType};
use messngr_proto::wire::smb::header::{Command, SMB_FLAGS_REPLY, Status};
use messngr_proto::wire::smb::message::{Body, Reply, Repr, Request};

const LONG_TEXT_HEAD: &[u8] =
    b"Line one: Gr\x81\xe1e aus h2, caf\x82, na\x8bve (all in CP850).\r\n";

/// The long vector's text, as its annotation gives it.
fn long_text() -> Vec<u8> {
    [
        LONG_TEXT_HEAD,
        &[b'x'; 150],
        b"\r\n",
        &[b'y'; 150],
        b"\r\nend.",
    ]
    .concat()
}

/// The SMB inside an NBSS SESSION MESSAGE.
fn smb(frame: &[u8]) -> &[u8] {
    match nbss::Repr::parse(frame).unwrap() {
        nbss::Repr::SessionMessage { payload } => payload,
        other => panic!("not a session message: {other:?}"),
    }
}

/// Wraps an SMB into a SESSION MESSAGE.
fn wrap(smb: &[u8]) -> Vec<u8> {
    nbss::Repr::SessionMessage { payload: smb }
        .to_vec()
        .unwrap()
}

/// Every frame parses as NBSS (and as a message SMB when it is one) and
/// encodes back to the same bytes.
fn assert_round_trip(frames: &[VectorFrame], replies: bool) {
    for (i, f) in frames.iter().enumerate() {
        let repr = nbss::Repr::parse(&f.bytes).unwrap();
        assert_eq!(repr.to_vec().unwrap(), f.bytes, "NBSS frame {i}");
        assert_eq!(nbss::frame_len(&f.bytes, 200), Ok(Some(f.bytes.len())));
        if let nbss::Repr::SessionMessage { payload } = repr {
            let is_reply = f.dir == Some(Dir::ToClient) || (f.dir.is_none() && replies);
            let msg = if is_reply {
                Repr::parse_reply(payload)
            } else {
                Repr::parse_request(payload)
            }
            .unwrap();
            assert_eq!(
                msg,
                Repr::parse(payload).unwrap(),
                "frame {i}: flags agree with the direction"
            );
            assert_eq!(msg.to_vec().unwrap(), payload, "SMB of frame {i}");
        }
    }
}

fn request(frame: &[u8]) -> Repr<'_> {
    Repr::parse_request(smb(frame)).unwrap()
}

fn reply(frame: &[u8]) -> Repr<'_> {
    Repr::parse_reply(smb(frame)).unwrap()
}

fn session_request_names(frame: &[u8]) -> (String, String) {
    match nbss::Repr::parse(frame).unwrap() {
        nbss::Repr::SessionRequest { called, calling } => (called.to_string(), calling.to_string()),
        other => panic!("not a session request: {other:?}"),
    }
}

/// The fields every smbclient vector shares: session request, START, END.
fn check_smbclient_frames(frames: &[VectorFrame], pid: u16) -> Vec<Vec<u8>> {
    assert_eq!(
        session_request_names(&frames[0].bytes),
        ("TARGET<03>".into(), "SENDERBOX<00>".into())
    );
    assert_eq!(frames[0].bytes[..4], [0x81, 0x00, 0x00, 0x44]);
    let start = request(&frames[1].bytes);
    assert_eq!(start.header.command, Command::SendStartMbMessage);
    assert_eq!(
        (
            start.header.pid_low,
            start.header.flags,
            start.header.flags2
        ),
        (pid, 0, 0)
    );
    assert_eq!(
        (start.header.tid, start.header.uid, start.header.mid),
        (0, 0, 0)
    );
    assert_eq!(start.status(), Status::SUCCESS);
    assert_eq!(
        start.body,
        Body::Request(Request::SendStart {
            originator: b"alice",
            destination: b"target"
        })
    );
    let last = frames.len() - 1;
    let end = request(&frames[last].bytes);
    assert_eq!(
        end.body,
        Body::Request(Request::SendEnd { group_id: 0x1234 })
    );
    assert_eq!(end.header.pid_low, pid);
    frames[2..last]
        .iter()
        .map(|f| match request(&f.bytes).body {
            Body::Request(Request::SendText {
                group_id: 0x1234,
                text,
            }) => text.to_vec(),
            other => panic!("not a TEXT with group id 0x1234: {other:?}"),
        })
        .collect()
}

/// The sink's replies: positive session response, START reply with group
/// id 0x1234, then WordCount-0 acks, all with Flags 0x80 and the PID copied.
fn check_sink_replies(replies: &[VectorFrame], pid: u16, commands: &[Command]) {
    assert_eq!(
        nbss::Repr::parse(&replies[0].bytes),
        Ok(nbss::Repr::PositiveSessionResponse)
    );
    for (f, &command) in replies[1..].iter().zip(commands) {
        let r = reply(&f.bytes);
        assert_eq!(r.header.command, command);
        assert_eq!(
            (r.header.flags, r.header.flags2, r.header.pid_low),
            (SMB_FLAGS_REPLY, 0, pid)
        );
        assert_eq!(r.status(), Status::SUCCESS);
        let expected = if command == Command::SendStartMbMessage {
            Reply::Start {
                group_id: Some(0x1234),
            }
        } else {
            Reply::Ack
        };
        assert_eq!(r.body, Body::Reply(expected));
    }
    assert_eq!(replies.len(), commands.len() + 1);
}

fn commands(texts: usize) -> Vec<Command> {
    let mut c = vec![Command::SendStartMbMessage];
    c.extend(std::iter::repeat_n(Command::SendTextMbMessage, texts));
    c.push(Command::SendEndMbMessage);
    c
}

#[test]
fn smbclient_m_field_by_field() {
    let frames = vector!("smbclient-M.hex");
    let replies = vector!("smbclient-M.srv.hex");
    assert_round_trip(&frames, false);
    assert_round_trip(&replies, true);
    let texts = check_smbclient_frames(&frames, 0x539F);
    assert_eq!(texts, [b"Hello from h2 via smbclient -M".to_vec()]);
    // Frame 3 as §9 decodes it: NBSS LENGTH 70, ByteCount 33, DataLength 30.
    assert_eq!(frames[2].bytes[..4], [0, 0, 0, 0x46]);
    assert_eq!(frames[2].bytes[39..44], [0x21, 0x00, 0x01, 0x1E, 0x00]);
    check_sink_replies(&replies, 0x539F, &commands(1));
}

#[test]
fn smbclient_m_long_field_by_field() {
    let frames = vector!("smbclient-M-long.hex");
    let replies = vector!("smbclient-M-long.srv.hex");
    assert_round_trip(&frames, false);
    assert_round_trip(&replies, true);
    let texts = check_smbclient_frames(&frames, 21469);
    let lens: Vec<usize> = texts.iter().map(Vec::len).collect();
    assert_eq!(lens, [123, 127, 111]);
    assert!(texts[0].starts_with(LONG_TEXT_HEAD));
    assert_eq!(texts.concat(), long_text());
    check_sink_replies(&replies, 21469, &commands(3));
}

#[test]
fn smbclient_m_utf8_field_by_field() {
    let frames = vector!("smbclient-M-utf8.hex");
    let replies = vector!("smbclient-M-utf8.srv.hex");
    assert_round_trip(&frames, false);
    assert_round_trip(&replies, true);
    let texts = check_smbclient_frames(&frames, 21522);
    // The block did not convert to CP850, so smbclient sent it as raw UTF-8.
    assert_eq!(texts, ["em dash \u{2014} and Grüße".as_bytes().to_vec()]);
    check_sink_replies(&replies, 21522, &commands(1));
}

#[test]
fn smbd_receive_field_by_field() {
    let frames = vector!("smbd-receive.hex");
    assert_round_trip(&frames, false);
    let dirs: Vec<_> = frames.iter().map(|f| f.dir.unwrap()).collect();
    assert_eq!(dirs, [Dir::ToServer, Dir::ToClient].repeat(4));
    assert_eq!(
        session_request_names(&frames[0].bytes),
        ("RECVBOX<03>".into(), "SENDERBOX<00>".into())
    );
    assert_eq!(frames[1].bytes, [0x82, 0, 0, 0]);
    let start = request(&frames[2].bytes);
    assert_eq!(start.header.pid_low, 22283);
    assert_eq!(
        start.body,
        Body::Request(Request::SendStart {
            originator: b"alice",
            destination: b"RECVBOX"
        })
    );
    // smbd: WordCount 0 START reply, Flags2 0x4003, NT-form success.
    for (i, command) in [
        (3, Command::SendStartMbMessage),
        (5, Command::SendTextMbMessage),
        (7, Command::SendEndMbMessage),
    ] {
        let r = reply(&frames[i].bytes);
        assert_eq!(
            (r.header.command, r.header.flags, r.header.flags2),
            (command, 0x80, 0x4003)
        );
        assert_eq!((r.status(), r.header.pid_low), (Status::Nt(0), 22283));
    }
    assert_eq!(
        reply(&frames[3].bytes).body,
        Body::Reply(Reply::Start { group_id: None })
    );
    assert_eq!(reply(&frames[5].bytes).body, Body::Reply(Reply::Ack));
    // So smbclient's TEXT and END carry group id 0.
    assert_eq!(
        request(&frames[4].bytes).body,
        Body::Request(Request::SendText {
            group_id: 0,
            text: b"Hello smbd, case 1 (Gr\x81\xe1e)"
        })
    );
    assert_eq!(
        request(&frames[6].bytes).body,
        Body::Request(Request::SendEnd { group_id: 0 })
    );
}

/// Replays client frames into a receiver (answering the SESSION REQUEST for
/// `called` as the daemon would) and returns the replies and the message.
fn replay(client: &[&VectorFrame], called: &str) -> (Vec<Vec<u8>>, MessageReceived) {
    let now = Instant::now();
    let mut rx = Receiver::new(ReceiverConfig::default(), now);
    let mut out = Vec::new();
    let mut delivered = None;
    for f in client {
        match nbss::Repr::parse(&f.bytes).unwrap() {
            nbss::Repr::SessionRequest { called: c, .. } => {
                assert!(c.name.eq_ignore_case(&called.parse().unwrap()));
                out.push(nbss::Repr::PositiveSessionResponse.to_vec().unwrap());
            }
            nbss::Repr::SessionMessage { payload } => {
                let bytes = match rx.handle(now, payload) {
                    Action::Reply(bytes) => bytes,
                    Action::Deliver { token, message } => {
                        assert!(delivered.is_none());
                        delivered = Some(message);
                        rx.accept(token).unwrap()
                    }
                    other => panic!("{other:?}"),
                };
                out.push(wrap(&bytes));
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(!rx.in_message());
    (out, delivered.unwrap())
}

/// Our replies equal the sink's, except the group id of the START reply.
fn assert_replies_match_sink(ours: &[Vec<u8>], sink: &[VectorFrame]) {
    assert_eq!(ours.len(), sink.len());
    for (i, (o, s)) in ours.iter().zip(sink).enumerate() {
        if i == 1 {
            // START reply: NBSS 4 + header 32 + WordCount 1, then the group id.
            assert_eq!(o[..37], s.bytes[..37]);
            assert_eq!(o[37..39], [1, 0], "our first group id is 1");
            assert_eq!(s.bytes[37..39], [0x34, 0x12]);
            assert_eq!(o[39..], s.bytes[39..]);
        } else {
            assert_eq!(*o, s.bytes, "reply {i}");
        }
    }
}

/// Client frames, sink replies, expected text and block ends.
type Replay = (Vec<VectorFrame>, Vec<VectorFrame>, Vec<u8>, Vec<usize>);

#[test]
fn receiver_answers_smbclient_like_the_sink() {
    let cases: [Replay; 3] = [
        (
            vector!("smbclient-M.hex"),
            vector!("smbclient-M.srv.hex"),
            b"Hello from h2 via smbclient -M".to_vec(),
            vec![30],
        ),
        (
            vector!("smbclient-M-long.hex"),
            vector!("smbclient-M-long.srv.hex"),
            long_text(),
            vec![123, 250, 361],
        ),
        (
            vector!("smbclient-M-utf8.hex"),
            vector!("smbclient-M-utf8.srv.hex"),
            b"em dash \xe2\x80\x94 and Gr\xc3\xbc\xc3\x9fe".to_vec(),
            vec![23],
        ),
    ];
    for (client, sink, text, ends) in cases {
        let client: Vec<&VectorFrame> = client.iter().collect();
        let (ours, msg) = replay(&client, "TARGET#03");
        assert_replies_match_sink(&ours, &sink);
        assert_eq!(
            (&msg.from[..], &msg.to[..]),
            (&b"alice"[..], &b"target"[..])
        );
        assert_eq!(msg.text, text);
        assert_eq!(msg.block_ends, ends);
        assert!(msg.multi_block);
    }
}

#[test]
fn receiver_takes_smbclient_after_an_smbd_style_start_reply() {
    let frames = vector!("smbd-receive.hex");
    let client: Vec<&VectorFrame> = frames
        .iter()
        .filter(|f| f.dir == Some(Dir::ToServer))
        .collect();
    let (ours, msg) = replay(&client, "RECVBOX#03");
    assert_eq!(msg.text, b"Hello smbd, case 1 (Gr\x81\xe1e)");
    assert_eq!(
        (&msg.from[..], &msg.to[..]),
        (&b"alice"[..], &b"RECVBOX"[..])
    );
    // Our replies differ from smbd's only where the doc says messngr differs:
    // START reply with a group id (WC 1), Flags2 0 (DOS errors), and
    // therefore NBSS LENGTH 37 instead of 35 for that reply.
    let smbd: Vec<&VectorFrame> = frames
        .iter()
        .filter(|f| f.dir == Some(Dir::ToClient))
        .collect();
    for (i, (o, s)) in ours.iter().zip(&smbd).enumerate() {
        if i == 0 {
            assert_eq!(*o, s.bytes);
            continue;
        }
        let (o, s) = (reply(o), reply(&s.bytes));
        assert_eq!(
            (o.header.command, o.header.pid_low),
            (s.header.command, s.header.pid_low)
        );
        assert!(o.status().is_success() && s.status().is_success());
        assert_eq!((o.header.flags2, s.header.flags2), (0, 0x4003));
        if o.header.command == Command::SendStartMbMessage {
            assert_eq!(o.body, Body::Reply(Reply::Start { group_id: Some(1) }));
        } else {
            assert_eq!(o.body, s.body);
        }
    }
}

/// Runs a sender against the replies of a vector and returns the requests
/// it produced, wrapped in NBSS.
fn send_against(mut tx: Sender, replies: &[&VectorFrame]) -> Vec<Vec<u8>> {
    let now = Instant::now();
    let mut sent = Vec::new();
    for r in replies {
        let req = tx.poll_request(now).unwrap();
        sent.push(wrap(&req));
        assert_eq!(tx.poll_request(now), None);
        tx.handle_reply(smb(&r.bytes));
    }
    assert_eq!(tx.progress(), Progress::Done);
    assert_eq!(tx.poll_request(now), None);
    sent
}

fn smbclient_config(pid: u16) -> SenderConfig {
    SenderConfig {
        pid,
        ..SenderConfig::default()
    }
}

#[test]
fn sender_repeats_smbclient_byte_for_byte() {
    // With smbclient's PID, our requests are smbclient's requests.
    let cases = [
        (
            vector!("smbclient-M.hex"),
            vector!("smbclient-M.srv.hex"),
            0x539F,
        ),
        (
            vector!("smbclient-M-utf8.hex"),
            vector!("smbclient-M-utf8.srv.hex"),
            21522,
        ),
    ];
    for (client, sink, pid) in cases {
        let text: Vec<u8> = match request(&client[2].bytes).body {
            Body::Request(Request::SendText { text, .. }) => text.to_vec(),
            other => panic!("{other:?}"),
        };
        let tx = Sender::new(b"alice", b"target", &text, smbclient_config(pid));
        let sink: Vec<&VectorFrame> = sink[1..].iter().collect();
        let sent = send_against(tx, &sink);
        let expected: Vec<Vec<u8>> = client[1..].iter().map(|f| f.bytes.clone()).collect();
        assert_eq!(sent, expected);
    }
}

#[test]
fn sender_repeats_smbclient_long_given_its_blocks() {
    let client = vector!("smbclient-M-long.hex");
    let sink = vector!("smbclient-M-long.srv.hex");
    let sink: Vec<&VectorFrame> = sink[1..].iter().collect();
    let expected: Vec<Vec<u8>> = client[1..].iter().map(|f| f.bytes.clone()).collect();
    // smbclient cuts 127 bytes of UTF-8 input per block and converts each to
    // CP850 (123, 127, 111 bytes); given those blocks we send the same frames.
    let text = long_text();
    let blocks = [&text[..123], &text[123..250], &text[250..]];
    let tx = Sender::with_blocks(b"alice", b"target", blocks, smbclient_config(21469)).unwrap();
    assert_eq!(send_against(tx, &sink), expected);
    // Cutting the converted text ourselves gives 128-byte blocks (§8.4):
    // same START and END, same text, other block boundaries.
    let tx = Sender::new(b"alice", b"target", &text, smbclient_config(21469));
    let sent = send_against(tx, &sink);
    assert_eq!(
        (sent[0].clone(), sent[4].clone()),
        (expected[0].clone(), expected[4].clone())
    );
    let ours: Vec<Vec<u8>> = sent[1..4]
        .iter()
        .map(|f| match request(f).body {
            Body::Request(Request::SendText {
                group_id: 0x1234,
                text,
            }) => text.to_vec(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        ours.iter().map(Vec::len).collect::<Vec<_>>(),
        [128, 128, 105]
    );
    assert_eq!(ours.concat(), text);
}

#[test]
fn sender_uses_group_id_zero_after_smbd_start_reply() {
    let frames = vector!("smbd-receive.hex");
    let smbd: Vec<&VectorFrame> = frames[3..]
        .iter()
        .filter(|f| f.dir == Some(Dir::ToClient))
        .collect();
    let tx = Sender::new(
        b"alice",
        b"RECVBOX",
        b"Hello smbd, case 1 (Gr\x81\xe1e)",
        smbclient_config(22283),
    );
    let sent = send_against(tx, &smbd);
    let expected: Vec<Vec<u8>> = frames[2..]
        .iter()
        .filter(|f| f.dir == Some(Dir::ToServer))
        .map(|f| f.bytes.clone())
        .collect();
    assert_eq!(sent, expected);
}

#[test]
fn vector_streams_split_into_their_frames() {
    for frames in [
        vector!("smbclient-M.hex"),
        vector!("smbclient-M-long.hex"),
        vector!("smbd-receive.hex"),
    ] {
        let stream: Vec<u8> = frames.iter().flat_map(|f| f.bytes.clone()).collect();
        let mut rest = &stream[..];
        let mut n = 0;
        while let Some((frame, tail)) =
            nbss::split_frame(rest, nbss::DEFAULT_MAX_FRAME_LEN).unwrap()
        {
            assert_eq!(frame, &frames[n].bytes[..]);
            let kind = nbss::Packet::new_checked(frame).unwrap().packet_type();
            assert!(matches!(
                kind,
                PacketType::SessionMessage
                    | PacketType::SessionRequest
                    | PacketType::PositiveSessionResponse
            ));
            rest = tail;
            n += 1;
        }
        assert_eq!((n, rest.len()), (frames.len(), 0));
    }
}
