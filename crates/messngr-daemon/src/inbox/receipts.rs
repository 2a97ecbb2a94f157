//! A receipt recorded for a message sent from here, and the news of it for
//! the sender's followers (`/v1/events`, the follow stream).
//!
//! Why one place records them: a receipt arrives from another host (the
//! native receiver) or from a reader on this host (`send::on_read`), and
//! both must change the store the same way and tell the same followers —
//! the account that sent the message — that "ALICE@H2 read it".

use std::sync::Arc;

use messngr_store::{ReceiptState, StoreError, StoreHandle};
use tokio::sync::broadcast;

/// A receipt, as its sender's followers hear it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReceiptNote {
    /// The sent message's id here.
    pub(crate) id: i64,
    /// Its uuid.
    pub(crate) uuid: String,
    /// Who sent it (the follower that hears of it).
    pub(crate) sender_uid: Option<u32>,
    /// `H2`, `ALICE@H2`.
    pub(crate) recipient: String,
    pub(crate) state: ReceiptState,
    /// When, Unix ms.
    pub(crate) at: i64,
}

/// Records receipts and tells of them.
#[derive(Clone)]
pub(crate) struct Recorder {
    store: StoreHandle,
    news: broadcast::Sender<Arc<ReceiptNote>>,
}

impl std::ops::Deref for Recorder {
    type Target = StoreHandle;

    fn deref(&self) -> &StoreHandle {
        &self.store
    }
}

impl Recorder {
    /// Over `store`, with nobody listening yet.
    pub(crate) fn new(store: StoreHandle) -> Self {
        Recorder {
            store,
            news: broadcast::channel(64).0,
        }
    }

    /// The news, for the follow feed.
    pub(crate) fn news(&self) -> broadcast::Sender<Arc<ReceiptNote>> {
        self.news.clone()
    }

    /// Sets `recipient`'s receipt of sent message `uuid` to `state` (states
    /// only move forward: the store's rule), then tells the followers, if
    /// it changed anything (a repeated or late receipt, replayed by a peer,
    /// is no news).
    pub(crate) async fn record(
        &self,
        uuid: String,
        recipient: String,
        state: ReceiptState,
        at: i64,
    ) -> Result<(), StoreError> {
        let changed = self
            .store
            .set_receipt(uuid.clone(), recipient.clone(), state, at)
            .await?;
        if changed
            && self.news.receiver_count() > 0
            && let Ok(Some(m)) = self.store.find_by_uuid(uuid.clone()).await
            && m.direction == messngr_store::Direction::Out
        {
            let _ = self.news.send(Arc::new(ReceiptNote {
                id: m.id,
                uuid,
                sender_uid: m.sender_uid,
                recipient,
                state,
                at,
            }));
        }
        Ok(())
    }
}
