//! NBNS: parse and emit the captured packets, and the name service answering
//! a broadcast query (the hot path of a busy LAN).
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use divan::black_box;
use messngr_proto::registration::{Config, NameService};
use messngr_proto::wire::Emit;
use messngr_proto::wire::nbns::{RData, Repr};

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.lines().filter(|l| !l.starts_with('#')).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn vector(text: &str) -> Vec<u8> {
    unhex(text.trim())
}

const REGISTRATION: &str = include_str!("../tests/vectors/nbns-registration-03-bcast.hex");
const QUERY: &str = include_str!("../tests/vectors/nbns-query-03-bcast-req.hex");
const NODE_STATUS: &str = include_str!("../tests/vectors/nbns-nodestatus-resp.hex");

#[divan::bench]
fn nbns_parse_registration(b: divan::Bencher) {
    let bytes = vector(REGISTRATION);
    b.bench(|| Repr::parse(black_box(&bytes)).map(|r| r.trn_id));
}

#[divan::bench]
fn nbns_emit_registration(b: divan::Bencher) {
    let bytes = vector(REGISTRATION);
    let repr = Repr::parse(&bytes).expect("vector parses");
    let mut out = [0u8; 68];
    b.bench_local(|| black_box(&repr).emit(&mut out));
}

#[divan::bench]
fn nbns_parse_node_status_and_list_names(b: divan::Bencher) {
    let bytes = vector(NODE_STATUS);
    b.bench(|| {
        let repr = Repr::parse(black_box(&bytes)).expect("vector parses");
        match repr.answers.first().map(|rr| rr.rdata) {
            Some(RData::NodeStatus(s)) => s.names.iter().filter(|n| n.flags.group()).count(),
            _ => 0,
        }
    });
}

#[divan::bench]
fn nbns_service_answers_query(b: divan::Bencher) {
    let t0 = Instant::now();
    let mut ns = NameService::new(Config::new(Ipv4Addr::new(10, 77, 0, 1)));
    for n in ["RECVBOX<00>", "RECVBOX<03>", "RECVBOX<20>"] {
        ns.add_name(t0, n.parse().expect("name"), false)
            .expect("added");
    }
    for t in [250, 500, 750] {
        ns.handle_timeout(t0 + Duration::from_millis(t));
    }
    while ns.poll_transmit(t0).is_some() {}
    let query = vector(QUERY);
    let from = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), 40532);
    b.bench_local(|| {
        ns.handle(t0, from, black_box(&query));
        ns.poll_transmit(t0).map(|t| t.bytes.len())
    });
}
