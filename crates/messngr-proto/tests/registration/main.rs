//! The B-node name service on a deterministic in-memory LAN with a fake
//! clock: every broadcast reaches every node (the sender too, as on a real
//! LAN), unicasts reach the node with that address or are kept as "outside"
//! traffic (an nmblookup-like client).
#![allow(clippy::unwrap_used)]
#[path = "../common/mod.rs"]
mod common;
mod conflicts;
mod lan;
mod wins;

use lan::{Lan, ip};

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use messngr_proto::registration::{
    Config, Destination, Event, NameError, NameService, NameState, QueryId,
};
use messngr_proto::wire::Emit;
use messngr_proto::wire::name::{EncodedName, NetbiosName};
use messngr_proto::wire::nbns::{NameFlags, NbEntries, NbEntry, Ont, RData, Rcode, Repr};

const MS: Duration = Duration::from_millis(1);

fn nb(s: &str) -> NetbiosName {
    s.parse().unwrap()
}

fn flags_of(bytes: &[u8]) -> u16 {
    u16::from_be_bytes([bytes[2], bytes[3]])
}

fn trn_of(bytes: &[u8]) -> u16 {
    u16::from_be_bytes([bytes[0], bytes[1]])
}

#[test]
fn claim_timers_are_exact() {
    let t0 = Instant::now();
    let mut ns = NameService::new(Config::new(ip(1)));
    assert_eq!(ns.poll_timeout(), None);
    ns.add_name(t0, nb("RECVBOX<03>"), false).unwrap();
    let mut sent = Vec::new();
    for (k, at) in [0u32, 250, 500].into_iter().enumerate() {
        let now = t0 + at * MS;
        if k > 0 {
            assert_eq!(ns.poll_timeout(), Some(now));
            ns.handle_timeout(now - MS); // early wake-up does nothing
            assert!(ns.poll_transmit(now).is_none());
            ns.handle_timeout(now);
        }
        assert_eq!(
            ns.state(&nb("RECVBOX<03>")),
            Some(NameState::Registering {
                attempt: k as u8 + 1
            })
        );
        let t = ns.poll_transmit(now).unwrap();
        assert_eq!(t.destination, Destination::Broadcast);
        assert!(ns.poll_transmit(now).is_none());
        assert!(ns.poll_event().is_none());
        sent.push(t.bytes);
    }
    // Three identical requests: one NAME_TRN_ID, flags 0x2910, TTL 0.
    assert!(sent.iter().all(|b| *b == sent[0]));
    let expected = Repr::registration_request(
        1,
        EncodedName::new(nb("RECVBOX<03>")),
        0,
        NbEntry::new(false, Ont::B, ip(1)),
        true,
    );
    assert_eq!(sent[0], expected.to_vec().unwrap());
    assert_eq!(ns.poll_timeout(), Some(t0 + 750 * MS));
    ns.handle_timeout(t0 + 750 * MS);
    assert_eq!(
        ns.poll_event(),
        Some(Event::NameClaimed {
            name: nb("RECVBOX<03>")
        })
    );
    assert_eq!(ns.state(&nb("RECVBOX<03>")), Some(NameState::Registered));
    let overwrite = ns.poll_transmit(t0 + 750 * MS).unwrap();
    assert_eq!(flags_of(&overwrite.bytes), 0x2810);
    assert_eq!(trn_of(&overwrite.bytes), 1);
    assert_eq!(ns.poll_timeout(), None);
    assert!(ns.is_idle());
}

#[test]
fn second_claimant_of_a_unique_name_gets_a_conflict() {
    let mut lan = Lan::new(3);
    lan.nodes[0]
        .add_name(lan.now, nb("RECVBOX<03>"), false)
        .unwrap();
    lan.run_until(800 * MS);
    assert_eq!(
        lan.events(0),
        [Event::NameClaimed {
            name: nb("RECVBOX<03>")
        }]
    );
    // Everybody heard the claim and the overwrite demand; nobody objected.
    assert_eq!(lan.counters(1).ignored, 4);
    assert_eq!(lan.counters(0).own, 4);

    lan.nodes[1]
        .add_name(lan.now, nb("recvbox<03>"), false)
        .unwrap();
    lan.run_until(2000 * MS);
    assert_eq!(
        lan.events(1),
        [Event::NameConflict {
            name: nb("RECVBOX<03>"),
            by: ip(1)
        }]
    );
    assert_eq!(
        lan.nodes[1].state(&nb("RECVBOX<03>")),
        Some(NameState::Conflict)
    );
    assert_eq!(
        lan.nodes[0].state(&nb("RECVBOX<03>")),
        Some(NameState::Registered)
    );
    assert!(lan.events(0).is_empty());
    // Each of the three requests was defended with 0xAD86 to 10.77.0.2:137;
    // the first refusal settled it and no overwrite demand followed.
    let defences = lan
        .sent_by(ip(1))
        .into_iter()
        .filter(|s| flags_of(&s.bytes) == 0xAD86)
        .count();
    assert_eq!(defences, 1, "the claim stops at the first refusal");
    let from_b: Vec<u16> = lan
        .sent_by(ip(2))
        .iter()
        .map(|s| flags_of(&s.bytes))
        .collect();
    assert_eq!(from_b, [0x2910]);
    assert_eq!(lan.counters(0).defended, 1);
    assert_eq!(lan.counters(1).conflicts, 1);
}

#[test]
fn group_names_are_shared_but_defended_against_unique_claims() {
    let mut lan = Lan::new(3);
    let now = lan.now;
    lan.nodes[0].add_name(now, nb("MLAN<00>"), true).unwrap();
    lan.nodes[1].add_name(now, nb("MLAN<00>"), true).unwrap();
    lan.run_until(800 * MS);
    assert_eq!(
        lan.events(0),
        [Event::NameClaimed {
            name: nb("MLAN<00>")
        }]
    );
    assert_eq!(
        lan.events(1),
        [Event::NameClaimed {
            name: nb("MLAN<00>")
        }]
    );
    // A third member joins: silence.
    lan.nodes[2]
        .add_name(lan.now, nb("MLAN<00>"), true)
        .unwrap();
    lan.run_until(1600 * MS);
    assert_eq!(
        lan.events(2),
        [Event::NameClaimed {
            name: nb("MLAN<00>")
        }]
    );
    assert_eq!(lan.counters(0).defended + lan.counters(1).defended, 0);
    // A unique claim for the group name is refused by the members.
    lan.nodes[2].remove_name(lan.now, &nb("MLAN<00>"));
    lan.run_until(2400 * MS);
    assert_eq!(
        lan.events(2),
        [Event::NameReleased {
            name: nb("MLAN<00>")
        }]
    );
    lan.nodes[2]
        .add_name(lan.now, nb("MLAN<00>"), false)
        .unwrap();
    lan.run_until(3200 * MS);
    assert!(matches!(lan.events(2)[..], [Event::NameConflict { .. }]));
    assert_eq!(lan.counters(0).defended + lan.counters(1).defended, 2);
}

#[test]
fn queries_are_answered_and_resolved() {
    let mut lan = Lan::new(3);
    lan.nodes[0]
        .add_name(lan.now, nb("RECVBOX<03>"), false)
        .unwrap();
    lan.nodes[1]
        .add_name(lan.now, nb("MLAN<00>"), true)
        .unwrap();
    lan.nodes[2]
        .add_name(lan.now, nb("MLAN<00>"), true)
        .unwrap();
    lan.run_until(1000 * MS);
    lan.events(2);
    lan.wire.clear();
    let q = lan.nodes[2].query(lan.now, nb("recvbox<03>"));
    lan.deliver();
    assert_eq!(
        lan.events(2),
        [Event::QueryResult {
            id: q,
            name: nb("recvbox<03>"),
            addresses: vec![ip(1)]
        }]
    );
    // One broadcast query and one answer, from 137 to 137.
    let seen: Vec<(Ipv4Addr, u16)> = lan
        .wire
        .iter()
        .map(|s| (s.from, flags_of(&s.bytes)))
        .collect();
    assert_eq!(seen, [(ip(3), 0x0110), (ip(1), 0x8580)]);
    assert_eq!(
        lan.wire[1].to,
        Destination::Unicast(SocketAddrV4::new(ip(3), 137))
    );
    let answer = Repr::parse(&lan.wire[1].bytes).unwrap();
    let rr = answer.answers.first().unwrap();
    assert_eq!(rr.ttl, 259_200);
    assert_eq!(
        rr.nb_entries().unwrap().first(),
        Some(NbEntry::new(false, Ont::B, ip(1)))
    );
    // A group name: the other member answers (our own broadcast is not).
    let g = lan.nodes[2].query(lan.now, nb("MLAN<00>"));
    lan.deliver();
    assert_eq!(
        lan.events(2),
        [Event::QueryResult {
            id: g,
            name: nb("MLAN<00>"),
            addresses: vec![ip(2)]
        }]
    );
    // Our own unique name resolves locally.
    let own = lan.nodes[0].query(lan.now, nb("RECVBOX<03>"));
    assert_eq!(
        lan.nodes[0].poll_event(),
        Some(Event::QueryResult {
            id: own,
            name: nb("RECVBOX<03>"),
            addresses: vec![ip(1)]
        })
    );
}

#[test]
fn unanswered_query_fails_after_three_broadcasts() {
    let mut lan = Lan::new(2);
    let id = lan.nodes[1].query(lan.now, nb("NOSUCH<03>"));
    lan.run_until(749 * MS);
    assert!(lan.events(1).is_empty());
    let times: Vec<Duration> = lan.sent_by(ip(2)).iter().map(|s| s.at - lan.t0).collect();
    assert_eq!(times, [Duration::ZERO, 250 * MS, 500 * MS]);
    let trns: Vec<u16> = lan
        .sent_by(ip(2))
        .iter()
        .map(|s| trn_of(&s.bytes))
        .collect();
    assert!(trns.iter().all(|&t| t == trns[0]));
    lan.run_until(750 * MS);
    assert_eq!(
        lan.events(1),
        [Event::QueryFailed {
            id,
            name: nb("NOSUCH<03>")
        }]
    );
    assert_eq!(lan.nodes[1].poll_timeout(), None);
}

#[test]
fn duplicate_and_late_answers_are_tolerated() {
    let mut lan = Lan::new(1);
    let id = lan.nodes[0].query(lan.now, nb("RECVBOX<03>"));
    lan.deliver();
    let trn = trn_of(&lan.wire[0].bytes);
    let name = EncodedName::new(nb("RECVBOX<03>"));
    let owner = NbEntries::one(NbEntry::new(false, Ont::B, ip(9)));
    let nmbd = SocketAddrV4::new(ip(9), 137);
    let to = Destination::Unicast(SocketAddrV4::new(ip(1), 137));
    // nmbd's two identical 0x8580 copies, then a 0x8500 from a testbed responder.
    for ra in [true, true, false] {
        let answer = Repr::positive_query_response(trn, name, 259_200, owner, ra)
            .to_vec()
            .unwrap();
        lan.send_from_outside(nmbd, to, &answer);
    }
    assert_eq!(
        lan.events(0),
        [Event::QueryResult {
            id,
            name: nb("RECVBOX<03>"),
            addresses: vec![ip(9)]
        }]
    );
    assert_eq!(lan.counters(0).ignored, 2);
    // 0x8500 is accepted as well.
    let id2 = lan.nodes[0].query(lan.now, nb("RECVBOX<03>"));
    lan.deliver();
    let trn2 = trn_of(&lan.wire.last().unwrap().bytes);
    let answer = Repr::positive_query_response(trn2, name, 300, owner, false)
        .to_vec()
        .unwrap();
    lan.send_from_outside(nmbd, to, &answer);
    assert!(matches!(lan.events(0)[..], [Event::QueryResult { id, .. }] if id == id2));
    assert_ne!(QueryId(0), id2);
}

#[test]
fn node_status_lists_every_name_with_its_flags() {
    let mut lan = Lan::new(2);
    let now = lan.now;
    lan.nodes[0]
        .add_name(now, nb("RECVBOX<03>"), false)
        .unwrap();
    lan.nodes[0].add_name(now, nb("MLAN<00>"), true).unwrap();
    lan.nodes[1].add_name(now, nb("TAKEN<03>"), false).unwrap();
    lan.run_until(1000 * MS);
    assert_eq!(lan.events(0).len(), 2);
    // TAKEN<03>: node 2 holds it and refuses our claim.
    lan.nodes[0]
        .add_name(lan.now, nb("TAKEN<03>"), false)
        .unwrap();
    lan.run_until(2000 * MS);
    assert_eq!(
        lan.events(0),
        [Event::NameConflict {
            name: nb("TAKEN<03>"),
            by: ip(2)
        }]
    );
    let client = SocketAddrV4::new(ip(50), 40532);
    lan.wire.clear();
    let req = Repr::node_status_request(0x6D4C, EncodedName::new(NetbiosName::WILDCARD), false);
    lan.send_from_outside(
        client,
        Destination::Unicast(SocketAddrV4::new(ip(1), 137)),
        &req.to_vec().unwrap(),
    );
    let reply = &lan.wire[0];
    assert_eq!(reply.to, Destination::Unicast(client));
    let repr = Repr::parse(&reply.bytes).unwrap();
    assert_eq!((repr.trn_id, repr.flags.bits()), (0x6D4C, 0x8400));
    let rr = repr.answers.first().unwrap();
    assert_eq!(rr.ttl, 0);
    let RData::NodeStatus(status) = rr.rdata else {
        panic!()
    };
    let names: Vec<(String, u16)> = status
        .names
        .iter()
        .map(|n| (n.name.to_string(), n.flags.0))
        .collect();
    let (act, g, cnf) = (NameFlags::ACTIVE, NameFlags::GROUP, NameFlags::CONFLICT);
    assert_eq!(
        names,
        [
            ("RECVBOX<03>".into(), act),
            ("MLAN<00>".into(), act | g),
            ("TAKEN<03>".into(), act | cnf)
        ]
    );
    assert_eq!(status.unit_id(), Some([2, 0x77, 0, 0, 0, 1]));
    assert_eq!(status.statistics.len(), 46);
    // By one of our names: answered; by a name we do not hold: silence.
    for (asked, answered) in [("MLAN<00>", true), ("OTHER<00>", false)] {
        lan.wire.clear();
        let req = Repr::node_status_request(7, EncodedName::new(nb(asked)), true);
        lan.send_from_outside(client, Destination::Broadcast, &req.to_vec().unwrap());
        assert_eq!(lan.wire.len(), usize::from(answered), "{asked}");
    }
    // The conflicted name is no longer answered, the others still are.
    for (asked, answered) in [("TAKEN<03>", false), ("RECVBOX<03>", true)] {
        lan.wire.clear();
        let q = Repr::name_query_request(8, EncodedName::new(nb(asked)), true);
        lan.send_from_outside(client, Destination::Broadcast, &q.to_vec().unwrap());
        let answers = lan.sent_by(ip(1)).len();
        assert_eq!(answers, usize::from(answered), "{asked}");
    }
}

#[test]
fn shutdown_releases_every_name_and_the_name_can_be_claimed_again() {
    let mut lan = Lan::new(2);
    let now = lan.now;
    lan.nodes[0]
        .add_name(now, nb("RECVBOX<03>"), false)
        .unwrap();
    lan.nodes[0].add_name(now, nb("MLAN<00>"), true).unwrap();
    lan.run_until(1000 * MS);
    lan.events(0);
    lan.wire.clear();
    let ignored = lan.counters(1).ignored;
    lan.nodes[0].shutdown(lan.now);
    assert_eq!(
        lan.nodes[0].add_name(lan.now, nb("X<03>"), false),
        Err(NameError::ShuttingDown)
    );
    assert!(matches!(
        lan.nodes[0].state(&nb("RECVBOX<03>")),
        Some(NameState::Releasing { attempt: 1 })
    ));
    lan.run_until(1749 * MS);
    let sent: Vec<(Duration, u16)> = lan
        .sent_by(ip(1))
        .iter()
        .map(|s| (s.at - lan.t0, flags_of(&s.bytes)))
        .collect();
    let expected: Vec<(Duration, u16)> = [1000, 1000, 1250, 1250, 1500, 1500]
        .into_iter()
        .map(|t| (t * MS, 0x3010))
        .collect();
    assert_eq!(sent, expected);
    for s in lan.sent_by(ip(1)) {
        let repr = Repr::parse(&s.bytes).unwrap();
        assert_eq!(repr.additional.first().unwrap().ttl, 0);
    }
    assert!(lan.events(0).is_empty());
    lan.run_until(1750 * MS);
    let mut released = lan.events(0);
    released.sort_by_key(|e| format!("{e:?}"));
    assert_eq!(
        released,
        [
            Event::NameReleased {
                name: nb("MLAN<00>")
            },
            Event::NameReleased {
                name: nb("RECVBOX<03>")
            }
        ]
    );
    assert!(lan.nodes[0].is_idle());
    assert_eq!(lan.nodes[0].names().count(), 0);
    // Node 2 ignored the releases and may now take the name.
    assert_eq!(lan.counters(1).ignored - ignored, 6);
    lan.nodes[1]
        .add_name(lan.now, nb("RECVBOX<03>"), false)
        .unwrap();
    lan.run_until(2600 * MS);
    assert_eq!(
        lan.events(1),
        [Event::NameClaimed {
            name: nb("RECVBOX<03>")
        }]
    );
}

#[test]
fn removing_a_name_that_is_not_ours_sends_nothing() {
    let mut lan = Lan::new(1);
    lan.nodes[0].add_name(lan.now, nb("A<03>"), false).unwrap();
    lan.deliver();
    lan.wire.clear();
    assert!(lan.nodes[0].remove_name(lan.now, &nb("a<03>")));
    assert!(!lan.nodes[0].remove_name(lan.now, &nb("a<03>")));
    lan.run_until(2000 * MS);
    assert!(lan.wire.is_empty());
    assert_eq!(lan.events(0), [Event::NameReleased { name: nb("A<03>") }]);
}

#[test]
fn add_name_refusals() {
    let mut ns = NameService::new(Config::new(ip(1)));
    let now = Instant::now();
    assert_eq!(
        ns.add_name(now, NetbiosName::WILDCARD, false),
        Err(NameError::Wildcard)
    );
    ns.add_name(now, nb("A<03>"), false).unwrap();
    assert_eq!(
        ns.add_name(now, NetbiosName::from_raw(*b"a              \x03"), true),
        Err(NameError::Duplicate)
    );
    ns.add_name(now, nb("A<00>"), false).unwrap();
}

#[test]
fn malformed_and_own_packets_are_counted_and_ignored() {
    let mut lan = Lan::new(1);
    lan.nodes[0]
        .add_name(lan.now, nb("RECVBOX<03>"), false)
        .unwrap();
    lan.run_until(1000 * MS);
    lan.events(0);
    lan.wire.clear();
    let good = common::frames(include_str!("../vectors/nbns-query-03-bcast-req.hex"))[0]
        .bytes
        .clone();
    let client = SocketAddrV4::new(ip(2), 40532);
    let mut bad: Vec<Vec<u8>> = (0..good.len()).map(|n| good[..n].to_vec()).collect();
    bad.push([good.clone(), vec![0]].concat());
    bad.push(vec![0xFF; 600]);
    let mut ptr = good.clone();
    ptr[12] = 0xC0; // pointer at the question pointing forward
    ptr[13] = 0x30;
    bad.push(ptr);
    for b in &bad {
        lan.send_from_outside(client, Destination::Broadcast, b);
    }
    assert!(lan.wire.is_empty());
    assert!(lan.events(0).is_empty());
    let c = lan.counters(0);
    assert_eq!(c.malformed, bad.len() as u64);
    // The same query from our own address is dropped, from elsewhere answered.
    lan.send_from_outside(
        SocketAddrV4::new(ip(1), 40000),
        Destination::Broadcast,
        &good,
    );
    assert!(lan.wire.is_empty());
    lan.send_from_outside(client, Destination::Broadcast, &good);
    assert_eq!(lan.wire.len(), 1);
    let c2 = lan.counters(0);
    assert_eq!((c2.own - c.own, c2.queries_answered), (1, 1));
}

#[test]
fn foreign_scope_is_ignored() {
    let t0 = Instant::now();
    let mut ns = NameService::new(Config::new(ip(1)).with_scope("corp").unwrap());
    ns.add_name(t0, nb("RECVBOX<03>"), false).unwrap();
    ns.handle_timeout(t0 + 250 * MS);
    ns.handle_timeout(t0 + 500 * MS);
    ns.handle_timeout(t0 + 750 * MS);
    while ns.poll_transmit(t0).is_some() {}
    let client = SocketAddrV4::new(ip(2), 40532);
    let plain = Repr::name_query_request(1, EncodedName::new(nb("RECVBOX<03>")), true)
        .to_vec()
        .unwrap();
    ns.handle(t0, client, &plain);
    assert!(ns.poll_transmit(t0).is_none());
    let labels = messngr_proto::wire::name::scope_labels("CORP").unwrap();
    let scoped = EncodedName {
        name: nb("RECVBOX<03>"),
        scope: messngr_proto::wire::name::Scope::from_labels(&labels).unwrap(),
    };
    ns.handle(
        t0,
        client,
        &Repr::name_query_request(2, scoped, true).to_vec().unwrap(),
    );
    let reply = ns.poll_transmit(t0).unwrap();
    // The answer echoes the name as asked, scope included.
    assert_eq!(
        Repr::parse(&reply.bytes)
            .unwrap()
            .answers
            .first()
            .unwrap()
            .name
            .netbios(),
        Some(&scoped)
    );
}

/// A node like nmbd in the capture: 10.77.0.1, RECVBOX<00>/<03>/<20>, MLAN<00>/<1E>.
fn recvbox() -> NameService {
    let t0 = Instant::now();
    let mut ns = NameService::new(Config::new(ip(1)));
    for (n, g) in [
        ("RECVBOX<00>", false),
        ("RECVBOX<03>", false),
        ("RECVBOX<20>", false),
    ] {
        ns.add_name(t0, nb(n), g).unwrap();
    }
    for n in ["MLAN<00>", "MLAN<1E>"] {
        ns.add_name(t0, nb(n), true).unwrap();
    }
    for t in [250, 500, 750] {
        ns.handle_timeout(t0 + t * MS);
    }
    while ns.poll_transmit(t0).is_some() {}
    while ns.poll_event().is_some() {}
    ns
}

#[test]
fn answers_match_nmbd_byte_for_byte() {
    let mut ns = recvbox();
    let now = Instant::now();
    let nmblookup = SocketAddrV4::new(ip(2), 40532);
    for (req, resp) in [
        (
            include_str!("../vectors/nbns-query-03-bcast-req.hex"),
            include_str!("../vectors/nbns-query-03-resp.hex"),
        ),
        (include_str!("../vectors/nbns-query-03-ucast-req.hex"), ""),
        (
            include_str!("../vectors/nbns-nodestatus-req.hex"),
            include_str!("../vectors/nbns-nodestatus-resp.hex"),
        ),
    ] {
        let req = &common::frames(req)[0].bytes;
        ns.handle(now, nmblookup, req);
        let t = ns.poll_transmit(now).unwrap();
        assert_eq!(t.destination, Destination::Unicast(nmblookup));
        if !resp.is_empty() {
            assert_eq!(t.bytes, common::frames(resp)[0].bytes);
        } else {
            // Unicast query 0x1109: the same answer with its id.
            assert_eq!((trn_of(&t.bytes), flags_of(&t.bytes)), (0x1109, 0x8580));
        }
    }
}

#[test]
fn captured_registration_is_defended_with_act_err() {
    // We hold RECVBOX<03> at 10.77.0.5; nmbd (10.77.0.1) tries to register it.
    let t0 = Instant::now();
    let mut ns = NameService::new(Config::new(ip(5)));
    ns.add_name(t0, nb("RECVBOX<03>"), false).unwrap();
    for t in [250, 500, 750] {
        ns.handle_timeout(t0 + t * MS);
    }
    while ns.poll_transmit(t0).is_some() {}
    let nmbd = SocketAddrV4::new(ip(1), 137);
    let reg = &vector!("nbns-registration-03-bcast.hex")[0].bytes;
    ns.handle(t0 + 800 * MS, nmbd, reg);
    let t = ns.poll_transmit(t0).unwrap();
    assert_eq!(t.destination, Destination::Unicast(nmbd));
    let expected = Repr::registration_response(
        0x54EE,
        EncodedName::new(nb("RECVBOX<03>")),
        0,
        NbEntries::one(NbEntry::new(false, Ont::B, ip(1))),
        Rcode::ActErr,
    );
    assert_eq!(t.bytes, expected.to_vec().unwrap());
    assert_eq!(&t.bytes[..4], &[0x54, 0xEE, 0xAD, 0x86]);
    assert_eq!(t.bytes.len(), 62);
    assert_eq!(
        &t.bytes[56..],
        &[0x00, 0x00, 10, 77, 0, 1],
        "RDATA echoes the request"
    );
    assert!(ns.poll_transmit(t0).is_none());
    assert_eq!(ns.counters().defended, 1);
    // The group registration of MLAN<00> is none of our business.
    let group = &vector!("nbns-registration-group-bcast.hex")[0].bytes;
    ns.handle(t0 + 800 * MS, nmbd, group);
    assert!(ns.poll_transmit(t0).is_none());
}
