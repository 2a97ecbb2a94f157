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

/// A relayed message's sealed envelope (Noise X, `messngr_secure::seal`),
/// 470 bytes, sealed and opened between two hosts that exchanged envelopes
/// before: their static-static DH is remembered (`dh_cache`).
#[divan::bench]
fn sealed_envelope_470b(bencher: Bencher) {
    let (a, b) = (Identity::from_seed([1; 32]), Identity::from_seed([2; 32]));
    let to = b.public();
    let payload = vec![0x42u8; 470];
    bencher.bench_local(|| {
        let env =
            messngr_secure::seal(&a, &to, b"messngr.mail.H2.OPS2", black_box(&payload)).unwrap();
        messngr_secure::open(&b, b"messngr.mail.H2.OPS2", &env).unwrap()
    });
}

/// The same with snow's own Noise X, nothing remembered: what each
/// envelope cost before `dh_cache` (two X25519 at each end).
#[divan::bench]
fn sealed_envelope_470b_plain_noise_x(bencher: Bencher) {
    let params: snow::params::NoiseParams = messngr_secure::SEALED_PATTERN.parse().unwrap();
    let a = snow::Builder::new(params.clone())
        .generate_keypair()
        .unwrap();
    let b = snow::Builder::new(params.clone())
        .generate_keypair()
        .unwrap();
    let payload = vec![0x42u8; 470];
    let (mut env, mut out) = (vec![0u8; 1024], vec![0u8; 1024]);
    bencher.bench_local(|| {
        let mut i = snow::Builder::new(params.clone())
            .local_private_key(&a.private)
            .unwrap()
            .remote_public_key(&b.public)
            .unwrap()
            .build_initiator()
            .unwrap();
        let n = i.write_message(black_box(&payload), &mut env).unwrap();
        let mut r = snow::Builder::new(params.clone())
            .local_private_key(&b.private)
            .unwrap()
            .build_responder()
            .unwrap();
        r.read_message(&env[..n], &mut out).unwrap()
    });
}
