//! Unit and property tests (unwrap is how a test fails).
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;
use crate::wire::name::EncodedName;
use crate::wire::nbdgm::{Body, NodeType};
use crate::wire::smb::header::Status;

fn vector(text: &str) -> Vec<u8> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap();
    (0..line.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap())
        .collect()
}

/// The SMB of the scapy vector (datagram bytes 82..).
fn scapy_smb() -> Vec<u8> {
    vector(include_str!(
        "../../../../tests/vectors/mailslot-messngr-scapy.hex"
    ))[82..]
        .to_vec()
}

/// The scapy SMB rewritten the Windows way: one pad byte, DataOffset 88.
fn padded_smb() -> Vec<u8> {
    let mut smb = scapy_smb();
    smb.insert(87, 0);
    smb[57] = 88; // DataOffset
    smb[67] += 1; // ByteCount
    smb
}

#[test]
fn scapy_fields() {
    let smb = scapy_smb();
    let w = Repr::parse(&smb).unwrap();
    assert_eq!(w.header, Header::request(Command::Transaction));
    assert_eq!(w.total_parameter_count, 0);
    assert_eq!(w.total_data_count, 60);
    assert_eq!(
        (w.max_parameter_count, w.max_data_count, w.max_setup_count),
        (0, 0, 0)
    );
    assert_eq!((w.flags, w.timeout), (0, 0));
    assert_eq!((w.parameter_count, w.parameter_offset), (0, 0));
    assert_eq!(w.data_offset(), 87);
    assert_eq!(w.pad, b"");
    assert_eq!((w.priority, w.class), (1, Class::Unreliable));
    assert_eq!(w.byte_count, None);
    assert_eq!(w.computed_byte_count(), Ok(78));
    assert_eq!(w.name, MESSNGR);
    assert!(w.is_messngr());
    assert_eq!(w.data.len(), 60);
    assert_eq!(w.trailer, b"");
    assert_eq!(w.to_vec().unwrap(), smb);
}

#[test]
fn data_offset_88_with_a_pad_byte_works_too() {
    let smb = padded_smb();
    let w = Repr::parse(&smb).unwrap();
    assert_eq!(w.data_offset(), 88);
    assert_eq!(w.pad, [0]);
    assert_eq!(w.data, Repr::parse(&scapy_smb()).unwrap().data);
    assert_eq!(w.to_vec().unwrap(), smb);
}

#[test]
fn builder_makes_the_ms_mail_form() {
    let data = b"ME\0YOU\0hi\0";
    let w = Repr::messngr(data, SizeLimit::default()).unwrap();
    let smb = w.to_vec().unwrap();
    assert_eq!(smb.len(), 88 + data.len());
    assert_eq!(&smb[..5], b"\xFFSMB\x25");
    assert_eq!(smb[9], MAIL_SMB_FLAGS);
    assert_eq!(&smb[10..12], &[0x04, 0x00]);
    assert_eq!(&smb[26..28], &[0xFF, 0xFE]);
    assert_eq!(smb[32], 17);
    assert_eq!(&smb[35..37], &[10, 0], "TotalDataCount");
    assert_eq!(&smb[43..45], &[2, 0], "Flags NO_RESPONSE");
    assert_eq!(&smb[53..55], &[88, 0], "ParameterOffset = DataOffset");
    assert_eq!(&smb[55..59], &[10, 0, 88, 0], "DataCount, DataOffset");
    assert_eq!(&smb[59..69], &[3, 0, 1, 0, 0, 0, 2, 0, 29, 0]);
    assert_eq!(&smb[69..87], b"\\MAILSLOT\\MESSNGR\0");
    assert_eq!(smb[87], 0, "pad");
    assert_eq!(&smb[88..], data);
    assert_eq!(Repr::parse(&smb).unwrap(), w);
    // \MAILSLOT\BROWSE (16 bytes) needs two pad bytes to reach 88 as well.
    let b = Repr::write(BROWSE, b"x", SizeLimit::Windows).unwrap();
    assert_eq!((b.data_offset(), b.pad.len()), (88, 2));
}

#[test]
fn size_limits() {
    let big = [b'x'; 425];
    assert_eq!(SizeLimit::Unfragmented.max_smb_len(), 466);
    assert_eq!(SizeLimit::Windows.max_smb_len(), 512);
    assert_eq!(SizeLimit::Unfragmented.max_data_len(MESSNGR), 378);
    assert_eq!(SizeLimit::Windows.max_data_len(MESSNGR), 424);
    let w = Repr::messngr(&big[..378], SizeLimit::Unfragmented).unwrap();
    assert_eq!(w.to_vec().unwrap().len(), 466);
    assert!(matches!(
        Repr::messngr(&big[..379], SizeLimit::Unfragmented),
        Err(Error::TooLong(_))
    ));
    let w = Repr::messngr(&big[..424], SizeLimit::Windows).unwrap();
    assert_eq!(w.to_vec().unwrap().len(), 512);
    assert!(matches!(
        Repr::messngr(&big, SizeLimit::Windows),
        Err(Error::TooLong(_))
    ));
}

#[test]
fn write_checks_the_name() {
    let limit = SizeLimit::Windows;
    assert!(Repr::write(b"\\mailslot\\foo", b"", limit).is_ok());
    assert!(matches!(
        Repr::write(b"\\PIPE\\X", b"", limit),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        Repr::write(b"\\MAILSLOT", b"", limit),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        Repr::write(b"\\MAILSLOT\\A\0B", b"", limit),
        Err(Error::Malformed(_))
    ));
    let mut w = Repr::messngr(b"", limit).unwrap();
    w.name = b"\\MAILSLOT\\A\0B";
    assert!(matches!(w.to_vec(), Err(Error::Malformed(_))));
    w.name = MESSNGR;
    w.header.command = Command::SendMessage;
    assert!(matches!(w.to_vec(), Err(Error::Malformed(_))));
}

#[test]
fn name_is_compared_ignoring_case() {
    let w = Repr::write(b"\\mailslot\\Messngr", b"a\0b\0c", SizeLimit::Windows).unwrap();
    assert!(w.is_messngr());
    let w = Repr::write(BROWSE, b"", SizeLimit::Windows).unwrap();
    assert!(!w.is_messngr());
}

#[test]
fn receiver_checks() {
    let good = scapy_smb();
    let broken = |at: usize, v: u8| {
        let mut b = good.clone();
        b[at] = v;
        Repr::parse(&b).map(|_| ())
    };
    assert!(
        matches!(broken(4, 0xD0), Err(Error::Unsupported(_))),
        "command"
    );
    assert!(broken(32, 16).is_err(), "WordCount");
    assert!(
        matches!(broken(59, 2), Err(Error::Malformed(_))),
        "SetupCount"
    );
    assert!(
        matches!(broken(61, 2), Err(Error::Unsupported(_))),
        "opcode"
    );
    assert!(
        matches!(broken(57, 86), Err(Error::Malformed(_))),
        "DataOffset inside the name"
    );
    assert!(
        matches!(broken(55, 61), Err(Error::Truncated { .. })),
        "DataCount too long"
    );
    assert!(broken(0, 0xFE).is_err(), "protocol id");
    assert!(
        matches!(broken(68, 1), Err(Error::Truncated { .. })),
        "ByteCount past the end"
    );
    let mut no_nul = good.clone();
    no_nul.truncate(86);
    assert!(Repr::parse(&no_nul).is_err());
    for cut in 0..good.len() {
        assert!(Repr::parse(&good[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn ignored_fields_are_kept_as_received() {
    let mut smb = scapy_smb();
    smb[63] = 7; // priority
    smb[65] = 9; // class
    smb[67] = 20; // ByteCount smaller than the bytes
    smb[35] = 99; // TotalDataCount
    smb.extend_from_slice(b"junk");
    let w = Repr::parse(&smb).unwrap();
    assert_eq!(
        (w.priority, w.class, w.total_data_count),
        (7, Class::Unknown(9), 99)
    );
    assert_eq!(w.byte_count, Some(20));
    assert_eq!(w.data.len(), 60);
    assert_eq!(w.trailer, b"junk");
    assert_eq!(w.to_vec().unwrap(), smb);
}

#[test]
fn browse_mailslot_parses_as_another_mailslot() {
    let dgm = vector(include_str!(
        "../../../../tests/vectors/nbdgm-browser-announce.hex"
    ));
    let w = Repr::parse(&dgm[82..]).unwrap();
    assert_eq!(w.name, BROWSE);
    assert!(!w.is_messngr());
    assert_eq!((w.data_offset(), w.data.len()), (86, 53));
    assert_eq!(w.to_vec().unwrap(), &dgm[82..]);
}

#[test]
fn messngr_payload_parse() {
    let smb = scapy_smb();
    let p = MessngrPayload::parse(Repr::parse(&smb).unwrap().data).unwrap();
    assert_eq!(p.from, b"SENDERBOX");
    assert_eq!(p.to, b"RECVBOX");
    assert_eq!(p.text, b"Hello from scapy (mailslot-messngr-scapy)");
    assert!(p.text_terminated);

    let p = MessngrPayload::parse(b"A\0B\0no final nul").unwrap();
    assert_eq!((p.text, p.text_terminated), (&b"no final nul"[..], false));
    assert_eq!(p.to_vec().unwrap(), b"A\0B\0no final nul");
    let p = MessngrPayload::parse(b"A\0B\0text\0ignored").unwrap();
    assert_eq!(p.text, b"text");
    assert_eq!(p.to_vec().unwrap(), b"A\0B\0text\0");
    let p = MessngrPayload::parse(b"\0\0").unwrap();
    assert_eq!(
        (p.from, p.to, p.text, p.text_terminated),
        (&b""[..], &b""[..], &b""[..], false)
    );
    for bad in [&b""[..], b"A", b"A\0B", b"A\0"] {
        assert!(
            matches!(MessngrPayload::parse(bad), Err(Error::Malformed(_))),
            "{bad:?}"
        );
    }
    assert!(MessngrPayload::new(b"A", b"B\0", b"x").to_vec().is_err());
}

#[test]
fn messngr_datagram_builds_the_whole_udp_payload() {
    let header = nbdgm::Header::new(NodeType::B, 0x77, Ipv4Addr::new(10, 77, 0, 2));
    let source = EncodedName::new("SENDERBOX".parse().unwrap());
    let dest = EncodedName::new("RECVBOX#03".parse().unwrap());
    let payload = MessngrPayload::new(b"SENDERBOX", b"RECVBOX", b"hello");
    let bytes = messngr_datagram(
        DatagramKind::DirectUnique,
        header,
        source,
        dest,
        &payload,
        SizeLimit::default(),
    )
    .unwrap();
    let dgm = nbdgm::Repr::parse(&bytes).unwrap();
    let Body::Datagram { data, .. } = dgm.body else {
        panic!("not a datagram");
    };
    assert_eq!(data.names.unwrap().destination, dest);
    let w = Repr::parse(data.user_data).unwrap();
    assert!(w.is_messngr());
    assert_eq!(w.data_offset(), 88);
    assert_eq!(MessngrPayload::parse(w.data).unwrap(), payload);

    // 378 data bytes fit exactly with an empty scope...
    let text = [b'x'; 378 - 9 - 7 - 3];
    let full = MessngrPayload::new(b"SENDERBOX", b"RECVBOX", &text);
    let kind = DatagramKind::DirectGroup;
    let bytes = messngr_datagram(kind, header, source, dest, &full, SizeLimit::default()).unwrap();
    assert_eq!(bytes.len(), 548);
    // ...but not with a scope, unless the Windows limit is chosen.
    let scoped = EncodedName {
        scope: crate::wire::name::Scope::from_labels(b"\x04corp").unwrap(),
        ..dest
    };
    let r = messngr_datagram(kind, header, source, scoped, &full, SizeLimit::default());
    assert!(matches!(r, Err(Error::TooLong(_))));
    assert!(messngr_datagram(kind, header, source, scoped, &full, SizeLimit::Windows).is_ok());
}

/// Owned parts of an arbitrary mailslot write.
#[derive(Debug, Clone)]
struct Parts {
    words: [u16; 10],
    bytes: [u8; 4],
    timeout: u32,
    byte_count: Option<u16>,
    name: Vec<u8>,
    pad: Vec<u8>,
    data: Vec<u8>,
    trailer: Vec<u8>,
    pid_low: u16,
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        any::<[u16; 10]>(),
        any::<[u8; 4]>(),
        any::<u32>(),
        proptest::option::of(any::<u16>()),
        "[ -~]{0,40}",
        proptest::collection::vec(any::<u8>(), 0..4),
        proptest::collection::vec(any::<u8>(), 0..600),
        proptest::collection::vec(any::<u8>(), 0..8),
        any::<u16>(),
    )
        .prop_map(
            |(words, bytes, timeout, byte_count, name, pad, data, trailer, pid_low)| Parts {
                words,
                bytes,
                timeout,
                byte_count,
                name: name.into_bytes(),
                pad,
                data,
                trailer,
                pid_low,
            },
        )
}

impl Parts {
    fn repr(&self) -> Repr<'_> {
        let mut header = Header::request(Command::Transaction);
        header.pid_low = self.pid_low;
        header.status = Status::Dos {
            class: self.bytes[0],
            code: self.words[0],
        };
        let mut r = Repr {
            header,
            total_parameter_count: self.words[0],
            total_data_count: self.words[1],
            max_parameter_count: self.words[2],
            max_data_count: self.words[3],
            max_setup_count: self.bytes[1],
            reserved1: self.bytes[2],
            flags: self.words[4],
            timeout: self.timeout,
            reserved2: self.words[5],
            parameter_count: self.words[6],
            parameter_offset: self.words[7],
            reserved3: self.bytes[3],
            priority: self.words[8],
            class: Class::from(self.words[9]),
            byte_count: None,
            name: &self.name,
            pad: &self.pad,
            data: &self.data,
            trailer: &self.trailer,
        };
        // An override equal to the computed value parses as `None`.
        r.byte_count = self.byte_count.filter(|&v| {
            r.computed_byte_count() != Ok(v) && usize::from(v) <= r.buffer_len() - NAME_OFFSET
        });
        r
    }
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(p in parts()) {
        let repr = p.repr();
        let bytes = repr.to_vec().unwrap();
        prop_assert_eq!(bytes.len(), repr.buffer_len());
        prop_assert_eq!(Repr::parse(&bytes).unwrap(), repr);
    }

    #[test]
    fn payload_encode_then_decode_is_identity(
        from in "[^\0]{0,20}", to in "[^\0]{0,20}", text in "[^\0]{0,200}", terminated: bool,
    ) {
        let p = MessngrPayload {
            from: from.as_bytes(),
            to: to.as_bytes(),
            text: text.as_bytes(),
            text_terminated: terminated,
        };
        let bytes = p.to_vec().unwrap();
        prop_assert_eq!(MessngrPayload::parse(&bytes).unwrap(), p);
    }

    #[test]
    fn decoding_mutated_writes_never_panics(
        edits in proptest::collection::vec((0usize..160, any::<u8>()), 0..6),
        cut in 0usize..200,
    ) {
        let mut smb = padded_smb();
        for (at, v) in edits {
            if let Some(b) = smb.get_mut(at) {
                *b = v;
            }
        }
        smb.truncate(cut.max(60));
        if let Ok(w) = Repr::parse(&smb) {
            let again = w.to_vec().unwrap();
            prop_assert_eq!(Repr::parse(&again).unwrap(), w);
            let _ = MessngrPayload::parse(w.data);
            // Everything but the DOS status's reserved byte is kept.
            let mut expected = smb.clone();
            expected[6] = again[6];
            prop_assert_eq!(again, expected);
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Repr::parse(&bytes);
        if let Ok(p) = MessngrPayload::parse(&bytes) {
            prop_assert!(p.to_vec().unwrap().len() <= bytes.len());
        }
    }
}
