//! NBT datagrams (UDP 138). The whole input is parsed as one packet: whatever
//! parses must emit and parse back to the same value, and to the same bytes
//! for 0x10–0x12 and unknown types (an error packet or query drops bytes
//! after its code or name: the one documented normalisation). Then the input
//! is read as a stream of `[delay: u8][len: u16 BE][len bytes]` records and
//! every record that parses is fed to a small reassembler with a fake clock,
//! whose memory bounds must hold after every step.
#![no_main]
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use messngr_proto::reassembly::{Config, Outcome, Reassembler};
use messngr_proto::wire::Emit;
use messngr_proto::wire::nbdgm::{Body, Repr};

fuzz_target!(|data: &[u8]| {
    if let Ok(repr) = Repr::parse(data) {
        let bytes = repr.to_vec().expect("a parsed packet emits");
        assert_eq!(bytes.len(), repr.buffer_len());
        assert_eq!(Repr::parse(&bytes).expect("emitted packet parses"), repr);
        if matches!(repr.body, Body::Datagram { .. } | Body::Unknown { .. }) {
            assert_eq!(bytes, data);
        }
    }

    let config = Config {
        timeout: Duration::from_millis(500),
        max_pending: 4,
        max_buffered_bytes: 4096,
    };
    let mut r = Reassembler::new(config);
    let mut now = Instant::now();
    let mut rest = data;
    while let [delay, hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (packet, next) = tail.split_at(len);
        rest = next;
        now += Duration::from_millis(u64::from(*delay) * 8);
        if let Ok(repr) = Repr::parse(packet)
            && let Outcome::Complete(c) = r.handle(now, repr)
        {
            assert!(c.fragments == 1 || c.fragments == 2);
            assert!(c.data.len() <= 2 * packet.len() + config.max_buffered_bytes);
        }
        assert!(r.pending() <= config.max_pending);
        assert!(r.held_bytes() <= config.max_buffered_bytes);
        if let Some(deadline) = r.poll_timeout() {
            assert!(deadline <= now + config.timeout);
        }
    }
    r.handle_timeout(now + config.timeout);
    assert_eq!((r.pending(), r.held_bytes()), (0, 0));
});
