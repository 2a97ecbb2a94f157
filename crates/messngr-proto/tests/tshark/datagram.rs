//! One frame of every kind the NBT datagram encoders (UDP 138) produce, built
//! through the public API only: MESSNGR mailslot writes in DIRECT_UNIQUE,
//! DIRECT_GROUP and BROADCAST datagrams (and one at Windows' size limit),
//! the first and continuation fragments of an RFC 1002 split, DATAGRAM ERROR with each code, and the
//! three datagram query packets.

use std::net::Ipv4Addr;

use messngr_proto::wire::Emit;
use messngr_proto::wire::name::{EncodedName, NetbiosName, suffix};
use messngr_proto::wire::nbdgm::{self, DatagramKind, ErrorCode, Header, NodeType};
use messngr_proto::wire::smb::mailslot::{self, MessngrPayload, SizeLimit};

use crate::common::{CatalogueFrame, L4};

/// The testbed's sending host (the pcap writer puts frames from 10.77.0.2).
const SENDER_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

fn name(text: &[u8], sfx: u8) -> EncodedName<'static> {
    EncodedName::new(NetbiosName::new(text, sfx).expect("valid NetBIOS name"))
}

fn frame(what: &'static str, l4: L4, bytes: Vec<u8>) -> CatalogueFrame {
    CatalogueFrame { what, l4, bytes }
}

/// A MESSNGR datagram built by the sender's builder.
fn messngr(
    kind: DatagramKind,
    dgm_id: u16,
    to: &[u8],
    dest: EncodedName<'_>,
    text: &[u8],
    limit: SizeLimit,
) -> Vec<u8> {
    mailslot::messngr_datagram(
        kind,
        Header::new(NodeType::B, dgm_id, SENDER_IP),
        name(b"SENDERBOX", suffix::WORKSTATION),
        dest,
        &MessngrPayload::new(b"SENDERBOX", to, text),
        limit,
    )
    .expect("the catalogue message fits")
}

/// The catalogue.
pub fn frames() -> Vec<CatalogueFrame> {
    let udp = L4::Udp(nbdgm::DGM_SRVC_UDP_PORT);
    let bcast = L4::UdpBroadcast(nbdgm::DGM_SRVC_UDP_PORT);
    let limit = SizeLimit::default();
    let mut out = vec![
        frame(
            "NBDGM DIRECT_UNIQUE carrying a \\MAILSLOT\\MESSNGR write",
            udp,
            messngr(
                DatagramKind::DirectUnique,
                0x2001,
                b"RECVBOX",
                name(b"RECVBOX", suffix::MESSENGER),
                b"Hello from messngr\x14second line",
                limit,
            ),
        ),
        frame(
            "NBDGM DIRECT_GROUP carrying a \\MAILSLOT\\MESSNGR write",
            bcast,
            messngr(
                DatagramKind::DirectGroup,
                0x2002,
                b"MLAN",
                name(b"MLAN", suffix::MESSENGER),
                b"Hello, workgroup",
                limit,
            ),
        ),
        frame(
            "NBDGM BROADCAST (to *) carrying a \\MAILSLOT\\MESSNGR write",
            bcast,
            messngr(
                DatagramKind::Broadcast,
                0x2003,
                b"MLAN",
                EncodedName::new(NetbiosName::WILDCARD),
                b"Hello, everyone",
                limit,
            ),
        ),
    ];

    // A write at Windows' 424-byte limit: 594 bytes of UDP payload, which
    // messngr sends whole (it never fragments).
    let text = [b'x'; 424 - 9 - 7 - 3];
    out.push(frame(
        "NBDGM DIRECT_UNIQUE, unfragmented 424-byte MESSNGR write (Windows limit)",
        udp,
        messngr(
            DatagramKind::DirectUnique,
            0x2004,
            b"RECVBOX",
            name(b"RECVBOX", suffix::MESSENGER),
            &text,
            SizeLimit::Windows,
        ),
    ));

    // The two packets of an RFC 1002 §5.3.1 split. Wireshark 4.0 does not
    // reassemble NBDGM: it dissects a first fragment's partial SMB as a
    // truncated (malformed) SMB, and reads two names at offset 14 of a
    // continuation too, so a split mailslot write cannot pass it. The
    // fragments therefore carry zero-filled user data, which Wireshark shows
    // as data (and a continuation's leading zeros as two empty names): what
    // it can judge here is the header — flags, lengths, offsets.
    let zeros = [0u8; 700];
    let whole = nbdgm::Repr::datagram(
        DatagramKind::DirectGroup,
        Header::new(NodeType::B, 0x2005, SENDER_IP),
        name(b"SENDERBOX", suffix::WORKSTATION),
        name(b"MLAN", suffix::MESSENGER),
        &zeros,
    );
    let (first, second) = whole
        .split(nbdgm::MAX_UNFRAGMENTED_LEN)
        .expect("splits in two");
    let second = second.expect("782 bytes need two fragments");
    out.push(frame(
        "NBDGM first fragment (F, M; names and the start of the data)",
        bcast,
        first.to_vec().expect("emits"),
    ));
    out.push(frame(
        "NBDGM continuation fragment (header and the rest of the data)",
        bcast,
        second.to_vec().expect("emits"),
    ));

    let ours = Header::new(NodeType::B, 0x2006, SENDER_IP);
    for (what, code) in [
        (
            "NBDGM DATAGRAM ERROR 0x82 destination name not present",
            ErrorCode::DestinationNameNotPresent,
        ),
        (
            "NBDGM DATAGRAM ERROR 0x83 invalid source name format",
            ErrorCode::InvalidSourceNameFormat,
        ),
        (
            "NBDGM DATAGRAM ERROR 0x84 invalid destination name format",
            ErrorCode::InvalidDestinationNameFormat,
        ),
    ] {
        out.push(frame(
            what,
            udp,
            nbdgm::Repr::error(ours, code).to_vec().expect("emits"),
        ));
    }

    let dest = name(b"RECVBOX", suffix::MESSENGER);
    for (what, repr) in [
        (
            "NBDGM DATAGRAM QUERY REQUEST",
            nbdgm::Repr::query_request(ours, dest),
        ),
        (
            "NBDGM DATAGRAM POSITIVE QUERY RESPONSE",
            nbdgm::Repr::positive_query_response(ours, dest),
        ),
        (
            "NBDGM DATAGRAM NEGATIVE QUERY RESPONSE",
            nbdgm::Repr::negative_query_response(ours, dest),
        ),
    ] {
        out.push(frame(what, udp, repr.to_vec().expect("emits")));
    }
    out
}
