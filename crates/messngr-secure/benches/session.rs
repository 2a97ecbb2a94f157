//! What a secure session costs: one XX handshake (paid once per peer), and sealing and
//! opening a 1 KiB message on an established session.

use divan::{Bencher, black_box};
use messngr_secure::{Handshake, Identity, PublicKey, Transport};

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

/// What a receiver pays per signed message on top of the session: the
/// author key as it arrives (32 bytes, checked to be a curve point) and one
/// strict Ed25519 verification of a ~200-byte frame.
#[divan::bench]
fn verify_from_bytes_200b(bencher: Bencher) {
    let (key, msg, sig) = signed_200b();
    let bytes = *key.as_bytes();
    bencher.bench_local(|| {
        let key = PublicKey::from_bytes(black_box(bytes)).unwrap();
        key.verify(black_box(&msg), black_box(&sig)).unwrap()
    });
}

/// One strict verification with a key already checked (a session's cached
/// author key).
#[divan::bench]
fn verify_200b(bencher: Bencher) {
    let (key, msg, sig) = signed_200b();
    bencher.bench_local(|| key.verify(black_box(&msg), black_box(&sig)).unwrap());
}

fn signed_200b() -> (PublicKey, Vec<u8>, [u8; 64]) {
    let id = Identity::from_seed([3; 32]);
    let msg = vec![0x61u8; 200];
    let sig = id.sign(&msg);
    (id.public(), msg, sig)
}
