use proptest::prelude::*;

use super::*;

fn emit(n: &EncodedName<'_>) -> Vec<u8> {
    let mut buf = vec![0; n.buffer_len()];
    let mut w = Writer::new(&mut buf);
    n.emit(&mut w).unwrap();
    buf
}

#[test]
fn first_level_encoding_matches_the_captured_labels() {
    // netbios-names.md §2.1, each label taken from a vector.
    let cases: &[(&str, &[u8; 32])] = &[
        ("RECVBOX<00>", b"FCEFEDFGECEPFICACACACACACACACAAA"),
        ("RECVBOX<03>", b"FCEFEDFGECEPFICACACACACACACACAAD"),
        ("TARGET<03>", b"FEEBFCEHEFFECACACACACACACACACAAD"),
        ("SENDERBOX<00>", b"FDEFEOEEEFFCECEPFICACACACACACAAA"),
        ("MLAN<1D>", b"ENEMEBEOCACACACACACACACACACACABN"),
        ("*<00>", b"CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ];
    for (text, label) in cases {
        let name: NetbiosName = text.parse().unwrap();
        assert_eq!(&name.encode(), *label, "{text}");
        assert_eq!(NetbiosName::decode(*label).unwrap(), name);
        assert_eq!(name.to_string(), *text);
    }
}

#[test]
fn names_are_upper_cased_padded_and_checked() {
    let n = NetbiosName::new(b"h1", suffix::MESSENGER).unwrap();
    assert_eq!(n.as_bytes(), b"H1             \x03");
    assert_eq!(n.name(), b"H1");
    assert!(n.eq_ignore_case(&NetbiosName::from_raw(*b"h1             \x03")));
    assert!(!n.eq_ignore_case(&n.with_suffix(0)));
    assert!(NetbiosName::new(b"", 0).is_err());
    assert!(NetbiosName::new(b"SIXTEEN_CHARS_XX", 0).is_err());
    assert!(NetbiosName::new(b"*X", 0).is_err());
    assert_eq!(
        NetbiosName::truncated(b"sixteen_chars_xx", 3).name(),
        b"SIXTEEN_CHARS_X"
    );
    assert_eq!(
        "h2#20".parse::<NetbiosName>().unwrap().to_string(),
        "H2<20>"
    );
    assert!("h2#zz".parse::<NetbiosName>().is_err());
    assert!(
        "h2<3"
            .parse::<NetbiosName>()
            .is_ok_and(|n| n.name() == b"H2<3")
    );
    let browse = NetbiosName::from_raw(*b"\x01\x02__MSBROWSE__\x02\x01");
    assert_eq!(browse.to_string(), "\\x01\\x02__MSBROWSE__\\x02<01>");
}

#[test]
fn decode_rejects_bad_labels() {
    assert!(NetbiosName::decode(b"AAAA").is_err());
    assert!(NetbiosName::decode(b"FCEFEDFGECEPFICACACACACACACACAAQ").is_err());
}

#[test]
fn plain_name_round_trips_with_and_without_scope() {
    let name = EncodedName::new("RECVBOX#03".parse().unwrap());
    let bytes = emit(&name);
    assert_eq!(bytes.len(), ENCODED_NAME_LEN);
    assert_eq!(EncodedName::parse_plain(&bytes).unwrap(), (name, 34));

    let labels = scope_labels("corp.example").unwrap();
    let scoped = EncodedName {
        name: name.name,
        scope: Scope::from_labels(&labels).unwrap(),
    };
    let bytes = emit(&scoped);
    assert_eq!(&bytes[33..], b"\x04corp\x07example\x00");
    let (back, len) = EncodedName::parse_plain(&bytes).unwrap();
    assert_eq!((back, len), (scoped, bytes.len()));
    assert_eq!(back.to_string(), "RECVBOX<03>.corp.example");
}

#[test]
fn pointers_are_followed_backwards_only() {
    let name = EncodedName::new("RECVBOX#03".parse().unwrap());
    let mut pkt = vec![0u8; 12];
    pkt.extend(emit(&name));
    pkt.extend([0xC0, 12]);
    assert_eq!(EncodedName::parse(&pkt, 46, true).unwrap(), (name, 48));
    assert!(EncodedName::parse(&pkt, 46, false).is_err());
    // A pointer to itself, forwards, or a reserved label type.
    assert!(EncodedName::parse(&[0xC0, 0], 0, true).is_err());
    assert!(EncodedName::parse(&[0xC0, 2, 0], 0, true).is_err());
    assert!(EncodedName::parse(&[0x80, 0], 0, true).is_err());
    // A loop: a name label that is followed by a pointer back to itself.
    let mut lp = emit(&name);
    lp.pop();
    lp.extend([0xC0, 0]);
    assert!(EncodedName::parse(&lp, 0, true).is_err());
}

#[test]
fn truncated_names_are_errors() {
    let bytes = emit(&EncodedName::new(NetbiosName::WILDCARD));
    for cut in 0..bytes.len() {
        assert!(
            EncodedName::parse_plain(&bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
}

proptest! {
    #[test]
    fn any_name_round_trips(raw in any::<[u8; 16]>(), scope in "([a-z0-9]{1,10}\\.){0,3}[a-z0-9]{1,10}|") {
        let name = NetbiosName::from_raw(raw);
        prop_assert_eq!(NetbiosName::decode(&name.encode()).unwrap(), name);
        let labels = scope_labels(&scope).unwrap();
        let enc = EncodedName { name, scope: Scope::from_labels(&labels).unwrap() };
        let bytes = emit(&enc);
        prop_assert_eq!(EncodedName::parse(&bytes, 0, true).unwrap(), (enc, bytes.len()));
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), pos in 0usize..300) {
        let _ = EncodedName::parse(&bytes, pos, true);
    }
}
