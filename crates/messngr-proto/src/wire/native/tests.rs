//! Unit tests of the native frame: hand-made bytes for each kind, the
//! forward-compatibility rules (unknown fields skipped, critical ones
//! refused), limits, the stream reader, and property tests.
#![allow(clippy::unwrap_used)] // tests may panic; see the workspace lint

use proptest::prelude::*;

use super::*;
use crate::wire::Emit;

const UUID: [u8; 16] = *b"\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98\x76\x54\x32\x10";

/// A Message written byte by byte from docs/native.md.
const MESSAGE: &[u8] = b"\xFBMNG\x01\x01\
\x01\x00\x10\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98\x76\x54\x32\x10\
\x02\x00\x08\x00\x00\x01\x9b\xa1\x2c\x3d\x40\
\x03\x00\x08alice@H2\
\x04\x00\x02H1\
\x05\x00\x06Gr\xc3\xbc\xc3\x9f\
\x06\x00\x01\x02\
\x07\x00\x04\x00\x00\x00\x07";

fn emit(repr: &Repr<'_>) -> Vec<u8> {
    repr.to_vec().unwrap()
}

fn message() -> Message<'static> {
    Message {
        uuid: UUID,
        sent_at: Some(0x0000_019b_a12c_3d40),
        from: "alice@H2",
        to: "H1",
        text: "Grüß",
        priority: Priority::Urgent,
        popup_secs: Some(7),
        signer: None,
        signature: None,
        replaces: None,
        retract: false,
        alert: None,
        expires_at: None,
        vouched: None,
    }
}

#[test]
fn a_message_from_hand_made_bytes() {
    let packet = Packet::new_checked(MESSAGE).unwrap();
    assert_eq!((packet.version(), packet.kind()), (1, Kind::Message));
    assert_eq!(packet.fields().count(), 7);
    let repr = Repr::parse(MESSAGE).unwrap();
    assert_eq!(repr, Repr::Message(message()));
    assert_eq!(emit(&repr), MESSAGE);
    assert_eq!(repr.buffer_len(), MESSAGE.len());
}

#[test]
fn accepted_and_refused_from_hand_made_bytes() {
    let accepted = b"\xFBMNG\x01\x02\x01\x00\x10\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98\x76\x54\x32\x10";
    assert_eq!(Repr::parse(accepted), Ok(Repr::Accepted { uuid: UUID }));
    assert_eq!(emit(&Repr::Accepted { uuid: UUID }), accepted);
    let refused = b"\xFBMNG\x01\x03\x08\x00\x01\x03\x09\x00\x0adisk full!";
    let repr = Repr::Refused {
        uuid: None,
        reason: Reason::NoRoom,
        text: "disk full!",
    };
    assert_eq!(Repr::parse(refused), Ok(repr));
    assert_eq!(emit(&repr), refused);
    // The shortest refusal: a reason, no text.
    assert_eq!(
        Repr::parse(b"\xFBMNG\x01\x03\x08\x00\x01\x2a"),
        Ok(Repr::Refused {
            uuid: None,
            reason: Reason::Unknown(42),
            text: ""
        })
    );
}

#[test]
fn absent_optional_fields_take_their_defaults() {
    let bytes = b"\xFBMNG\x01\x01\
\x01\x00\x10\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98\x76\x54\x32\x10\
\x05\x00\x02hi\x04\x00\x02H1\x03\x00\x02H2";
    let Repr::Message(m) = Repr::parse(bytes).unwrap() else {
        panic!("not a message")
    };
    assert_eq!(
        (m.priority, m.popup_secs, m.sent_at),
        (Priority::Normal, None, None)
    );
    assert_eq!((m.from, m.to, m.text), ("H2", "H1", "hi"));
    // Emitting normalises: TYPE order, PRIORITY written.
    let again = emit(&Repr::Message(m));
    assert_eq!(again.len(), bytes.len() + 4);
    assert_eq!(Repr::parse(&again), Ok(Repr::Message(m)));
}

#[test]
fn unknown_fields_are_skipped_critical_ones_refused() {
    let mut later = MESSAGE.to_vec();
    // A signature a later version adds (non-critical TYPE 0x40).
    later.extend(b"\x40\x00\x03sig");
    assert_eq!(Repr::parse(&later), Ok(Repr::Message(message())));
    let mut critical = MESSAGE.to_vec();
    critical.extend(b"\xC0\x00\x00");
    assert_eq!(
        Repr::parse(&critical),
        Err(Error::Unsupported("critical native field"))
    );
}

#[test]
fn bad_frames_are_refused_with_a_reason() {
    let m = |tail: &[u8]| {
        let mut v = b"\xFBMNG\x01\x01".to_vec();
        v.extend(tail);
        Repr::parse(&v).map(|_| ())
    };
    assert_eq!(
        Repr::parse(b"\xFFSMB\x01\x01"),
        Err(Error::Malformed("not a messngr frame (magic)"))
    );
    assert_eq!(
        Repr::parse(b"\xFBMNG\x02\x01"),
        Err(Error::Unsupported("messngr frame version"))
    );
    assert_eq!(
        Repr::parse(b"\xFBMNG\x01\x09"),
        Err(Error::Unsupported("native frame kind"))
    );
    assert_eq!(m(b""), Err(Error::Malformed("native Message without UUID")));
    assert!(matches!(
        m(b"\x05\x00\x02\xff\xfe"),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(m(b"\x06\x00\x01\x03"), Err(Error::Malformed(_))));
    assert!(matches!(
        m(b"\x07\x00\x04\x00\x00\x00\x00"),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        m(b"\x07\x00\x04\x00\x01\x51\x81"),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(m(b"\x03\x00\x00"), Err(Error::Malformed(_))));
    assert!(matches!(
        m(b"\x04\x00\x01a\x04\x00\x01b"),
        Err(Error::Malformed("native field given twice"))
    ));
    let long_name = [b'a'; MAX_NAME_LEN + 1];
    let mut f = vec![field::FROM, 1, 0];
    f.extend(long_name);
    assert!(matches!(m(&f), Err(Error::TooLong(_))));
    // Cut anywhere, the frame is refused; except after a whole field when
    // only optional ones (PRIORITY, POPUP_SECS) follow: another message.
    let without_popup = Message {
        popup_secs: None,
        signer: None,
        signature: None,
        replaces: None,
        retract: false,
        alert: None,
        ..message()
    };
    let without_priority = Message {
        priority: Priority::Normal,
        ..without_popup
    };
    for cut in 0..MESSAGE.len() {
        let got = Repr::parse(&MESSAGE[..cut]);
        if cut == MESSAGE.len() - 7 {
            assert_eq!(got, Ok(Repr::Message(without_popup)));
        } else if cut == MESSAGE.len() - 11 {
            assert_eq!(got, Ok(Repr::Message(without_priority)));
        } else {
            assert!(got.is_err(), "cut at {cut}: {got:?}");
        }
    }
}

#[test]
fn emit_refuses_what_a_receiver_would_refuse() {
    let mut m = message();
    m.popup_secs = Some(MAX_POPUP_SECS + 1);
    assert!(Repr::Message(m).to_vec().is_err());
    m.popup_secs = Some(0);
    assert!(Repr::Message(m).to_vec().is_err());
    let mut m = message();
    m.to = "";
    assert!(Repr::Message(m).to_vec().is_err());
    let long = "x".repeat(MAX_TEXT_LEN + 1);
    let mut m = message();
    m.text = &long;
    assert_eq!(
        Repr::Message(m).to_vec(),
        Err(Error::TooLong("native text field"))
    );
    let max = "x".repeat(MAX_TEXT_LEN);
    m.text = &max;
    let bytes = emit(&Repr::Message(m));
    assert!(bytes.len() + 4 <= MAX_FRAME_LEN);
    assert_eq!(Repr::parse(&bytes), Ok(Repr::Message(m)));
    let mut short = [0u8; 10];
    assert!(matches!(
        Repr::Message(message()).emit(&mut short),
        Err(Error::BufferTooSmall { .. })
    ));
}

#[test]
fn frame_len_lets_native_frames_past_the_smb_limit() {
    let big = "x".repeat(20_000);
    let mut m = message();
    m.text = &big;
    let payload = emit(&Repr::Message(m));
    let frame = crate::wire::nbss::Repr::SessionMessage { payload: &payload }
        .to_vec()
        .unwrap();
    assert_eq!(frame_len(&frame[..4], 8192), Ok(None));
    assert_eq!(frame_len(&frame[..8], 8192), Ok(None));
    assert_eq!(frame_len(&frame, 8192), Ok(Some(frame.len())));
    // The same length with an SMB inside is still too long.
    let mut smb = frame.clone();
    smb[4..8].copy_from_slice(b"\xFFSMB");
    assert!(matches!(frame_len(&smb[..8], 8192), Err(Error::TooLong(_))));
    // Small frames and other types are cut as nbss::frame_len cuts them.
    assert_eq!(frame_len(b"\x85\x00\x00\x00", 8192), Ok(Some(4)));
    assert!(frame_len(b"\x85\x01\x00\x00", 8192).is_err());
}

fn arb_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..40).prop_map(move |c| {
        let mut s: String = c.into_iter().collect();
        while s.len() > max {
            s.pop();
        }
        s
    })
}

fn arb_name() -> impl Strategy<Value = String> {
    arb_text(MAX_NAME_LEN).prop_map(|s| if s.is_empty() { "X".into() } else { s })
}

prop_compose! {
    fn arb_message()(
        uuid in any::<[u8; 16]>(),
        sent_at in any::<Option<i64>>(),
        from in arb_name(),
        to in arb_name(),
        text in arb_name(),
        priority in 0u8..3,
        popup_secs in prop::option::of(1..=MAX_POPUP_SECS),
    ) -> (Message<'static>, [String; 3]) {
        let m = Message {
            uuid,
            sent_at,
            from: "",
            to: "",
            text: "",
            priority: Priority::from_u8(priority).unwrap(),
            popup_secs,
            signer: None,
            signature: None,
            replaces: None,
            retract: false,
            alert: None,
            expires_at: None,
            vouched: None,
        };
        (m, [from, to, text])
    }
}

proptest! {
    #[test]
    fn messages_round_trip((m, [from, to, text]) in arb_message()) {
        let m = Message { from: &from, to: &to, text: &text, ..m };
        let repr = Repr::Message(m);
        let bytes = emit(&repr);
        prop_assert_eq!(bytes.len(), repr.buffer_len());
        prop_assert_eq!(Repr::parse(&bytes), Ok(repr));
    }

    #[test]
    fn answers_round_trip(uuid in any::<Option<[u8; 16]>>(), reason in any::<u8>(), text in arb_text(MAX_REASON_LEN)) {
        let accepted = Repr::Accepted { uuid: uuid.unwrap_or_default() };
        let bytes = emit(&accepted);
        prop_assert_eq!(Repr::parse(&bytes), Ok(accepted));
        let refused = Repr::Refused { uuid, reason: Reason::from(reason), text: &text };
        let bytes = emit(&refused);
        prop_assert_eq!(Repr::parse(&bytes), Ok(refused));
        prop_assert_eq!(u8::from(Reason::from(reason)), reason);
        prop_assert_eq!(u8::from(Kind::from(reason)), reason);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(tail in prop::collection::vec(any::<u8>(), 0..200), magic in any::<bool>()) {
        let mut bytes = if magic { b"\xFBMNG\x01".to_vec() } else { Vec::new() };
        bytes.extend(tail);
        if let Ok(repr) = Repr::parse(&bytes) {
            let again = emit(&repr);
            prop_assert_eq!(Repr::parse(&again), Ok(repr));
            prop_assert_eq!(emit(&Repr::parse(&again).unwrap()), again);
        }
        if let Ok(p) = Packet::new_checked(&bytes[..]) {
            let _ = (p.kind(), p.fields().count());
        }
        let _ = frame_len(&bytes, 64);
    }
}

/// An alert (issue 12): MESSAGE with ALERT "disk" and REPEATS 3, by hand.
const ALERT: &[u8] = b"\x14\x00\x04disk\x15\x00\x04\x00\x00\x00\x03";

#[test]
fn an_alert_from_hand_made_bytes() {
    let bytes = [MESSAGE, ALERT].concat();
    let repr = Repr::parse(&bytes).unwrap();
    let alert = Message {
        alert: Some(Alert {
            title: "disk",
            repeats: 3,
        }),
        ..message()
    };
    assert_eq!(repr, Repr::Message(alert));
    assert_eq!(emit(&repr), bytes);
    // ALERT alone (an empty title, raised once): REPEATS is not emitted.
    let once = [MESSAGE, b"\x14\x00\x00"].concat();
    let repr = Repr::parse(&once).unwrap();
    let Repr::Message(m) = repr else {
        panic!("{repr:?}")
    };
    assert_eq!(
        m.alert,
        Some(Alert {
            title: "",
            repeats: 1
        })
    );
    assert_eq!(emit(&repr), once);
    // Without the fields a message is no alert.
    let Ok(Repr::Message(plain)) = Repr::parse(MESSAGE) else {
        panic!()
    };
    assert_eq!(plain.alert, None);
}

#[test]
fn alert_fields_are_checked() {
    let bad = |tail: &[u8]| Repr::parse(&[MESSAGE, tail].concat()).map(|_| ());
    // REPEATS without ALERT, REPEATS below 2 or of the wrong length, a
    // title that is not UTF-8 or too long: refused.
    assert!(matches!(
        bad(b"\x15\x00\x04\x00\x00\x00\x03"),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        bad(b"\x14\x00\x00\x15\x00\x04\x00\x00\x00\x01"),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        bad(b"\x14\x00\x00\x15\x00\x02\x00\x03"),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(bad(b"\x14\x00\x01\xff"), Err(Error::Malformed(_))));
    let long = [b"\x14\x01\x00".as_slice(), &[b'a'; 256]].concat();
    assert!(matches!(bad(&long), Err(Error::TooLong(_))));
    assert!(matches!(
        bad(b"\x14\x00\x00\x14\x00\x00"),
        Err(Error::Malformed(_))
    ));
    // Emitting refuses what parsing would.
    let zero = Message {
        alert: Some(Alert {
            title: "",
            repeats: 0,
        }),
        ..message()
    };
    assert!(Repr::Message(zero).to_vec().is_err());
    let long_title = "t".repeat(256);
    let long = Message {
        alert: Some(Alert {
            title: &long_title,
            repeats: 1,
        }),
        ..message()
    };
    assert!(matches!(
        Repr::Message(long).to_vec(),
        Err(Error::TooLong(_))
    ));
}

/// The sender's expiry (`--expires`): EXPIRES_AT, critical, 8 bytes.
#[test]
fn an_expiry_from_hand_made_bytes() {
    // 1 700 000 000 000 ms = 0x0000_018B_CFE5_6800.
    let bytes = [MESSAGE, b"\x96\x00\x08\x00\x00\x01\x8b\xcf\xe5\x68\x00"].concat();
    let repr = Repr::parse(&bytes).unwrap();
    let expiring = Message {
        expires_at: Some(1_700_000_000_000),
        ..message()
    };
    assert_eq!(repr, Repr::Message(expiring));
    assert_eq!(emit(&repr), bytes);
    // The wrong length, or given twice: refused.
    let bad = |tail: &[u8]| Repr::parse(&[MESSAGE, tail].concat()).map(|_| ());
    assert!(matches!(
        bad(b"\x96\x00\x04\x00\x00\x00\x01"),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        bad(b"\x96\x00\x08\0\0\0\0\0\0\0\x01\x96\x00\x08\0\0\0\0\0\0\0\x01"),
        Err(Error::Malformed(_))
    ));
    // Critical: a receiver that did not know it would refuse the message
    // (as this one refuses the next critical TYPE it does not know),
    // rather than show it after its expiry.
    assert!(matches!(
        bad(b"\x9f\x00\x08\0\0\0\0\0\0\0\x01"),
        Err(Error::Unsupported(_))
    ));
    assert_eq!(field::EXPIRES_AT & CRITICAL, CRITICAL);
}

/// A gateway's mark (VOUCHED, critical): only on a signed message.
#[test]
fn vouched_needs_a_signer_and_some_words() {
    let bad = |tail: &[u8]| Repr::parse(&[MESSAGE, tail].concat()).map(|_| ());
    // MESSAGE is unsigned: a gateway's word without a gateway is refused.
    assert!(matches!(
        bad(b"\x97\x00\x11smb from 10.0.0.7"),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(bad(b"\x97\x00\x00"), Err(Error::Malformed(_))));
    assert_eq!(field::VOUCHED & CRITICAL, CRITICAL);
    // Emitting refuses it the same way.
    let unsigned = Message {
        vouched: Some("smb from 10.0.0.7"),
        ..message()
    };
    assert!(Repr::Message(unsigned).to_vec().is_err());
}
