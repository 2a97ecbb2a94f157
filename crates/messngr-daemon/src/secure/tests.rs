//! Pins that persist and refuse a changed key, and signatures that verify
//! only against the pinned host key (in memory; the namespace tests in
//! crates/messngr/tests/secure.rs attack real daemons).
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use messngr_proto::wire::native::{Message, Repr};
use messngr_secure::Identity;

use super::testing::secure;
use super::*;

const FROM: &str = "10.77.0.2:40000";

fn addr() -> SocketAddr {
    FROM.parse().unwrap()
}

#[test]
fn first_contact_pins_and_a_changed_key_is_refused_and_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let s = secure("H1", dir.path());
    let h2 = Identity::generate().unwrap().public();
    s.trust().admit("h2", &h2, addr()).unwrap();
    assert_eq!(s.trust().pinned("H2"), Some(h2));
    // Persisted: a new daemon on the same state dir knows the pin.
    let again = Trust::load(
        crate::config::TrustMode::Tofu,
        &dir.path().join("x"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(again.pinned("H2"), Some(h2));

    let other = Identity::generate().unwrap().public();
    let e = s.trust().admit("H2", &other, addr()).unwrap_err();
    assert!(matches!(e, Untrusted::Changed { .. }), "{e}");
    assert!(e.to_string().contains("messngr trust remove H2"), "{e}");
    assert_eq!(s.trust().pinned("H2"), Some(h2), "the pin stays");
    let changes = s.trust().changes();
    assert_eq!(changes["H2"].count, 1);
    assert_eq!(changes["H2"].offered, other.fingerprint().to_string());

    // An admin confirms the change: the next contact pins the new key.
    s.trust().remove("H2").unwrap();
    assert!(s.trust().changes().is_empty());
    s.trust().admit("H2", &other, addr()).unwrap();
    assert_eq!(s.trust().pinned("H2"), Some(other));
}

#[test]
fn this_hosts_own_names_are_never_pinned_or_believed() {
    let dir = tempfile::tempdir().unwrap();
    let t = Trust::load(
        crate::config::TrustMode::Tofu,
        &dir.path().join("x"),
        dir.path(),
    )
    .unwrap()
    .reserving(["H1".to_owned(), "HELPDESK".to_owned()]);
    let k = Identity::generate().unwrap().public();
    for name in ["h1", "HELPDESK", " H1 "] {
        let e = t.admit(name, &k, addr()).unwrap_err();
        assert!(matches!(e, Untrusted::OurName { .. }), "{name}: {e}");
    }
    assert!(t.pinned("H1").is_none());
    assert!(t.list().is_empty());
    // An alias claimed later (`name add`, a reload) is reserved from then on.
    t.admit("OPS", &k, addr()).unwrap();
    t.remove("OPS").unwrap();
    t.reserve("ops");
    let e = t.admit("OPS", &k, addr()).unwrap_err();
    assert!(matches!(e, Untrusted::OurName { .. }), "{e}");
}

#[test]
fn without_trust_on_first_use_only_the_trust_file_counts() {
    let dir = tempfile::tempdir().unwrap();
    let h2 = Identity::generate().unwrap().public();
    let file = dir.path().join("trust-file");
    std::fs::write(&file, format!("# ours\nH2 {h2}\n")).unwrap();
    let t = Trust::load(crate::config::TrustMode::File, &file, dir.path()).unwrap();
    t.admit("H2", &h2, addr()).unwrap();
    let h3 = Identity::generate().unwrap().public();
    let e = t.admit("H3", &h3, addr()).unwrap_err();
    assert!(matches!(e, Untrusted::Unknown { .. }), "{e}");
    assert!(
        e.to_string().contains("messngr trust add H3 ed25519:"),
        "{e}"
    );
    assert!(t.in_trust_file("h2"));
    assert!(t.pinned("H3").is_none());
}

/// A Message from H2 to H1 with text `x`, carrying `fields`, unsigned.
fn message(uuid: u8, fields: messngr_proto::wire::native::Signer<'_>) -> Message<'_> {
    Message {
        uuid: [uuid; 16],
        sent_at: None,
        from: "H2",
        to: "H1",
        text: "x",
        priority: Default::default(),
        popup_secs: None,
        signer: Some(fields),
        signature: None,
        replaces: None,
        retract: false,
        alert: None,
        expires_at: None,
        vouched: None,
    }
}

/// `m` signed by `signer`.
fn sign_with<'a>(signer: &Signer, mut m: Message<'a>) -> Message<'a> {
    m.signature = Some(signer.sign(&Repr::Message(m)).unwrap());
    m
}

/// A signed frame from `signer` for H1.
fn signed(signer: &Signer, text: &str) -> Vec<u8> {
    let m = sign_with(
        signer,
        Message {
            text,
            ..message(7, signer.fields())
        },
    );
    messngr_proto::wire::Emit::to_vec(&Repr::Message(m)).unwrap()
}

#[test]
fn a_signature_verifies_only_against_the_pinned_host_key() {
    let dir1 = tempfile::tempdir().unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let h1 = secure("H1", dir1.path());
    let h2 = secure("H2", dir2.path());
    let root = h2.signer(0).unwrap();
    let frame = signed(&root, "hello");

    // H1 has no pin of H2 yet: not believed.
    let parsed = Repr::parse(&frame).unwrap();
    assert_eq!(
        h1.verify(&parsed),
        Err(sign::Forged::UnknownHost("H2".into()))
    );
    h1.trust().admit("H2", &h2.host().public(), addr()).unwrap();
    let v = h1.verify(&parsed).unwrap();
    assert_eq!(v.author, "root@H2");

    // A changed text breaks the signature.
    let tampered = frame
        .windows(5)
        .position(|w| w == b"hello")
        .map(|i| {
            let mut f = frame.clone();
            f[i] = b'j';
            f
        })
        .unwrap();
    assert_eq!(
        h1.verify(&Repr::parse(&tampered).unwrap()),
        Err(sign::Forged::Signature)
    );

    // A third host re-signs it with its own keys, claiming to be H2: its
    // host key is not H2's pin.
    let dir3 = tempfile::tempdir().unwrap();
    let h3 = secure("H2", dir3.path());
    let forged = signed(&h3.signer(0).unwrap(), "hello");
    assert_eq!(
        h1.verify(&Repr::parse(&forged).unwrap()),
        Err(sign::Forged::HostKey("H2".into()))
    );

    // Its own account key with H2's real host key in the frame: the
    // certificate does not hold.
    let mixed = Signer::new(
        h3.host(),
        "H2",
        "root".into(),
        Identity::generate().unwrap(),
    );
    let mut fields = mixed.fields();
    fields.host_key = *h2.host().public().as_bytes();
    let m = sign_with(&mixed, message(8, fields));
    assert_eq!(
        h1.verify(&Repr::Message(m)),
        Err(sign::Forged::Cert("H2".into()))
    );
}

/// A session's cached certificate (and decompressed author key) spares the
/// certificate check only: every message's own signature is still checked,
/// and a frame with other signer fields gets the full check.
#[test]
fn a_cached_certificate_still_checks_each_signature() {
    let dir1 = tempfile::tempdir().unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let h1 = secure("H1", dir1.path());
    let h2 = secure("H2", dir2.path());
    h1.trust().admit("H2", &h2.host().public(), addr()).unwrap();
    let root = h2.signer(0).unwrap();
    let mut session = None;

    let first = signed(&root, "hello");
    let v1 = h1
        .verify_cached(&Repr::parse(&first).unwrap(), &mut session)
        .unwrap();
    assert!(session.is_some());
    let second = signed(&root, "again");
    let v2 = h1
        .verify_cached(&Repr::parse(&second).unwrap(), &mut session)
        .unwrap();
    assert_eq!(v1, v2);
    assert_eq!(v2.author, "root@H2");
    assert_eq!(
        v2.fingerprint,
        messngr_secure::PublicKey::from_bytes(root.fields().author_key)
            .unwrap()
            .fingerprint()
            .to_string(),
        "the fingerprint of the author key"
    );

    // Same signer fields as the cached ones, changed text: refused.
    let mut tampered = second.clone();
    let at = tampered.windows(5).position(|w| w == b"again").unwrap();
    tampered[at] = b'A';
    assert_eq!(
        h1.verify_cached(&Repr::parse(&tampered).unwrap(), &mut session),
        Err(sign::Forged::Signature)
    );

    // The cached author key with a changed certificate: checked again.
    let mut fields = root.fields();
    fields.cert[0] ^= 1;
    let m = sign_with(&root, message(8, fields));
    assert_eq!(
        h1.verify_cached(&Repr::Message(m), &mut session),
        Err(sign::Forged::Cert("H2".into()))
    );

    // Another key under the same author name, certified by no one (the
    // cached certificate copied in): the certificate is checked again.
    let impostor = Signer::new(
        h2.host(),
        "H2",
        "root".into(),
        Identity::generate().unwrap(),
    );
    let mut fields = impostor.fields();
    fields.cert = root.fields().cert;
    let m = sign_with(&impostor, message(9, fields));
    assert_eq!(
        h1.verify_cached(&Repr::Message(m), &mut session),
        Err(sign::Forged::Cert("H2".into()))
    );
}

/// `author@HOST` and the sender shown cannot be dressed up: an account name
/// of portable characters, a host without `@`, FROM = HOST.
#[test]
fn names_are_checked_before_the_signature() {
    let dir1 = tempfile::tempdir().unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let h1 = secure("H1", dir1.path());
    let h2 = secure("H2", dir2.path());
    h1.trust().admit("H2", &h2.host().public(), addr()).unwrap();
    let sign = |author: &str, from: &str| {
        let s = Signer::new(
            h2.host(),
            "H2",
            author.into(),
            Identity::generate().unwrap(),
        );
        let m = sign_with(
            &s,
            Message {
                from,
                ..message(9, s.fields())
            },
        );
        messngr_proto::wire::Emit::to_vec(&Repr::Message(m)).unwrap()
    };
    let verify = |f: &[u8]| h1.verify(&Repr::parse(f).unwrap());
    assert!(verify(&sign("alice", "H2")).is_ok());
    assert_eq!(verify(&sign("alice", "HELPDESK")), Err(sign::Forged::From));
    for author in ["root@H1", "root       ", "rööt", "-rf"] {
        assert_eq!(
            verify(&sign(author, "H2")),
            Err(sign::Forged::Name),
            "{author}"
        );
    }
}
