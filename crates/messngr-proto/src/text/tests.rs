#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use proptest::prelude::*;

use super::*;

/// The receiver's byte-level rule written out independently of
/// `BreakFolder`: 0x14, CR LF, LF CR and lone CR become LF, then one
/// trailing NUL goes (SMB).
fn fold_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'\r', Some(b'\n')) | (b'\n', Some(b'\r')) => {
                out.push(b'\n');
                i += 2;
            }
            (b'\r' | b'\n' | 0x14, _) => {
                out.push(b'\n');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    if out.last() == Some(&0) {
        out.pop();
    }
    out
}

/// The expected text of a message: breaks folded, one trailing NUL gone.
fn expected_text(s: &str) -> String {
    let mut t = normalize_line_breaks(s).into_owned();
    if t.ends_with('\0') {
        t.pop();
    }
    t
}

fn split_at<'a>(bytes: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    at.sort_unstable();
    let mut blocks = Vec::new();
    let mut from = 0;
    for to in at.into_iter().chain([bytes.len()]) {
        blocks.push(&bytes[from..to]);
        from = to;
    }
    blocks
}

#[test]
fn code_page_names_parse_and_display() {
    let ok = [
        ("CP850", CodePage::Cp850),
        ("cp437", CodePage::Cp437),
        ("850", CodePage::Cp850),
        (" IBM866 ", CodePage::Cp866),
        ("ibm-852", CodePage::Cp852),
        ("dos-850", CodePage::Cp850),
        ("oem850", CodePage::Cp850),
        ("CP-858", CodePage::Cp858),
        ("windows-1252", CodePage::Windows1252),
        ("Windows1251", CodePage::Windows1251),
        ("CP1252", CodePage::Windows1252),
        ("1250", CodePage::Windows1250),
    ];
    for (s, cp) in ok {
        assert_eq!(s.parse::<CodePage>(), Ok(cp), "{s}");
    }
    for bad in [
        "",
        "cp",
        "utf-8",
        "850x",
        "+850",
        "cp 850",
        "windows-850",
        "ibm1252",
        "cp9999",
        "99999999",
    ] {
        assert_eq!(
            bad.parse::<CodePage>(),
            Err(UnknownCodePage(bad.to_owned())),
            "{bad:?}"
        );
    }
    assert_eq!(CodePage::Cp850.to_string(), "CP850");
    assert_eq!(CodePage::Windows1252.to_string(), "windows-1252");
    for cp in CodePage::ALL {
        assert_eq!(cp.to_string().parse::<CodePage>(), Ok(cp));
        assert_eq!(CodePage::from_number(cp.number()), Some(cp));
    }
    assert_eq!(CodePage::default(), CodePage::Cp850);
}

#[test]
fn which_code_pages_define_every_byte() {
    let partial: Vec<CodePage> = CodePage::ALL
        .into_iter()
        .filter(|cp| !cp.is_total())
        .collect();
    assert_eq!(
        partial,
        [
            CodePage::Cp857,
            CodePage::Cp864,
            CodePage::Cp874,
            CodePage::Windows1250,
            CodePage::Windows1251,
            CodePage::Windows1252,
        ]
    );
}

#[test]
fn every_high_byte_round_trips_in_the_dos_pages() {
    for cp in [
        CodePage::Cp437,
        CodePage::Cp850,
        CodePage::Cp852,
        CodePage::Cp866,
    ] {
        assert!(cp.is_total(), "{cp}");
        for b in 0x80..=0xFF {
            let c = cp.decode_byte(b).unwrap();
            assert_eq!(cp.encode_char(c), Some(b), "{cp} {b:#04x} {c:?}");
        }
        let all: Vec<u8> = (0..=255).collect();
        let d = cp.decode(&all);
        assert!(!d.lossy);
        assert_eq!(d.text.chars().count(), 256);
        assert_eq!(cp.encode(&d.text).unwrap(), all);
    }
}

#[test]
fn every_defined_byte_round_trips_in_every_page() {
    for cp in CodePage::ALL {
        for b in 0..=255 {
            if let Some(c) = cp.decode_byte(b) {
                assert_eq!(cp.encode_char(c), Some(b), "{cp} {b:#04x} {c:?}");
            }
        }
    }
}

#[test]
fn known_characters() {
    // rust-notes.md §1.3: "Grüße aus Köln" in CP850.
    assert_eq!(
        CodePage::Cp850.encode("Grüße aus Köln").unwrap(),
        b"Gr\x81\xe1e aus K\x94ln"
    );
    assert_eq!(CodePage::Cp437.decode_byte(0xE3), Some('π'));
    assert_eq!(CodePage::Cp866.decode_byte(0x80), Some('А'));
    assert_eq!(CodePage::Cp852.decode_byte(0xA5), Some('ą'));
    assert_eq!(CodePage::Windows1252.decode_byte(0x80), Some('€'));
    assert_eq!(CodePage::Windows1252.decode_byte(0x9F), Some('Ÿ'));
    assert_eq!(CodePage::Windows1252.encode("€").unwrap(), [0x80]);
    // Control bytes are ASCII in the tables, not CP437 glyphs.
    assert_eq!(CodePage::Cp437.decode_byte(0x14), Some('\u{14}'));
}

#[test]
fn cp1252_undefined_bytes_are_marked_lossy() {
    let cp = CodePage::Windows1252;
    let undefined: Vec<u8> = (0..=255).filter(|&b| cp.decode_byte(b).is_none()).collect();
    assert_eq!(undefined, [0x81, 0x8D, 0x8F, 0x90, 0x9D]);
    for b in undefined {
        let d = decode_message(&[b'a', b, b'b'], cp, Transport::Smb);
        assert_eq!(d.text, "a\u{FFFD}b");
        assert!(d.lossy);
        assert_eq!(d.replaced, 1);
        assert_eq!(cp.encode_char(char::from(b)), None, "C1 control");
    }
    let d = cp.decode(b"\x81\x8d");
    assert!(d.lossy);
    assert_eq!(d.replaced, 2);
}

#[test]
fn line_breaks_fold_to_lf() {
    let d = decode_message(
        b"a\x14b\r\nc\n\rd\re\nf\r\n\r\ng",
        CodePage::Cp850,
        Transport::Smb,
    );
    assert_eq!(d.text, "a\nb\nc\nd\ne\nf\n\ng");
    assert_eq!(d.controls, 0);
    // A CR LF cut by a block edge is still one break.
    let d = decode_blocks([&b"a\r"[..], b"\nb\r"], CodePage::Cp850, Transport::Smb);
    assert_eq!(d.text, "a\nb\n");
    assert_eq!(normalize_line_breaks("x\r\ny\u{14}"), "x\ny\n");
    assert!(matches!(
        normalize_line_breaks("no\nchange"),
        std::borrow::Cow::Borrowed(_)
    ));
}

#[test]
fn nul_rules_per_transport() {
    let d = decode_message(b"abc\0", CodePage::Cp850, Transport::Smb);
    assert_eq!((d.text.as_str(), d.nul_terminated), ("abc", true));
    let d = decode_message(b"abc\0\0", CodePage::Cp850, Transport::Rpc);
    assert_eq!((d.text.as_str(), d.controls), ("abc\0", 1));
    let d = decode_message(b"a\0bc", CodePage::Cp850, Transport::Smb);
    assert_eq!((d.text.as_str(), d.nul_terminated), ("a\0bc", false));
    let d = decode_message(b"abc\0xyz", CodePage::Cp850, Transport::Mailslot);
    assert_eq!(d.text, "abc");
    assert!(d.nul_terminated);
    assert_eq!(d.after_nul, 3);
    let d = decode_blocks(
        [&b"ab"[..], b"c\0x", b"yz"],
        CodePage::Cp850,
        Transport::Mailslot,
    );
    assert_eq!((d.text.as_str(), d.after_nul), ("abc", 3));
    let d = decode_message(b"abc", CodePage::Cp850, Transport::Mailslot);
    assert_eq!((d.text.as_str(), d.nul_terminated), ("abc", false));
}

#[test]
fn utf8_blocks_are_detected() {
    let d = decode_message("Grüße".as_bytes(), CodePage::Cp850, Transport::Smb);
    assert_eq!((d.text.as_str(), d.utf8_blocks), ("Grüße", 1));
    let d = decode_message(b"Gr\x81\xe1e", CodePage::Cp850, Transport::Smb);
    assert_eq!((d.text.as_str(), d.utf8_blocks), ("Grüße", 0));
    // Detection off: the raw UTF-8 shows as CP850 (as the .txt annotation).
    let mut dec = MessageDecoder::new(CodePage::Cp850, Transport::Smb).with_utf8_detection(false);
    dec.push_block("Grüße".as_bytes());
    assert_eq!(dec.finish().text, "Gr├╝├ƒe");
    // One UTF-8 block among CP850 blocks.
    let d = decode_blocks(
        [&b"caf\x82 "[..], "naïve ".as_bytes(), b"\x81"],
        CodePage::Cp850,
        Transport::Smb,
    );
    assert_eq!((d.text.as_str(), d.utf8_blocks), ("café naïve ü", 1));
}

#[test]
fn a_character_cut_by_a_block_edge_is_decided_with_the_next_block() {
    // U14: smbclient cuts 127 input bytes, so "ü" can straddle two blocks,
    // each sent raw because neither converts.
    let mut first = vec![b'a'; 126];
    first.push(0xC3);
    let d = decode_blocks(
        [&first[..], b"\xbc and more"],
        CodePage::Cp850,
        Transport::Smb,
    );
    assert_eq!(d.text, format!("{}ü and more", "a".repeat(126)));
    assert_eq!(d.utf8_blocks, 1);
    // Across three blocks.
    let d = decode_blocks(
        [&b"\xe2"[..], b"\x82", b"\xac"],
        CodePage::Cp850,
        Transport::Smb,
    );
    assert_eq!(d.text, "€");
    // Not completed: the held byte is CP850 after all ("Ã" = 0xC7).
    let d = decode_blocks([&b"abc\xc7"[..], b"xyz"], CodePage::Cp850, Transport::Smb);
    assert_eq!(d.text, "abcÃxyz");
    assert!(!d.lossy);
    // Held at the end of the message.
    let d = decode_message(b"abc\xc3", CodePage::Cp850, Transport::Smb);
    assert_eq!(d.text, "abc├");
    // A UTF-8 block whose tail is not completed by a CP850 block.
    let d = decode_blocks(
        [&b"\xc3\xa9\xe2\x82"[..], b"x\x81"],
        CodePage::Cp850,
        Transport::Smb,
    );
    assert_eq!((d.text.as_str(), d.lossy), ("éÔéxü", false));
}

#[test]
fn unencodable_characters_are_reported() {
    let text = "em dash — and Grüße";
    let err = encode_message(text, CodePage::Cp850, LineBreak::Dc4).unwrap_err();
    assert_eq!(
        err,
        Unencodable {
            cp: CodePage::Cp850,
            ch: '—',
            offset: 8,
            count: 1
        }
    );
    assert_eq!(
        err.to_string(),
        "'—' (\\u{2014}) at byte 8 cannot be encoded in CP850 (1 such character(s) in all)"
    );
    let lossy = encode_message_lossy(text, CodePage::Cp850, LineBreak::Dc4);
    assert_eq!(lossy.bytes, b"em dash ? and Gr\x81\xe1e");
    assert_eq!((lossy.replaced, lossy.first), (1, Some((8, '—'))));
    let err = CodePage::Cp437.encode("日本").unwrap_err();
    assert_eq!((err.ch, err.offset, err.count), ('日', 0, 2));
}

#[test]
fn line_breaks_on_send() {
    let text = "a\nb\r\nc\rd\u{14}e\n";
    assert_eq!(
        encode_message(text, CodePage::Cp850, LineBreak::Dc4).unwrap(),
        b"a\x14b\x14c\x14d\x14e\x14"
    );
    assert_eq!(
        encode_message(text, CodePage::Cp850, LineBreak::CrLf).unwrap(),
        b"a\r\nb\r\nc\r\nd\r\ne\r\n"
    );
    assert_eq!(LineBreak::default(), LineBreak::Dc4);
}

#[test]
fn display_neutralises_controls() {
    assert_eq!(
        sanitize_for_display("\x1b[2J\x07bell\r\0\x7f"),
        "^[[2J^Gbell^M^@^?"
    );
    assert_eq!(sanitize_for_display("\u{9b}31m"), "\u{FFFD}31m");
    assert_eq!(sanitize_for_display("\u{202e}cba"), "\u{FFFD}cba");
    assert!(matches!(
        sanitize_for_display("line\n\ttab ü"),
        std::borrow::Cow::Borrowed(_)
    ));
    let d = decode_message(b"hi\x1b]0;owned\x07", CodePage::Cp850, Transport::Smb);
    assert_eq!(d.controls, 2);
    assert_eq!(d.text, "hi\x1b]0;owned\x07");
    assert_eq!(d.display(), "hi^[]0;owned^G");
}

fn cp850_text() -> impl Strategy<Value = String> {
    let chars: Vec<char> = (0..=255)
        .filter_map(|b| CodePage::Cp850.decode_byte(b))
        .collect();
    prop::collection::vec(prop::sample::select(chars), 0..300).prop_map(|v| v.into_iter().collect())
}

fn code_page() -> impl Strategy<Value = CodePage> {
    prop::sample::select(CodePage::ALL.to_vec())
}

/// Found by the property test below: CP850 "┬Ç" is C2 80, valid UTF-8 for
/// the C1 control U+0080, which no real text contains.
#[test]
fn oem_text_that_reads_as_c1_controls_stays_oem() {
    let s = "┬Ç┬Ç┬";
    let bytes = CodePage::Cp850.encode(s).unwrap();
    let d = decode_message(&bytes, CodePage::Cp850, Transport::Smb);
    assert_eq!(d.text, s);
    assert_eq!(d.utf8_blocks, 0);
}

proptest! {
    #[test]
    fn cp850_text_round_trips(
        s in cp850_text(),
        crlf in any::<bool>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let cp = CodePage::Cp850;
        let raw = cp.encode(&s).unwrap();
        prop_assert_eq!(raw.len(), s.chars().count());
        prop_assert_eq!(&cp.decode(&raw).text, &s);
        let breaks = if crlf { LineBreak::CrLf } else { LineBreak::Dc4 };
        let bytes = encode_message(&s, cp, breaks).unwrap();
        let mut dec = MessageDecoder::new(cp, Transport::Smb).with_utf8_detection(false);
        for block in split_at(&bytes, &cuts) {
            dec.push_block(block);
        }
        let d = dec.finish();
        prop_assert_eq!(&d.text, &expected_text(&s));
        prop_assert!(!d.lossy);
        // With detection on, the same holds whenever no block was taken
        // for UTF-8 (CP850 text can look like UTF-8: "├ñ" is C3 B1, "ñ").
        let detected = decode_message(&bytes, cp, Transport::Smb);
        if detected.utf8_blocks == 0 {
            prop_assert_eq!(detected.text, expected_text(&s));
        }
    }

    #[test]
    fn utf8_split_anywhere_decodes_to_itself(
        s in any::<String>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let d = decode_blocks(split_at(s.as_bytes(), &cuts), CodePage::Cp850, Transport::Smb);
        prop_assert_eq!(&d.text, &expected_text(&s));
        prop_assert!(!d.lossy);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        cp in code_page(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        detect in any::<bool>(),
        transport in prop::sample::select(vec![Transport::Smb, Transport::Mailslot, Transport::Rpc]),
    ) {
        let mut dec = MessageDecoder::new(cp, transport).with_utf8_detection(detect);
        for block in split_at(&bytes, &cuts) {
            dec.push_block(block);
        }
        let d = dec.finish();
        let _ = sanitize_for_display(&d.text);
        let _ = encode_message_lossy(&d.text, cp, LineBreak::CrLf);
        let raw = cp.decode(&bytes);
        prop_assert_eq!(raw.text.chars().count(), bytes.len());
        if cp.is_total() {
            prop_assert!(!d.lossy);
            prop_assert!(!raw.lossy);
            prop_assert_eq!(cp.encode(&raw.text).unwrap(), bytes.clone());
            if !detect && transport != Transport::Mailslot {
                // Line breaks and NUL are the only change, as the byte rule says.
                prop_assert_eq!(cp.encode(&d.text).unwrap(), fold_bytes(&bytes));
            }
        } else {
            prop_assert_eq!(raw.lossy, raw.replaced > 0);
        }
    }
}
