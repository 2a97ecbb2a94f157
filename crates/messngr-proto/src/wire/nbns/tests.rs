#![allow(clippy::unwrap_used)]

use core::net::Ipv4Addr;

use super::*;
use crate::wire::name::{EncodedName, NetbiosName, Scope};

fn recvbox03() -> EncodedName<'static> {
    EncodedName::new(NetbiosName::from_raw(*b"RECVBOX        \x03"))
}

fn owner() -> NbEntry {
    NbEntry::new(false, Ont::B, Ipv4Addr::new(10, 77, 0, 1))
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Every packet the constructors build, with its flags word.
fn catalogue() -> Vec<(Repr<'static>, u16)> {
    static NAMES: [NodeName; 2] = [
        NodeName {
            name: NetbiosName::from_raw(*b"RECVBOX        \x03"),
            flags: NameFlags(0x0400),
        },
        NodeName {
            name: NetbiosName::from_raw(*b"MLAN           \x00"),
            flags: NameFlags(0x8400),
        },
    ];
    static STATS: [u8; STATISTICS_LEN] = statistics([2, 0x77, 0, 0, 0, 1]);
    let n = recvbox03();
    let one = NbEntries::one(owner());
    let wild = EncodedName::new(NetbiosName::WILDCARD);
    let server = DomainName::from_wire(b"\x02NS\x07NETBIOS\x03COM\x00").unwrap();
    let domain = RrName::Domain(DomainName::from_wire(b"\x07NETBIOS\x03COM\x00").unwrap());
    let req = Flags::from_bits(0x2910);
    vec![
        (Repr::name_query_request(1, n, true), 0x0110),
        (Repr::name_query_request(1, n, false), 0x0100),
        (
            Repr::positive_query_response(1, n, 259_200, one, false),
            0x8500,
        ),
        (
            Repr::positive_query_response(1, n, 259_200, one, true),
            0x8580,
        ),
        (Repr::negative_query_response(1, n, Rcode::NamErr), 0x8503),
        (
            Repr::redirect_query_response(1, domain, 3600, server, Ipv4Addr::new(10, 0, 0, 1)),
            0x8100,
        ),
        (Repr::registration_request(1, n, 0, owner(), true), 0x2910),
        (
            Repr::registration_request(1, n, 300, owner(), false),
            0x2900,
        ),
        (Repr::overwrite_request(1, n, 0, owner(), true), 0x2810),
        (Repr::overwrite_request(1, n, 0, owner(), false), 0x2800),
        (Repr::refresh_request(1, n, 300, owner()), 0x4000),
        (
            Repr::multihomed_registration_request(1, n, 300, owner()),
            0x7900,
        ),
        (
            Repr::registration_response(1, n, 300, one, Rcode::NoError),
            0xAD80,
        ),
        (
            Repr::registration_response(1, n, 0, one, Rcode::ActErr),
            0xAD86,
        ),
        (Repr::end_node_challenge_response(1, n, 300, one), 0xAD00),
        (
            Repr::name_conflict_demand(1, n, NbEntry::new(false, Ont::B, Ipv4Addr::UNSPECIFIED)),
            0xAD87,
        ),
        (Repr::release_request(1, n, owner(), true), 0x3010),
        (Repr::release_request(1, n, owner(), false), 0x3000),
        (Repr::release_response(1, n, one, Rcode::NoError), 0xB400),
        (Repr::release_response(1, n, one, Rcode::RfsErr), 0xB405),
        (Repr::wack(1, n, 30, req), 0xBC00),
        (Repr::node_status_request(1, wild, false), 0x0000),
        (Repr::node_status_request(1, wild, true), 0x0010),
        (
            Repr::node_status_response(1, wild, NodeNames::from_slice(&NAMES), &STATS),
            0x8400,
        ),
    ]
}

#[test]
fn flags_split_and_join() {
    for v in 0..=u16::MAX {
        let f = Flags::from_bits(v);
        assert_eq!(f.bits(), v & !0x0060, "{v:#06x}");
    }
    let f = Flags::from_bits(0xAD86);
    assert!(f.response && f.authoritative && f.recursion_desired && f.recursion_available);
    assert_eq!(
        (f.opcode, f.rcode, f.broadcast),
        (Opcode::Registration, Rcode::ActErr, false)
    );
    assert_eq!(Flags::from_bits(0x4800).opcode, Opcode::RefreshAlt);
    assert_eq!(
        Flags::from_bits(0x7900).opcode,
        Opcode::MultiHomedRegistration
    );
    assert_eq!(Flags::from_bits(0x1000).opcode, Opcode::Unknown(2));
}

#[test]
fn every_constructor_round_trips_with_its_flags() {
    for (repr, flags) in catalogue() {
        let bytes = repr.to_vec().unwrap();
        assert_eq!(bytes.len(), repr.buffer_len());
        assert_eq!(u16::from_be_bytes([bytes[2], bytes[3]]), flags);
        let back = Repr::parse(&bytes).unwrap_or_else(|e| panic!("{flags:#06x}: {e}"));
        assert_eq!(back, repr, "{flags:#06x}");
        assert_eq!(back.to_vec().unwrap(), bytes);
        assert!(bytes.len() <= MAX_DATAGRAM_LENGTH);
        for cut in 0..bytes.len() {
            assert!(
                Repr::parse(&bytes[..cut]).is_err(),
                "{flags:#06x} cut at {cut}"
            );
        }
    }
}

#[test]
fn registration_requests_point_at_the_question() {
    for repr in [
        Repr::registration_request(7, recvbox03(), 0, owner(), true),
        Repr::refresh_request(7, recvbox03(), 300, owner()),
        Repr::release_request(7, recvbox03(), owner(), true),
        Repr::overwrite_request(7, recvbox03(), 0, owner(), true),
    ] {
        let bytes = repr.to_vec().unwrap();
        assert_eq!(bytes.len(), 68);
        assert_eq!(&bytes[50..52], &QUESTION_POINTER);
    }
    // Responses carry the full name.
    let rsp =
        Repr::registration_response(7, recvbox03(), 0, NbEntries::one(owner()), Rcode::ActErr);
    assert_eq!(rsp.to_vec().unwrap()[12], 0x20);
}

#[test]
fn a_full_rr_name_in_a_request_is_written_as_a_pointer() {
    let mut full = Repr::registration_request(7, recvbox03(), 0, owner(), true)
        .to_vec()
        .unwrap();
    let compressed = full.clone();
    full.splice(50..52, compressed[12..46].iter().copied());
    let repr = Repr::parse(&full).unwrap();
    assert_eq!(repr.to_vec().unwrap(), compressed);
}

#[test]
fn counts_must_match_the_data() {
    let good = Repr::name_query_request(1, recvbox03(), true)
        .to_vec()
        .unwrap();
    let mut extra = good.clone();
    extra.push(0);
    assert_eq!(
        Repr::parse(&extra),
        Err(Error::Malformed("bytes after the last NBNS record"))
    );
    let mut more = good.clone();
    more[7] = 1; // ANCOUNT 1, no record
    assert!(matches!(Repr::parse(&more), Err(Error::Truncated { .. })));
    let mut two = good.clone();
    two[5] = 2;
    assert!(matches!(Repr::parse(&two), Err(Error::Unsupported(_))));
    let mut none = good;
    none[5] = 0;
    assert!(Repr::parse(&none).is_err());
}

#[test]
fn pointers_must_point_backwards() {
    let mut b = Repr::registration_request(1, recvbox03(), 0, owner(), true)
        .to_vec()
        .unwrap();
    b[51] = 50; // points at itself
    assert!(Repr::parse(&b).is_err());
    b[50] = 0x80; // reserved label type
    assert!(Repr::parse(&b).is_err());
}

#[test]
fn redirect_with_pointers_into_rdata_parses() {
    // NS RR for NETBIOS.COM, NSD_NAME = NS + pointer to it, A RR named by a
    // pointer into the NS RDATA.
    let mut b = hex("0005 8100 0000 0000 0001 0001");
    b.extend_from_slice(b"\x07NETBIOS\x03COM\x00");
    b.extend_from_slice(&hex("0002 0001 00000e10 0005"));
    b.extend_from_slice(b"\x02NS\xc0\x0c");
    b.extend_from_slice(&hex("c023 0001 0001 00000e10 0004 0a000001"));
    let repr = Repr::parse(&b).unwrap();
    let ns = repr.authority.first().unwrap();
    let RData::Ns(server) = ns.rdata else {
        panic!("{ns:?}")
    };
    assert_eq!(server.to_string(), "NS.NETBIOS.COM");
    let a = repr.additional.first().unwrap();
    assert_eq!(a.rdata, RData::A(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(a.name, RrName::Domain(server));
    let emitted = repr.to_vec().unwrap();
    assert_eq!(Repr::parse(&emitted).unwrap(), repr);
}

#[test]
fn wack_with_the_null_name_and_null_type() {
    let b = hex("0001 bc00 0000 0001 0000 0000 00 000a 0001 0000001e 0002 2910");
    let repr = Repr::parse(&b).unwrap();
    let rr = repr.answers.first().unwrap();
    assert_eq!(rr.rdata, RData::Wack(0x2910));
    assert_eq!(rr.name, RrName::Domain(DomainName::ROOT));
    assert_eq!(repr.to_vec().unwrap(), b);
}

#[test]
fn odd_rdata_is_kept_raw() {
    let mut b = Repr::positive_query_response(1, recvbox03(), 5, NbEntries::one(owner()), true)
        .to_vec()
        .unwrap();
    b[55] = 5; // RDLENGTH 5, one byte left over as data
    b.pop();
    let repr = Repr::parse(&b).unwrap();
    assert_eq!(repr.answers.first().unwrap().rdata, RData::Raw(&b[56..]));
    assert_eq!(repr.to_vec().unwrap(), b);
}

#[test]
fn node_status_tolerates_short_statistics_and_rejects_short_names() {
    let names = [NodeName {
        name: NetbiosName::from_raw(*b"RECVBOX        \x03"),
        flags: NameFlags::new(false, Ont::B),
    }];
    let wild = EncodedName::new(NetbiosName::WILDCARD);
    let repr = Repr::node_status_response(9, wild, NodeNames::from_slice(&names), &[1, 2, 3]);
    let b = repr.to_vec().unwrap();
    let back = Repr::parse(&b).unwrap();
    let RData::NodeStatus(s) = back.answers.first().unwrap().rdata else {
        panic!()
    };
    assert_eq!(s.unit_id(), None);
    assert_eq!(s.names.iter().collect::<Vec<_>>(), names);
    let mut bad = b.clone();
    bad[56] = 2; // NUM_NAMES 2, only one name's worth of bytes + 3
    assert!(Repr::parse(&bad).is_err());
}

#[test]
fn names_with_a_scope_round_trip_and_compress() {
    let labels = crate::wire::name::scope_labels("corp.example").unwrap();
    let scoped = EncodedName {
        name: NetbiosName::from_raw(*b"RECVBOX        \x03"),
        scope: Scope::from_labels(&labels).unwrap(),
    };
    let repr = Repr::registration_request(3, scoped, 0, owner(), true);
    let b = repr.to_vec().unwrap();
    assert_eq!(b.len(), 68 + labels.len());
    assert_eq!(Repr::parse(&b).unwrap(), repr);
}

#[test]
fn header_view_reads_counts() {
    let b = Repr::registration_request(0x54EE, recvbox03(), 0, owner(), true)
        .to_vec()
        .unwrap();
    let p = Packet::new_checked(&b[..]).unwrap();
    assert_eq!((p.trn_id(), p.flags_word()), (0x54EE, 0x2910));
    assert_eq!(
        (p.qdcount(), p.ancount(), p.nscount(), p.arcount()),
        (1, 0, 0, 1)
    );
    assert!(Packet::new_checked(&b[..11]).is_err());
    assert_eq!(peek_header(&b).map(|h| h.0), Some(0x54EE));
}
