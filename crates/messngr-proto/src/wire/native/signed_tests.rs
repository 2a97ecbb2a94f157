//! Unit tests of what a signature covers ([`Repr::signed_bytes`]), of the
//! stream cutter's SEALED limit, and property tests of the issue #11
//! fields.
#![allow(clippy::unwrap_used)] // tests may panic; see the workspace lint

use proptest::prelude::*;

use super::*;
use crate::wire::Emit;

fn signer() -> Signer<'static> {
    Signer {
        author: "alice",
        host: "H2",
        author_key: [0xA1; 32],
        host_key: [0xB2; 32],
        cert: [0xCE; 64],
    }
}

fn message() -> Message<'static> {
    Message {
        uuid: [0x5A; 16],
        sent_at: Some(1_767_935_589_696),
        from: "alice",
        to: "H1",
        text: "lunch?",
        priority: Priority::Urgent,
        popup_secs: Some(30),
        signer: Some(signer()),
        signature: Some([0x51; 64]),
        replaces: Some([0x77; 16]),
        retract: false,
        alert: None,
        expires_at: None,
        vouched: None,
    }
}

fn receipt() -> Receipt<'static> {
    Receipt {
        uuid: [0x5A; 16],
        state: ReceiptState::Read,
        reader: "bob",
        at: 1_767_935_589_696,
        signer: signer(),
        signature: [0x51; 64],
    }
}

#[test]
fn signed_bytes_are_the_frame_without_its_signature() {
    let repr = Repr::Message(message());
    let signed = repr.signed_bytes().unwrap();
    let frame = repr.to_vec().unwrap();
    assert!(signed.starts_with(b"messngr signed v1\0"));
    let rest = &signed[SIGNED_PREFIX.len()..];
    // The frame less its SIGNATURE field (3 + 64 bytes), which sits between
    // CERT and REPLACES.
    assert_eq!(rest.len(), frame.len() - 67);
    let at = frame.windows(3).position(|w| w == b"\x0F\x00\x40").unwrap();
    assert_eq!(rest, [&frame[..at], &frame[at + 67..]].concat());
    // Without the field, parse refuses it: signed bytes are not a frame.
    assert!(Repr::parse(rest).is_err());
}

#[test]
fn signed_bytes_agree_for_a_parsed_frame_and_its_repr() {
    for repr in [Repr::Message(message()), Repr::Receipt(receipt())] {
        let mut bytes = repr.to_vec().unwrap();
        // Unknown non-critical fields and another order do not change what
        // was signed: emission is canonical.
        bytes.extend(b"\x7F\x00\x02zz");
        let parsed = Repr::parse(&bytes).unwrap();
        assert_eq!(parsed.signed_bytes(), repr.signed_bytes());
    }
}

#[test]
fn signed_bytes_change_with_every_signed_field_not_the_signature() {
    let base = Repr::Message(message()).signed_bytes().unwrap();
    let m = message();
    let s = signer();
    let variants = [
        Message { uuid: [0; 16], ..m },
        Message { sent_at: None, ..m },
        Message {
            from: "mallory",
            ..m
        },
        Message { to: "H3", ..m },
        Message {
            text: "lunch!",
            ..m
        },
        Message {
            priority: Priority::Low,
            ..m
        },
        Message {
            popup_secs: None,
            ..m
        },
        Message {
            replaces: None,
            ..m
        },
        Message { retract: true, ..m },
        Message {
            alert: Some(Alert {
                title: "",
                repeats: 1,
            }),
            ..m
        },
        Message {
            alert: Some(Alert {
                title: "disk",
                repeats: 1,
            }),
            ..m
        },
        Message {
            alert: Some(Alert {
                title: "",
                repeats: 2,
            }),
            ..m
        },
        Message {
            signer: Some(Signer { author: "eve", ..s }),
            ..m
        },
        Message {
            signer: Some(Signer { host: "H3", ..s }),
            ..m
        },
        Message {
            signer: Some(Signer {
                author_key: [0; 32],
                ..s
            }),
            ..m
        },
        Message {
            signer: Some(Signer {
                host_key: [0; 32],
                ..s
            }),
            ..m
        },
        Message {
            signer: Some(Signer { cert: [0; 64], ..s }),
            ..m
        },
    ];
    for v in variants {
        assert_ne!(Repr::Message(v).signed_bytes().unwrap(), base, "{v:?}");
    }
    // The signature: another one, or none yet (about to be made).
    for signature in [Some([0; 64]), None] {
        let v = Message { signature, ..m };
        assert_eq!(Repr::Message(v).signed_bytes().unwrap(), base);
    }
    let r = receipt();
    let base = Repr::Receipt(r).signed_bytes().unwrap();
    for v in [
        Receipt { uuid: [0; 16], ..r },
        Receipt {
            state: ReceiptState::Delivered,
            ..r
        },
        Receipt { reader: "eve", ..r },
        Receipt { at: 0, ..r },
        Receipt {
            signer: Signer { author: "eve", ..s },
            ..r
        },
    ] {
        assert_ne!(Repr::Receipt(v).signed_bytes().unwrap(), base, "{v:?}");
    }
    let v = Receipt {
        signature: [0; 64],
        ..r
    };
    assert_eq!(Repr::Receipt(v).signed_bytes().unwrap(), base);
}

#[test]
fn only_signed_messages_and_receipts_have_signed_bytes() {
    let unsigned = Message {
        signer: None,
        signature: None,
        ..message()
    };
    assert_eq!(
        Repr::Message(unsigned).signed_bytes(),
        Err(Error::Malformed("native Message without signer fields"))
    );
    for repr in [
        Repr::Accepted { uuid: [0; 16] },
        Repr::Handshake { noise: b"e" },
        Repr::Sealed { body: b"x" },
    ] {
        assert_eq!(
            repr.signed_bytes(),
            Err(Error::Unsupported("native frame kind is not signed"))
        );
    }
    // What emit refuses, signing refuses too.
    let bad = Message {
        from: "",
        ..message()
    };
    assert!(Repr::Message(bad).signed_bytes().is_err());
}

#[test]
fn frame_len_lets_sealed_frames_past_the_native_limit() {
    use crate::wire::nbss;
    let nbss_frame = |payload: &[u8]| nbss::Repr::SessionMessage { payload }.to_vec().unwrap();
    let body = vec![0; MAX_SEALED_LEN - nbss::HEADER_LEN - HEADER_LEN];
    let sealed = nbss_frame(&Repr::Sealed { body: &body }.to_vec().unwrap());
    assert_eq!(sealed.len(), MAX_SEALED_LEN);
    // The magic alone is not enough past MAX_FRAME_LEN: the KIND decides.
    assert_eq!(frame_len(&sealed[..8], 8192), Ok(None));
    assert_eq!(frame_len(&sealed[..9], 8192), Ok(None));
    assert_eq!(frame_len(&sealed[..10], 8192), Ok(None));
    assert_eq!(frame_len(&sealed, 8192), Ok(Some(MAX_SEALED_LEN)));
    // The same length as a plaintext Message is too long.
    let mut plain = sealed.clone();
    plain[9] = u8::from(Kind::Message);
    assert!(matches!(
        frame_len(&plain[..10], 8192),
        Err(Error::TooLong(_))
    ));
    // One byte over the SEALED limit is too long.
    let over = nbss_frame(&[&sealed[4..], b"\0"].concat());
    assert!(matches!(
        frame_len(&over[..10], 8192),
        Err(Error::TooLong(_))
    ));
    // A largest inner frame, sealed in full chunks, fits.
    let inner = MAX_FRAME_LEN - nbss::HEADER_LEN;
    assert_eq!(
        nbss::HEADER_LEN + HEADER_LEN + sealed_body_len(inner),
        MAX_SEALED_LEN
    );
}

fn arb_text(min: usize, max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), min..40).prop_map(move |c| {
        let mut s: String = c.into_iter().collect();
        while s.len() > max {
            s.pop();
        }
        if s.len() < min {
            s = "x".repeat(min);
        }
        s
    })
}

prop_compose! {
    fn arb_signer()(
        author in arb_text(1, MAX_AUTHOR_LEN),
        host in "[!-~]{1,15}",
        author_key in any::<[u8; 32]>(),
        host_key in any::<[u8; 32]>(),
        cert in prop::collection::vec(any::<u8>(), 64),
    ) -> ([String; 2], [[u8; 32]; 2], [u8; 64]) {
        ([author, host], [author_key, host_key], cert.try_into().unwrap())
    }
}

proptest! {
    #[test]
    fn signed_messages_round_trip(
        uuid in any::<[u8; 16]>(),
        from in arb_text(1, MAX_NAME_LEN),
        text in arb_text(0, MAX_TEXT_LEN),
        signer in prop::option::of(arb_signer()),
        signature in prop::collection::vec(any::<u8>(), 64),
        replaces in any::<Option<[u8; 16]>>(),
        retract in any::<bool>(),
        alert in prop::option::of(("[a-z ]{0,20}", 1u32..5)),
    ) {
        let retract = retract && replaces.is_some();
        let text = if text.is_empty() && !retract { "t".to_string() } else { text };
        let s = signer.as_ref().map(|([author, host], [author_key, host_key], cert)| Signer {
            author, host, author_key: *author_key, host_key: *host_key, cert: *cert,
        });
        let m = Message {
            uuid,
            sent_at: None,
            from: &from,
            to: "H1",
            text: &text,
            priority: Priority::Normal,
            popup_secs: None,
            signer: s,
            signature: s.map(|_| signature.clone().try_into().unwrap()),
            replaces,
            retract,
            alert: alert.as_ref().map(|(title, repeats)| Alert { title, repeats: *repeats }),
            expires_at: None,
            vouched: None,
        };
        let repr = Repr::Message(m);
        let bytes = repr.to_vec().unwrap();
        prop_assert_eq!(bytes.len(), repr.buffer_len());
        let parsed = Repr::parse(&bytes).unwrap();
        prop_assert_eq!(parsed, repr);
        if s.is_some() {
            prop_assert_eq!(parsed.signed_bytes(), repr.signed_bytes());
        }
    }

    #[test]
    fn receipts_and_hellos_round_trip(
        reader in arb_text(1, MAX_NAME_LEN),
        read in any::<bool>(),
        at in any::<i64>(),
        ([author, host], [author_key, host_key], cert) in arb_signer(),
    ) {
        let signer = Signer { author: &author, host: &host, author_key, host_key, cert };
        let state = if read { ReceiptState::Read } else { ReceiptState::Delivered };
        let repr = Repr::Receipt(Receipt { uuid: [1; 16], state, reader: &reader, at, signer, signature: cert });
        let bytes = repr.to_vec().unwrap();
        prop_assert_eq!(Repr::parse(&bytes), Ok(repr));
        let hello = Hello { host: &host, host_key };
        let bytes = hello.to_vec().unwrap();
        prop_assert_eq!(Hello::parse(&bytes), Ok(hello));
    }

    #[test]
    fn hello_parses_arbitrary_bytes_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..120)) {
        if let Ok(h) = Hello::parse(&bytes) {
            let again = h.to_vec().unwrap();
            prop_assert_eq!(Hello::parse(&again), Ok(h));
        }
    }
}
