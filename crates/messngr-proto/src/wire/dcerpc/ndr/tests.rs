//! Unit tests (unwrap is the point: a failure is a test failure).
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::*;

/// The first two strings of the dcerpc-netrsendmessage.hex stub (msrp-rpc.md §4).
const FROM_TO: &[u8] = &[
    0x0A, 0, 0, 0, 0, 0, 0, 0, 0x0A, 0, 0, 0, // From: 10/0/10
    b'S', b'E', b'N', b'D', b'E', b'R', b'B', b'O', b'X', 0, // SENDERBOX NUL
    0, 0, // pad to 24
    8, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, // To: 8/0/8
    b'R', b'E', b'C', b'V', b'B', b'O', b'X', 0,
];

#[test]
fn char_strings_of_the_vector() {
    let mut d = Decoder::new(FROM_TO, Drep::LITTLE_ENDIAN).unwrap();
    let from = d.string(CharWidth::Char).unwrap();
    assert_eq!(
        (from.max_count, from.offset, from.actual_count().unwrap()),
        (10, 0, 10)
    );
    assert_eq!(from.as_bytes(), b"SENDERBOX");
    assert!(from.terminated);
    assert_eq!(d.position(), 22);
    let to = d.string(CharWidth::Char).unwrap();
    assert_eq!(to.as_bytes(), b"RECVBOX");
    assert_eq!(d.remaining(), 0);
    assert_eq!(from, NdrString::char(b"SENDERBOX"));
    assert_eq!(to, NdrString::char(b"RECVBOX"));

    let mut buf = [0xEEu8; FROM_TO.len()];
    let mut e = Encoder::new(&mut buf, Drep::LITTLE_ENDIAN);
    e.string(&from).unwrap();
    assert_eq!(from.encoded_len(0), 22);
    assert_eq!(to.encoded_len(22), 22);
    e.string(&to).unwrap();
    assert_eq!(e.position(), FROM_TO.len());
    assert_eq!(&buf, FROM_TO);
}

#[test]
fn unique_wchar_string_and_null_pointer() {
    // [unique, string] wchar_t* "H1", as msgsvc's ServerName would travel.
    let bytes = [
        0x00, 0x00, 0x02, 0x00, // referent id 0x00020000
        3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, // 3/0/3
        b'H', 0, b'1', 0, 0, 0, // "H1" NUL
        0, 0, // pad
        0, 0, 0, 0, // NULL pointer
    ];
    let mut d = Decoder::new(&bytes, Drep::LITTLE_ENDIAN).unwrap();
    let (id, s) = d.unique_string(CharWidth::WChar).unwrap().unwrap();
    assert_eq!(id.get(), 0x0002_0000);
    assert_eq!(s.as_bytes(), b"H\x001\x00");
    assert_eq!(s.decode_utf16().unwrap(), "H1");
    assert_eq!(s, NdrString::wchar_le(&utf16le("H1")));
    assert_eq!(d.unique_string(CharWidth::WChar).unwrap(), None);

    let mut out = [0u8; 28];
    let mut e = Encoder::new(&mut out, Drep::LITTLE_ENDIAN);
    e.unique_string(Some((id, &s))).unwrap();
    e.unique_string(None).unwrap();
    assert_eq!(out, bytes);
}

#[test]
fn big_endian_stream() {
    let text = utf16le("Grüße");
    let s = NdrString::wchar_le(&text);
    let mut buf = [0u8; 40];
    let mut e = Encoder::new(&mut buf, Drep::BIG_ENDIAN);
    e.u16(0x0102).unwrap();
    e.string(&s).unwrap();
    let n = e.position();
    assert_eq!(&buf[..8], &[1, 2, 0, 0, 0, 0, 0, 6]);
    assert_eq!(&buf[16..18], &[0, b'G']);
    let mut d = Decoder::new(&buf[..n], Drep::BIG_ENDIAN).unwrap();
    assert_eq!(d.u16().unwrap(), 0x0102);
    let back = d.string(CharWidth::WChar).unwrap();
    assert_eq!(back.order, ByteOrder::Big);
    assert_eq!(back.decode_utf16().unwrap(), "Grüße");
}

#[test]
fn bad_strings_are_refused() {
    fn d(b: &[u8]) -> Result<NdrString<'_>> {
        Decoder::new(b, Drep::LITTLE_ENDIAN)?.string(CharWidth::Char)
    }
    // Offset + ActualCount > MaximumCount.
    assert!(matches!(
        d(&[2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, b'a', 0]),
        Err(Error::Malformed(_))
    ));
    // ActualCount beyond the stub.
    assert!(matches!(
        d(&[9, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, b'a']),
        Err(Error::Truncated { .. })
    ));
    // Huge counts do not overflow.
    let huge = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
    assert!(d(&huge).is_err());
    let wide = Decoder::new(&huge, Drep::LITTLE_ENDIAN)
        .unwrap()
        .string(CharWidth::WChar);
    assert!(wide.is_err());
    assert!(Decoder::new(&huge, Drep([0x11, 0, 0])).is_err());
    // A missing NUL is accepted and kept as such.
    let s = d(&[3, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, b'h', b'i']).unwrap();
    assert_eq!(
        (s.as_bytes(), s.terminated, s.max_count),
        (&b"hi"[..], false, 3)
    );
    // Unpaired surrogate.
    let lone = NdrString::wchar_le(&[0x00, 0xD8]);
    assert!(lone.decode_utf16().is_err());
    assert!(NdrString::char(b"x").decode_utf16().is_err());
    // Encoder checks.
    let mut buf = [0u8; 32];
    let mut e = Encoder::new(&mut buf, Drep::LITTLE_ENDIAN);
    assert!(e.string(&NdrString::wchar_le(b"abc")).is_err());
    let mut bad = NdrString::char(b"abc");
    bad.max_count = 2;
    assert!(e.string(&bad).is_err());
    assert!(
        Encoder::new(&mut [0u8; 13], Drep::LITTLE_ENDIAN)
            .string(&NdrString::char(b"ab"))
            .is_err()
    );
}

#[test]
fn pointers_and_alignment() {
    let bytes = [7, 0xAA, 0xAA, 0xAA, 0, 0, 0, 0];
    let mut d = Decoder::new(&bytes, Drep::LITTLE_ENDIAN).unwrap();
    d.align(2).unwrap();
    assert_eq!(d.position(), 0);
    d.r.skip(1).unwrap();
    // Non-zero padding is skipped, not checked.
    assert!(d.ref_pointer().is_err());
    assert_eq!(d.position(), 8);
    assert_eq!(align_up(5, 4), 8);
    assert_eq!(align_up(8, 4), 8);
}

fn arb_string() -> impl Strategy<Value = (CharWidth, Vec<u8>, u32, u32, bool)> {
    (
        any::<bool>(),
        proptest::collection::vec(1u8.., 0..20),
        0u32..4,
        0u32..4,
        any::<bool>(),
    )
        .prop_map(|(wide, data, extra, offset, terminated)| {
            let width = if wide {
                CharWidth::WChar
            } else {
                CharWidth::Char
            };
            let mut data = data;
            if wide && data.len() % 2 == 1 {
                data.pop();
            }
            (width, data, extra, offset, terminated)
        })
}

proptest! {
    #[test]
    fn encode_decode_is_identity(
        start in 0usize..8,
        s in arb_string(),
        big in any::<bool>(),
    ) {
        let (width, data, extra, offset, terminated) = s;
        let drep = if big { Drep::BIG_ENDIAN } else { Drep::LITTLE_ENDIAN };
        let units = u32::try_from(data.len() / width.size()).unwrap() + u32::from(terminated);
        let s = NdrString {
            width,
            order: drep.byte_order(),
            max_count: offset + units + extra,
            offset,
            data: &data,
            terminated,
        };
        let mut buf = vec![0u8; start + s.encoded_len(start)];
        let mut e = Encoder::new(&mut buf, drep);
        for _ in 0..start {
            e.w.u8(0).unwrap();
        }
        e.string(&s).unwrap();
        prop_assert_eq!(e.position(), buf.len());
        let mut d = Decoder::new(&buf, drep).unwrap();
        d.r.skip(start).unwrap();
        let back = d.string(width).unwrap();
        // A string whose last element is NUL but which was not "terminated"
        // cannot exist here: data holds no zero bytes.
        prop_assert_eq!(back, s);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut d = Decoder::new(&bytes, Drep::LITTLE_ENDIAN).unwrap();
        let _ = d.string(CharWidth::Char);
        let _ = d.unique_string(CharWidth::WChar);
    }
}
