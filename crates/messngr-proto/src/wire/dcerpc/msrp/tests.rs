//! Unit tests (unwrap is the point: a failure is a test failure).
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::*;

const VECTOR: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/dcerpc-netrsendmessage.hex"
));

fn vector_bytes() -> Vec<u8> {
    let line = VECTOR.lines().find(|l| !l.starts_with('#')).unwrap().trim();
    (0..line.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap())
        .collect()
}

fn activity() -> Uuid {
    "6D6C616E-0000-4000-8000-000000000001".parse().unwrap()
}

#[test]
fn uuid_constants_match_their_text() {
    assert_eq!(
        MSGSVCSEND.to_string(),
        "5A7B91F8-FF00-11D0-A9B2-00C04FB6E6FC"
    );
    assert_eq!(MSGSVC.to_string(), "17FDD703-1827-4E34-79D4-24A55C53BB37");
    assert_eq!(EPM.to_string(), "E1AF8308-5D1F-11C9-91A4-08002B14A0FA");
    // msrp-rpc.md §2: msgsvc's wire bytes.
    assert_eq!(
        MSGSVC.to_wire(ByteOrder::Little),
        [
            0x03, 0xD7, 0xFD, 0x17, 0x27, 0x18, 0x34, 0x4E, 0x79, 0xD4, 0x24, 0xA5, 0x5C, 0x53,
            0xBB, 0x37
        ]
    );
}

#[test]
fn vector_request_decodes_and_rebuilds() {
    let bytes = vector_bytes();
    let repr = Repr::parse_bytes(&bytes).unwrap();
    let req = Request::parse(&repr).unwrap();
    assert_eq!(req.call.from.as_bytes(), b"SENDERBOX");
    assert_eq!(req.call.to.as_bytes(), b"RECVBOX");
    assert_eq!(
        req.call.text.as_bytes(),
        b"Hello via DCE/RPC (dcerpc-netrsendmessage)"
    );
    assert_eq!(req.call.text.max_count, 43);
    assert_eq!(req.call.recipient().to_string(), "RECVBOX<03>");
    assert_eq!(req.call.stub_len(), 99);
    assert_eq!(req.to_vec().unwrap(), bytes);

    // The same request from the builder (scapy left flags1 at 0).
    let mut built = Request::new(
        activity(),
        0,
        NetrSendMessage::new(
            b"SENDERBOX",
            b"RECVBOX",
            b"Hello via DCE/RPC (dcerpc-netrsendmessage)",
        ),
    );
    assert_eq!(built.header.flags1, Flags1::IDEMPOTENT);
    built.header.flags1 = Flags1(0);
    assert_eq!(built, req);
    assert_eq!(built.to_vec().unwrap(), bytes);
}

#[test]
fn request_parse_refuses_other_calls() {
    let bytes = vector_bytes();
    let repr = Repr::parse_bytes(&bytes).unwrap();
    let mut other = repr;
    other.header.if_id = MSGSVC;
    assert!(matches!(Request::parse(&other), Err(Error::Unsupported(_))));
    let mut other = repr;
    other.header.opnum = 1;
    assert!(matches!(Request::parse(&other), Err(Error::Unsupported(_))));
    let mut other = repr;
    other.header.ptype = PacketType::Response;
    assert!(matches!(Request::parse(&other), Err(Error::Unsupported(_))));
    let mut other = repr;
    other.body = &repr.body[..50];
    assert!(matches!(
        Request::parse(&other),
        Err(Error::Truncated { .. })
    ));
}

#[test]
fn string_limits() {
    let long_name = [b'N'; 256];
    let ok_text = vec![b'x'; 65535];
    let ok = NetrSendMessage::new(&long_name[..255], b"TO", &ok_text);
    let mut stub = vec![0u8; ok.stub_len()];
    ok.emit_stub(&mut stub, Drep::LITTLE_ENDIAN).unwrap();
    assert_eq!(
        NetrSendMessage::parse(&stub, Drep::LITTLE_ENDIAN).unwrap(),
        ok
    );

    let too_long = NetrSendMessage::new(&long_name, b"TO", b"x");
    let mut stub = vec![0u8; too_long.stub_len()];
    assert!(matches!(
        too_long.emit_stub(&mut stub, Drep::LITTLE_ENDIAN),
        Err(Error::TooLong(_))
    ));
    // Hand-encoded: the decoder refuses it as well.
    let mut e = Encoder::new(&mut stub, Drep::LITTLE_ENDIAN);
    e.string(&too_long.from).unwrap();
    e.string(&too_long.to).unwrap();
    e.string(&too_long.text).unwrap();
    assert_eq!(
        NetrSendMessage::parse(&stub, Drep::LITTLE_ENDIAN),
        Err(Error::TooLong("NetrSendMessage From"))
    );
    let big_text = vec![b'x'; 65536];
    let m = NetrSendMessage::new(b"A", b"B", &big_text);
    assert!(matches!(
        m.emit_stub(&mut vec![0; m.stub_len()], Drep::LITTLE_ENDIAN),
        Err(Error::TooLong(_))
    ));
    let mut wide = NetrSendMessage::new(b"A", b"B", b"C");
    wide.to = NdrString::wchar_le(b"B\0");
    assert!(wide.emit_stub(&mut [0u8; 64], Drep::LITTLE_ENDIAN).is_err());
}

#[test]
fn response_fault_reject_headers() {
    let bytes = vector_bytes();
    let req = Repr::parse_bytes(&bytes).unwrap().header;
    let resp = ShortPdu::response(&req, 0x6000_0001, status::NERR_NAME_NOT_FOUND);
    let out = resp.to_vec().unwrap();
    assert_eq!(out.len(), 84);
    // msrp-rpc.md §5: ptype 2, flags 0, drep 10 00 00, identifiers copied,
    // our boot time, hints FFFF, len 4, fragnum 0, then the status.
    assert_eq!(&out[..8], &[4, 2, 0, 0, 0x10, 0, 0, 0]);
    assert_eq!(&out[8..56], &bytes[8..56]);
    assert_eq!(&out[56..60], &[1, 0, 0, 0x60]);
    assert_eq!(&out[60..70], &bytes[60..70]);
    assert_eq!(&out[70..80], &[0xFF, 0xFF, 0xFF, 0xFF, 4, 0, 0, 0, 0, 0]);
    assert_eq!(&out[80..], &[0xE1, 0x08, 0, 0]);
    let back = ShortPdu::parse(&Repr::parse_bytes(&out).unwrap()).unwrap();
    assert_eq!(back, resp);

    let reject = ShortPdu::reject(&req, 7, nca::NCA_UNK_IF).to_vec().unwrap();
    assert_eq!(
        (reject[1], &reject[80..]),
        (6, &[0x03, 0x00, 0x01, 0x1C][..])
    );
    let fault = ShortPdu::fault(&req, 7, nca::NCA_S_FAULT_NDR)
        .to_vec()
        .unwrap();
    assert_eq!((fault[1], &fault[80..]), (3, &[0xF7, 0x06, 0, 0][..]));
    let nocall = ShortPdu::nocall(&req, 7).to_vec().unwrap();
    assert_eq!((nocall[1], nocall.len()), (5, 80));
    let working = ShortPdu::working(&req, 7);
    assert_eq!(working.header.ptype, PacketType::Working);

    let ping = ShortPdu::ping(&req);
    assert_eq!(
        (ping.header.act_id, ping.header.server_boot),
        (req.act_id, 0)
    );
    let ack = ShortPdu::ack(&resp.header);
    assert_eq!(
        (ack.header.ptype, ack.header.server_boot),
        (PacketType::Ack, 0x6000_0001)
    );
    for pdu in [ping, ack, working] {
        let b = pdu.to_vec().unwrap();
        assert_eq!(
            ShortPdu::parse(&Repr::parse_bytes(&b).unwrap()).unwrap(),
            pdu
        );
    }
}

#[test]
fn short_pdu_parse_checks_bodies() {
    let mut h = Header::new(PacketType::Response);
    let five = Repr {
        header: h,
        body: &[1, 2, 3, 4, 5],
    };
    assert!(matches!(ShortPdu::parse(&five), Err(Error::Malformed(_))));
    h.ptype = PacketType::Ack;
    let ack = Repr {
        header: h,
        body: &[1],
    };
    assert!(matches!(ShortPdu::parse(&ack), Err(Error::Unsupported(_))));
    h.ptype = PacketType::Request;
    let req = Repr {
        header: h,
        body: &[],
    };
    assert!(matches!(ShortPdu::parse(&req), Err(Error::Unsupported(_))));
    // Big-endian status.
    h.ptype = PacketType::Fault;
    h.drep = Drep::BIG_ENDIAN;
    let be = Repr {
        header: h,
        body: &[0x1C, 0x01, 0x00, 0x02],
    };
    assert_eq!(
        ShortPdu::parse(&be).unwrap().status,
        Some(nca::NCA_OP_RNG_ERROR)
    );
    assert_eq!(
        ShortPdu::parse(&be).unwrap().to_vec().unwrap()[80..],
        [0x1C, 0x01, 0x00, 0x02]
    );
}

fn oem(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1u8.., 0..max)
}

proptest! {
    #[test]
    fn request_encode_decode_is_identity(
        from in oem(40),
        to in oem(20),
        text in oem(300),
        seq in any::<u32>(),
        act in any::<[u8; 16]>(),
        big in any::<bool>(),
    ) {
        let mut req = Request::new(Uuid::from_bytes(act), seq, NetrSendMessage::new(&from, &to, &text));
        if big {
            req.header.drep = Drep::BIG_ENDIAN;
        }
        let bytes = req.to_vec().unwrap();
        prop_assert_eq!(bytes.len(), req.buffer_len());
        let repr = Repr::parse_bytes(&bytes).unwrap();
        let back = Request::parse(&repr).unwrap();
        prop_assert_eq!(back.call.from.as_bytes(), &from[..]);
        prop_assert_eq!(back.call.text.as_bytes(), &text[..]);
        prop_assert_eq!(back.header, req.header);
        prop_assert_eq!(back.call.to.as_bytes(), &to[..]);
        prop_assert_eq!(back.to_vec().unwrap(), bytes);
    }

    #[test]
    fn short_pdu_encode_decode_is_identity(status in any::<u32>(), ptype in 2u8..7, boot in any::<u32>()) {
        let req = Header::new(PacketType::Request);
        let pdu = match ptype {
            2 => ShortPdu::response(&req, boot, status),
            3 => ShortPdu::fault(&req, boot, status),
            4 => ShortPdu::working(&req, boot),
            5 => ShortPdu::nocall(&req, boot),
            _ => ShortPdu::reject(&req, boot, status),
        };
        let bytes = pdu.to_vec().unwrap();
        prop_assert_eq!(ShortPdu::parse(&Repr::parse_bytes(&bytes).unwrap()).unwrap(), pdu);
    }

    #[test]
    fn stub_decoding_never_panics(stub in proptest::collection::vec(any::<u8>(), 0..80)) {
        if let Ok(m) = NetrSendMessage::parse(&stub, Drep::LITTLE_ENDIAN) {
            let mut out = vec![0u8; m.stub_len()];
            let n = m.emit_stub(&mut out, Drep::LITTLE_ENDIAN).unwrap();
            prop_assert_eq!(NetrSendMessage::parse(&out[..n], Drep::LITTLE_ENDIAN).unwrap(), m);
        }
    }
}
