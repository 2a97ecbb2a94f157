//! NBNS against the captured vectors (netbios-names.md §3.4, §3.5, §4): every
//! packet parses field by field, re-emits byte for byte, and the
//! constructors rebuild the same bytes from the decoded values.
#![allow(clippy::unwrap_used)]
mod common;

use std::net::Ipv4Addr;

use messngr_proto::wire::Emit;
use messngr_proto::wire::name::{EncodedName, NetbiosName, Scope};
use messngr_proto::wire::nbns::{
    CLASS_IN, NameFlags, NbEntries, NbEntry, NodeNames, Ont, Opcode, QUESTION_POINTER, RData,
    Rcode, RecordType, Repr, RrName,
};

const NMBD: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);

fn one(file: Vec<common::VectorFrame>) -> Vec<u8> {
    assert_eq!(file.len(), 1);
    file.into_iter().next().expect("one frame").bytes
}

fn name(s: &str) -> EncodedName<'static> {
    EncodedName::new(s.parse::<NetbiosName>().expect("name"))
}

/// Parses, checks that emit gives the same bytes back, returns the Repr.
fn round_trip(bytes: &[u8]) -> Repr<'_> {
    let repr = Repr::parse(bytes).expect("vector parses");
    assert_eq!(repr.buffer_len(), bytes.len());
    assert_eq!(
        repr.to_vec().expect("emits"),
        bytes,
        "re-emitted bytes differ"
    );
    repr
}

fn check_query(bytes: &[u8], trn_id: u16, flags: u16, queried: &str, broadcast: bool) {
    let repr = round_trip(bytes);
    assert_eq!(repr.trn_id, trn_id);
    assert_eq!(repr.flags.bits(), flags);
    assert!(!repr.flags.response);
    assert_eq!(repr.flags.opcode, Opcode::Query);
    assert_eq!(repr.flags.broadcast, broadcast);
    let q = repr.question.expect("question");
    assert_eq!(q.name, name(queried));
    assert_eq!(q.name.scope, Scope::EMPTY);
    assert_eq!((q.qtype, q.class), (RecordType::Nb, CLASS_IN));
    assert!(repr.answers.is_empty() && repr.authority.is_empty() && repr.additional.is_empty());
    // The constructor builds the same packet, except nmblookup's -U flags
    // (0x0000 instead of 0x0100): patch them to compare the rest.
    let mut built = Repr::name_query_request(trn_id, name(queried), broadcast);
    built.flags = repr.flags;
    assert_eq!(built.to_vec().expect("emits"), bytes);
}

#[test]
fn broadcast_query_recvbox_00() {
    let b = one(vector!("nbns-query-bcast-req.hex"));
    check_query(&b, 0x7D9D, 0x0110, "RECVBOX<00>", true);
    assert_eq!(&b[13..45], b"FCEFEDFGECEPFICACACACACACACACAAA");
}

#[test]
fn broadcast_query_recvbox_03() {
    let b = one(vector!("nbns-query-03-bcast-req.hex"));
    check_query(&b, 0x53A0, 0x0110, "RECVBOX<03>", true);
    assert_eq!(
        b,
        Repr::name_query_request(0x53A0, name("RECVBOX<03>"), true)
            .to_vec()
            .unwrap()
    );
}

#[test]
fn unicast_query_from_nmblookup_has_rd_clear() {
    let b = one(vector!("nbns-query-03-ucast-req.hex"));
    check_query(&b, 0x1109, 0x0000, "RECVBOX<03>", false);
    assert!(!Repr::parse(&b).unwrap().flags.recursion_desired);
}

#[test]
fn smbclient_query_target_03() {
    let b = one(vector!("smbclient-nbns-query.hex"));
    check_query(&b, 0x5CC4, 0x0110, "TARGET<03>", true);
    assert_eq!(
        b,
        Repr::name_query_request(0x5CC4, name("TARGET<03>"), true)
            .to_vec()
            .unwrap()
    );
}

fn check_positive_response(bytes: &[u8], trn_id: u16, answered: &str) {
    let repr = round_trip(bytes);
    assert_eq!(repr.trn_id, trn_id);
    assert_eq!(repr.flags.bits(), 0x8580);
    let f = repr.flags;
    assert!(f.response && f.authoritative && f.recursion_desired && f.recursion_available);
    assert_eq!((f.opcode, f.rcode), (Opcode::Query, Rcode::NoError));
    assert!(repr.question.is_none());
    assert_eq!(repr.answers.len(), 1);
    let rr = repr.answers.first().unwrap();
    assert_eq!(rr.name, RrName::NetBios(name(answered)));
    assert_eq!(
        (rr.rtype, rr.class, rr.ttl),
        (RecordType::Nb, CLASS_IN, 259_200)
    );
    let entries = rr.nb_entries().expect("NB RDATA");
    let owners: Vec<NbEntry> = entries.iter().collect();
    assert_eq!(owners, [NbEntry::new(false, Ont::B, NMBD)]);
    assert!(!owners[0].flags.group());
    // Full name in the answer, no pointer.
    assert_eq!(bytes[12], 0x20);
    let built = Repr::positive_query_response(
        trn_id,
        name(answered),
        259_200,
        NbEntries::one(owners[0]),
        true,
    );
    assert_eq!(built.to_vec().unwrap(), bytes);
}

#[test]
fn positive_query_response_recvbox_00() {
    check_positive_response(&one(vector!("nbns-query-resp.hex")), 0x5660, "RECVBOX<00>");
}

#[test]
fn positive_query_response_recvbox_03() {
    let b = one(vector!("nbns-query-03-resp.hex"));
    check_positive_response(&b, 0x53A0, "RECVBOX<03>");
    assert_eq!(b.len(), 62);
    assert_eq!(&b[50..54], &[0x00, 0x03, 0xF4, 0x80]);
}

#[test]
fn node_status_request() {
    let b = one(vector!("nbns-nodestatus-req.hex"));
    let repr = round_trip(&b);
    assert_eq!((repr.trn_id, repr.flags.bits()), (0x6D4C, 0x0000));
    let q = repr.question.expect("question");
    assert!(q.name.name.is_wildcard());
    assert_eq!(&b[13..45], b"CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!((q.qtype, q.class), (RecordType::NbStat, CLASS_IN));
    let built = Repr::node_status_request(0x6D4C, EncodedName::new(NetbiosName::WILDCARD), false);
    assert_eq!(built.to_vec().unwrap(), b);
}

#[test]
fn node_status_response() {
    let b = one(vector!("nbns-nodestatus-resp.hex"));
    assert_eq!(b.len(), 193);
    let repr = round_trip(&b);
    assert_eq!((repr.trn_id, repr.flags.bits()), (0x6D4C, 0x8400));
    let rr = repr.answers.first().expect("answer");
    assert_eq!(
        rr.name,
        RrName::NetBios(EncodedName::new(NetbiosName::WILDCARD))
    );
    assert_eq!(
        (rr.rtype, rr.class, rr.ttl),
        (RecordType::NbStat, CLASS_IN, 0)
    );
    assert_eq!(rr.rdata.buffer_len(), 137);
    let RData::NodeStatus(status) = rr.rdata else {
        panic!("not a node status: {rr:?}")
    };
    let names: Vec<(String, u16)> = status
        .names
        .iter()
        .map(|n| (n.name.to_string(), n.flags.0))
        .collect();
    assert_eq!(
        names,
        [
            ("RECVBOX<00>".to_string(), 0x0400),
            ("RECVBOX<03>".to_string(), 0x0400),
            ("RECVBOX<20>".to_string(), 0x0400),
            ("MLAN<00>".to_string(), 0x8400),
            ("MLAN<1E>".to_string(), 0x8400),
        ]
    );
    let flags: Vec<NameFlags> = status.names.iter().map(|n| n.flags).collect();
    assert!(
        flags
            .iter()
            .all(|f| f.contains(NameFlags::ACTIVE) && f.ont() == Ont::B)
    );
    assert_eq!(flags.iter().filter(|f| f.group()).count(), 2);
    assert_eq!(status.statistics, &[0u8; 46][..]);
    assert_eq!(status.unit_id(), Some([0; 6]));
    // Rebuilt from typed entries.
    let typed: Vec<_> = status.names.iter().collect();
    let stats = messngr_proto::wire::nbns::statistics([0; 6]);
    let wild = EncodedName::new(NetbiosName::WILDCARD);
    let built = Repr::node_status_response(0x6D4C, wild, NodeNames::from_slice(&typed), &stats);
    assert_eq!(built.to_vec().unwrap(), b);
}

fn check_registration(bytes: &[u8], trn_id: u16, registered: &str, group: bool) {
    assert_eq!(bytes.len(), 68);
    let repr = round_trip(bytes);
    assert_eq!((repr.trn_id, repr.flags.bits()), (trn_id, 0x2910));
    let f = repr.flags;
    assert!(!f.response && f.recursion_desired && f.broadcast);
    assert_eq!(f.opcode, Opcode::Registration);
    let q = repr.question.expect("question");
    assert_eq!(q.name, name(registered));
    assert_eq!((q.qtype, q.class), (RecordType::Nb, CLASS_IN));
    assert!(repr.answers.is_empty() && repr.authority.is_empty());
    assert_eq!(repr.additional.len(), 1);
    // RR_NAME at offset 50 is the pointer to the question; parsing follows it.
    assert_eq!(&bytes[50..52], &QUESTION_POINTER);
    let rr = repr.additional.first().unwrap();
    assert_eq!(rr.name, RrName::NetBios(name(registered)));
    assert_eq!((rr.rtype, rr.class, rr.ttl), (RecordType::Nb, CLASS_IN, 0));
    let owner = rr.nb_entries().and_then(|e| e.first()).expect("NB entry");
    assert_eq!(owner, NbEntry::new(group, Ont::B, NMBD));
    let built = Repr::registration_request(trn_id, name(registered), 0, owner, true);
    assert_eq!(built.to_vec().unwrap(), bytes);
}

#[test]
fn registration_recvbox_03() {
    check_registration(
        &one(vector!("nbns-registration-03-bcast.hex")),
        0x54EE,
        "RECVBOX<03>",
        false,
    );
}

#[test]
fn registration_group_mlan_00() {
    let b = one(vector!("nbns-registration-group-bcast.hex"));
    check_registration(&b, 0x54F0, "MLAN<00>", true);
    assert_eq!(&b[62..64], &[0x80, 0x00]);
}
