//! The text layer against the captured vectors: the message text of every
//! SMB, mailslot and RPC vector decodes to exactly what the peer was given,
//! and encoding it again gives the captured bytes back.
//!
//! The wire codecs are separate modules, so the text is cut out of the
//! frames here by fixed offsets, each taken from the docs:
//!
//! * 0xD7 SMBsendtxt (nbt-session-and-smb-messages.md §5.3, §9; offsets in
//!   the NBSS frame): DataLength u16 LE at 42, Data from 44.
//! * 0xD5 SMBsendstrt (§9): OriginatorName at 40 after its 0x04, NUL-ended,
//!   then 0x04 and DestinationName.
//! * Mailslot (mailslot-datagrams.md §7; offsets in the UDP payload): the SMB
//!   starts at 82, DataOffset u16 LE at SMB 57, the data From\0To\0Text\0
//!   at 82 + DataOffset.
//! * NetrSendMessage (msrp-rpc.md §4): the stub starts at 80 after the
//!   connectionless header; Text's ActualCount u32 LE at stub 52, its bytes
//!   (NUL included) from stub 56.
#![allow(clippy::unwrap_used)] // a test: a panic is the failure report

mod common;

use messngr_proto::text::{
    CodePage, LineBreak, Transport, Unencodable, decode_blocks, decode_message, encode_message,
    encode_message_lossy,
};

const CP: CodePage = CodePage::Cp850;

/// The Data of a 0xD7 frame (NBSS header included).
fn d7_data(frame: &[u8]) -> &[u8] {
    assert_eq!(frame[8], 0xD7, "SMBsendtxt");
    assert_eq!(frame[41], 0x01, "BufferFormat data block");
    let len = usize::from(u16::from_le_bytes([frame[42], frame[43]]));
    assert_eq!(frame.len(), 44 + len, "Data runs to the end of the frame");
    &frame[44..]
}

/// Originator and destination of a 0xD5 frame, as raw OEM bytes.
fn d5_names(frame: &[u8]) -> (&[u8], &[u8]) {
    assert_eq!(frame[8], 0xD5, "SMBsendstrt");
    assert_eq!(frame[39], 0x04);
    let rest = &frame[40..];
    let nul = rest.iter().position(|&b| b == 0).unwrap();
    let (from, rest) = (&rest[..nul], &rest[nul + 1..]);
    assert_eq!(rest[0], 0x04);
    let nul = rest[1..].iter().position(|&b| b == 0).unwrap();
    (from, &rest[1..=nul])
}

/// From, To and Text (with everything after the second NUL) of a mailslot
/// datagram.
fn mailslot_parts(udp: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let offset = usize::from(u16::from_le_bytes([udp[82 + 57], udp[82 + 58]]));
    let data = &udp[82 + offset..];
    // The third piece of splitn is everything after the second NUL.
    let mut parts = data.splitn(3, |&b| b == 0);
    (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    )
}

#[test]
fn smbclient_m_short() {
    let frames = vector!("smbclient-M.hex");
    let (from, to) = d5_names(&frames[1].bytes);
    assert_eq!(CP.decode(from).text, "alice");
    assert_eq!(CP.decode(to).text, "target");
    let data = d7_data(&frames[2].bytes);
    let d = decode_message(data, CP, Transport::Smb);
    assert_eq!(d.text, "Hello from h2 via smbclient -M");
    assert!(!d.lossy);
    assert_eq!((d.utf8_blocks, d.controls, d.nul_terminated), (0, 0, false));
    assert_eq!(encode_message(&d.text, CP, LineBreak::CrLf).unwrap(), data);
    assert_eq!(encode_message(&d.text, CP, LineBreak::Dc4).unwrap(), data);
}

#[test]
fn smbclient_m_long_is_cp850_with_cr_lf() {
    let frames = vector!("smbclient-M-long.hex");
    let blocks: Vec<&[u8]> = frames[2..5].iter().map(|f| d7_data(&f.bytes)).collect();
    assert_eq!(
        blocks.iter().map(|b| b.len()).collect::<Vec<_>>(),
        [123, 127, 111]
    );
    let d = decode_blocks(blocks.iter().copied(), CP, Transport::Smb);
    let expected = format!(
        "Line one: Grüße aus h2, café, naïve (all in CP850).\n{}\n{}\nend.",
        "x".repeat(150),
        "y".repeat(150)
    );
    assert_eq!(d.text, expected);
    assert!(!d.lossy);
    assert_eq!((d.utf8_blocks, d.controls), (0, 0));
    // Byte-identical with smbclient's line breaks; 0x14 is messngr's default.
    let whole = blocks.concat();
    assert_eq!(encode_message(&d.text, CP, LineBreak::CrLf).unwrap(), whole);
    let dc4 = encode_message(&d.text, CP, LineBreak::Dc4).unwrap();
    assert_eq!(dc4.len(), whole.len() - 3);
    assert_eq!(dc4.iter().filter(|&&b| b == 0x14).count(), 3);
    // As one piece the message decodes the same.
    assert_eq!(decode_message(&whole, CP, Transport::Smb).text, expected);
}

#[test]
fn smbclient_m_utf8_block_is_detected() {
    let frames = vector!("smbclient-M-utf8.hex");
    let data = d7_data(&frames[2].bytes);
    assert_eq!(data.len(), 23);
    let d = decode_message(data, CP, Transport::Smb);
    assert_eq!(d.text, "em dash — and Grüße");
    assert_eq!(d.utf8_blocks, 1);
    assert!(!d.lossy);
    // The captured bytes are the text's own UTF-8 ...
    assert_eq!(d.text.as_bytes(), data);
    // ... which messngr would not send: it has no CP850 form (deliberate
    // exception to byte identity; smbclient's raw-UTF-8 fallback is not
    // reproduced, nbt-session-and-smb-messages.md §7 sender rules).
    assert_eq!(
        encode_message(&d.text, CP, LineBreak::Dc4),
        Err(Unencodable {
            cp: CP,
            ch: '—',
            offset: 8,
            count: 1
        })
    );
    let lossy = encode_message_lossy(&d.text, CP, LineBreak::Dc4);
    assert_eq!(lossy.bytes, b"em dash ? and Gr\x81\xe1e");
    assert_eq!(lossy.replaced, 1);
}

#[test]
fn mailslot_texts() {
    let cases = [
        (
            vector!("mailslot-messngr-scapy.hex"),
            "RECVBOX",
            "Hello from scapy (mailslot-messngr-scapy)",
        ),
        (
            vector!("mailslot-messngr-scapy-bcast.hex"),
            "MLAN",
            "Hello from scapy (mailslot-messngr-scapy-bcast)",
        ),
        (
            vector!("mailslot-messngr-impacket.hex"),
            "RECVBOX",
            "Hello from impacket (mailslot-messngr-impacket)",
        ),
    ];
    for (frames, to_name, text) in cases {
        let (from, to, rest) = mailslot_parts(&frames[0].bytes);
        assert_eq!(CP.decode(from).text, "SENDERBOX");
        assert_eq!(CP.decode(to).text, to_name);
        let d = decode_message(rest, CP, Transport::Mailslot);
        assert_eq!(d.text, text);
        assert!(d.nul_terminated);
        assert_eq!((d.after_nul, d.lossy, d.utf8_blocks), (0, false, 0));
        let mut again = encode_message(&d.text, CP, LineBreak::Dc4).unwrap();
        again.push(0);
        assert_eq!(again, rest);
    }
}

#[test]
fn rpc_texts() {
    let cases = [
        (
            vector!("dcerpc-netrsendmessage.hex"),
            "Hello via DCE/RPC (dcerpc-netrsendmessage)",
        ),
        (
            vector!("dcerpc-netrsendmessage-bcast.hex"),
            "Hello via DCE/RPC (dcerpc-netrsendmessage-bcast)",
        ),
    ];
    for (frames, text) in cases {
        let udp = &frames[0].bytes;
        let stub = &udp[80..];
        let count = u32::from_le_bytes(stub[52..56].try_into().unwrap()) as usize;
        let bytes = &stub[56..56 + count];
        let d = decode_message(bytes, CP, Transport::Rpc);
        assert_eq!(d.text, text);
        assert!(d.nul_terminated);
        let mut again = encode_message(&d.text, CP, LineBreak::Dc4).unwrap();
        again.push(0);
        assert_eq!(again, bytes);
    }
}
