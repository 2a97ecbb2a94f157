//! Filling the inbox the way the daemon does: every message through
//! `StoreHandle::queue_insert`, with a window of inserts in flight so that
//! the store thread always finds a group to commit together (the group
//! commit of `handle.rs`), each COMMIT fsync'd under `synchronous=FULL`.
//!
//! Then most messages are marked read. The daemon marks one message per
//! request (one transaction each); doing that 700 000 times would measure
//! fsync, not the inbox, so it is one `UPDATE` on a second connection —
//! as another process would — with the store's triggers (counts, full-text
//! index) running for every row as they would for `mark_read`.

use std::collections::VecDeque;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use messngr_store::{Message, StoreHandle};

use crate::data;

/// What the fill took.
#[derive(Debug, Clone, Copy)]
pub struct Fill {
    /// Inserting every message (answered, i.e. committed).
    pub inserts: Duration,
    /// Marking most of them read.
    pub mark_read: Duration,
    /// Messages marked read.
    pub read: u64,
}

type Pending = Pin<Box<dyn Future<Output = messngr_store::Result<Message>> + Send>>;

/// Stores `n` messages in `store` (at most `in_flight` queued at once).
pub async fn insert_all(
    store: &StoreHandle,
    n: u64,
    seed: u64,
    in_flight: usize,
    progress: bool,
) -> Result<Duration> {
    let start = messngr_store::clock::now_ms() - data::SPAN_MS;
    let mut queue: VecDeque<Pending> = VecDeque::with_capacity(in_flight);
    let t = Instant::now();
    let tick = (n / 10).max(1);
    for i in 0..n {
        if queue.len() >= in_flight
            && let Some(oldest) = queue.pop_front()
        {
            oldest.await.context("insert")?;
        }
        queue.push_back(Box::pin(
            store.queue_insert(data::message(seed, i, n, start)),
        ));
        if progress && (i + 1) % tick == 0 {
            let s = t.elapsed().as_secs_f64();
            eprintln!(
                "inbox-bench: {} queued, {:.0} s, {:.0} messages/s",
                i + 1,
                s,
                (i + 1) as f64 / s.max(1e-9)
            );
        }
    }
    // Answers come in queue order: the last one answered means all were.
    while let Some(p) = queue.pop_front() {
        p.await.context("insert")?;
    }
    Ok(t.elapsed())
}

/// Marks about 70 % of the messages read (a fixed pseudo-random choice,
/// so the unread ones are spread over the whole inbox).
pub fn mark_most_read(path: &Path) -> Result<(Duration, u64)> {
    let conn = rusqlite::Connection::open(path).context("second connection")?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let t = Instant::now();
    let n = conn.execute(
        "UPDATE messages SET read_at = received_at + 60000 \
         WHERE read_at IS NULL AND (id * 2654435761) % 10 < 7",
        [],
    )?;
    Ok((t.elapsed(), n as u64))
}
