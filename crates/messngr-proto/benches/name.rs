//! NetBIOS name first-level encoding and label parsing.
use divan::black_box;
use messngr_proto::wire::codec::Writer;
use messngr_proto::wire::name::{EncodedName, NetbiosName};

#[divan::bench]
fn name_encode() -> [u8; 32] {
    black_box(NetbiosName::from_raw(*b"RECVBOX        \x03")).encode()
}

#[divan::bench]
fn name_parse_label(b: divan::Bencher) {
    let mut buf = [0u8; 34];
    EncodedName::new(NetbiosName::from_raw(*b"RECVBOX        \x03"))
        .emit(&mut Writer::new(&mut buf))
        .expect("34 bytes fit");
    b.bench(|| EncodedName::parse_plain(black_box(&buf)));
}
