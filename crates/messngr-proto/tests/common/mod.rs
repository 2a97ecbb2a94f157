//! Shared helpers for the integration tests: the captured-vector loader and
//! the frame catalogue type that the tshark test writes into a pcap.
#![allow(dead_code)]

/// Direction of a captured frame, from its `C>S ` / `S>C ` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

/// One frame of a `.hex` vector file.
#[derive(Debug, Clone)]
pub struct VectorFrame {
    /// Direction, when the file marks it.
    pub dir: Option<Dir>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Parses a vector file: one frame per line in hex, optional `C>S `/`S>C `
/// prefix, `#` comment lines, blank lines ignored.
pub fn frames(text: &str) -> Vec<VectorFrame> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (dir, hex) = if let Some(h) = l.strip_prefix("C>S ") {
                (Some(Dir::ToServer), h)
            } else if let Some(h) = l.strip_prefix("S>C ") {
                (Some(Dir::ToClient), h)
            } else {
                (None, l)
            };
            VectorFrame {
                dir,
                bytes: unhex(hex.trim()),
            }
        })
        .collect()
}

/// Decodes a hex string (no separators).
pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Loads `tests/vectors/NAME` (at compile time, so a fresh clone needs nothing else).
#[macro_export]
macro_rules! vector {
    ($name:literal) => {
        $crate::common::frames(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/",
            $name
        )))
    };
}

/// Transport of a catalogue frame, for wrapping it into a pcap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4 {
    /// UDP with this port on both ends (137, 138, 135).
    Udp(u16),
    /// UDP, sent to the subnet broadcast address.
    UdpBroadcast(u16),
    /// TCP to this server port (client → server).
    TcpToServer(u16),
    /// TCP from this server port (server → client).
    TcpFromServer(u16),
}

/// One frame the encoder can produce, with a description for failure messages.
#[derive(Debug, Clone)]
pub struct CatalogueFrame {
    /// What it is, e.g. "NBNS positive name query response".
    pub what: &'static str,
    /// How it travels.
    pub l4: L4,
    /// The payload (the NBT/NBNS/DCE-RPC bytes; TCP frames include the 4-byte NBSS header).
    pub bytes: Vec<u8>,
}
