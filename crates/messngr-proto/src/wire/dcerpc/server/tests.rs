//! Unit tests (unwrap is the point: a failure is a test failure).
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::*;
use crate::wire::Emit;
use crate::wire::dcerpc::cl::Flags1;
use crate::wire::dcerpc::msrp::{MSGSVC, Request, nca, status};

const BOOT: u32 = 0x6650_0000;
const SRC: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

fn hex(text: &str) -> Vec<u8> {
    let line = text.lines().find(|l| !l.starts_with('#')).unwrap().trim();
    (0..line.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap())
        .collect()
}

fn unicast() -> Vec<u8> {
    hex(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/dcerpc-netrsendmessage.hex"
    )))
}

fn bcast() -> Vec<u8> {
    hex(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/dcerpc-netrsendmessage-bcast.hex"
    )))
}

/// The unicast vector with its header changed by `f`.
fn variant(f: impl FnOnce(&mut Header)) -> Vec<u8> {
    let bytes = unicast();
    let mut repr = Repr::parse_bytes(&bytes).unwrap();
    f(&mut repr.header);
    repr.to_vec().unwrap()
}

fn server() -> (MsrpServer, Instant) {
    (MsrpServer::new(Config::new(BOOT)), Instant::now())
}

fn status_of(action: Action<'_>) -> (PacketType, Option<u32>) {
    match &action {
        Action::Send(pdu) => (pdu.header.ptype, pdu.status),
        other => panic!("expected a PDU, got {other:?}"),
    }
}

#[test]
fn p2_delivered_once_and_answered_twice() {
    let (mut s, t0) = server();
    let bytes = unicast();
    let Action::Deliver(call) = s.handle(t0, SRC, &bytes, false) else {
        panic!("not delivered")
    };
    assert_eq!(call.message.from.as_bytes(), b"SENDERBOX");
    assert_eq!(call.message.to.as_bytes(), b"RECVBOX");
    assert!(call.reply_expected());
    // A retransmission while the message is being stored is ignored.
    assert_eq!(
        s.handle(t0, SRC, &bytes, false),
        Action::Nothing(Dropped::InProgress)
    );
    let resp = s
        .complete(t0, call.ticket(), status::ERROR_SUCCESS)
        .unwrap();
    assert_eq!(resp, ShortPdu::response(&call.header, BOOT, 0));
    assert_eq!(resp.header.server_boot, BOOT);
    // The same request again: same response, nothing delivered.
    let t1 = t0 + Duration::from_secs(1);
    assert_eq!(s.handle(t1, SRC, &bytes, false), Action::Send(resp));
    assert_eq!(s.remembered(), 1);
}

#[test]
fn a_refused_call_is_rejected_again_on_repeat_and_never_delivered() {
    let (mut s, t0) = server();
    let bytes = unicast();
    let Action::Deliver(call) = s.handle(t0, SRC, &bytes, false) else {
        panic!("not delivered")
    };
    let pdu = s
        .refuse(t0, call.ticket(), status::ERROR_ACCESS_DENIED)
        .unwrap();
    assert_eq!(
        (pdu.header.ptype, pdu.status),
        (PacketType::Reject, Some(status::ERROR_ACCESS_DENIED))
    );
    assert_eq!(
        status_of(s.handle(t0, SRC, &bytes, false)),
        (PacketType::Reject, Some(status::ERROR_ACCESS_DENIED))
    );
    // A maybe call is refused in silence.
    let maybe = variant(|h| {
        h.flags1 = Flags1::MAYBE;
        h.seqnum += 1;
    });
    let Action::Deliver(call) = s.handle(t0, SRC, &maybe, false) else {
        panic!("not delivered")
    };
    assert_eq!(
        s.refuse(t0, call.ticket(), status::ERROR_ACCESS_DENIED),
        None
    );
    assert!(matches!(
        s.handle(t0, SRC, &maybe, false),
        Action::Nothing(Dropped::Duplicate)
    ));
}

#[test]
fn p3_unknown_interface_and_opnum_are_rejected() {
    let (mut s, t0) = server();
    let msgsvc = variant(|h| h.if_id = MSGSVC);
    assert_eq!(
        &msgsvc[24..40],
        &[
            0x03, 0xD7, 0xFD, 0x17, 0x27, 0x18, 0x34, 0x4E, 0x79, 0xD4, 0x24, 0xA5, 0x5C, 0x53,
            0xBB, 0x37
        ]
    );
    let action = s.handle(t0, SRC, &msgsvc, false);
    assert_eq!(
        status_of(action.clone()),
        (PacketType::Reject, Some(nca::NCA_UNK_IF))
    );
    let Action::Send(pdu) = action else {
        unreachable!()
    };
    assert_eq!(
        (pdu.header.if_id, pdu.header.act_id),
        (MSGSVC, Repr::parse_bytes(&msgsvc).unwrap().header.act_id)
    );

    let opnum = variant(|h| h.opnum = 1);
    assert_eq!(&opnum[68..70], &[1, 0]);
    assert_eq!(
        status_of(s.handle(t0, SRC, &opnum, false)),
        (PacketType::Reject, Some(nca::NCA_OP_RNG_ERROR))
    );
    let version = variant(|h| h.if_vers = 2);
    assert_eq!(
        status_of(s.handle(t0, SRC, &version, false)),
        (PacketType::Reject, Some(nca::NCA_UNK_IF))
    );
    // Minor versions are accepted.
    assert!(matches!(
        s.handle(t0, SRC, &variant(|h| h.if_vers = 0x0001_0001), false),
        Action::Deliver(_)
    ));
    assert_eq!(s.remembered(), 1);
}

#[test]
fn p4_broadcast_gets_no_reply_and_no_delivery() {
    let (mut s, t0) = server();
    let b = bcast();
    assert_eq!(Repr::parse_bytes(&b).unwrap().header.flags1, Flags1(0x50));
    assert_eq!(
        s.handle(t0, SRC, &b, false),
        Action::Nothing(Dropped::Broadcast)
    );
    assert_eq!(
        s.handle(t0, SRC, &unicast(), true),
        Action::Nothing(Dropped::Broadcast)
    );
    let ping = ShortPdu::ping(&Repr::parse_bytes(&b).unwrap().header)
        .to_vec()
        .unwrap();
    assert_eq!(
        s.handle(t0, SRC, &ping, true),
        Action::Nothing(Dropped::Broadcast)
    );
    assert_eq!(s.remembered(), 0);
    assert!(!wants_reply(&Repr::parse_bytes(&b).unwrap().header, false));
    assert!(!wants_reply(
        &Repr::parse_bytes(&unicast()).unwrap().header,
        true
    ));
    assert!(wants_reply(
        &Repr::parse_bytes(&unicast()).unwrap().header,
        false
    ));
}

#[test]
fn maybe_calls_are_stored_once_and_never_answered() {
    let (mut s, t0) = server();
    let maybe = variant(|h| h.flags1 = Flags1::MAYBE);
    let Action::Deliver(call) = s.handle(t0, SRC, &maybe, false) else {
        panic!()
    };
    assert!(!call.reply_expected());
    assert_eq!(s.complete(t0, call.ticket(), 0), None);
    assert_eq!(
        s.handle(t0, SRC, &maybe, false),
        Action::Nothing(Dropped::Duplicate)
    );
    let refused = variant(|h| {
        h.flags1 = Flags1::MAYBE;
        h.if_id = MSGSVC;
    });
    let Action::Nothing(Dropped::MaybeRefused(pdu)) = s.handle(t0, SRC, &refused, false) else {
        panic!()
    };
    assert_eq!(pdu.status, Some(nca::NCA_UNK_IF));
}

#[test]
fn other_refusals() {
    let (mut s, t0) = server();
    let boot = variant(|h| h.server_boot = 1);
    assert_eq!(
        status_of(s.handle(t0, SRC, &boot, false)),
        (PacketType::Reject, Some(nca::NCA_WRONG_BOOT_TIME))
    );
    assert!(matches!(
        s.handle(t0, SRC, &variant(|h| h.server_boot = BOOT), false),
        Action::Deliver(_)
    ));
    // A fragment that is not the last is kept, and facked.
    let frag = variant(|h| {
        h.flags1 = Flags1::FRAG;
        h.act_id = Uuid::NIL;
    });
    assert!(matches!(
        s.handle(t0, SRC, &frag, false),
        Action::Fack(f) if f.header.fragnum == 0 && f.header.ptype == PacketType::Fack
    ));
    let mut bad_stub = variant(|h| h.act_id = Uuid::NIL);
    bad_stub[88] = 0xFF; // From: ActualCount 255 > MaximumCount 10
    assert_eq!(
        status_of(s.handle(t0, SRC, &bad_stub, false)),
        (PacketType::Fault, Some(nca::NCA_S_FAULT_NDR))
    );
    assert!(matches!(
        s.handle(t0, SRC, &unicast()[..79], false),
        Action::Nothing(Dropped::Malformed(_))
    ));
    let resp = ShortPdu::response(&Header::new(PacketType::Request), 1, 0)
        .to_vec()
        .unwrap();
    assert_eq!(
        s.handle(t0, SRC, &resp, false),
        Action::Nothing(Dropped::Ignored(PacketType::Response))
    );
}

#[test]
fn pings_and_acks() {
    let (mut s, t0) = server();
    let bytes = unicast();
    let req = Repr::parse_bytes(&bytes).unwrap().header;
    let ping = ShortPdu::ping(&req).to_vec().unwrap();
    assert_eq!(
        status_of(s.handle(t0, SRC, &ping, false)),
        (PacketType::Nocall, None)
    );
    let Action::Deliver(call) = s.handle(t0, SRC, &bytes, false) else {
        panic!()
    };
    assert_eq!(
        status_of(s.handle(t0, SRC, &ping, false)),
        (PacketType::Working, None)
    );
    let resp = s
        .complete(t0, call.ticket(), status::NERR_NAME_NOT_FOUND)
        .unwrap();
    assert_eq!(s.handle(t0, SRC, &ping, false), Action::Send(resp));
    // A ping for the next call of the activity: nocall.
    let next = ShortPdu::ping(&Header { seqnum: 1, ..req })
        .to_vec()
        .unwrap();
    assert_eq!(
        status_of(s.handle(t0, SRC, &next, false)),
        (PacketType::Nocall, None)
    );
    // The ack forgets the call.
    let ack = ShortPdu::ack(&resp.header).to_vec().unwrap();
    assert_eq!(
        s.handle(t0, SRC, &ack, false),
        Action::Nothing(Dropped::Acked)
    );
    assert_eq!(s.remembered(), 0);
}

#[test]
fn sequence_numbers_within_an_activity() {
    let (mut s, t0) = server();
    let first = unicast();
    let second = variant(|h| h.seqnum = 1);
    let Action::Deliver(c0) = s.handle(t0, SRC, &first, false) else {
        panic!()
    };
    let Action::Deliver(c1) = s.handle(t0, SRC, &second, false) else {
        panic!()
    };
    assert_eq!(
        s.handle(t0, SRC, &first, false),
        Action::Nothing(Dropped::Stale)
    );
    let ping0 = ShortPdu::ping(&c0.header).to_vec().unwrap();
    assert_eq!(
        s.handle(t0, SRC, &ping0, false),
        Action::Nothing(Dropped::Stale)
    );
    // Completing the older call still answers it but does not disturb the newer one.
    assert!(s.complete(t0, c0.ticket(), 0).is_some());
    assert_eq!(
        s.handle(t0, SRC, &second, false),
        Action::Nothing(Dropped::InProgress)
    );
    assert!(s.complete(t0, c1.ticket(), 0).is_some());
    assert!(matches!(s.handle(t0, SRC, &second, false), Action::Send(_)));
}

#[test]
fn memory_expires_and_is_bounded() {
    let mut s = MsrpServer::new(Config {
        max_activities: 2,
        ..Config::new(BOOT)
    });
    let t0 = Instant::now();
    assert_eq!(s.poll_timeout(), None);
    let bytes = unicast();
    let Action::Deliver(call) = s.handle(t0, SRC, &bytes, false) else {
        panic!()
    };
    // A call being stored does not expire.
    assert_eq!(s.poll_timeout(), None);
    s.complete(t0, call.ticket(), 0);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    let t1 = t0 + Duration::from_secs(61);
    s.handle_timeout(t1);
    assert!(
        matches!(s.handle(t1, SRC, &bytes, false), Action::Deliver(_)),
        "forgotten after a minute"
    );
    let other = variant(|h| h.act_id = Uuid::from_bytes([1; 16]));
    let Action::Deliver(c1) = s.handle(t1, SRC, &other, false) else {
        panic!()
    };
    assert_eq!(s.remembered(), 2);
    // Full of calls being stored: a third is refused as too busy, never
    // delivered without being remembered.
    let third = variant(|h| h.act_id = Uuid::from_bytes([2; 16]));
    assert_eq!(
        status_of(s.handle(t1, SRC, &third, false)),
        (PacketType::Reject, Some(nca::NCA_SERVER_TOO_BUSY))
    );
    // Once one is answered, it makes room.
    s.complete(t1, c1.ticket(), 0);
    assert!(matches!(
        s.handle(t1 + Duration::from_secs(1), SRC, &third, false),
        Action::Deliver(_)
    ));
    assert_eq!(s.remembered(), 2);
    let mut none = MsrpServer::new(Config {
        max_activities: 0,
        ..Config::new(BOOT)
    });
    assert!(matches!(
        none.handle(t0, SRC, &bytes, false),
        Action::Send(ShortPdu {
            status: Some(nca::NCA_SERVER_TOO_BUSY),
            ..
        })
    ));
    assert_eq!(none.remembered(), 0);
    assert_eq!(s.config().server_boot, BOOT);
}

#[test]
fn one_sender_cannot_push_out_another_or_touch_its_calls() {
    let mut s = MsrpServer::new(Config {
        max_per_source: 2,
        ..Config::new(BOOT)
    });
    let t0 = Instant::now();
    let other_host = std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 66));
    let bytes = unicast();
    let Action::Deliver(victim) = s.handle(t0, SRC, &bytes, false) else {
        panic!()
    };
    // The same activity from another host is another call: delivered on
    // its own, answered on its own, and the victim's is untouched.
    let Action::Deliver(copy) = s.handle(t0, other_host, &bytes, false) else {
        panic!("the other host's call was taken for a repeat")
    };
    let copy_resp = s.complete(t0, copy.ticket(), 0).unwrap();
    let ack = ShortPdu::ack(&copy_resp.header).to_vec().unwrap();
    assert_eq!(
        s.handle(t0, other_host, &ack, false),
        Action::Nothing(Dropped::Acked)
    );
    assert_eq!(
        s.handle(t0, SRC, &bytes, false),
        Action::Nothing(Dropped::InProgress)
    );
    let huge = variant(|h| h.seqnum = u32::MAX);
    assert!(matches!(
        s.handle(t0, other_host, &huge, false),
        Action::Deliver(_)
    ));
    let resp = s.complete(t0, victim.ticket(), 0).unwrap();
    assert_eq!(s.handle(t0, SRC, &bytes, false), Action::Send(resp));
    // The other host's share is full of calls being stored: its next one
    // is refused, everyone else's still taken.
    let a2 = variant(|h| h.act_id = Uuid::from_bytes([7; 16]));
    assert!(matches!(
        s.handle(t0, other_host, &a2, false),
        Action::Deliver(_)
    ));
    let a3 = variant(|h| h.act_id = Uuid::from_bytes([8; 16]));
    assert_eq!(
        status_of(s.handle(t0, other_host, &a3, false)),
        (PacketType::Reject, Some(nca::NCA_SERVER_TOO_BUSY))
    );
    assert!(matches!(s.handle(t0, SRC, &a3, false), Action::Deliver(_)));
}

#[test]
fn client_request_is_accepted() {
    let (mut s, t0) = server();
    let act = Uuid::from_bytes([7; 16]);
    let req = Request::new(act, 3, NetrSendMessage::new(b"H2", b"h1", b"hi"))
        .to_vec()
        .unwrap();
    let Action::Deliver(call) = s.handle(t0, SRC, &req, false) else {
        panic!()
    };
    assert_eq!(call.message.recipient().to_string(), "H1<03>");
    assert_eq!(call.ticket().header().seqnum, 3);
}

proptest! {
    #[test]
    fn arbitrary_datagrams_never_panic(
        datagrams in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..8),
        bcast in any::<bool>(),
    ) {
        let (mut s, t0) = server();
        for (i, d) in datagrams.iter().enumerate() {
            let now = t0 + Duration::from_secs(u64::try_from(i).unwrap() * 20);
            if let Action::Deliver(call) = s.handle(now, SRC, d, bcast) {
                prop_assert!(!bcast);
                let _ = s.complete(now, call.ticket(), 0);
            }
        }
    }

    #[test]
    fn header_mutations_of_the_vector_never_panic(pos in 0usize..80, byte in any::<u8>()) {
        let (mut s, t0) = server();
        let mut v = unicast();
        v[pos] = byte;
        if let Action::Deliver(call) = s.handle(t0, SRC, &v, false) {
            let again = s.complete(t0, call.ticket(), 0);
            prop_assert_eq!(again.is_some(), call.reply_expected());
        }
    }
}

/// The unicast vector's stub cut into `n` fragments of activity `act`.
fn fragments(act: u8, n: usize, flags: Flags1) -> Vec<Vec<u8>> {
    let bytes = unicast();
    let repr = Repr::parse_bytes(&bytes).unwrap();
    let stub = repr.body;
    let size = stub.len().div_ceil(n);
    stub.chunks(size)
        .enumerate()
        .map(|(i, part)| {
            let mut h = repr.header;
            h.act_id = Uuid::from_bytes([act; 16]);
            h.fragnum = i as u16;
            h.flags1 = Flags1(Flags1::FRAG.0 | flags.0);
            if i + 1 == stub.len().div_ceil(size) {
                h.flags1 = Flags1(h.flags1.0 | Flags1::LAST_FRAG.0);
            }
            Repr {
                header: h,
                body: part,
            }
            .to_vec()
            .unwrap()
        })
        .collect()
}

#[test]
fn fragments_are_put_together_in_any_order_and_answered_once() {
    let (mut s, t0) = server();
    let mut f = fragments(1, 3, Flags1::NO_FACK);
    f.swap(0, 2);
    assert_eq!(
        s.handle(t0, SRC, &f[0], false),
        Action::Nothing(Dropped::Fragment)
    );
    assert_eq!(
        s.handle(t0, SRC, &f[1], false),
        Action::Nothing(Dropped::Fragment)
    );
    assert_eq!(s.assembling(), 1);
    let Action::DeliverAssembled(whole) = s.handle(t0, SRC, &f[2], false) else {
        panic!("not put together")
    };
    assert_eq!(s.assembling(), 0);
    let call = whole.call().unwrap();
    assert_eq!(
        call.message.text.as_bytes(),
        b"Hello via DCE/RPC (dcerpc-netrsendmessage)"
    );
    let resp = s.complete(t0, call.ticket(), 0).unwrap();
    // A fragment sent again after the answer: the answer again, no call.
    assert_eq!(s.handle(t0, SRC, &f[1], false), Action::Send(resp));
}

#[test]
fn fragments_past_the_bounds_refuse_their_call() {
    let (mut s, t0) = server();
    let reject = |a: Action<'_>| status_of(a).1;
    // A fragment number past the most a call may have.
    let huge = variant(|h| {
        h.flags1 = Flags1(Flags1::FRAG.0 | Flags1::NO_FACK.0);
        h.fragnum = MAX_FRAGMENTS;
    });
    assert_eq!(
        reject(s.handle(t0, SRC, &huge, false)),
        Some(nca::NCA_PROTO_ERROR)
    );
    // One sender's calls being put together are bounded; another's are not
    // affected.
    for i in 0..MAX_PER_SOURCE as u8 {
        let f = fragments(10 + i, 3, Flags1::NO_FACK);
        assert_eq!(
            s.handle(t0, SRC, &f[0], false),
            Action::Nothing(Dropped::Fragment)
        );
    }
    let one_more = fragments(99, 3, Flags1::NO_FACK);
    assert_eq!(
        reject(s.handle(t0, SRC, &one_more[0], false)),
        Some(nca::NCA_SERVER_TOO_BUSY)
    );
    let other: std::net::IpAddr = [10, 0, 0, 3].into();
    assert_eq!(
        s.handle(t0, other, &one_more[0], false),
        Action::Nothing(Dropped::Fragment)
    );
    // A call past the most bytes.
    let mut big = variant(|h| {
        h.flags1 = Flags1(Flags1::FRAG.0 | Flags1::NO_FACK.0);
        h.act_id = Uuid::from_bytes([200; 16]);
    });
    big.extend(std::iter::repeat_n(0u8, 40_000));
    let len = (big.len() - 80) as u16;
    big[74..76].copy_from_slice(&len.to_le_bytes());
    let at = [10, 0, 0, 4].into();
    assert_eq!(
        s.handle(t0, at, &big, false),
        Action::Nothing(Dropped::Fragment)
    );
    big[76] = 1;
    assert_eq!(
        reject(s.handle(t0, at, &big, false)),
        Some(nca::NCA_PROTO_ERROR)
    );
    // Unfinished calls are forgotten after the timeout.
    assert!(s.assembling() > 0);
    s.handle_timeout(t0 + fragments::TIMEOUT);
    assert_eq!(s.assembling(), 0);
}

#[test]
fn a_fack_dissects_as_c706_says() {
    let h = Repr::parse_bytes(&fragments(1, 3, Flags1(0))[1])
        .unwrap()
        .header;
    let bytes = Fack::new(&h, BOOT).to_vec().unwrap();
    let repr = Repr::parse_bytes(&bytes).unwrap();
    assert_eq!(repr.header.ptype, PacketType::Fack);
    assert_eq!(repr.header.fragnum, 1);
    assert_eq!(repr.body.len(), 16);
    assert_eq!(repr.body[0], 0, "version 0");
    assert_eq!(
        u32::from_le_bytes(repr.body[8..12].try_into().unwrap()),
        fragments::MAX_FRAG_SIZE
    );
}

#[test]
fn a_full_table_makes_room_from_the_heaviest_sender_and_facks_are_not_repeated() {
    let (mut s, t0) = server();
    // 8 senders with their 4 calls each fill the table.
    for host in 0..8u8 {
        for i in 0..MAX_PER_SOURCE as u8 {
            let f = fragments(host * 10 + i, 3, Flags1::NO_FACK);
            let at: std::net::IpAddr = [10, 0, 1, host].into();
            assert_eq!(
                s.handle(t0, at, &f[0], false),
                Action::Nothing(Dropped::Fragment)
            );
        }
    }
    assert_eq!(s.assembling(), MAX_CALLS);
    // A newcomer still gets in (one of the heavy senders' calls goes).
    let f = fragments(250, 3, Flags1(0));
    assert!(matches!(s.handle(t0, SRC, &f[0], false), Action::Fack(_)));
    assert_eq!(s.assembling(), MAX_CALLS);
    // The same fragment again adds nothing: no second fack.
    assert_eq!(
        s.handle(t0, SRC, &f[0], false),
        Action::Nothing(Dropped::Fragment)
    );
    // A maybe call's fragments are never facked.
    let maybe = fragments(251, 3, Flags1::MAYBE);
    let other: std::net::IpAddr = [10, 0, 2, 1].into();
    assert_eq!(
        s.handle(t0, other, &maybe[0], false),
        Action::Nothing(Dropped::Fragment)
    );
    // A call silent for longer than IDLE is forgotten.
    s.handle_timeout(t0 + fragments::IDLE);
    assert_eq!(s.assembling(), 0);
}
