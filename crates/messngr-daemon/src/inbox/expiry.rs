//! The expiry of read messages (`expire_read_after_days`): at start and
//! every [`EVERY`], the writer deletes the read received messages older
//! than the setting, [`BATCH`] per transaction. And the sender's expiry
//! (`send --expires`): a message is deleted within [`SENDER_CHECK`] of
//! its time ([`run_senders`]), so no listing shows it after.
//!
//! Why in batches of jobs: each batch is one job on the store's writer
//! thread, so messages arriving meanwhile are stored between two batches
//! instead of waiting behind one long delete (with `secure_delete` on, a
//! delete writes its pages over). The store keeps the counts and the
//! full-text index exact (its delete triggers).

use std::time::{Duration, SystemTime};

use messngr_store::StoreHandle;
use tokio_util::sync::CancellationToken;

/// How often expiry runs.
pub(crate) const EVERY: Duration = Duration::from_secs(3600);

/// Messages deleted per transaction.
pub(crate) const BATCH: u32 = 500;

/// How often the next sender's expiry is looked up (one indexed read).
pub(crate) const SENDER_CHECK: Duration = Duration::from_secs(1);

/// Deletes, until `stop`, the messages whose sender's expiry passed, each
/// within [`SENDER_CHECK`] of it.
pub(crate) async fn run_senders(store: StoreHandle, stop: CancellationToken) {
    let mut tick = tokio::time::interval(SENDER_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = messngr_store::clock::now_ms();
        match store.read(|s| s.next_expiry()).await {
            Ok(Some(t)) if t <= now => {}
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!("expiry: cannot look up the next expiring message: {e}");
                continue;
            }
        }
        loop {
            match store.run(move |s| s.delete_expired(now, BATCH)).await {
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(
                            "expiry: deleted {n} message(s) past the sender's --expires"
                        );
                    }
                    if n < BATCH as usize || stop.is_cancelled() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!("expiry: {e} (tried again in a second)");
                    break;
                }
            }
        }
    }
}

/// Deletes, until `stop`, the read messages older than `after`: now and
/// every [`EVERY`].
pub(crate) async fn run(store: StoreHandle, after: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match expire(&store, after, &stop).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                "expiry: deleted {n} read messages older than {} days",
                after.as_secs() / 86_400
            ),
            Err(e) => tracing::warn!("expiry: {e} (tried again in {} s)", EVERY.as_secs()),
        }
    }
}

/// One pass: batches until fewer than [`BATCH`] were left; how many went.
pub(crate) async fn expire(
    store: &StoreHandle,
    after: Duration,
    stop: &CancellationToken,
) -> messngr_store::Result<usize> {
    let cutoff = SystemTime::now()
        .checked_sub(after)
        .map_or(0, super::unix_ms);
    let mut total = 0;
    loop {
        let n = store.expire_read(cutoff, BATCH).await?;
        total += n;
        if n < BATCH as usize || stop.is_cancelled() {
            return Ok(total);
        }
    }
}
