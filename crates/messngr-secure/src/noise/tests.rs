//! Tests of the Noise sessions: real handshakes between two identities through snow.

use super::*;

fn pair() -> (Identity, Identity) {
    (Identity::from_seed([1; 32]), Identity::from_seed([2; 32]))
}

/// A full XX handshake; returns both transports and the payloads each side read.
fn handshake(a: &Identity, b: &Identity) -> (Transport, Transport, Vec<u8>, Vec<u8>) {
    let mut init = Handshake::initiator(a).unwrap();
    let mut resp = Handshake::responder(b).unwrap();
    let m1 = init.write(b"").unwrap();
    assert!(resp.read(&m1).unwrap().is_empty());
    assert_eq!(resp.remote_static(), None);
    let m2 = resp.write(b"HELLO from B").unwrap();
    let hello_b = init.read(&m2).unwrap();
    let m3 = init.write(b"HELLO from A").unwrap();
    let hello_a = resp.read(&m3).unwrap();
    assert!(init.is_finished() && resp.is_finished());
    // The Noise static keys are the Ed25519 keys' Montgomery forms: snow computed each
    // remote static from the other side's x25519_private().
    assert_eq!(init.remote_static(), Some(b.public().x25519()));
    assert_eq!(resp.remote_static(), Some(a.public().x25519()));
    (
        init.into_transport().unwrap(),
        resp.into_transport().unwrap(),
        hello_a,
        hello_b,
    )
}

#[test]
fn full_xx_handshake_authenticates_both_static_keys() {
    let (a, b) = pair();
    let (ta, tb, hello_a, hello_b) = handshake(&a, &b);
    assert_eq!(hello_a, b"HELLO from A");
    assert_eq!(hello_b, b"HELLO from B");
    assert_eq!(ta.remote_static(), Some(b.public().x25519()));
    assert_eq!(tb.remote_static(), Some(a.public().x25519()));
    assert_ne!(a.public().x25519(), b.public().x25519());
}

#[test]
fn hello_payloads_are_not_in_clear() {
    let (a, b) = pair();
    let mut init = Handshake::initiator(&a).unwrap();
    let mut resp = Handshake::responder(&b).unwrap();
    resp.read(&init.write(b"").unwrap()).unwrap();
    let m2 = resp.write(b"SECRET-HELLO").unwrap();
    assert!(!m2.windows(12).any(|w| w == b"SECRET-HELLO"));
    // Nor the responder's static key.
    let x = b.public().x25519();
    assert!(!m2.windows(32).any(|w| w == x));
}

#[test]
fn a_different_prologue_or_pattern_peer_fails() {
    let (a, b) = pair();
    let mut init = Handshake::initiator(&a).unwrap();
    let params: snow::params::NoiseParams = PATTERN.parse().unwrap();
    let mut other = snow::Builder::new(params)
        .local_private_key(&b.x25519_private())
        .unwrap()
        .prologue(b"messngr native 2")
        .unwrap()
        .build_responder()
        .unwrap();
    let m1 = init.write(b"").unwrap();
    let mut buf = [0u8; 1024];
    other.read_message(&m1, &mut buf).unwrap();
    let n = other.write_message(b"", &mut buf).unwrap();
    let err = init.read(&buf[..n]).unwrap_err();
    assert!(matches!(err, NoiseError::Handshake(_)), "{err}");
    assert!(matches!(init.write(b""), Err(NoiseError::Ended)));
}

#[test]
fn into_transport_before_the_end_is_refused() {
    let (a, _) = pair();
    let mut init = Handshake::initiator(&a).unwrap();
    init.write(b"").unwrap();
    assert!(!init.is_finished());
    assert!(matches!(
        init.into_transport(),
        Err(NoiseError::NotFinished)
    ));
}

#[test]
fn seal_open_round_trip_small_empty_and_80k() {
    let (a, b) = pair();
    let (mut ta, mut tb, _, _) = handshake(&a, &b);
    for text in [b"hello".to_vec(), Vec::new(), vec![0x5a; 1024]] {
        let body = ta.seal(&text).unwrap();
        assert_eq!(tb.open(&body).unwrap(), text);
        let back = tb.seal(&text).unwrap();
        assert_eq!(ta.open(&back).unwrap(), text);
    }
    let big: Vec<u8> = (0..MAX_PLAINTEXT).map(|i| (i % 251) as u8).collect();
    let body = ta.seal(&big).unwrap();
    // Two chunks: 65519 + the rest, each with its length and tag.
    assert_eq!(body.len(), big.len() + 2 * (2 + 16));
    assert_eq!(usize::from(u16::from_be_bytes([body[0], body[1]])), 65535);
    assert_eq!(tb.open(&body).unwrap(), big);
}

#[test]
fn more_than_80k_is_refused_both_ways() {
    let (a, b) = pair();
    let (mut ta, mut tb, _, _) = handshake(&a, &b);
    let err = ta.seal(&vec![0; MAX_PLAINTEXT + 1]).unwrap_err();
    assert!(matches!(err, NoiseError::TooLarge { .. }), "{err}");
    // Refusing an oversized plaintext uses no nonce: the session goes on.
    let body = ta.seal(b"x").unwrap();
    assert_eq!(tb.open(&body).unwrap(), b"x");
    // A peer that sends more than 80 KiB in one body is refused before decrypting it all.
    let (mut tc, mut td, _, _) = handshake(&a, &b);
    let mut body = tc.seal(&vec![0; MAX_PLAINTEXT]).unwrap();
    body.extend(tc.seal(b"one byte too many").unwrap());
    let err = td.open(&body).unwrap_err();
    assert!(matches!(err, NoiseError::TooLarge { .. }), "{err}");
}

#[test]
fn a_flipped_bit_fails_and_ends_the_session() {
    let (a, b) = pair();
    let (mut ta, mut tb, _, _) = handshake(&a, &b);
    let mut body = ta.seal(b"pay bob 10").unwrap();
    body[5] ^= 0x01;
    let err = tb.open(&body).unwrap_err();
    assert!(matches!(err, NoiseError::Tampered { chunk: 0 }), "{err}");
    assert!(err.to_string().contains("end the session"));
    // Even a good frame is refused now.
    let good = ta.seal(b"next").unwrap();
    assert!(matches!(tb.open(&good), Err(NoiseError::Ended)));
}

#[test]
fn a_replayed_body_fails() {
    let (a, b) = pair();
    let (mut ta, mut tb, _, _) = handshake(&a, &b);
    let body = ta.seal(b"once").unwrap();
    assert_eq!(tb.open(&body).unwrap(), b"once");
    let err = tb.open(&body).unwrap_err();
    assert!(matches!(err, NoiseError::Tampered { .. }), "{err}");
}

#[test]
fn reordered_bodies_fail() {
    let (a, b) = pair();
    let (mut ta, mut tb, _, _) = handshake(&a, &b);
    let first = ta.seal(b"first").unwrap();
    let second = ta.seal(b"second").unwrap();
    assert!(matches!(tb.open(&second), Err(NoiseError::Tampered { .. })));
    drop(first);
}

#[test]
fn truncated_or_trailing_bytes_fail() {
    let (a, b) = pair();
    let body = {
        let (mut ta, _, _, _) = handshake(&a, &b);
        ta.seal(b"some message").unwrap()
    };
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        body[..1].to_vec(),
        body[..body.len() - 1].to_vec(),
        [&body[..], &[0u8]].concat(),
        [&body[..], &[0u8, 3, 1, 2, 3]].concat(),
    ];
    for case in cases {
        // A fresh session each time, so only the cut is wrong.
        let (_, mut tb, _, _) = handshake(&a, &b);
        let err = tb.open(&case).unwrap_err();
        assert!(
            matches!(err, NoiseError::Malformed(_) | NoiseError::Tampered { .. }),
            "{} bytes: {err}",
            case.len()
        );
    }
    // The uncut body opens in such a fresh session (same keys are not enough: the
    // ephemeral keys differ, so a body from one session never opens in another).
    let (_, mut tb, _, _) = handshake(&a, &b);
    assert!(matches!(tb.open(&body), Err(NoiseError::Tampered { .. })));
}

#[test]
fn a_chunk_boundary_cut_body_fails_in_the_next_frame() {
    // Dropping a whole chunk cannot be seen inside one body (the inner frame's length
    // catches it), but the next chunk's nonce no longer matches.
    let (a, b) = pair();
    let (mut ta, mut tb, _, _) = handshake(&a, &b);
    let big = vec![1u8; 70_000];
    let body = ta.seal(&big).unwrap();
    let first_len = 2 + 65535;
    assert_eq!(tb.open(&body[..first_len]).unwrap().len(), 65519);
    let next = ta.seal(b"after").unwrap();
    assert!(matches!(tb.open(&next), Err(NoiseError::Tampered { .. })));
}
