//! Connectionless DCE/RPC and MS-MSRP NetrSendMessage: decode and encode of
//! the captured request (dcerpc-netrsendmessage.hex), the reply PDUs, and
//! the server's handling of one request.
use std::time::Instant;

use divan::black_box;
use messngr_proto::wire::Emit;
use messngr_proto::wire::dcerpc::server::{Action, Config, MsrpServer};
use messngr_proto::wire::dcerpc::{Repr, Request, ShortPdu};

const VECTOR: &str = include_str!("../tests/vectors/dcerpc-netrsendmessage.hex");

/// The first frame of the vector file as bytes.
fn request_bytes() -> Vec<u8> {
    let line = VECTOR
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .expect("vector has a frame");
    (0..line.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&line[i..i + 2], 16).expect("hex digit"))
        .collect()
}

#[divan::bench]
fn dcerpc_decode_cl_header(b: divan::Bencher) {
    let bytes = request_bytes();
    b.bench(|| Repr::parse_bytes(black_box(&bytes)));
}

#[divan::bench]
fn dcerpc_decode_netrsendmessage(b: divan::Bencher) {
    let bytes = request_bytes();
    b.bench(|| Repr::parse_bytes(black_box(&bytes)).and_then(|r| Request::parse(&r)));
}

#[divan::bench]
fn dcerpc_encode_netrsendmessage(b: divan::Bencher) {
    let bytes = request_bytes();
    let repr = Repr::parse_bytes(&bytes).expect("vector parses");
    let req = Request::parse(&repr).expect("vector is NetrSendMessage");
    let mut buf = vec![0u8; req.buffer_len()];
    b.bench_local(|| black_box(&req).emit(&mut buf));
}

#[divan::bench]
fn dcerpc_encode_response(b: divan::Bencher) {
    let bytes = request_bytes();
    let header = Repr::parse_bytes(&bytes).expect("vector parses").header;
    let mut buf = [0u8; 84];
    b.bench_local(|| ShortPdu::response(black_box(&header), 1, 0).emit(&mut buf));
}

#[divan::bench]
fn dcerpc_server_request_to_response(b: divan::Bencher) {
    let bytes = request_bytes();
    let now = Instant::now();
    b.bench_local(|| {
        let mut server = MsrpServer::new(Config::new(1));
        match server.handle(
            now,
            std::net::IpAddr::from([10, 0, 0, 2]),
            black_box(&bytes),
            false,
        ) {
            Action::Deliver(call) => server.complete(now, call.ticket(), 0),
            _ => None,
        }
    });
}
