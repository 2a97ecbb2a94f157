//! The inbox: decodes what the transports received, commits it to the
//! durable store, and answers the CLI's inbox requests.
//!
//! Why one writer task: the store is SQLite (blocking, one writer), and
//! the durability rule is simplest to keep in one place — a delivery is
//! answered `Stored` only after the store's `insert` returned, which is
//! after COMMIT under `synchronous=FULL`. Any failure (disk full, store
//! gone) is answered `NotStored`, and the SMB receiver turns that into
//! ERRnoroom for the sender.
//!
//! The task does not wait for one message's COMMIT before it takes the
//! next: it queues each insert in arrival order and lets a small task per
//! message wait for the answer. That is what lets the store commit the
//! messages of several sessions together (group commit, see
//! `messngr_store::StoreHandle`) instead of one fsync after another.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use messngr_proto::text::{CodePage, MessageDecoder, Transport as TextTransport};
use messngr_store::{Filter, NewMessage, StoreHandle, Transport as StoreTransport};
use tokio::sync::mpsc;

use crate::api::{Request, Response};
use crate::delivery::{Delivery, Incoming, NotStored, Stored, Transport};
use crate::settings::Settings;

/// File name of the inbox database in the state directory.
pub const INBOX_FILE: &str = "inbox.sqlite";

/// Why the inbox could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the inbox {path}: {source} (check `state_dir` and its permissions)")]
pub struct InboxError {
    path: PathBuf,
    source: messngr_store::StoreError,
}

/// The open inbox.
pub struct Inbox {
    store: StoreHandle,
    path: PathBuf,
    codepage: CodePage,
}

impl Inbox {
    /// Opens (creating) `state_dir/inbox.sqlite`.
    pub fn open(settings: &Settings) -> Result<Self, InboxError> {
        let path = settings.state_dir.join(INBOX_FILE);
        let store = StoreHandle::open(&path).map_err(|source| InboxError {
            path: path.clone(),
            source,
        })?;
        Ok(Self {
            store,
            path,
            codepage: CodePage::default(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Decodes and stores one message; `Ok` only once it is on disk.
    pub async fn store(&self, m: &Incoming) -> Result<Stored, NotStored> {
        self.queue(m).await
    }

    /// Decodes `m` and queues its insert now (messages are stored in the
    /// order of the calls); the answer, `Ok` only once it is on disk, comes
    /// from the returned future.
    pub fn queue(
        &self,
        m: &Incoming,
    ) -> impl Future<Output = Result<Stored, NotStored>> + Send + 'static {
        let stored = self.store.queue_insert(self.decode(m));
        async move {
            match stored.await {
                Ok(stored) => Ok(Stored(stored.id)),
                Err(e) => Err(NotStored(e.to_string())),
            }
        }
    }

    fn decode(&self, m: &Incoming) -> NewMessage {
        let transport = match m.transport {
            Transport::Smb => TextTransport::Smb,
            Transport::Mailslot => TextTransport::Mailslot,
        };
        let mut d = MessageDecoder::new(self.codepage, transport);
        let mut start = 0;
        for &end in &m.block_ends {
            d.push_block(m.text.get(start..end).unwrap_or_default());
            start = end;
        }
        if start < m.text.len() {
            d.push_block(&m.text[start..]);
        }
        let decoded = d.finish();
        let name = |raw: &[u8]| self.codepage.decode(raw).text;
        let mut new = NewMessage::received(
            match m.transport {
                Transport::Smb => StoreTransport::Smb,
                Transport::Mailslot => StoreTransport::Mailslot,
            },
            &name(&m.from),
            &name(&m.to),
            &decoded.text,
            &m.text,
        );
        new.received_at = m
            .received_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        new.source_addr = Some(m.source.to_string());
        new.codepage = Some(self.codepage.to_string());
        new.lossy = decoded.lossy;
        new.verified = false;
        new
    }

    /// One message, if it exists.
    pub async fn get(&self, id: i64) -> Option<messngr_store::Message> {
        self.store.get(id).await.ok()
    }

    /// Answers an inbox request from the CLI.
    pub async fn answer(&self, request: Request, _uid: u32) -> Response {
        let result = match request {
            Request::Inbox {
                unread,
                from,
                since,
            } => self
                .store
                .list(Filter {
                    unread_only: unread,
                    from,
                    since,
                    ..Filter::default()
                })
                .await
                .map(Response::ok),
            Request::Read { id } => match self.store.get(id).await {
                Ok(m) => {
                    let _ = self.store.mark_read(id).await;
                    Ok(Response::ok(m))
                }
                Err(messngr_store::StoreError::NotFound(_)) => {
                    Ok(Response::err("not_found", format!("no message {id}")))
                }
                Err(e) => Err(e),
            },
            Request::Rm { id } => match self.store.delete(id).await {
                Ok(()) => Ok(Response::ok(id)),
                Err(messngr_store::StoreError::NotFound(_)) => {
                    Ok(Response::err("not_found", format!("no message {id}")))
                }
                Err(e) => Err(e),
            },
            other => Ok(Response::err(
                "bad_request",
                format!("not an inbox request: {other:?}"),
            )),
        };
        result.unwrap_or_else(|e| Response::err("store", format!("the inbox failed: {e}")))
    }
}

/// Stores every delivery, in order, until the channel closes: queues each
/// insert at once and answers it from its own task when its COMMIT (shared
/// with whatever else was queued meanwhile) returned.
pub async fn run(inbox: Arc<Inbox>, mut deliveries: mpsc::Receiver<Delivery>) {
    while let Some(Delivery { message, done }) = deliveries.recv().await {
        let stored = inbox.queue(&message);
        let source = message.source;
        tokio::spawn(async move {
            let r = stored.await;
            if let Err(e) = &r {
                tracing::error!("message from {source} NOT stored: {e}");
            }
            if let Some(done) = done {
                let _ = done.send(r);
            }
        });
    }
}
