//! What a secure session costs: one XX handshake (paid once per peer), and sealing and
//! opening a 1 KiB message on an established session.

use divan::{Bencher, black_box};
use messngr_secure::{Handshake, Identity, Transport};

fn main() {
    divan::main();
}

fn handshake(a: &Identity, b: &Identity) -> (Transport, Transport) {
    let mut init = Handshake::initiator(a).unwrap();
    let mut resp = Handshake::responder(b).unwrap();
    resp.read(&init.write(b"").unwrap()).unwrap();
    init.read(&resp.write(b"hello").unwrap()).unwrap();
    resp.read(&init.write(b"hello").unwrap()).unwrap();
    (
        init.into_transport().unwrap(),
        resp.into_transport().unwrap(),
    )
}

#[divan::bench]
fn xx_handshake(bencher: Bencher) {
    let a = Identity::from_seed([1; 32]);
    let b = Identity::from_seed([2; 32]);
    bencher.bench_local(|| handshake(black_box(&a), black_box(&b)));
}

#[divan::bench]
fn seal_open_1k(bencher: Bencher) {
    let (mut ta, mut tb) = handshake(&Identity::from_seed([1; 32]), &Identity::from_seed([2; 32]));
    let text = vec![0x42u8; 1024];
    bencher.bench_local(|| {
        let body = ta.seal(black_box(&text)).unwrap();
        tb.open(&body).unwrap()
    });
}
