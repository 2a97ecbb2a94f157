//! Unit tests of the NBSS codec: the captured session request, every packet
//! type, the 17-bit length, stream framing, and property tests.
#![allow(clippy::unwrap_used)] // tests may panic; see the workspace lint

use proptest::prelude::*;

use super::*;
use crate::wire::name::{NetbiosName, Scope, scope_labels};

/// smbclient-M.hex frame 1: SESSION REQUEST `TARGET<03>` from `SENDERBOX<00>`.
const SESSION_REQUEST: &[u8] = b"\x81\x00\x00\x44\
\x20FEEBFCEHEFFECACACACACACACACACAAD\x00\
\x20FDEFEOEEEFFCECEPFICACACACACACAAA\x00";

fn emit(repr: &Repr<'_>) -> Vec<u8> {
    repr.to_vec().unwrap()
}

#[test]
fn session_request_from_the_vector() {
    let packet = Packet::new_checked(SESSION_REQUEST).unwrap();
    assert_eq!(packet.packet_type(), PacketType::SessionRequest);
    assert_eq!((packet.flags(), packet.length()), (0, SESSION_REQUEST_LEN));
    let repr = Repr::parse(SESSION_REQUEST).unwrap();
    let Repr::SessionRequest { called, calling } = repr else {
        panic!("not a session request: {repr:?}");
    };
    assert_eq!(called.to_string(), "TARGET<03>");
    assert_eq!(calling.to_string(), "SENDERBOX<00>");
    assert_eq!(emit(&repr), SESSION_REQUEST);
}

#[test]
fn fixed_responses_round_trip() {
    let cases: &[(&[u8], Repr<'static>)] = &[
        (b"\x82\x00\x00\x00", Repr::PositiveSessionResponse),
        (b"\x85\x00\x00\x00", Repr::SessionKeepAlive),
        (
            // What py/nbt_sink.py --reject-called sends.
            b"\x83\x00\x00\x01\x82",
            Repr::NegativeSessionResponse {
                error_code: ErrorCode::CalledNameNotPresent,
            },
        ),
        (
            b"\x84\x00\x00\x06\x0a\x4d\x00\x01\x00\x8b",
            Repr::RetargetSessionResponse {
                address: Ipv4Addr::new(10, 77, 0, 1),
                port: SSN_SRVC_TCP_PORT,
            },
        ),
        (
            b"\x00\x00\x00\x03abc",
            Repr::SessionMessage { payload: b"abc" },
        ),
    ];
    for (bytes, repr) in cases {
        assert_eq!(Repr::parse(bytes).as_ref(), Ok(repr), "{bytes:02x?}");
        assert_eq!(emit(repr), *bytes);
    }
}

#[test]
fn error_codes_and_types_round_trip() {
    for v in 0..=255u8 {
        assert_eq!(u8::from(ErrorCode::from(v)), v);
        assert_eq!(u8::from(PacketType::from(v)), v);
    }
    assert_eq!(ErrorCode::from(0x80), ErrorCode::NotListeningOnCalledName);
    assert_eq!(ErrorCode::from(0x81), ErrorCode::NotListeningForCallingName);
    assert_eq!(ErrorCode::from(0x83), ErrorCode::InsufficientResources);
    assert_eq!(ErrorCode::from(0x8F), ErrorCode::UnspecifiedError);
    assert_eq!(ErrorCode::from(0x84), ErrorCode::Unknown(0x84));
}

#[test]
fn the_e_bit_extends_length_to_17_bits() {
    let payload = vec![0x5A; 70_000];
    let repr = Repr::SessionMessage { payload: &payload };
    let bytes = emit(&repr);
    assert_eq!(&bytes[..4], &[0x00, 0x01, 0x11, 0x70]);
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.length(), 70_000);
    assert_eq!(Repr::parse(&bytes), Ok(repr));
    let too_long = vec![0; MAX_LENGTH + 1];
    assert_eq!(
        Repr::SessionMessage { payload: &too_long }.to_vec(),
        Err(Error::TooLong("NBSS trailer over 131071 bytes"))
    );
    let max = vec![0; MAX_LENGTH];
    let bytes = emit(&Repr::SessionMessage { payload: &max });
    assert_eq!(&bytes[..4], &[0x00, 0x01, 0xFF, 0xFF]);
}

#[test]
fn reserved_flags_lengths_and_unknown_types_are_rejected() {
    assert_eq!(
        Repr::parse(b"\x82\x02\x00\x00"),
        Err(Error::Malformed("NBSS reserved FLAGS bits set"))
    );
    assert!(matches!(
        Repr::parse(b"\x82\x00\x00\x01\x00"),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        Repr::parse(b"\x85\x00\x00\x01\x00"),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        Repr::parse(b"\x83\x00\x00\x00"),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        Repr::parse(b"\x84\x00\x00\x04\x0a\x00\x00\x01"),
        Err(Error::Malformed(_))
    ));
    assert_eq!(
        Repr::parse(b"\x86\x00\x00\x00"),
        Err(Error::Unsupported("NBSS packet type"))
    );
    assert_eq!(
        Repr::parse(b"\x00\x00\x00\x05abc"),
        Err(Error::Truncated { need: 9, have: 7 })
    );
    // A session request with a trailing byte, or a pointer instead of a name.
    let mut extra = SESSION_REQUEST.to_vec();
    extra[3] += 1;
    extra.push(0);
    assert!(matches!(Repr::parse(&extra), Err(Error::Malformed(_))));
    let mut pointer = SESSION_REQUEST[..38].to_vec();
    pointer.extend([0xC0, 0x04]);
    pointer[3] = 36;
    assert!(Repr::parse(&pointer).is_err());
    for cut in 0..SESSION_REQUEST.len() {
        assert!(Repr::parse(&SESSION_REQUEST[..cut]).is_err());
    }
}

#[test]
fn a_session_request_may_carry_a_scope() {
    let labels = scope_labels("corp").unwrap();
    let called = EncodedName {
        name: NetbiosName::new(b"RECVBOX", 3).unwrap(),
        scope: Scope::from_labels(&labels).unwrap(),
    };
    let calling = EncodedName {
        name: NetbiosName::new(b"H2", 0).unwrap(),
        scope: called.scope,
    };
    let repr = Repr::SessionRequest { called, calling };
    let bytes = emit(&repr);
    assert_eq!(bytes.len(), 4 + 2 * (34 + 5));
    assert_eq!(Repr::parse(&bytes), Ok(repr));
}

#[test]
fn frame_len_splits_a_stream() {
    let mut stream = SESSION_REQUEST.to_vec();
    stream.extend(b"\x85\x00\x00\x00\x00\x00\x00\x02hi");
    let max = DEFAULT_MAX_FRAME_LEN;
    for cut in 0..4 {
        assert_eq!(frame_len(&stream[..cut], max), Ok(None));
    }
    assert_eq!(frame_len(&stream[..71], max), Ok(None));
    assert_eq!(frame_len(&stream, max), Ok(Some(72)));
    let (first, rest) = split_frame(&stream, max).unwrap().unwrap();
    assert_eq!(first, SESSION_REQUEST);
    let (keep_alive, rest) = split_frame(rest, max).unwrap().unwrap();
    assert_eq!(Repr::parse(keep_alive), Ok(Repr::SessionKeepAlive));
    let (message, rest) = split_frame(rest, max).unwrap().unwrap();
    assert_eq!(
        Repr::parse(message),
        Ok(Repr::SessionMessage { payload: b"hi" })
    );
    assert_eq!(split_frame(rest, max), Ok(None));
}

#[test]
fn frame_len_guards_size_and_flags_before_buffering() {
    assert_eq!(
        frame_len(b"\x00\x01\x00\x00", DEFAULT_MAX_FRAME_LEN),
        Err(Error::TooLong("NBSS packet exceeds the frame-size limit"))
    );
    assert_eq!(frame_len(b"\x00\x00\x00\x04", 8), Ok(None));
    assert!(frame_len(b"\x00\x00\x00\x05", 8).is_err());
    assert!(frame_len(b"\x00\x80\x00\x00", 8).is_err());
    assert_eq!(frame_len(b"\x00\x01\x00\x00", MAX_LENGTH + 4), Ok(None));
}

#[test]
fn setters_write_the_fields() {
    let mut buf = [0xFFu8; 8];
    let mut packet = Packet::new_unchecked(&mut buf[..]);
    packet.set_packet_type(PacketType::NegativeSessionResponse);
    packet.set_length(1);
    packet.trailer_mut()[0] = 0x8F;
    assert_eq!(&buf[..5], b"\x83\x00\x00\x01\x8f");
    let mut packet = Packet::new_unchecked(&mut buf[..]);
    packet.set_flags(0x03);
    assert!(Packet::new_checked(&buf[..]).is_err());
}

fn arb_name() -> impl Strategy<Value = NetbiosName> {
    (prop::array::uniform16(any::<u8>())).prop_map(NetbiosName::from_raw)
}

fn arb_repr(scope: &[u8]) -> impl Strategy<Value = Repr<'_>> {
    let scope = Scope::from_labels(scope).unwrap();
    prop_oneof![
        Just(Repr::PositiveSessionResponse),
        Just(Repr::SessionKeepAlive),
        any::<u8>().prop_map(|c| Repr::NegativeSessionResponse {
            error_code: ErrorCode::from(c)
        }),
        (any::<u32>(), any::<u16>()).prop_map(|(a, port)| Repr::RetargetSessionResponse {
            address: Ipv4Addr::from(a),
            port
        }),
        (arb_name(), arb_name(), any::<bool>()).prop_map(move |(a, b, scoped)| {
            let scope = if scoped { scope } else { Scope::EMPTY };
            Repr::SessionRequest {
                called: EncodedName { name: a, scope },
                calling: EncodedName { name: b, scope },
            }
        }),
    ]
}

proptest! {
    #[test]
    fn encode_then_decode_is_the_identity(repr in arb_repr(b"\x04corp\x07example")) {
        let bytes = emit(&repr);
        prop_assert_eq!(bytes.len(), repr.buffer_len());
        prop_assert_eq!(frame_len(&bytes, MAX_LENGTH + 4), Ok(Some(bytes.len())));
        prop_assert_eq!(Repr::parse(&bytes), Ok(repr));
    }

    #[test]
    fn session_messages_round_trip(payload in prop::collection::vec(any::<u8>(), 0..600)) {
        let repr = Repr::SessionMessage { payload: &payload };
        let bytes = emit(&repr);
        prop_assert_eq!(Repr::parse(&bytes), Ok(repr));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(repr) = Repr::parse(&bytes) {
            let again = emit(&repr);
            prop_assert_eq!(Repr::parse(&again), Ok(repr));
            let n = frame_len(&bytes, MAX_LENGTH + 4).unwrap().unwrap();
            prop_assert_eq!(&again[..], &bytes[..n]);
        }
        let _ = frame_len(&bytes, 64);
        let _ = split_frame(&bytes, 64);
    }
}
