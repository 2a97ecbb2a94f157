//! NBT session (TCP 139) framing, SMB message commands, and the receiver and
//! sender state machines, on the captured `smbclient -M` exchanges.
use std::sync::LazyLock;
use std::time::Instant;

use divan::black_box;
use messngr_proto::assembly::{Action, Receiver, ReceiverConfig, Sender, SenderConfig};
use messngr_proto::wire::Emit;
use messngr_proto::wire::nbss;
use messngr_proto::wire::smb::message::Repr;

const LONG: &str = include_str!("../tests/vectors/smbclient-M-long.hex");
const LONG_SRV: &str = include_str!("../tests/vectors/smbclient-M-long.srv.hex");

/// The frames of a vector file (hex lines, `#` comments, optional direction
/// prefix).
fn frames(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let hex = l.rsplit(' ').next().unwrap_or(l);
            (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
                .collect()
        })
        .collect()
}

static CLIENT: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| frames(LONG));
static SERVER: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| frames(LONG_SRV));

/// The SMB of a SESSION MESSAGE frame.
fn smb(frame: &[u8]) -> &[u8] {
    frame.get(nbss::HEADER_LEN..).unwrap_or_default()
}

#[divan::bench]
fn nbss_parse_session_request() -> bool {
    nbss::Repr::parse(black_box(&CLIENT[0])).is_ok()
}

#[divan::bench]
fn nbss_emit_session_request(b: divan::Bencher) {
    let repr = nbss::Repr::parse(&CLIENT[0]).expect("vector parses");
    let mut buf = [0u8; 72];
    b.bench_local(|| black_box(&repr).emit(&mut buf));
}

#[divan::bench]
fn nbss_split_stream(b: divan::Bencher) {
    let stream: Vec<u8> = CLIENT.concat();
    b.bench(|| {
        let mut rest = black_box(&stream[..]);
        let mut n = 0;
        while let Ok(Some((_, tail))) = nbss::split_frame(rest, nbss::DEFAULT_MAX_FRAME_LEN) {
            rest = tail;
            n += 1;
        }
        n
    });
}

#[divan::bench]
fn smb_parse_text_request() -> bool {
    Repr::parse_request(black_box(smb(&CLIENT[2]))).is_ok()
}

#[divan::bench]
fn smb_emit_text_request(b: divan::Bencher) {
    let repr = Repr::parse_request(smb(&CLIENT[2])).expect("vector parses");
    let mut buf = [0u8; 256];
    b.bench_local(|| black_box(&repr).emit(&mut buf));
}

#[divan::bench]
fn smb_parse_start_reply() -> bool {
    Repr::parse_reply(black_box(smb(&SERVER[1]))).is_ok()
}

#[divan::bench]
fn smb_emit_start_reply(b: divan::Bencher) {
    let repr = Repr::parse_reply(smb(&SERVER[1])).expect("vector parses");
    let mut buf = [0u8; 64];
    b.bench_local(|| black_box(&repr).emit(&mut buf));
}

/// START, three TEXT blocks and END into a fresh receiver, accepting the
/// message: what one `smbclient -M` with 361 bytes of text costs.
#[divan::bench]
fn receiver_long_message(b: divan::Bencher) {
    let smbs: Vec<&[u8]> = CLIENT[1..].iter().map(|f| smb(f)).collect();
    let now = Instant::now();
    b.bench(|| {
        let mut rx = Receiver::new(ReceiverConfig::default(), now);
        let mut replies = 0;
        for s in &smbs {
            match rx.handle(now, black_box(s)) {
                Action::Reply(_) => replies += 1,
                Action::Deliver { token, .. } => replies += usize::from(rx.accept(token).is_ok()),
                _ => {}
            }
        }
        replies
    });
}

/// The sender's side of the same exchange, fed the sink's replies.
#[divan::bench]
fn sender_long_message(b: divan::Bencher) {
    let text: Vec<u8> = CLIENT[2..5]
        .iter()
        .flat_map(|f| smb(f)[40..].to_vec())
        .collect();
    let replies: Vec<&[u8]> = SERVER[1..].iter().map(|f| smb(f)).collect();
    let now = Instant::now();
    b.bench(|| {
        let mut tx = Sender::new(
            b"alice",
            b"target",
            black_box(&text),
            SenderConfig::default(),
        );
        for r in &replies {
            if tx.poll_request(now).is_none() {
                break;
            }
            tx.handle_reply(r);
        }
        tx.progress()
    });
}
