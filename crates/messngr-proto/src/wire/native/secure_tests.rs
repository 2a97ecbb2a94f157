//! Unit tests of issue #11's additions: hand-made bytes for a signed
//! Message, a Receipt, a Handshake, a SEALED frame and a HELLO; every new
//! `Malformed` case; what a signature covers; the SEALED frame limit; and a
//! property test of messages with the new fields.
#![allow(clippy::unwrap_used)] // tests may panic; see the workspace lint

use super::*;
use crate::wire::Emit;

const UUID: [u8; 16] = [0x5A; 16];

/// `TYPE, LENGTH, VALUE` written out.
fn tlv(kind: u8, value: &[u8]) -> Vec<u8> {
    let mut v = vec![kind];
    v.extend(u16::try_from(value.len()).unwrap().to_be_bytes());
    v.extend(value);
    v
}

fn frame(kind: u8, fields: &[Vec<u8>]) -> Vec<u8> {
    let mut v = b"\xFBMNG\x01".to_vec();
    v.push(kind);
    for f in fields {
        v.extend(f);
    }
    v
}

fn signer() -> Signer<'static> {
    Signer {
        author: "alice",
        host: "H2",
        author_key: [0xA1; 32],
        host_key: [0xB2; 32],
        cert: [0xCE; 64],
    }
}

/// The six signer fields of [`signer`] with signature `0x51…`, on the wire.
fn signer_bytes() -> Vec<Vec<u8>> {
    vec![
        b"\x0A\x00\x05alice".to_vec(),
        b"\x0B\x00\x02H2".to_vec(),
        [&b"\x0C\x00\x20"[..], &[0xA1; 32]].concat(),
        [&b"\x0D\x00\x20"[..], &[0xB2; 32]].concat(),
        [&b"\x0E\x00\x40"[..], &[0xCE; 64]].concat(),
        [&b"\x0F\x00\x40"[..], &[0x51; 64]].concat(),
    ]
}

fn signed_message() -> Message<'static> {
    Message {
        uuid: UUID,
        sent_at: None,
        from: "alice",
        to: "H1",
        text: "fixed",
        priority: Priority::Normal,
        popup_secs: None,
        signer: Some(signer()),
        signature: Some([0x51; 64]),
        replaces: Some([0x77; 16]),
        retract: false,
        alert: None,
        expires_at: None,
        vouched: None,
    }
}

fn signed_message_bytes() -> Vec<u8> {
    let mut fields = vec![
        [&b"\x01\x00\x10"[..], &UUID].concat(),
        b"\x03\x00\x05alice".to_vec(),
        b"\x04\x00\x02H1".to_vec(),
        b"\x05\x00\x05fixed".to_vec(),
        b"\x06\x00\x01\x01".to_vec(),
    ];
    fields.extend(signer_bytes());
    fields.push([&b"\x10\x00\x10"[..], &[0x77; 16]].concat());
    frame(1, &fields)
}

fn receipt() -> Receipt<'static> {
    Receipt {
        uuid: UUID,
        state: ReceiptState::Read,
        reader: "alice",
        at: 0x0000_019b_a12c_3d40,
        signer: signer(),
        signature: [0x51; 64],
    }
}

fn receipt_bytes() -> Vec<u8> {
    let mut fields = vec![
        [&b"\x01\x00\x10"[..], &UUID].concat(),
        b"\x02\x00\x08\x00\x00\x01\x9b\xa1\x2c\x3d\x40".to_vec(),
    ];
    fields.extend(signer_bytes());
    fields.push(b"\x12\x00\x01\x02".to_vec());
    fields.push(b"\x13\x00\x05alice".to_vec());
    frame(6, &fields)
}

#[test]
fn a_signed_message_from_hand_made_bytes() {
    let bytes = signed_message_bytes();
    let repr = Repr::parse(&bytes).unwrap();
    assert_eq!(repr, Repr::Message(signed_message()));
    assert_eq!(repr.to_vec().unwrap(), bytes);
    assert_eq!(repr.buffer_len(), bytes.len());
    // A retraction: REPLACES and RETRACT, empty TEXT.
    let retract = frame(
        1,
        &[
            [&b"\x01\x00\x10"[..], &UUID].concat(),
            b"\x03\x00\x01a\x04\x00\x01b\x05\x00\x00\x06\x00\x01\x01".to_vec(),
            [&b"\x10\x00\x10"[..], &[0x77; 16]].concat(),
            b"\x11\x00\x00".to_vec(),
        ],
    );
    let Repr::Message(m) = Repr::parse(&retract).unwrap() else {
        panic!("not a message")
    };
    assert_eq!(
        (m.retract, m.replaces, m.text, m.signer),
        (true, Some([0x77; 16]), "", None)
    );
    assert_eq!(Repr::Message(m).to_vec().unwrap(), retract);
}

#[test]
fn a_receipt_from_hand_made_bytes() {
    let bytes = receipt_bytes();
    assert_eq!(
        Packet::new_checked(&bytes[..]).unwrap().kind(),
        Kind::Receipt
    );
    let repr = Repr::parse(&bytes).unwrap();
    assert_eq!(repr, Repr::Receipt(receipt()));
    assert_eq!(repr.to_vec().unwrap(), bytes);
    let delivered = Repr::Receipt(Receipt {
        state: ReceiptState::Delivered,
        ..receipt()
    });
    assert_eq!(Repr::parse(&delivered.to_vec().unwrap()), Ok(delivered));
}

#[test]
fn a_handshake_and_a_sealed_frame_from_hand_made_bytes() {
    let e = [0xEE; 32];
    let handshake = [&b"\xFBMNG\x01\x04\x8A\x00\x20"[..], &e].concat();
    let repr = Repr::parse(&handshake).unwrap();
    assert_eq!(repr, Repr::Handshake { noise: &e });
    assert_eq!(repr.kind(), Kind::Handshake);
    assert_eq!(repr.to_vec().unwrap(), handshake);
    // NOISE is critical: an old node that does not know it refuses.
    assert_eq!(field::NOISE & CRITICAL, CRITICAL);

    // Two chunks: 2 bytes of ciphertext + tag, then a bare tag. The body is
    // not TLV: it is kept as it is.
    let body = [&b"\x00\x12"[..], &[0xC1; 18], b"\x00\x10", &[0xC2; 16]].concat();
    let sealed = [&b"\xFBMNG\x01\x05"[..], &body].concat();
    let repr = Repr::parse(&sealed).unwrap();
    assert_eq!(repr, Repr::Sealed { body: &body });
    assert_eq!(repr.to_vec().unwrap(), sealed);
    assert_eq!(repr.buffer_len(), sealed.len());
    let got: Vec<_> = chunks(&body).collect();
    assert_eq!(got, vec![Ok(&[0xC1; 18][..]), Ok(&[0xC2; 16][..])]);
    // A body that is TLV-shaped garbage is still just a body.
    assert_eq!(
        Repr::parse(b"\xFBMNG\x01\x05\x8A\xFF\xFF"),
        Ok(Repr::Sealed {
            body: b"\x8A\xFF\xFF"
        })
    );
}

#[test]
fn chunks_refuse_short_and_cut_chunks() {
    let cut = [&b"\x00\x12"[..], &[0; 17]].concat();
    assert!(matches!(
        chunks(&cut).collect::<Vec<_>>()[..],
        [Err(Error::Truncated { .. })]
    ));
    let tagless = b"\x00\x02ab\x00\x10";
    assert_eq!(
        chunks(tagless).collect::<Vec<_>>(),
        vec![Err(Error::Malformed("SEALED chunk shorter than its tag"))]
    );
    assert_eq!(chunks(b"\x00").count(), 1);
    assert_eq!(sealed_body_len(0), 18);
    assert_eq!(sealed_body_len(MAX_CHUNK_PLAINTEXT), MAX_CHUNK_LEN + 2);
    assert_eq!(
        sealed_body_len(MAX_CHUNK_PLAINTEXT + 1),
        MAX_CHUNK_PLAINTEXT + 1 + 36
    );
}

#[test]
fn a_hello_from_hand_made_bytes() {
    let bytes = [&b"\x0B\x00\x05ALPHA\x0D\x00\x20"[..], &[0xB2; 32]].concat();
    let hello = Hello::parse(&bytes).unwrap();
    assert_eq!(
        hello,
        Hello {
            host: "ALPHA",
            host_key: [0xB2; 32]
        }
    );
    assert_eq!(hello.to_vec().unwrap(), bytes);
    assert_eq!(hello.buffer_len(), bytes.len());
    // Any order, unknown fields skipped; unknown critical ones refused.
    let shuffled = [&bytes[8..], b"\x40\x00\x01x", &bytes[..8]].concat();
    assert_eq!(Hello::parse(&shuffled), Ok(hello));
    let critical = [&bytes[..], b"\xC0\x00\x00"].concat();
    assert_eq!(
        Hello::parse(&critical),
        Err(Error::Unsupported("critical native field"))
    );
    assert_eq!(
        Hello::parse(&bytes[..8]),
        Err(Error::Malformed("native HELLO without HOST_KEY"))
    );
    assert_eq!(
        Hello::parse(&bytes[8..]),
        Err(Error::Malformed("native HELLO without HOST"))
    );
    assert!(matches!(
        Hello::parse(&bytes[..bytes.len() - 1]),
        Err(Error::Truncated { .. })
    ));
    let bad = Hello {
        host: "NOT A NAME",
        ..hello
    };
    assert!(matches!(bad.to_vec(), Err(Error::Malformed(_))));
}

/// Parses a signed message with one field replaced (`Some`) or removed.
fn with_field(kind: u8, value: Option<&[u8]>) -> Result<Repr<'static>> {
    let bytes = signed_message_bytes();
    let mut out = b"\xFBMNG\x01\x01".to_vec();
    let mut seen = false;
    for f in Packet::new_checked(&bytes[..]).unwrap().fields() {
        let f = f.unwrap();
        if f.kind == kind {
            seen = true;
            if let Some(v) = value {
                out.extend(tlv(kind, v));
            }
        } else {
            out.extend(tlv(f.kind, f.value));
        }
    }
    if !seen && let Some(v) = value {
        out.extend(tlv(kind, v));
    }
    let out: &'static [u8] = Box::leak(out.into_boxed_slice());
    Repr::parse(out)
}

#[test]
fn each_new_malformed_case_is_refused() {
    let all_or_none = Err::<(), _>(Error::Malformed(
        "native signer fields (AUTHOR, HOST, AUTHOR_KEY, HOST_KEY, CERT, SIGNATURE) come all or none",
    ));
    for f in [
        field::AUTHOR,
        field::HOST,
        field::AUTHOR_KEY,
        field::HOST_KEY,
        field::CERT,
        field::SIGNATURE,
    ] {
        assert_eq!(
            with_field(f, None).map(|_| ()),
            all_or_none,
            "without {f:#x}"
        );
    }
    let malformed = |k, v: &[u8]| matches!(with_field(k, Some(v)), Err(Error::Malformed(_)));
    let too_long = |k, v: &[u8]| matches!(with_field(k, Some(v)), Err(Error::TooLong(_)));
    assert!(malformed(field::AUTHOR, b""));
    assert!(too_long(field::AUTHOR, &[b'a'; MAX_AUTHOR_LEN + 1]));
    assert!(with_field(field::AUTHOR, Some(&[b'a'; MAX_AUTHOR_LEN])).is_ok());
    assert!(malformed(field::AUTHOR, b"\xff"));
    assert!(malformed(field::HOST, b""));
    assert!(malformed(field::HOST, b"MY HOST"));
    assert!(malformed(field::HOST, "HÖST".as_bytes()));
    assert!(malformed(field::HOST, b"H\x01"));
    assert!(too_long(field::HOST, &[b'H'; MAX_HOST_LEN + 1]));
    assert!(with_field(field::HOST, Some(&[b'H'; MAX_HOST_LEN])).is_ok());
    assert!(malformed(field::AUTHOR_KEY, &[0; 31]));
    assert!(malformed(field::HOST_KEY, &[0; 33]));
    assert!(malformed(field::CERT, &[0; 63]));
    assert!(malformed(field::SIGNATURE, &[0; 65]));
    assert!(malformed(field::REPLACES, &[0; 15]));
    assert!(malformed(field::RETRACT, b"x"));
    assert!(malformed(field::STATE, b"\x03"));
    assert!(malformed(field::STATE, b"\x00"));
    assert!(malformed(field::STATE, b"\x01\x01"));
    assert!(malformed(field::READER, b""));
    assert!(too_long(field::READER, &[b'r'; MAX_NAME_LEN + 1]));
    assert!(malformed(field::NOISE, b""));
    assert_eq!(
        with_field(field::REPLACES, None).map(|_| ()),
        Ok(()),
        "REPLACES is optional"
    );
    assert_eq!(
        with_field(field::TEXT, Some(b"")),
        Err(Error::Malformed(
            "native TEXT is empty (allowed only with RETRACT)"
        ))
    );
    // RETRACT without REPLACES.
    let mut m = signed_message();
    m.retract = true;
    m.replaces = None;
    m.signer = None;
    m.signature = None;
    let mut bytes = Repr::Message(Message {
        retract: false,
        alert: None,
        ..m
    })
    .to_vec()
    .unwrap();
    bytes.extend(b"\x11\x00\x00");
    let want = Err::<(), _>(Error::Malformed("native RETRACT without REPLACES"));
    assert_eq!(Repr::parse(&bytes).map(|_| ()), want);
    assert_eq!(Repr::Message(m).to_vec().map(|_| ()), want);
    // Emit refuses the same, and signer fields not all or none.
    let mut m = signed_message();
    m.text = "";
    assert!(Repr::Message(m).to_vec().is_err());
    m.retract = true;
    assert!(Repr::Message(m).to_vec().is_ok());
    m.signature = None;
    assert_eq!(Repr::Message(m).to_vec().map(|_| ()), all_or_none);
    m.signature = Some([0; 64]);
    m.signer = None;
    assert_eq!(Repr::Message(m).to_vec().map(|_| ()), all_or_none);
}

#[test]
fn receipts_handshakes_and_sealed_frames_need_their_fields() {
    let bytes = receipt_bytes();
    let without = |kind: u8| {
        let mut out = b"\xFBMNG\x01\x06".to_vec();
        for f in Packet::new_checked(&bytes[..]).unwrap().fields() {
            let f = f.unwrap();
            if f.kind != kind {
                out.extend(tlv(f.kind, f.value));
            }
        }
        Repr::parse(&out).map(|_| ())
    };
    for (kind, why) in [
        (field::UUID, "native Receipt without UUID"),
        (field::STATE, "native Receipt without STATE"),
        (field::READER, "native Receipt without READER"),
        (field::SENT_AT, "native Receipt without SENT_AT"),
    ] {
        assert_eq!(without(kind), Err(Error::Malformed(why)));
    }
    assert!(matches!(
        without(field::SIGNATURE),
        Err(Error::Malformed(_))
    ));
    let unsigned = frame(
        6,
        &[
            [&b"\x01\x00\x10"[..], &UUID].concat(),
            b"\x02\x00\x08\0\0\0\0\0\0\0\x01\x12\x00\x01\x01\x13\x00\x01r".to_vec(),
        ],
    );
    assert_eq!(
        Repr::parse(&unsigned),
        Err(Error::Malformed("native Receipt without signer fields"))
    );
    let mut r = receipt();
    r.reader = "";
    assert!(Repr::Receipt(r).to_vec().is_err());
    assert_eq!(
        Repr::parse(b"\xFBMNG\x01\x04"),
        Err(Error::Malformed("native Handshake without NOISE"))
    );
    assert_eq!(
        Repr::parse(b"\xFBMNG\x01\x04\x8A\x00\x00"),
        Err(Error::Malformed("native NOISE is empty"))
    );
    assert!(Repr::Handshake { noise: b"" }.to_vec().is_err());
    assert_eq!(
        Repr::parse(b"\xFBMNG\x01\x05"),
        Err(Error::Malformed("native SEALED without chunks"))
    );
    assert!(Repr::Sealed { body: b"" }.to_vec().is_err());
    let huge = vec![0; MAX_SEALED_LEN];
    assert_eq!(
        Repr::Sealed { body: &huge }.to_vec(),
        Err(Error::TooLong("native SEALED"))
    );
    let fits = &huge[..MAX_SEALED_LEN - 4 - HEADER_LEN];
    let bytes = Repr::Sealed { body: fits }.to_vec().unwrap();
    assert_eq!(bytes.len() + 4, MAX_SEALED_LEN);
    let one_more = [&bytes[..], b"\0"].concat();
    assert_eq!(Repr::parse(&one_more), Err(Error::TooLong("native SEALED")));
}

#[test]
fn new_kinds_and_reasons_have_their_numbers() {
    for (v, k) in [
        (4, Kind::Handshake),
        (5, Kind::Sealed),
        (6, Kind::Receipt),
        (7, Kind::Bundle),
    ] {
        assert_eq!((Kind::from(v), u8::from(k)), (k, v));
    }
    for (v, r) in [
        (5, Reason::BadSignature),
        (6, Reason::KeyChanged),
        (7, Reason::SecureRequired),
    ] {
        assert_eq!((Reason::from(v), u8::from(r)), (r, v));
    }
    assert_eq!(Reason::from(8), Reason::Unknown(8));
    assert_eq!(Kind::from(8), Kind::Unknown(8));
}
