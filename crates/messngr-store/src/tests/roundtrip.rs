//! Whatever arrives is stored and read back exactly.

use proptest::prelude::*;

use super::temp_store;
use crate::{NewMessage, Transport};

/// Text: anything Unicode, NULs and controls included; sometimes ~1 MB.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => any::<String>(),
        2 => "[\u{0}\u{1b}\r\n\t a-zA-Z0-9äöüß€\u{FFFD}\u{10FFFF}]{0,300}",
        1 => any::<String>().prop_map(|s| {
            let unit = if s.is_empty() { "\u{0}ü".to_owned() } else { s };
            unit.repeat((1 << 20) / unit.len() + 1)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_text_and_bytes_round_trip(
        text in text(),
        raw in proptest::collection::vec(any::<u8>(), 0..2048),
        from in "\\PC{0,20}",
        at in -62_000_000_000_000i64..253_000_000_000_000,
        lossy in any::<bool>(),
    ) {
        let (dir, mut store) = temp_store();
        let mut m = NewMessage::received(Transport::Mailslot, &from, "H1", &text, &raw);
        m.received_at = at;
        m.lossy = lossy;
        let stored = store.insert(&m).unwrap();
        let back = store.get(stored.id).unwrap();
        prop_assert_eq!(&back, &stored);
        prop_assert_eq!(&back.text, &text);
        prop_assert_eq!(&back.raw, &raw);
        drop(store);
        let reopened = crate::Store::open(dir.path().join("inbox.sqlite")).unwrap();
        prop_assert_eq!(reopened.get(stored.id).unwrap(), stored);
    }
}

#[test]
fn a_megabyte_of_text_with_nuls_and_invalid_utf8_raw() {
    let (_dir, mut store) = temp_store();
    let text = "ab\u{0}ü\u{1b}".repeat(200_000);
    let raw: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    assert!(std::str::from_utf8(&raw).is_err());
    let m = NewMessage::received(Transport::Smb, "BIG", "H1", &text, &raw);
    let stored = store.insert(&m).unwrap();
    let back = store.get(stored.id).unwrap();
    assert_eq!(back.text, text);
    assert_eq!(back.raw, raw);
}
