//! messngr-to-messngr frames: parse and emit of a typical message.
use std::sync::LazyLock;

use divan::black_box;
use messngr_proto::wire::Emit;
use messngr_proto::wire::native::{Message, Priority, Repr};

static FRAME: LazyLock<Vec<u8>> =
    LazyLock::new(|| Repr::Message(message()).to_vec().unwrap_or_default());

fn message() -> Message<'static> {
    Message {
        uuid: [0x5A; 16],
        sent_at: Some(1_767_935_589_696),
        from: "alice",
        to: "H1",
        text: "The build is green again; lunch at twelve? — Grüße",
        priority: Priority::Urgent,
        popup_secs: Some(30),
        signer: None,
        signature: None,
        replaces: None,
        retract: false,
        alert: None,
        expires_at: None,
        vouched: None,
    }
}

#[divan::bench]
fn native_parse_message() -> bool {
    Repr::parse(black_box(&FRAME)).is_ok()
}

#[divan::bench]
fn native_emit_message(b: divan::Bencher) {
    let repr = Repr::Message(message());
    let mut buf = vec![0u8; repr.buffer_len()];
    b.bench_local(|| black_box(&repr).emit(&mut buf));
}
