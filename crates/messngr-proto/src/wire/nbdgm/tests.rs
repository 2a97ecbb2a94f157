//! Unit and property tests (unwrap is how a test fails).
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;
use crate::wire::Emit;
use crate::wire::name::{EncodedName, NetbiosName, Scope, scope_labels};

/// The frames of a captured vector (one hex payload per non-comment line).
fn vector(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect()
}

fn scapy() -> Vec<u8> {
    vector(include_str!(
        "../../../tests/vectors/mailslot-messngr-scapy.hex"
    ))
    .remove(0)
}

fn impacket() -> Vec<u8> {
    vector(include_str!(
        "../../../tests/vectors/mailslot-messngr-impacket.hex"
    ))
    .remove(0)
}

fn name(s: &str) -> EncodedName<'static> {
    EncodedName::new(s.parse().unwrap())
}

const SENDER_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

#[test]
fn deconstruct_scapy_header() {
    let bytes = scapy();
    let p = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(p.msg_type(), MessageType::DirectUnique);
    assert_eq!(p.flags().bits(), 0x02);
    assert!(p.flags().first() && !p.flags().more());
    assert_eq!(p.flags().node_type(), NodeType::B);
    assert_eq!(p.dgm_id(), 0x1001);
    assert_eq!(p.source_ip(), SENDER_IP);
    assert_eq!(p.source_port(), 138);
    assert_eq!(p.dgm_length(), Some(215));
    assert_eq!(p.packet_offset(), Some(0));
    assert_eq!(p.error_code(), None);
    assert_eq!(p.payload().len(), 229 - 14);
}

#[test]
fn parse_scapy_and_re_emit() {
    let bytes = scapy();
    let repr = Repr::parse(&bytes).unwrap();
    assert_eq!(repr.header, Header::new(NodeType::B, 0x1001, SENDER_IP));
    let Body::Datagram { kind, data } = repr.body else {
        panic!("not a datagram: {repr:?}");
    };
    assert_eq!(kind, DatagramKind::DirectUnique);
    assert_eq!(data.dgm_length, None);
    assert_eq!(data.computed_dgm_length(), Ok(215));
    assert_eq!(data.packet_offset, 0);
    let names = data.names.unwrap();
    assert_eq!(names.source, name("SENDERBOX#00"));
    assert_eq!(names.destination, name("RECVBOX#03"));
    assert_eq!(data.user_data.len(), 147);
    assert_eq!(&data.user_data[..4], b"\xFFSMB");
    assert_eq!(repr.to_vec().unwrap(), bytes);
}

#[test]
fn construct_scapy() {
    let bytes = scapy();
    let repr = Repr::datagram(
        DatagramKind::DirectUnique,
        Header::new(NodeType::B, 0x1001, SENDER_IP),
        name("SENDERBOX#00"),
        name("RECVBOX#03"),
        &bytes[82..],
    );
    assert_eq!(repr.buffer_len(), bytes.len());
    assert_eq!(repr.to_vec().unwrap(), bytes);
    let mut short = vec![0; bytes.len() - 1];
    assert_eq!(
        repr.emit(&mut short),
        Err(Error::BufferTooSmall {
            need: bytes.len(),
            have: bytes.len() - 1
        })
    );
}

#[test]
fn impacket_dgm_length_is_kept_not_trusted() {
    let bytes = impacket();
    let repr = Repr::parse(&bytes).unwrap();
    assert_eq!(
        repr.header.dgm_id, 0x0210,
        "impacket writes DGM_ID little-endian"
    );
    let Body::Datagram { data, .. } = repr.body else {
        panic!("not a datagram");
    };
    assert_eq!(data.dgm_length, Some(153));
    assert_eq!(data.computed_dgm_length(), Ok(221));
    assert_eq!(
        data.user_data.len(),
        153,
        "user data is the rest of the payload"
    );
    assert_eq!(repr.to_vec().unwrap(), bytes);
    // Built afresh, the length is right.
    let fixed = Repr {
        body: Body::Datagram {
            kind: DatagramKind::DirectUnique,
            data: crate::wire::nbdgm::Data {
                dgm_length: None,
                ..data
            },
        },
        ..repr
    };
    assert_eq!(fixed.to_vec().unwrap()[10..12], [0, 221]);
}

#[test]
fn every_truncation_fails_or_shortens_the_data() {
    let bytes = scapy();
    for cut in 0..bytes.len() {
        match Repr::parse(&bytes[..cut]) {
            Ok(repr) => {
                assert!(cut >= 82, "parsed a packet cut inside its names at {cut}");
                let Body::Datagram { data, .. } = repr.body else {
                    panic!("not a datagram");
                };
                assert_eq!(data.user_data.len(), cut - 82);
                assert_eq!(data.dgm_length, Some(215));
                assert_eq!(repr.to_vec().unwrap(), &bytes[..cut]);
            }
            Err(e) => assert!(cut < 82, "cut {cut}: {e}"),
        }
    }
}

#[test]
fn datagram_error_layout() {
    let header = Header::new(NodeType::B, 0x1234, Ipv4Addr::new(10, 77, 0, 1));
    let repr = Repr::error(header, ErrorCode::DestinationNameNotPresent);
    let bytes = repr.to_vec().unwrap();
    assert_eq!(
        bytes,
        [0x13, 0x00, 0x12, 0x34, 10, 77, 0, 1, 0x00, 0x8A, 0x82],
        "FIRST and MORE cleared, our IP and port 138"
    );
    let p = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(p.error_code(), Some(ErrorCode::DestinationNameNotPresent));
    assert_eq!(p.dgm_length(), None);
    assert_eq!(Repr::parse(&bytes).unwrap(), repr);
    // Trailing bytes are ignored.
    let mut longer = bytes.clone();
    longer.push(0xEE);
    assert_eq!(Repr::parse(&longer).unwrap(), repr);
    assert!(matches!(
        Repr::parse(&bytes[..10]),
        Err(Error::Truncated { need: 11, have: 10 })
    ));
}

#[test]
fn query_packets_round_trip() {
    let header = Header::new(NodeType::P, 7, SENDER_IP);
    let dest = name("MLAN#03");
    for repr in [
        Repr::query_request(header, dest),
        Repr::positive_query_response(header, dest),
        Repr::negative_query_response(header, dest),
    ] {
        let bytes = repr.to_vec().unwrap();
        assert_eq!(bytes.len(), 10 + 34);
        assert_eq!(bytes[1], 0x06);
        assert_eq!(bytes[10], 0x20);
        assert_eq!(Repr::parse(&bytes).unwrap(), repr);
        assert!(Repr::parse(&bytes[..43]).is_err());
    }
}

#[test]
fn unknown_types_round_trip_and_known_ones_are_refused_as_unknown() {
    let bytes = [0x20, 0x02, 0, 1, 1, 2, 3, 4, 0, 138, 0xAB, 0xCD];
    let repr = Repr::parse(&bytes).unwrap();
    assert_eq!(
        repr.body,
        Body::Unknown {
            msg_type: 0x20,
            payload: &[0xAB, 0xCD]
        }
    );
    assert_eq!(repr.to_vec().unwrap(), bytes);
    let bogus = Repr {
        body: Body::Unknown {
            msg_type: 0x13,
            payload: &[],
        },
        ..repr
    };
    assert!(matches!(bogus.to_vec(), Err(Error::Malformed(_))));
}

#[test]
fn first_bit_missing_with_offset_zero_still_has_names() {
    let mut bytes = scapy();
    bytes[1] = 0x00;
    let repr = Repr::parse(&bytes).unwrap();
    let Body::Datagram { data, .. } = repr.body else {
        panic!("not a datagram");
    };
    assert!(data.names.is_some());
    assert_eq!(repr.to_vec().unwrap(), bytes);
}

#[test]
fn continuation_has_no_names() {
    let bytes = [
        0x10, 0x00, 0, 9, 10, 77, 0, 2, 0, 138, 0, 3, 0, 40, b'a', b'b', b'c',
    ];
    let repr = Repr::parse(&bytes).unwrap();
    let Body::Datagram { data, .. } = repr.body else {
        panic!("not a datagram");
    };
    assert_eq!(data.names, None);
    assert_eq!(data.packet_offset, 40);
    assert_eq!(data.user_data, b"abc");
    assert_eq!(data.dgm_length, None);
    assert_eq!(repr.to_vec().unwrap(), bytes);
}

#[test]
fn emit_refuses_names_that_would_not_parse_back() {
    let bytes = scapy();
    let mut repr = Repr::parse(&bytes).unwrap();
    let Body::Datagram { data, .. } = &mut repr.body else {
        panic!("not a datagram");
    };
    data.packet_offset = 5;
    repr.header.flags = repr.header.flags.with_fragment(false, false);
    assert!(matches!(repr.to_vec(), Err(Error::Malformed(_))));
    repr.header.flags = repr.header.flags.with_fragment(true, false);
    assert!(repr.to_vec().is_ok());
}

#[test]
fn split_makes_two_rfc_fragments() {
    let user_data: Vec<u8> = (0..600u16).map(|i| i as u8).collect();
    let whole = Repr::datagram(
        DatagramKind::DirectGroup,
        Header::new(NodeType::B, 42, SENDER_IP),
        name("SENDERBOX#00"),
        name("MLAN#03"),
        &user_data,
    );
    let (first, second) = whole.split(MAX_UNFRAGMENTED_LEN).unwrap();
    let second = second.unwrap();
    let (a, b) = (first.to_vec().unwrap(), second.to_vec().unwrap());
    assert_eq!(a.len(), MAX_UNFRAGMENTED_LEN);
    assert_eq!(b.len(), 14 + 600 - (548 - 82));
    assert_eq!((a[1], b[1]), (0x03, 0x00));
    let (pa, pb) = (
        Packet::new_checked(&a[..]).unwrap(),
        Packet::new_checked(&b[..]).unwrap(),
    );
    assert_eq!(pa.packet_offset(), Some(0));
    assert_eq!(pb.packet_offset(), Some(466));
    assert_eq!(pa.dgm_length(), Some(548 - 14));
    assert_eq!(pb.dgm_length(), Some(134));
    assert_eq!(Repr::parse(&a).unwrap(), first);
    assert_eq!(Repr::parse(&b).unwrap(), second);

    assert_eq!(whole.split(1000).unwrap(), (whole, None));
    assert!(matches!(whole.split(300), Err(Error::TooLong(_))));
    assert!(matches!(whole.split(82), Err(Error::TooLong(_))));
    assert!(matches!(second.split(100), Err(Error::Unsupported(_))));
    assert!(matches!(first.split(100), Err(Error::Unsupported(_))));
    let err = Repr::error(whole.header, ErrorCode::InvalidSourceNameFormat);
    assert!(matches!(err.split(100), Err(Error::Unsupported(_))));
}

#[test]
fn flags_fields() {
    for (node, bits) in [
        (NodeType::B, 0x02),
        (NodeType::P, 0x06),
        (NodeType::M, 0x0A),
        (NodeType::Nbdd, 0x0E),
    ] {
        let f = Flags::new(node, true, false);
        assert_eq!(f.bits(), bits);
        assert_eq!(f.node_type(), node);
    }
    let f = Flags::from_bits(0x1E).with_fragment(false, true);
    assert_eq!(
        (f.bits(), f.reserved(), f.more(), f.first()),
        (0x1D, 0x10, true, false)
    );
}

#[test]
fn enum_values_round_trip() {
    for v in 0..=255u8 {
        assert_eq!(u8::from(MessageType::from(v)), v);
        assert_eq!(u8::from(ErrorCode::from(v)), v);
    }
    assert_eq!(ErrorCode::from(0x83), ErrorCode::InvalidSourceNameFormat);
    assert_eq!(
        ErrorCode::from(0x84),
        ErrorCode::InvalidDestinationNameFormat
    );
}

/// Owned parts of an arbitrary packet; [`Parts::repr`] borrows from them.
#[derive(Debug, Clone)]
struct Parts {
    selector: u8,
    flags: u8,
    dgm_id: u16,
    ip: u32,
    port: u16,
    offset: u16,
    length: Option<u16>,
    source: [u8; 16],
    destination: [u8; 16],
    scope: Vec<u8>,
    data: Vec<u8>,
    code: u8,
    unknown_type: u8,
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        (
            0u8..8,
            any::<u8>(),
            any::<u16>(),
            any::<u32>(),
            any::<u16>(),
        ),
        (
            prop_oneof![Just(0u16), any::<u16>()],
            proptest::option::of(any::<u16>()),
        ),
        (any::<[u8; 16]>(), any::<[u8; 16]>()),
        proptest::collection::vec("[a-z0-9]{1,12}", 0..3),
        proptest::collection::vec(any::<u8>(), 0..700),
        (any::<u8>(), 0x17u8..=0xFF),
    )
        .prop_map(|(h, l, n, labels, data, (code, unknown_type))| Parts {
            selector: h.0,
            flags: h.1,
            dgm_id: h.2,
            ip: h.3,
            port: h.4,
            offset: l.0,
            length: l.1,
            source: n.0,
            destination: n.1,
            scope: scope_labels(&labels.join(".")).unwrap(),
            data,
            code,
            unknown_type,
        })
}

impl Parts {
    fn repr(&self) -> Repr<'_> {
        let scope = Scope::from_labels(&self.scope).unwrap();
        let enc = |raw| EncodedName {
            name: NetbiosName::from_raw(raw),
            scope,
        };
        let header = Header {
            flags: Flags::from_bits(self.flags),
            dgm_id: self.dgm_id,
            source_ip: Ipv4Addr::from(self.ip),
            source_port: self.port,
        };
        let kind = [
            DatagramKind::DirectUnique,
            DatagramKind::DirectGroup,
            DatagramKind::Broadcast,
        ];
        let body = match self.selector {
            0..=2 => {
                let mut data = Data {
                    dgm_length: None,
                    packet_offset: self.offset,
                    names: (header.flags.first() || self.offset == 0).then(|| Names {
                        source: enc(self.source),
                        destination: enc(self.destination),
                    }),
                    user_data: &self.data,
                };
                // An override equal to the computed length parses as `None`.
                data.dgm_length = self.length.filter(|&v| data.computed_dgm_length() != Ok(v));
                Body::Datagram {
                    kind: kind[usize::from(self.selector)],
                    data,
                }
            }
            3 => Body::Error(ErrorCode::from(self.code)),
            4 => Body::QueryRequest(enc(self.destination)),
            5 => Body::PositiveQueryResponse(enc(self.destination)),
            6 => Body::NegativeQueryResponse(enc(self.destination)),
            _ => Body::Unknown {
                msg_type: self.unknown_type,
                payload: &self.data,
            },
        };
        Repr { header, body }
    }
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(p in parts()) {
        let repr = p.repr();
        let bytes = repr.to_vec().unwrap();
        prop_assert_eq!(bytes.len(), repr.buffer_len());
        prop_assert_eq!(Repr::parse(&bytes).unwrap(), repr);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        msg_type in 0x0Fu8..0x18,
    ) {
        let mut bytes = bytes;
        if let Some(b) = bytes.first_mut() {
            *b = msg_type;
        }
        if let Ok(p) = Packet::new_checked(&bytes[..]) {
            let _ = (p.dgm_length(), p.packet_offset(), p.error_code(), p.payload());
        }
        if let Ok(repr) = Repr::parse(&bytes) {
            let again = repr.to_vec().unwrap();
            prop_assert_eq!(Repr::parse(&again).unwrap(), repr);
            if repr.body.message_type().is_datagram()
                || matches!(repr.body, Body::Unknown { .. })
            {
                prop_assert_eq!(again, bytes);
            }
        }
    }
}
