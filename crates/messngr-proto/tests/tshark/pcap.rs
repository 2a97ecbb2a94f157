//! Writes catalogue frames into a classic pcap file (Ethernet + IPv4 + UDP or
//! TCP), so that Wireshark's dissectors can judge them. Hosts are in the
//! testbed's private 10.77.0.0/24; nothing here touches a network.

use crate::common::{CatalogueFrame, L4};

const CLIENT: [u8; 4] = [10, 77, 0, 2];
const SERVER: [u8; 4] = [10, 77, 0, 1];
const BROADCAST: [u8; 4] = [10, 77, 0, 255];

/// The whole pcap file for `frames`, one packet each, in order.
pub fn write(frames: &[CatalogueFrame]) -> Vec<u8> {
    let mut out = Vec::new();
    // Global header: magic, v2.4, UTC, sigfigs 0, snaplen 65535, Ethernet.
    out.extend(0xA1B2_C3D4u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    out.extend([0u8; 8]);
    out.extend(65535u32.to_le_bytes());
    out.extend(1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        let pkt = packet(i, f);
        out.extend((i as u32).to_le_bytes()); // seconds: one frame a second
        out.extend(0u32.to_le_bytes());
        out.extend((pkt.len() as u32).to_le_bytes());
        out.extend((pkt.len() as u32).to_le_bytes());
        out.extend(pkt);
    }
    out
}

fn packet(i: usize, f: &CatalogueFrame) -> Vec<u8> {
    // An ephemeral client port per frame, so TCP frames are separate streams.
    let eph = 40000 + i as u16;
    let (src, dst, sport, dport, tcp) = match f.l4 {
        L4::Udp(p) => (CLIENT, SERVER, p, p, false),
        L4::UdpBroadcast(p) => (CLIENT, BROADCAST, p, p, false),
        L4::TcpToServer(p) => (CLIENT, SERVER, eph, p, true),
        L4::TcpFromServer(p) => (SERVER, CLIENT, p, eph, true),
    };
    let mut l4 = Vec::new();
    l4.extend(sport.to_be_bytes());
    l4.extend(dport.to_be_bytes());
    if tcp {
        l4.extend(1u32.to_be_bytes()); // seq
        l4.extend(1u32.to_be_bytes()); // ack
        l4.extend([0x50, 0x18]); // 20-byte header, PSH|ACK
        l4.extend(65535u16.to_be_bytes());
        l4.extend([0, 0, 0, 0]); // checksum (not validated by default), urgent
    } else {
        l4.extend(((8 + f.bytes.len()) as u16).to_be_bytes());
        l4.extend([0, 0]); // no UDP checksum
    }
    l4.extend(&f.bytes);

    let mut ip = vec![0x45, 0];
    ip.extend(((20 + l4.len()) as u16).to_be_bytes());
    ip.extend((i as u16).to_be_bytes());
    ip.extend([0x40, 0, 64, if tcp { 6 } else { 17 }, 0, 0]);
    ip.extend(src);
    ip.extend(dst);
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());

    let dst_mac = if dst == BROADCAST {
        [0xFF; 6]
    } else {
        [0x02, 0x77, 0, 0, 0, dst[3]]
    };
    let mut eth = dst_mac.to_vec();
    eth.extend([0x02, 0x77, 0, 0, 0, src[3]]);
    eth.extend([0x08, 0x00]);
    eth.extend(ip);
    eth.extend(l4);
    eth
}

fn checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}
