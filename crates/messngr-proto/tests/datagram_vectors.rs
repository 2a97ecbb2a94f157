//! Every captured UDP 138 vector, decoded field by field (values from
//! `tests/vectors/mailslot.txt` and mailslot-datagrams.md §7) and re-encoded
//! byte-identically, layer by layer: NBDGM, the mailslot write SMB, and the
//! MESSNGR payload.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::Ipv4Addr;
use std::time::Instant;

use messngr_proto::reassembly::{Outcome, Reassembler};
use messngr_proto::wire::Emit;
use messngr_proto::wire::name::{EncodedName, NetbiosName};
use messngr_proto::wire::nbdgm::{self, Body, DatagramKind, MessageType, NodeType, Packet};
use messngr_proto::wire::smb::header::{Command, Header};
use messngr_proto::wire::smb::mailslot::{self, Class, MessngrPayload};

/// What a vector must decode to.
struct Expected {
    kind: DatagramKind,
    flags: u8,
    dgm_id: u16,
    source_ip: Ipv4Addr,
    dgm_length: u16,
    source: &'static str,
    destination: &'static str,
    total_data_count: u16,
    max_parameter_count: u16,
    max_data_count: u16,
    data_count: usize,
    data_offset: usize,
    byte_count: u16,
    mailslot: &'static [u8],
    /// From, To, Text for `\MAILSLOT\MESSNGR`.
    messngr: Option<(&'static str, &'static str, &'static str)>,
}

const SCAPY_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const NMBD_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);

fn messngr(
    kind: DatagramKind,
    dgm_id: u16,
    dgm_length: u16,
    destination: &'static str,
) -> Expected {
    Expected {
        kind,
        flags: 0x02,
        dgm_id,
        source_ip: SCAPY_IP,
        dgm_length,
        source: "SENDERBOX<00>",
        destination,
        total_data_count: 0,
        max_parameter_count: 0,
        max_data_count: 0,
        data_count: 0,
        data_offset: 87,
        byte_count: 0,
        mailslot: mailslot::MESSNGR,
        messngr: None,
    }
}

fn browse(dgm_id: u16, dgm_length: u16, destination: &'static str, data_count: u16) -> Expected {
    Expected {
        kind: DatagramKind::DirectGroup,
        flags: 0x0A,
        dgm_id,
        source_ip: NMBD_IP,
        dgm_length,
        source: "RECVBOX<00>",
        destination,
        total_data_count: data_count,
        max_parameter_count: 0,
        max_data_count: 0,
        data_count: usize::from(data_count),
        data_offset: 86,
        byte_count: 17 + data_count,
        mailslot: mailslot::BROWSE,
        messngr: None,
    }
}

/// Decodes `frame`, checks it against `want`, and re-encodes every layer.
fn check(frame: &[u8], want: &Expected) {
    // The fixed header through the packet view.
    let p = Packet::new_checked(frame).unwrap();
    assert_eq!(p.msg_type(), want.kind.message_type());
    assert_eq!(p.flags().bits(), want.flags);
    assert!(p.flags().first() && !p.flags().more());
    assert_eq!(p.dgm_id(), want.dgm_id);
    assert_eq!(p.source_ip(), want.source_ip);
    assert_eq!(p.source_port(), nbdgm::DGM_SRVC_UDP_PORT);
    assert_eq!(p.dgm_length(), Some(want.dgm_length));
    assert_eq!(p.packet_offset(), Some(0));

    // NBDGM Repr.
    let dgm = nbdgm::Repr::parse(frame).unwrap();
    assert_eq!(dgm.header.flags.bits(), want.flags);
    let Body::Datagram { kind, data } = dgm.body else {
        panic!("not a datagram: {dgm:?}");
    };
    assert_eq!(kind, want.kind);
    let names = data.names.unwrap();
    assert_eq!(names.source.name.to_string(), want.source);
    assert_eq!(names.destination.name.to_string(), want.destination);
    assert!(names.source.scope.is_empty() && names.destination.scope.is_empty());
    assert_eq!(
        data.user_data.len(),
        frame.len() - 82,
        "user data = rest of the payload"
    );
    let computed = u16::try_from(68 + data.user_data.len()).unwrap();
    assert_eq!(data.computed_dgm_length(), Ok(computed));
    let kept = (want.dgm_length != computed).then_some(want.dgm_length);
    assert_eq!(data.dgm_length, kept);
    assert_eq!(
        dgm.to_vec().unwrap(),
        frame,
        "NBDGM re-encodes byte-identically"
    );

    // The mailslot write.
    let w = mailslot::Repr::parse(data.user_data).unwrap();
    assert_eq!(
        w.header,
        Header::request(Command::Transaction),
        "all-zero SMB header"
    );
    assert_eq!(w.total_parameter_count, 0);
    assert_eq!(w.total_data_count, want.total_data_count);
    assert_eq!(w.max_parameter_count, want.max_parameter_count);
    assert_eq!(w.max_data_count, want.max_data_count);
    assert_eq!((w.max_setup_count, w.flags, w.timeout), (0, 0, 0));
    assert_eq!((w.parameter_count, w.parameter_offset), (0, 0));
    assert_eq!(w.data.len(), want.data_count);
    assert_eq!(w.data_offset(), want.data_offset);
    assert!(w.pad.is_empty(), "Samba-style DataOffset, no pad");
    assert_eq!((w.priority, w.class), (1, Class::Unreliable));
    assert_eq!(w.computed_byte_count(), Ok(want.byte_count));
    assert_eq!(w.byte_count, None);
    assert_eq!(w.name, want.mailslot);
    assert_eq!(w.is_messngr(), want.messngr.is_some());
    assert!(w.trailer.is_empty());
    assert_eq!(
        w.to_vec().unwrap(),
        data.user_data,
        "SMB re-encodes byte-identically"
    );

    // The payload, and all three layers rebuilt from the decoded values.
    let Some((from, to, text)) = want.messngr else {
        return;
    };
    let m = MessngrPayload::parse(w.data).unwrap();
    assert_eq!(m.from, from.as_bytes());
    assert_eq!(m.to, to.as_bytes());
    assert_eq!(m.text, text.as_bytes());
    assert!(m.text_terminated);
    let payload = m.to_vec().unwrap();
    assert_eq!(payload, w.data);
    let smb = mailslot::Repr {
        data: &payload,
        ..w
    }
    .to_vec()
    .unwrap();
    let rebuilt = nbdgm::Repr {
        body: Body::Datagram {
            kind,
            data: nbdgm::Data {
                user_data: &smb,
                ..data
            },
        },
        ..dgm
    };
    assert_eq!(rebuilt.to_vec().unwrap(), frame);

    // And it passes the reassembler untouched.
    let mut r = Reassembler::default();
    let Outcome::Complete(c) = r.handle(Instant::now(), dgm) else {
        panic!("an unfragmented datagram is complete");
    };
    assert_eq!((c.fragments, c.data), (1, data.user_data));
    assert_eq!(c.source.ip, want.source_ip);
}

fn single(frames: Vec<common::VectorFrame>) -> Vec<u8> {
    assert_eq!(frames.len(), 1);
    frames.into_iter().next().unwrap().bytes
}

#[test]
fn scapy_direct_unique() {
    let mut want = messngr(DatagramKind::DirectUnique, 0x1001, 215, "RECVBOX<03>");
    want.total_data_count = 60;
    want.data_count = 60;
    want.byte_count = 78;
    want.messngr = Some((
        "SENDERBOX",
        "RECVBOX",
        "Hello from scapy (mailslot-messngr-scapy)",
    ));
    check(&single(vector!("mailslot-messngr-scapy.hex")), &want);
}

#[test]
fn scapy_direct_group_broadcast() {
    let mut want = messngr(DatagramKind::DirectGroup, 0x1003, 218, "MLAN<03>");
    want.total_data_count = 63;
    want.data_count = 63;
    want.byte_count = 81;
    want.messngr = Some((
        "SENDERBOX",
        "MLAN",
        "Hello from scapy (mailslot-messngr-scapy-bcast)",
    ));
    check(&single(vector!("mailslot-messngr-scapy-bcast.hex")), &want);
}

#[test]
fn impacket_with_its_wrong_dgm_length_and_little_endian_dgm_id() {
    // DGM_LENGTH 153 is the SMB length only (221 would be right); DGM_ID
    // 0x1002 packed little-endian reads 0x0210.
    let mut want = messngr(DatagramKind::DirectUnique, 0x0210, 153, "RECVBOX<03>");
    want.total_data_count = 66;
    want.max_parameter_count = 1024;
    want.max_data_count = 65504;
    want.data_count = 66;
    want.byte_count = 84;
    want.messngr = Some((
        "SENDERBOX",
        "RECVBOX",
        "Hello from impacket (mailslot-messngr-impacket)",
    ));
    check(&single(vector!("mailslot-messngr-impacket.hex")), &want);
}

#[test]
fn nmbd_browser_datagrams_are_other_mailslots() {
    for (frame, want) in [
        (
            vector!("nbdgm-browser-announce.hex"),
            browse(0x54F2, 207, "MLAN<1D>", 53),
        ),
        (
            vector!("nbdgm-browser-announce-removed.hex"),
            browse(0x54F6, 207, "MLAN<1D>", 53),
        ),
        (
            vector!("nbdgm-browser-election.hex"),
            browse(0x54F4, 176, "MLAN<1E>", 22),
        ),
    ] {
        let frame = single(frame);
        check(&frame, &want);
        assert_eq!(
            Packet::new_checked(&frame[..]).unwrap().flags().node_type(),
            NodeType::M
        );
    }
}

#[test]
fn our_builder_differs_from_scapy_only_where_ms_mail_says_so() {
    // The scapy message rebuilt with messngr's sender: same NBDGM header and
    // names, SMB in the [MS-MAIL] form (one pad byte, DataOffset 88).
    let frame = single(vector!("mailslot-messngr-scapy.hex"));
    let payload = MessngrPayload::new(
        b"SENDERBOX",
        b"RECVBOX",
        b"Hello from scapy (mailslot-messngr-scapy)",
    );
    let ours = mailslot::messngr_datagram(
        DatagramKind::DirectUnique,
        nbdgm::Header::new(NodeType::B, 0x1001, SCAPY_IP),
        EncodedName::new(NetbiosName::new(b"SENDERBOX", 0x00).unwrap()),
        EncodedName::new(NetbiosName::new(b"RECVBOX", 0x03).unwrap()),
        &payload,
        mailslot::SizeLimit::default(),
    )
    .unwrap();
    assert_eq!(ours.len(), frame.len() + 1);
    assert_eq!(ours[..10], frame[..10]);
    assert_eq!(ours[10..12], (216u16).to_be_bytes());
    assert_eq!(ours[12..82], frame[12..82]);
    let w = mailslot::Repr::parse(&ours[82..]).unwrap();
    assert_eq!((w.data_offset(), w.pad), (88, &[0u8][..]));
    assert_eq!(w.data, &frame[169..]);
    assert_eq!(MessageType::from(ours[0]), MessageType::DirectUnique);
}
