//! How long a sender waits for the inbox: `Store::insert` latency, which is
//! one committed, fsync'd transaction (WAL, `synchronous=FULL`), and the
//! same through the `StoreHandle` thread.
//!
//! `cargo bench -p messngr-store --bench insert`. The database lives in a
//! temporary directory on the file system of `$TMPDIR` (`/tmp` by default):
//! on tmpfs fsync costs nothing and the figures mean little.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use messngr_store::{NewMessage, Store, StoreHandle, Transport};

fn main() {
    divan::main();
}

fn message(len: usize) -> NewMessage {
    message_text(&"x".repeat(len))
}

fn message_text(text: &str) -> NewMessage {
    let mut m = NewMessage::received(Transport::Smb, "ALICE", "H1", text, text.as_bytes());
    m.codepage = Some("cp850".into());
    m.source_addr = Some("192.0.2.7:1040".into());
    m
}

/// One message of `len` bytes (100: a typical `net send`; 1600: the
/// longest a legacy sender sends; 65536: a long messngr message).
#[divan::bench(args = [100, 1600, 65536], sample_count = 200)]
fn insert(bencher: divan::Bencher, len: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("inbox.sqlite")).unwrap();
    let m = message(len);
    bencher.bench_local(|| store.insert(&m).unwrap());
}

/// A group commit of 128 messages of 100–300 characters of varied words
/// (what the store thread commits when many sessions deliver at once):
/// the per-row cost (indexes, triggers) shows here, where one insert's
/// figure is mostly its fsync. Messages/s = 128 / the time shown.
#[divan::bench(sample_count = 50)]
fn insert_batch_128(bencher: divan::Bencher) {
    const WORDS: [&str; 16] = [
        "meeting", "lunch", "server", "printer", "backup", "tomorrow", "please", "call", "report",
        "coffee", "deadline", "network", "update", "restart", "office", "thanks",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("inbox.sqlite")).unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let batch: Vec<NewMessage> = (0..128)
        .map(|i| {
            let mut text = String::new();
            let len = 100 + (i * 37) % 200;
            while text.len() < len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(WORDS[(seed % 16) as usize]);
                text.push(' ');
            }
            message_text(&text)
        })
        .collect();
    bencher.bench_local(|| store.insert_batch(&batch).unwrap());
}

/// The same through the store thread, as the daemon calls it.
#[divan::bench(sample_count = 200)]
fn insert_via_handle(bencher: divan::Bencher) {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreHandle::open(dir.path().join("inbox.sqlite")).unwrap();
    let m = message(100);
    bencher.bench_local(|| {
        let m = m.clone();
        store.run_blocking(move |s| s.insert(&m)).unwrap()
    });
}

/// Listing 50 unread messages out of 1000 (what `messngr inbox --unread` does).
#[divan::bench(sample_count = 100)]
fn list_unread(bencher: divan::Bencher) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("inbox.sqlite")).unwrap();
    for i in 0..1000 {
        let s = store.insert(&message(100)).unwrap();
        if i % 20 != 0 {
            store.mark_read(s.id).unwrap();
        }
    }
    let f = messngr_store::Filter::unread();
    bencher.bench_local(|| store.list(&f).unwrap());
}
