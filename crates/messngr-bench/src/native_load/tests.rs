//! The frames of `native-load` against messngr-secure's responder, in
//! process: the handshake completes, the receiver learns the bench host's
//! name and key from HELLO, the sealed message opens to a Message whose
//! certificate and signature verify, and sealed answers are read back.

use messngr_proto::wire::Emit;
use messngr_proto::wire::native::{Hello, Reason, Repr};
use messngr_secure::{Handshake, Identity, PublicKey};

use super::frames::{self, Answer, BenchHost};
use super::message_text;

fn bench() -> BenchHost {
    BenchHost::from_keys(
        "bench",
        Identity::from_seed([7; 32]),
        Identity::from_seed([8; 32]),
    )
}

#[test]
fn secure_exchange_against_the_responder() {
    let bench = bench();
    let receiver = Identity::from_seed([9; 32]);
    let receiver_hello = Hello {
        host: "BENCHBOX",
        host_key: *receiver.public().as_bytes(),
    }
    .to_vec()
    .unwrap();

    // Message 1 in, message 2 (the receiver's HELLO) out.
    let (hs, first) = bench.handshake().unwrap();
    let Ok(Repr::Handshake { noise }) = Repr::parse(&first) else {
        panic!("message 1 is not a HANDSHAKE frame");
    };
    let mut responder = Handshake::responder(&receiver).unwrap();
    responder.read(noise).unwrap();
    let second = responder.write(&receiver_hello).unwrap();
    let second = Repr::Handshake { noise: &second }.to_vec().unwrap();

    // Message 3 carries the bench's HELLO, bound to its static key.
    let (peer, last, mut transport) = bench.finish(hs, &second).unwrap();
    assert_eq!(peer, "BENCHBOX");
    let Ok(Repr::Handshake { noise }) = Repr::parse(&last) else {
        panic!("message 3 is not a HANDSHAKE frame");
    };
    let hello = responder.read(noise).unwrap();
    let hello = Hello::parse(&hello).unwrap();
    assert_eq!(hello.host, "BENCH");
    let host_key = PublicKey::from_bytes(hello.host_key).unwrap();
    assert_eq!(host_key, bench.public());
    assert_eq!(responder.remote_static(), Some(host_key.x25519()));
    let mut rx = responder.into_transport().unwrap();

    // A signed message, sealed: opens, and its signer checks out as the
    // daemon's verify does it (certificate by the pinned host key, then the
    // author's signature over the signed bytes).
    let uuid = [3; 16];
    let frame = bench.message(uuid, "BENCHBOX", "hello\n", true).unwrap();
    let sealed = frames::seal(&mut transport, &frame).unwrap();
    let Ok(Repr::Sealed { body }) = Repr::parse(&sealed) else {
        panic!("not a SEALED frame");
    };
    let plain = rx.open(body).unwrap();
    assert_eq!(plain, frame);
    let repr = Repr::parse(&plain).unwrap();
    let Repr::Message(m) = repr else {
        panic!("not a Message");
    };
    assert_eq!(
        (m.uuid, m.to, m.text, m.from),
        (uuid, "BENCHBOX", "hello\n", "BENCH")
    );
    let (signer, signature) = (m.signer.unwrap(), m.signature.unwrap());
    assert_eq!((signer.author, signer.host), (frames::AUTHOR, "BENCH"));
    assert_eq!(&signer.host_key, host_key.as_bytes());
    let author_key = PublicKey::from_bytes(signer.author_key).unwrap();
    messngr_secure::check_cert(
        &host_key,
        "BENCH",
        frames::AUTHOR,
        &author_key,
        &signer.cert,
    )
    .unwrap();
    author_key
        .verify(&repr.signed_bytes().unwrap(), &signature)
        .unwrap();
    // Another host key did not certify it.
    let other = Identity::from_seed([10; 32]).public();
    assert!(
        messngr_secure::check_cert(&other, "BENCH", frames::AUTHOR, &author_key, &signer.cert)
            .is_err()
    );

    // The sealed answers, Accepted and Refused.
    let accepted = Repr::Accepted { uuid }.to_vec().unwrap();
    let body = rx.seal(&accepted).unwrap();
    let answer = Repr::Sealed { body: &body }.to_vec().unwrap();
    assert_eq!(
        frames::answer(&answer, Some(&mut transport)).unwrap(),
        Answer::Accepted(uuid)
    );
    let refused = Repr::Refused {
        uuid: Some(uuid),
        reason: Reason::BadSignature,
        text: "no",
    }
    .to_vec()
    .unwrap();
    let body = rx.seal(&refused).unwrap();
    let answer = Repr::Sealed { body: &body }.to_vec().unwrap();
    assert!(matches!(
        frames::answer(&answer, Some(&mut transport)).unwrap(),
        Answer::Refused(_)
    ));
    // A sealed answer replayed does not open (the nonce moved on).
    assert!(frames::answer(&answer, Some(&mut transport)).is_err());
}

#[test]
fn a_refused_handshake_is_an_error() {
    let bench = bench();
    let (hs, _) = bench.handshake().unwrap();
    let refused = Repr::Refused {
        uuid: None,
        reason: Reason::BadMessage,
        text: "no secure sessions here",
    }
    .to_vec()
    .unwrap();
    let e = bench.finish(hs, &refused).err().unwrap();
    assert!(e.to_string().contains("no secure sessions here"), "{e}");
}

#[test]
fn plain_messages_are_unsigned_native_frames() {
    let frame = bench().message([5; 16], "BENCHBOX", "hi\n", false).unwrap();
    let Ok(Repr::Message(m)) = Repr::parse(&frame) else {
        panic!("not a Message");
    };
    assert_eq!((m.uuid, m.to, m.text), ([5; 16], "BENCHBOX", "hi\n"));
    assert!(m.signer.is_none() && m.signature.is_none());
    let accepted = Repr::Accepted { uuid: [5; 16] }.to_vec().unwrap();
    assert_eq!(
        frames::answer(&accepted, None).unwrap(),
        Answer::Accepted([5; 16])
    );
}

#[test]
fn texts_carry_a_unique_marker_and_the_length_asked() {
    let t = message_text("ab", 1, 2, 100);
    assert!(t.starts_with("nativebench-ab-1-2 ") && t.ends_with('\n'));
    assert_eq!(t.len(), 100);
    assert_eq!(message_text("ab", 1, 2, 0), "nativebench-ab-1-2 \n");
}
