//! The captured NetrSendMessage requests (scapy 2.6, dcerpc-udp.txt) decode
//! to the fields Wireshark shows and re-encode byte-identically; the
//! msgsvcsend server behaves as interop-notes.md §6.4 P2–P4 require.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use messngr_proto::wire::Emit;
use messngr_proto::wire::dcerpc::cl::{Drep, Flags1, Flags2, NO_HINT, PacketType, Repr};
use messngr_proto::wire::dcerpc::msrp::{MSGSVC, MSGSVCSEND, Request, ShortPdu, nca, status};
use messngr_proto::wire::dcerpc::server::{Action, Config, Dropped, MsrpServer};
use messngr_proto::wire::dcerpc::{NetrSendMessage, Packet, Uuid};

/// (vector, flags1, body length, Text) as dcerpc-udp.txt shows them.
const SRC: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

const CASES: &[(&str, u8, u16, &str)] = &[
    (
        "dcerpc-netrsendmessage.hex",
        0x00,
        99,
        "Hello via DCE/RPC (dcerpc-netrsendmessage)",
    ),
    (
        "dcerpc-netrsendmessage-bcast.hex",
        0x50,
        105,
        "Hello via DCE/RPC (dcerpc-netrsendmessage-bcast)",
    ),
];

fn frames(name: &str) -> Vec<common::VectorFrame> {
    match name {
        "dcerpc-netrsendmessage.hex" => vector!("dcerpc-netrsendmessage.hex"),
        "dcerpc-netrsendmessage-bcast.hex" => vector!("dcerpc-netrsendmessage-bcast.hex"),
        _ => unreachable!(),
    }
}

fn unicast() -> Vec<u8> {
    frames(CASES[0].0).remove(0).bytes
}

#[test]
fn every_frame_decodes_field_by_field_and_re_encodes_identically() {
    for &(file, flags1, len, text) in CASES {
        let frames = frames(file);
        assert_eq!(frames.len(), 1, "{file}");
        let bytes = &frames[0].bytes;

        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.rpc_vers(), 4, "{file}");
        assert_eq!(p.ptype(), PacketType::Request);
        assert_eq!(p.flags1(), Flags1(flags1));
        assert_eq!(p.flags2(), Flags2(0));
        assert_eq!(p.drep(), Drep([0x10, 0, 0]));
        assert_eq!((p.serial_hi(), p.serial_lo()), (0, 0));
        assert_eq!(p.object(), Uuid::NIL);
        assert_eq!(
            p.if_id().to_string(),
            "5A7B91F8-FF00-11D0-A9B2-00C04FB6E6FC"
        );
        assert_eq!(
            p.act_id(),
            "6d6c616e-0000-4000-8000-000000000001".parse().unwrap()
        );
        assert_eq!(p.server_boot(), 0);
        assert_eq!(p.if_vers(), 1);
        assert_eq!(p.seqnum(), 0);
        assert_eq!(p.opnum(), 0);
        assert_eq!((p.ihint(), p.ahint()), (NO_HINT, NO_HINT));
        assert_eq!(p.len(), len);
        assert_eq!(p.fragnum(), 0);
        assert_eq!(p.auth_proto(), 0);
        assert_eq!(bytes.len(), 80 + usize::from(len));

        let repr = Repr::parse(&p).unwrap();
        assert_eq!(repr.to_vec().unwrap(), *bytes, "{file}: CL PDU re-encodes");

        let req = Request::parse(&repr).unwrap();
        let m = &req.call;
        let counts = |s: &messngr_proto::wire::dcerpc::ndr::NdrString<'_>| {
            (
                s.max_count,
                s.offset,
                s.actual_count().unwrap(),
                s.terminated,
            )
        };
        assert_eq!(m.from.as_bytes(), b"SENDERBOX");
        assert_eq!(counts(&m.from), (10, 0, 10, true));
        assert_eq!(m.to.as_bytes(), b"RECVBOX");
        assert_eq!(counts(&m.to), (8, 0, 8, true));
        assert_eq!(m.text.as_bytes(), text.as_bytes());
        let n = u32::try_from(text.len()).unwrap() + 1;
        assert_eq!(counts(&m.text), (n, 0, n, true));
        assert_eq!(m.recipient().to_string(), "RECVBOX<03>");
        assert_eq!(req.to_vec().unwrap(), *bytes, "{file}: request re-encodes");

        // The client-side builder gives the same bytes once flags1 is set as scapy set it.
        let mut built = Request::new(
            p.act_id(),
            0,
            NetrSendMessage::new(b"SENDERBOX", b"RECVBOX", text.as_bytes()),
        );
        built.header.flags1 = Flags1(flags1);
        assert_eq!(built.to_vec().unwrap(), *bytes, "{file}: builder");
    }
}

#[test]
fn p2_response_status_0_and_one_message_for_a_repeated_request() {
    let mut server = MsrpServer::new(Config::new(0x6650_0000));
    let t0 = Instant::now();
    let bytes = unicast();
    let mut stored = Vec::new();
    let mut sent = Vec::new();
    for i in 0..2 {
        let now = t0 + Duration::from_secs(i);
        match server.handle(now, SRC, &bytes, false) {
            Action::Deliver(call) => {
                stored.push(call.message.text.as_bytes().to_vec());
                sent.extend(server.complete(now, call.ticket(), status::ERROR_SUCCESS));
            }
            Action::Send(pdu) => sent.push(pdu),
            other => panic!("not a call or an answer: {other:?}"),
        }
    }
    assert_eq!(
        stored,
        [b"Hello via DCE/RPC (dcerpc-netrsendmessage)".to_vec()]
    );
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0], sent[1]);
    let resp = sent[0].to_vec().unwrap();
    let back = Repr::parse_bytes(&resp).unwrap();
    assert_eq!(back.header.ptype, PacketType::Response);
    assert_eq!(back.header.if_id, MSGSVCSEND);
    assert_eq!(
        back.header.act_id,
        Repr::parse_bytes(&bytes).unwrap().header.act_id
    );
    assert_eq!(back.header.server_boot, 0x6650_0000);
    assert_eq!(back.body, &[0, 0, 0, 0]);
}

#[test]
fn p3_msgsvc_uuid_is_rejected_unk_if_and_opnum_1_op_rng_error() {
    let mut server = MsrpServer::new(Config::new(1));
    let t0 = Instant::now();
    // msrp-rpc.md §2: replace bytes 24–39 by msgsvc's UUID.
    let mut msgsvc = unicast();
    msgsvc[24..40].copy_from_slice(&[
        0x03, 0xD7, 0xFD, 0x17, 0x27, 0x18, 0x34, 0x4E, 0x79, 0xD4, 0x24, 0xA5, 0x5C, 0x53, 0xBB,
        0x37,
    ]);
    let Action::Send(pdu) = server.handle(t0, SRC, &msgsvc, false) else {
        panic!("no reject")
    };
    assert_eq!(
        (pdu.header.ptype, pdu.status),
        (PacketType::Reject, Some(nca::NCA_UNK_IF))
    );
    assert_eq!(pdu.header.if_id, MSGSVC);
    assert_eq!(&pdu.to_vec().unwrap()[80..], &[0x03, 0x00, 0x01, 0x1C]);

    // Bytes 68–69: a non-zero opnum.
    let mut opnum = unicast();
    opnum[68] = 1;
    let Action::Send(pdu) = server.handle(t0, SRC, &opnum, false) else {
        panic!("no reject")
    };
    assert_eq!(
        (pdu.header.ptype, pdu.status),
        (PacketType::Reject, Some(nca::NCA_OP_RNG_ERROR))
    );
    assert_eq!(pdu.header.opnum, 1);
    assert_eq!(server.remembered(), 0);
}

#[test]
fn p4_broadcast_vector_gets_no_reply() {
    let mut server = MsrpServer::new(Config::new(1));
    let t0 = Instant::now();
    let bcast = frames(CASES[1].0).remove(0).bytes;
    assert_eq!(
        server.handle(t0, SRC, &bcast, false),
        Action::Nothing(Dropped::Broadcast)
    );
    assert_eq!(
        server.handle(t0, SRC, &unicast(), true),
        Action::Nothing(Dropped::Broadcast)
    );
    assert_eq!(server.remembered(), 0);
}

#[test]
fn reply_pdus_round_trip() {
    let req = Repr::parse_bytes(&unicast()).unwrap().header;
    for pdu in [
        ShortPdu::response(&req, 9, status::NERR_NAME_NOT_FOUND),
        ShortPdu::fault(&req, 9, nca::NCA_S_FAULT_NDR),
        ShortPdu::reject(&req, 9, nca::NCA_UNK_IF),
        ShortPdu::working(&req, 9),
        ShortPdu::nocall(&req, 9),
        ShortPdu::ping(&req),
        ShortPdu::ack(&req),
    ] {
        let bytes = pdu.to_vec().unwrap();
        assert_eq!(bytes.len(), pdu.buffer_len());
        assert_eq!(
            ShortPdu::parse(&Repr::parse_bytes(&bytes).unwrap()).unwrap(),
            pdu
        );
    }
}
