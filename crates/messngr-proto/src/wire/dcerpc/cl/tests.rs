//! Unit tests (unwrap is the point: a failure is a test failure).
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::*;

/// The header of dcerpc-netrsendmessage.hex (msrp-rpc.md §3), then 4 body bytes.
const REQUEST_HEADER: [u8; 84] = [
    0x04, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, // vers, ptype, flags, drep, serial_hi
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // object
    0xF8, 0x91, 0x7B, 0x5A, 0x00, 0xFF, 0xD0, 0x11, 0xA9, 0xB2, 0x00, 0xC0, 0x4F, 0xB6, 0xE6, 0xFC,
    0x6E, 0x61, 0x6C, 0x6D, 0x00, 0x00, 0x00, 0x40, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0, 0, 0, 0, // server_boot
    1, 0, 0, 0, // if_vers
    0, 0, 0, 0, // seqnum
    0, 0, 0xFF, 0xFF, 0xFF, 0xFF, // opnum, ihint, ahint
    4, 0, 0, 0, 0, 0, // len 4, fragnum, auth_proto, serial_lo
    0xAA, 0xBB, 0xCC, 0xDD,
];

fn msgsvcsend() -> Uuid {
    "5A7B91F8-FF00-11D0-A9B2-00C04FB6E6FC".parse().unwrap()
}

#[test]
fn deconstruct() {
    let p = Packet::new_checked(&REQUEST_HEADER[..]).unwrap();
    assert_eq!(p.rpc_vers(), 4);
    assert_eq!(p.ptype(), PacketType::Request);
    assert_eq!((p.flags1(), p.flags2()), (Flags1(0), Flags2(0)));
    assert_eq!(p.drep(), Drep::LITTLE_ENDIAN);
    assert_eq!(p.drep().byte_order(), ByteOrder::Little);
    assert_eq!(p.object(), Uuid::NIL);
    assert_eq!(p.if_id(), msgsvcsend());
    assert_eq!(
        p.act_id().to_string(),
        "6D6C616E-0000-4000-8000-000000000001"
    );
    assert_eq!((p.server_boot(), p.if_vers(), p.seqnum()), (0, 1, 0));
    assert_eq!((p.opnum(), p.ihint(), p.ahint()), (0, NO_HINT, NO_HINT));
    assert_eq!(
        (p.len(), p.fragnum(), p.auth_proto(), p.serial_lo()),
        (4, 0, 0, 0)
    );
    assert_eq!(p.body(), &[0xAA, 0xBB, 0xCC, 0xDD]);
    let repr = Repr::parse(&p).unwrap();
    assert_eq!(repr.header.if_vers_major(), 1);
    assert_eq!(repr.header.if_vers_minor(), 0);
    assert_eq!(repr.header.serial(), 0);
}

#[test]
fn construct_is_byte_identical() {
    let mut h = Header::new(PacketType::Request);
    h.if_id = msgsvcsend();
    h.act_id = "6d6c616e-0000-4000-8000-000000000001".parse().unwrap();
    h.if_vers = 1;
    let repr = Repr {
        header: h,
        body: &[0xAA, 0xBB, 0xCC, 0xDD],
    };
    assert_eq!(repr.to_vec().unwrap(), REQUEST_HEADER);
    assert_eq!(Repr::parse_bytes(&REQUEST_HEADER).unwrap(), repr);
}

#[test]
fn big_endian_header_fields() {
    let mut h = Header::new(PacketType::Response);
    h.drep = Drep::BIG_ENDIAN;
    h.if_id = msgsvcsend();
    h.seqnum = 0x0102_0304;
    h.opnum = 0x0506;
    h.server_boot = 0x0A0B_0C0D;
    let bytes = Repr {
        header: h,
        body: &[9],
    }
    .to_vec()
    .unwrap();
    assert_eq!(&bytes[4..7], &[0, 0, 0]);
    assert_eq!(&bytes[24..28], &[0x5A, 0x7B, 0x91, 0xF8]);
    assert_eq!(&bytes[56..60], &[0x0A, 0x0B, 0x0C, 0x0D]);
    assert_eq!(&bytes[64..70], &[1, 2, 3, 4, 5, 6]);
    assert_eq!(&bytes[74..76], &[0, 1]);
    let back = Repr::parse_bytes(&bytes).unwrap();
    assert_eq!(back.header, h);
    assert_eq!(back.body, &[9]);
}

#[test]
fn impossible_lengths_and_versions() {
    for cut in 0..REQUEST_HEADER.len() {
        assert!(
            Packet::new_checked(&REQUEST_HEADER[..cut]).is_err(),
            "cut {cut}"
        );
    }
    assert_eq!(
        Packet::new_checked(&REQUEST_HEADER[..83]).unwrap_err(),
        Error::Truncated { need: 84, have: 83 }
    );
    let mut v = REQUEST_HEADER;
    v[0] = 5;
    assert!(matches!(Repr::parse_bytes(&v), Err(Error::Unsupported(_))));
    v[0] = 0x14; // high nibble ignored
    assert!(Repr::parse_bytes(&v).is_ok());
    v[4] = 0x20;
    assert!(matches!(Repr::parse_bytes(&v), Err(Error::Malformed(_))));
    // Bytes after the body (an auth verifier) are not part of the Repr.
    let mut long = REQUEST_HEADER.to_vec();
    long.extend_from_slice(&[1, 2, 3]);
    assert_eq!(Repr::parse_bytes(&long).unwrap().body.len(), 4);
}

#[test]
fn emit_refuses_short_buffers_and_huge_bodies() {
    let repr = Repr::parse_bytes(&REQUEST_HEADER).unwrap();
    let mut buf = [0u8; 83];
    assert_eq!(
        repr.emit(&mut buf),
        Err(Error::BufferTooSmall { need: 84, have: 83 })
    );
    let big = vec![0u8; 65536];
    let repr = Repr {
        header: Header::new(PacketType::Request),
        body: &big,
    };
    assert!(matches!(repr.to_vec(), Err(Error::TooLong(_))));
}

#[test]
fn packet_types_and_flags() {
    for v in 0..=255u8 {
        assert_eq!(u8::from(PacketType::from(v)), v);
    }
    assert_eq!(PacketType::from(6), PacketType::Reject);
    assert_eq!(PacketType::from(11), PacketType::Unknown(11));
    let f = Flags1::BROADCAST | Flags1::MAYBE;
    assert_eq!(f, Flags1(0x50));
    assert!(f.contains(Flags1::MAYBE) && !f.contains(Flags1::IDEMPOTENT));
    assert!(Flags2(0x02).contains(Flags2::CANCEL_PENDING));
    assert_eq!(Drep([0x11, 0, 0]).char_rep(), 1);
}

fn arb_header() -> impl Strategy<Value = Header> {
    (
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()),
        (0u8..2, 0u8..16, any::<[u8; 2]>(), any::<u8>()),
        (any::<[u8; 16]>(), any::<[u8; 16]>(), any::<[u8; 16]>()),
        (any::<u32>(), any::<u32>(), any::<u32>()),
        (any::<u16>(), any::<u16>(), any::<u16>(), any::<u16>()),
        (any::<u8>(), any::<u8>()),
    )
        .prop_map(|(a, d, u, i, s, z)| Header {
            rpc_vers: (a.0 & 0xF0) | RPC_VERS,
            ptype: PacketType::from(a.1),
            flags1: Flags1(a.2),
            flags2: Flags2(a.3),
            drep: Drep([d.0 << 4 | d.1, d.2[0], d.2[1]]),
            serial_hi: d.3,
            object: Uuid::from_bytes(u.0),
            if_id: Uuid::from_bytes(u.1),
            act_id: Uuid::from_bytes(u.2),
            server_boot: i.0,
            if_vers: i.1,
            seqnum: i.2,
            opnum: s.0,
            ihint: s.1,
            ahint: s.2,
            fragnum: s.3,
            auth_proto: z.0,
            serial_lo: z.1,
        })
}

proptest! {
    #[test]
    fn encode_decode_is_identity(header in arb_header(), body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let repr = Repr { header, body: &body };
        let bytes = repr.to_vec().unwrap();
        prop_assert_eq!(bytes.len(), repr.buffer_len());
        prop_assert_eq!(Repr::parse_bytes(&bytes).unwrap(), repr);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        if let Ok(repr) = Repr::parse_bytes(&bytes) {
            let again = repr.to_vec().unwrap();
            prop_assert_eq!(&again[..], &bytes[..again.len()]);
        }
    }
}
