//! NBNS (UDP 137) frames for the tshark check: every packet kind of
//! netbios-names.md §3.3 as the encoder builds it, plus what a running
//! [`NameService`] puts on the wire (claim, overwrite demand, answer,
//! defence, node status, release).
//!
//! Expects the test crate root to declare `mod common` (tests/common/mod.rs).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use messngr_proto::registration::{Config, Destination, NameService};
use messngr_proto::wire::Emit;
use messngr_proto::wire::name::{EncodedName, NetbiosName};
use messngr_proto::wire::nbns::{
    DomainName, Flags, NameFlags, NbEntries, NbEntry, NodeName, NodeNames, Ont, Rcode, Repr,
    RrName, statistics,
};

use crate::common::{CatalogueFrame, L4};

const OWNER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);

fn name(s: &str) -> EncodedName<'static> {
    EncodedName::new(s.parse::<NetbiosName>().expect("name"))
}

fn frame(what: &'static str, l4: L4, repr: &Repr<'_>) -> CatalogueFrame {
    CatalogueFrame {
        what,
        l4,
        bytes: repr.to_vec().expect("catalogue packet encodes"),
    }
}

/// Every NBNS packet kind, built by the constructors.
fn constructed() -> Vec<CatalogueFrame> {
    let (u, b) = (L4::Udp(137), L4::UdpBroadcast(137));
    let n = name("RECVBOX<03>");
    let group = name("MLAN<00>");
    let unique = NbEntry::new(false, Ont::B, OWNER);
    let h_node = NbEntry::new(false, Ont::H, OWNER);
    let one = NbEntries::one(unique);
    let members = [
        NbEntry::new(true, Ont::B, OWNER).to_bytes(),
        NbEntry::new(true, Ont::B, Ipv4Addr::new(10, 77, 0, 2)).to_bytes(),
    ]
    .concat();
    let members = NbEntries::new(&members).expect("12 bytes");
    let wildcard = EncodedName::new(NetbiosName::WILDCARD);
    let server = DomainName::from_wire(b"\x04WINS\x04CORP\x00").expect("domain");
    let domain = RrName::Domain(DomainName::from_wire(b"\x04CORP\x00").expect("domain"));
    let names = [
        NodeName {
            name: n.name,
            flags: NameFlags::new(false, Ont::B),
        },
        NodeName {
            name: group.name,
            flags: NameFlags::new(true, Ont::B),
        },
        NodeName {
            name: name("TAKEN<03>").name,
            flags: NameFlags::new(false, Ont::B).with(NameFlags::CONFLICT),
        },
        NodeName {
            name: name("GONE<03>").name,
            flags: NameFlags::new(false, Ont::B).with(NameFlags::DEREGISTERING),
        },
    ];
    let stats = statistics([0x02, 0x77, 0, 0, 0, 1]);
    let mut refresh9 = Repr::refresh_request(0x0108, n, 300, h_node);
    refresh9.flags = Flags::from_bits(0x4800);
    let mut ucast_query = Repr::name_query_request(0x0101, n, false);
    ucast_query.flags.recursion_desired = false;
    vec![
        frame(
            "NBNS name query request, broadcast 0x0110",
            b,
            &Repr::name_query_request(0x0100, n, true),
        ),
        frame(
            "NBNS name query request, unicast 0x0100",
            u,
            &Repr::name_query_request(0x0101, n, false),
        ),
        frame(
            "NBNS name query request, unicast 0x0000 (nmblookup -U)",
            u,
            &ucast_query,
        ),
        frame(
            "NBNS positive name query response 0x8500",
            u,
            &Repr::positive_query_response(0x0100, n, 259_200, one, false),
        ),
        frame(
            "NBNS positive name query response 0x8580 (nmbd)",
            u,
            &Repr::positive_query_response(0x0100, n, 259_200, one, true),
        ),
        frame(
            "NBNS positive name query response, group with two members",
            u,
            &Repr::positive_query_response(0x0102, group, 259_200, members, true),
        ),
        frame(
            "NBNS negative name query response 0x8503",
            u,
            &Repr::negative_query_response(0x0103, n, Rcode::NamErr),
        ),
        frame(
            "NBNS redirect name query response 0x8100",
            u,
            &Repr::redirect_query_response(
                0x0104,
                domain,
                3600,
                server,
                Ipv4Addr::new(10, 77, 0, 9),
            ),
        ),
        frame(
            "NBNS name registration request, broadcast 0x2910",
            b,
            &Repr::registration_request(0x0105, n, 0, unique, true),
        ),
        frame(
            "NBNS name registration request, group, broadcast 0x2910",
            b,
            &Repr::registration_request(0x0105, group, 0, NbEntry::new(true, Ont::B, OWNER), true),
        ),
        frame(
            "NBNS name registration request, unicast to WINS 0x2900",
            u,
            &Repr::registration_request(0x0106, n, 300_000, h_node, false),
        ),
        frame(
            "NBNS name overwrite request & demand 0x2810",
            b,
            &Repr::overwrite_request(0x0105, n, 0, unique, true),
        ),
        frame(
            "NBNS name update request, unicast 0x2800",
            u,
            &Repr::overwrite_request(0x0107, n, 300, h_node, false),
        ),
        frame(
            "NBNS name refresh request 0x4000 (opcode 8)",
            u,
            &Repr::refresh_request(0x0108, n, 300, h_node),
        ),
        frame("NBNS name refresh request 0x4800 (opcode 9)", u, &refresh9),
        frame(
            "NBNS multi-homed name registration request 0x7900",
            u,
            &Repr::multihomed_registration_request(0x0109, n, 300, h_node),
        ),
        frame(
            "NBNS positive name registration response 0xAD80",
            u,
            &Repr::registration_response(0x0106, n, 300_000, one, Rcode::NoError),
        ),
        frame(
            "NBNS negative name registration response 0xAD86 (defence, ACT_ERR)",
            u,
            &Repr::registration_response(0x0105, n, 0, one, Rcode::ActErr),
        ),
        frame(
            "NBNS negative name registration response 0xAD85 (RFS_ERR)",
            u,
            &Repr::registration_response(0x0106, n, 0, one, Rcode::RfsErr),
        ),
        frame(
            "NBNS end-node challenge registration response 0xAD00",
            u,
            &Repr::end_node_challenge_response(0x0106, n, 300, one),
        ),
        frame(
            "NBNS name conflict demand 0xAD87",
            u,
            &Repr::name_conflict_demand(
                0x010A,
                n,
                NbEntry::new(false, Ont::B, Ipv4Addr::UNSPECIFIED),
            ),
        ),
        frame(
            "NBNS name release request & demand, broadcast 0x3010",
            b,
            &Repr::release_request(0x010B, n, unique, true),
        ),
        frame(
            "NBNS name release request, unicast 0x3000",
            u,
            &Repr::release_request(0x010C, n, h_node, false),
        ),
        frame(
            "NBNS positive name release response 0xB400",
            u,
            &Repr::release_response(0x010C, n, one, Rcode::NoError),
        ),
        frame(
            "NBNS negative name release response 0xB403",
            u,
            &Repr::release_response(0x010C, n, one, Rcode::NamErr),
        ),
        frame(
            "NBNS WACK 0xBC00",
            u,
            &Repr::wack(0x0106, n, 30, Flags::from_bits(0x2900)),
        ),
        frame(
            "NBNS node status request 0x0000",
            u,
            &Repr::node_status_request(0x010D, wildcard, false),
        ),
        frame(
            "NBNS node status request, broadcast 0x0010",
            b,
            &Repr::node_status_request(0x010E, wildcard, true),
        ),
        frame(
            "NBNS node status response 0x8400 (G, CNF, DRG flags, UNIT_ID)",
            u,
            &Repr::node_status_response(0x010D, wildcard, NodeNames::from_slice(&names), &stats),
        ),
    ]
}

/// Moves every queued datagram of `ns` into `out` (those whose flags word
/// passes `keep`).
fn drain(
    ns: &mut NameService,
    what: &'static str,
    keep: impl Fn(u16) -> bool,
    out: &mut Vec<CatalogueFrame>,
) {
    while let Some(t) = ns.poll_transmit(Instant::now()) {
        let l4 = match t.destination {
            Destination::Broadcast => L4::UdpBroadcast(137),
            Destination::Unicast(_) => L4::Udp(137),
        };
        if keep(u16::from_be_bytes([t.bytes[2], t.bytes[3]])) {
            out.push(CatalogueFrame {
                what,
                l4,
                bytes: t.bytes,
            });
        }
    }
}

/// What a [`NameService`] sends: claim, overwrite demand, query answer,
/// defence, node status and release.
fn from_name_service() -> Vec<CatalogueFrame> {
    let t0 = Instant::now();
    let ms = Duration::from_millis(1);
    let all = |_| true;
    let mut c = Config::new(OWNER);
    c.unit_id = [0x02, 0x77, 0, 0, 0, 1];
    let mut ns = NameService::new(c);
    let mut out = Vec::new();
    ns.add_name(t0, "RECVBOX<03>".parse().expect("name"), false)
        .expect("added");
    ns.add_name(t0, "MLAN<00>".parse().expect("name"), true)
        .expect("added");
    drain(&mut ns, "NameService: registration request", all, &mut out);
    for t in [250, 500, 750] {
        ns.handle_timeout(t0 + t * ms);
    }
    drain(
        &mut ns,
        "NameService: overwrite demand after the claim",
        |f| f == 0x2810,
        &mut out,
    );
    let peer = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), 40532);
    let query = Repr::name_query_request(0x0200, name("RECVBOX<03>"), true);
    ns.handle(t0, peer, &query.to_vec().expect("query"));
    drain(
        &mut ns,
        "NameService: positive name query response",
        all,
        &mut out,
    );
    let owner = NbEntry::new(false, Ont::B, *peer.ip());
    let claim = Repr::registration_request(0x0201, name("RECVBOX<03>"), 0, owner, true);
    ns.handle(t0, peer, &claim.to_vec().expect("claim"));
    drain(&mut ns, "NameService: defence 0xAD86", all, &mut out);
    let status = Repr::node_status_request(0x0202, EncodedName::new(NetbiosName::WILDCARD), false);
    ns.handle(t0, peer, &status.to_vec().expect("status"));
    drain(&mut ns, "NameService: node status response", all, &mut out);
    ns.shutdown(t0 + 800 * ms);
    drain(&mut ns, "NameService: release request", all, &mut out);
    assert_eq!(
        out.len(),
        9,
        "2 claims, 2 overwrite demands, answer, defence, status, 2 releases"
    );
    out
}

/// The NBNS part of the catalogue.
pub fn catalogue() -> Vec<CatalogueFrame> {
    let mut frames = constructed();
    frames.extend(from_name_service());
    frames
}
