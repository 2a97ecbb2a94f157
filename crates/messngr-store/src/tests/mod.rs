//! Tests of the store, on files in temporary directories (never
//! `:memory:`, so WAL and fsync are exercised).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

mod alerts;
mod basics;
mod counts;
mod durability;
mod gone;
mod handle;
mod model;
mod notices;
mod outbox;
mod page;
mod quiet;
mod quota;
mod roundtrip;
mod search;
mod uuids;

use crate::{NewMessage, Store, Transport};

/// A fresh store in a new temporary directory (kept alive by the guard).
pub(crate) fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("inbox.sqlite")).unwrap();
    (dir, store)
}

/// A received SMB message at a fixed time.
pub(crate) fn msg(from: &str, to: &str, text: &str, at: i64) -> NewMessage {
    let mut m = NewMessage::received(Transport::Smb, from, to, text, text.as_bytes());
    m.received_at = at;
    m.codepage = Some("cp850".into());
    m.source_addr = Some("192.0.2.7:1040".into());
    m
}

/// 2026-11-27T10:00:00Z.
pub(crate) const T0: i64 = 1_795_773_600_000;
