//! `Track`: a sent message's receipts, now or once everyone has read it.
//!
//! Why in the server and not the store: who may track is the API's rule
//! (the sender, by the uid the socket reports, or root; anyone else's
//! message looks missing, as in the inbox), and a wait is a poll of the
//! store that only a connection's task can afford: it holds that
//! connection, not the daemon (the idle limit counts only between
//! requests, and the server drops the wait when the daemon stops).

use std::time::{Duration, Instant};

use messngr_api::{ApiError, MAX_WAIT_SECS, RecipientView, Track, TrackView};
use messngr_store::{Direction, ReceiptState, StoreHandle};

use crate::inbox::InboxError;

/// How often a wait looks at the receipts again.
const POLL: Duration = Duration::from_millis(200);

/// Answers `t` for the caller `uid`.
pub(crate) async fn answer(store: &StoreHandle, uid: u32, t: Track) -> Result<TrackView, ApiError> {
    let wait = match t.wait_secs {
        None => None,
        Some(s @ 1..=MAX_WAIT_SECS) => Some(Duration::from_secs(u64::from(s))),
        Some(s) => {
            return Err(ApiError::bad_request(format!(
                "cannot wait {s} s: give 1 to {MAX_WAIT_SECS} seconds"
            )));
        }
    };
    let started = Instant::now();
    loop {
        let view = view(store, uid, t.id).await.map_err(ApiError::from)?;
        match wait {
            Some(w) if !view.all_read() && started.elapsed() < w => {
                tokio::time::sleep(POLL.min(w.saturating_sub(started.elapsed()))).await;
            }
            _ => return Ok(view),
        }
    }
}

/// The receipts of sent message `id`, if `uid` sent it (root: any).
async fn view(store: &StoreHandle, uid: u32, id: i64) -> Result<TrackView, InboxError> {
    let m = match store.get(id).await {
        Ok(m) => m,
        Err(messngr_store::StoreError::NotFound(_)) => return Err(InboxError::NotFound(id)),
        Err(e) => return Err(e.into()),
    };
    let mine = m.sender_uid == Some(uid) || crate::access::is_root_or_daemon(uid);
    if m.direction != Direction::Out || !mine {
        return Err(InboxError::NotFound(id));
    }
    let rows = store.receipts(m.uuid.clone()).await?;
    let summary = store.receipt_summary(m.uuid.clone()).await?;
    let recipients = rows
        .into_iter()
        .map(|r| recipient(r.recipient, r.state, r.at))
        .collect();
    Ok(TrackView {
        id,
        uuid: m.uuid,
        to: m.to,
        text: m.text,
        sent_at_ms: m.received_at,
        total: summary.total,
        delivered: summary.delivered,
        read: summary.read,
        recipients,
    })
}

/// One recipient's receipt as the API shows it (`track`, the follow stream).
pub(crate) fn recipient(name: String, state: ReceiptState, at_ms: i64) -> RecipientView {
    RecipientView {
        name,
        state: match state {
            ReceiptState::Sent => "sent",
            ReceiptState::Delivered => "delivered",
            ReceiptState::Read => "read",
        }
        .to_owned(),
        at_ms,
    }
}
