//! NBT session packets (TCP 139): whatever parses must emit the same bytes
//! (the encoding is canonical: the E bit is set only when LENGTH needs it)
//! and parse back to the same value; and cutting the input as a byte stream
//! delivered in arbitrary chunks must give the same frames as cutting it
//! whole.
#![no_main]
use libfuzzer_sys::fuzz_target;
use messngr_proto::wire::Emit;
use messngr_proto::wire::nbss::{self, Packet};

fuzz_target!(|data: &[u8]| {
    // One packet at the start of the input.
    if let Ok(packet) = Packet::new_checked(data) {
        let _ = (packet.packet_type(), packet.flags(), packet.trailer());
        assert!(packet.total_len() <= data.len());
    }
    if let Ok(repr) = nbss::Repr::parse(data) {
        let bytes = repr.to_vec().expect("a parsed packet emits");
        assert_eq!(bytes.len(), repr.buffer_len());
        assert_eq!(&bytes[..], &data[..bytes.len()], "canonical encoding");
        assert_eq!(nbss::Repr::parse(&bytes), Ok(repr));
    }

    // The same input as a stream: the first byte picks the frame-size limit
    // and the chunk size the reader sees.
    let Some((&knobs, stream)) = data.split_first() else {
        return;
    };
    let max = 4 + usize::from(knobs) * 8;
    let chunk = usize::from(knobs % 7) + 1;
    let mut whole = Vec::new();
    let mut rest = stream;
    let whole_err = loop {
        match nbss::split_frame(rest, max) {
            Ok(Some((frame, tail))) => {
                assert_eq!(nbss::frame_len(frame, max), Ok(Some(frame.len())));
                assert!(frame.len() <= max && frame.len() >= nbss::HEADER_LEN);
                whole.push(frame);
                rest = tail;
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    // Chunked: a reader's buffer that grows by `chunk` bytes at a time.
    let mut buf: Vec<u8> = Vec::new();
    let mut got = Vec::new();
    let mut chunk_err = None;
    'feed: for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match nbss::frame_len(&buf, max) {
                Ok(Some(n)) => got.push(buf.drain(..n).collect::<Vec<u8>>()),
                Ok(None) => break,
                Err(e) => {
                    chunk_err = Some(e);
                    break 'feed;
                }
            }
        }
    }
    assert_eq!(got.len(), whole.len());
    for (a, b) in got.iter().zip(&whole) {
        assert_eq!(&a[..], *b);
    }
    assert_eq!(chunk_err, whole_err);
});
