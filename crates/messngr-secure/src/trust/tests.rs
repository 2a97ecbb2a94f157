//! Tests of the pins' text formats and verdicts.

use super::*;
use crate::keys::Identity;

fn key(n: u8) -> PublicKey {
    Identity::from_seed([n; 32]).public()
}

fn line_of(err: TrustError) -> usize {
    match err {
        TrustError::Line { line, .. } => line,
        other => panic!("not a line error: {other}"),
    }
}

#[test]
fn state_round_trips() {
    let mut pins = Pins::new();
    pins.insert(Pin::new("pc1", key(1), PinSource::Tofu, 1_700_000_000_123).unwrap());
    pins.insert(Pin::new("SERVER-2", key(2), PinSource::Manual, 5).unwrap());
    let text = pins.to_state();
    assert_eq!(
        text.lines().next().unwrap(),
        format!("PC1 {} tofu 1700000000123", key(1))
    );
    assert_eq!(Pins::parse_state(&text).unwrap(), pins);
    assert_eq!(Pins::parse_state("").unwrap(), Pins::new());
}

#[test]
fn state_errors_name_the_line() {
    let good = format!("PC1 {} tofu 1\n", key(1));
    let cases = [
        (format!("{good}PC2 {} tofu\n", key(2)), 2, "found 3 fields"),
        (
            format!("{good}\nPC2 {} sometimes 1\n", key(2)),
            3,
            "not a pin source",
        ),
        (format!("PC2 {} tofu soon\n", key(2)), 1, "milliseconds"),
        (
            format!("{good}{good}PC1 {} tofu 1\n", key(2)),
            3,
            "second time",
        ),
        ("PC2 ed25519:00 tofu 1\n".to_string(), 1, "64 lowercase hex"),
        (
            format!("WAY-TOO-LONG-NAME {} tofu 1\n", key(2)),
            1,
            "1 to 15",
        ),
    ];
    for (text, line, says) in cases {
        let err = Pins::parse_state(&text).unwrap_err();
        assert!(err.to_string().contains(says), "{text:?}: {err}");
        assert!(
            err.to_string().starts_with(&format!("line {line}: ")),
            "{err}"
        );
        assert_eq!(line_of(err), line);
    }
}

#[test]
fn trust_file_parses_comments_and_errors_carry_line_numbers() {
    let text = format!(
        "# the office\n\n  PC1 {}   # alice's desk\nserver {}\n",
        key(1),
        key(2)
    );
    let pins = Pins::parse_trust_file(&text).unwrap();
    assert_eq!(pins.len(), 2);
    let pc1 = pins.get("pc1").unwrap();
    assert_eq!(
        (pc1.key, pc1.source, pc1.first_seen_ms),
        (key(1), PinSource::File, 0)
    );
    assert_eq!(pins.get("SERVER").unwrap().name, "SERVER");

    let cases = [
        (format!("# c\nPC1 {}\nPC2\n", key(1)), 3, "found 1 fields"),
        (format!("PC1 {} tofu 5\n", key(1)), 1, "found 4 fields"),
        (
            format!("#\n#\n#\nPC1 ED25519:{}\n", hex::encode(key(1).as_bytes())),
            4,
            "ed25519:",
        ),
        (format!("PC1 {}\nPC1 {}\n", key(1), key(2)), 2, "keep one"),
        (format!("PC\u{e9} {}\n", key(1)), 1, "printable ASCII"),
    ];
    for (text, line, says) in cases {
        let err = Pins::parse_trust_file(&text).unwrap_err();
        assert!(err.to_string().contains(says), "{text:?}: {err}");
        assert_eq!(line_of(err), line, "{text:?}");
    }
    // The same pin twice is harmless.
    let twice = format!("PC1 {}\npc1 {}\n", key(1), key(1));
    assert_eq!(Pins::parse_trust_file(&twice).unwrap().len(), 1);
}

#[test]
fn export_parses_back_and_shows_fingerprints() {
    let mut pins = Pins::new();
    pins.insert(Pin::new("PC1", key(1), PinSource::File, 0).unwrap());
    pins.insert(Pin::new("PC2", key(2), PinSource::File, 0).unwrap());
    let text = pins.export();
    assert!(text.contains(&key(1).fingerprint().to_string()), "{text}");
    assert!(text.contains(&key(2).fingerprint().to_string()), "{text}");
    assert_eq!(Pins::parse_trust_file(&text).unwrap(), pins);
    // A TOFU pin exports as a trust-file line (its source becomes `file` when read back).
    let mut own = Pins::new();
    own.insert(Pin::new("PC3", key(3), PinSource::Tofu, 99).unwrap());
    let back = Pins::parse_trust_file(&own.export()).unwrap();
    assert_eq!(back.get("PC3").unwrap().key, key(3));
}

#[test]
fn names_are_checked_and_upper_cased() {
    assert_eq!(host_name("pc-1").unwrap(), "PC-1");
    assert_eq!(host_name("A23456789012345").unwrap().len(), 15);
    for bad in [
        "",
        "A234567890123456",
        "two words",
        "tab\there",
        "#hash",
        "caf\u{e9}",
        "nul\0",
    ] {
        assert!(
            matches!(host_name(bad), Err(TrustError::BadName(_))),
            "{bad:?}"
        );
    }
    let mut pins = Pins::new();
    pins.insert(Pin {
        name: "lower".into(),
        key: key(1),
        source: PinSource::Manual,
        first_seen_ms: 1,
    });
    assert_eq!(pins.get("LOWER").unwrap().name, "LOWER");
    assert_eq!(pins.remove("Lower").unwrap().key, key(1));
    assert!(pins.is_empty());
}

#[test]
fn verdicts_admin_wins() {
    let mut admin = Pins::new();
    let mut own = Pins::new();
    admin.insert(Pin::new("PC1", key(1), PinSource::File, 0).unwrap());
    own.insert(Pin::new("PC1", key(9), PinSource::Tofu, 1).unwrap());
    own.insert(Pin::new("PC2", key(2), PinSource::Tofu, 1).unwrap());

    assert_eq!(check(&admin, &own, "pc1", &key(1)), Verdict::Pinned);
    // The daemon's own (older) pin does not override the admin's.
    assert_eq!(
        check(&admin, &own, "PC1", &key(9)),
        Verdict::Changed { pinned: key(1) }
    );
    assert_eq!(check(&admin, &own, "PC2", &key(2)), Verdict::Pinned);
    assert_eq!(
        check(&admin, &own, "PC2", &key(3)),
        Verdict::Changed { pinned: key(2) }
    );
    assert_eq!(check(&admin, &own, "PC3", &key(3)), Verdict::Unknown);
    assert_eq!(
        check(&Pins::new(), &Pins::new(), "PC1", &key(1)),
        Verdict::Unknown
    );
}
