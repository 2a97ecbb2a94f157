//! NBT datagrams (UDP 138): NBDGM header and names, the mailslot write SMB,
//! the MESSNGR payload, and fragment reassembly, on the captured scapy vector.
use std::net::Ipv4Addr;
use std::time::Instant;

use divan::{Bencher, black_box};
use messngr_proto::reassembly::Reassembler;
use messngr_proto::wire::Emit;
use messngr_proto::wire::name::EncodedName;
use messngr_proto::wire::nbdgm::{self, Body, DatagramKind, NodeType};
use messngr_proto::wire::smb::mailslot::{self, MessngrPayload, SizeLimit};

/// The first frame of a vector file, decoded from hex.
fn unhex(text: &str) -> Vec<u8> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or_default();
    (0..line.len() / 2)
        .filter_map(|i| u8::from_str_radix(line.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

fn scapy() -> Vec<u8> {
    unhex(include_str!("../tests/vectors/mailslot-messngr-scapy.hex"))
}

fn user_data(frame: &[u8]) -> &[u8] {
    match nbdgm::Repr::parse(frame).map(|r| r.body) {
        Ok(Body::Datagram { data, .. }) => data.user_data,
        _ => &[],
    }
}

#[divan::bench]
fn nbdgm_parse(b: Bencher) {
    let frame = scapy();
    b.bench(|| nbdgm::Repr::parse(black_box(&frame)));
}

#[divan::bench]
fn nbdgm_emit(b: Bencher) {
    let frame = scapy();
    let repr = nbdgm::Repr::parse(&frame).expect("vector parses");
    let mut buf = vec![0; repr.buffer_len()];
    b.bench_local(|| black_box(&repr).emit(&mut buf));
}

#[divan::bench]
fn mailslot_parse(b: Bencher) {
    let frame = scapy();
    let smb = user_data(&frame);
    b.bench(|| mailslot::Repr::parse(black_box(smb)));
}

#[divan::bench]
fn mailslot_emit(b: Bencher) {
    let frame = scapy();
    let repr = mailslot::Repr::parse(user_data(&frame)).expect("vector parses");
    let mut buf = vec![0; repr.buffer_len()];
    b.bench_local(|| black_box(&repr).emit(&mut buf));
}

#[divan::bench]
fn messngr_payload_parse(b: Bencher) {
    let frame = scapy();
    let data = mailslot::Repr::parse(user_data(&frame)).map_or(&[][..], |w| w.data);
    b.bench(|| MessngrPayload::parse(black_box(data)));
}

#[divan::bench]
fn messngr_datagram_build() -> messngr_proto::wire::Result<Vec<u8>> {
    let source = EncodedName::new(black_box("SENDERBOX".parse()?));
    let destination = EncodedName::new(black_box("RECVBOX#03".parse()?));
    mailslot::messngr_datagram(
        DatagramKind::DirectUnique,
        nbdgm::Header::new(NodeType::B, 0x1001, Ipv4Addr::new(10, 77, 0, 2)),
        source,
        destination,
        &MessngrPayload::new(b"SENDERBOX", b"RECVBOX", black_box(b"Hello from messngr")),
        SizeLimit::default(),
    )
}

#[divan::bench]
fn reassembly_whole(b: Bencher) {
    let frame = scapy();
    let mut r = Reassembler::default();
    let now = Instant::now();
    b.bench_local(|| {
        let repr = nbdgm::Repr::parse(black_box(&frame)).expect("vector parses");
        matches!(
            r.handle(now, repr),
            messngr_proto::reassembly::Outcome::Complete(_)
        )
    });
}

#[divan::bench]
fn reassembly_two_fragments(b: Bencher) {
    let data = vec![b'x'; 700];
    let whole = nbdgm::Repr::datagram(
        DatagramKind::DirectGroup,
        nbdgm::Header::new(NodeType::B, 1, Ipv4Addr::new(10, 77, 0, 2)),
        EncodedName::new("SENDERBOX".parse().expect("name")),
        EncodedName::new("MLAN#03".parse().expect("name")),
        &data,
    );
    let (first, second) = whole.split(nbdgm::MAX_UNFRAGMENTED_LEN).expect("splits");
    let (a, z) = (
        first.to_vec().expect("emits"),
        second.and_then(|s| s.to_vec().ok()).unwrap_or_default(),
    );
    let mut r = Reassembler::default();
    let mut now = Instant::now();
    b.bench_local(|| {
        // A new timestamp each round, so the completed id is forgotten.
        now += nbdgm::FRAGMENT_TO;
        let _ = r.handle(now, nbdgm::Repr::parse(black_box(&a)).expect("parses"));
        let done = r.handle(now, nbdgm::Repr::parse(black_box(&z)).expect("parses"));
        matches!(done, messngr_proto::reassembly::Outcome::Complete(_))
    });
}
