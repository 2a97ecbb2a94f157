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

use messngr_proto::text::{CodePage, MessageDecoder};
use messngr_store::{Filter, NewMessage, StoreHandle, Transport as StoreTransport};
use tokio::sync::{Semaphore, mpsc};

use crate::api::{Request, Response};
use crate::delivery::{Delivery, Incoming, NotStored, Stored};
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

/// What `Request::Unread` answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnreadView {
    /// Unread received messages the caller may see.
    pub count: u64,
    /// How many of them are urgent.
    pub urgent: u64,
}

/// The open inbox.
pub struct Inbox {
    store: StoreHandle,
    path: PathBuf,
    codepage: CodePage,
    access: crate::access::Access,
    stored: tokio::sync::broadcast::Sender<Arc<messngr_store::Message>>,
    quiet: crate::quiet::Quiet,
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
            access: settings.access.clone(),
            stored: tokio::sync::broadcast::channel(256).0,
            quiet: crate::quiet::Quiet::default(),
        })
    }

    /// The store (for the other parts of the inbox, e.g. [`crate::quiet`]).
    pub(crate) fn handle(&self) -> &StoreHandle {
        &self.store
    }

    /// The access rules.
    pub(crate) fn access(&self) -> &crate::access::Access {
        &self.access
    }

    /// Who is quiet, and where changes are announced.
    pub(crate) fn quiet_state(&self) -> &crate::quiet::Quiet {
        &self.quiet
    }

    /// Every quiet change from now on (the terminal writer's summary).
    pub fn subscribe_quiet(&self) -> tokio::sync::broadcast::Receiver<crate::quiet::QuietChange> {
        self.quiet.changes.subscribe()
    }

    /// An inbox at `path` with default access rules (unit tests).
    #[cfg(test)]
    pub(crate) fn open_at(path: &Path) -> Self {
        Self {
            store: StoreHandle::open(path).unwrap(),
            path: path.to_owned(),
            codepage: CodePage::default(),
            access: crate::access::Access::default(),
            stored: tokio::sync::broadcast::channel(16).0,
            quiet: crate::quiet::Quiet::default(),
        }
    }

    /// Every message, once it is on disk: what delivery to people
    /// (terminals, hooks, desktop agents) subscribes to. A slow subscriber
    /// misses messages (it is told how many) but never holds up the inbox;
    /// the message itself is safe in the store either way.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<messngr_store::Message>> {
        self.stored.subscribe()
    }

    /// The same broadcast, for the API's `Follow` streams.
    pub fn feed(&self) -> crate::follow::Feed {
        let access = self.access.clone();
        crate::follow::Feed::with_visibility(
            self.stored.clone(),
            Arc::new(move |uid, m| access.may_see(&access.caller(uid), m.owner_user.as_deref())),
        )
        .with_quiet(self.quiet.changes.clone())
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
    /// order of the calls, and concurrent ones share one COMMIT: the store
    /// thread's group commit); the answer, `Ok` only once it is on disk,
    /// comes from the returned future, which also hands the stored message
    /// to the subscribers (delivery to people).
    pub fn queue(
        &self,
        m: &Incoming,
    ) -> impl Future<Output = Result<Stored, NotStored>> + Send + 'static {
        self.queue_new(self.decode(m))
    }

    fn queue_new(
        &self,
        new: NewMessage,
    ) -> impl Future<Output = Result<Stored, NotStored>> + Send + 'static {
        // A sender-given uuid may come again (a retry): then it must name
        // the same message, or it is a different one that cannot be stored
        // under it (and must not be acknowledged as if it were).
        let same = new
            .uuid
            .is_some()
            .then(|| (new.from.clone(), new.to.clone(), new.text.clone()));
        let store = self.store.clone();
        let pending = self.store.queue_insert(new);
        let subscribers = self.stored.clone();
        async move {
            match pending.await {
                Ok(stored) => {
                    let id = stored.id;
                    // Nobody listening is fine: the message is stored.
                    let _ = subscribers.send(Arc::new(stored));
                    Ok(Stored(id))
                }
                // A retry of a message already on disk (a messngr peer
                // resending after a lost answer): stored, and shown once.
                Err(messngr_store::StoreError::Duplicate { uuid, id }) => {
                    let stored = store.get(id).await.ok();
                    let matches = match (&same, &stored) {
                        (Some((from, to, text)), Some(m)) => {
                            m.from == *from && m.to == *to && m.text == *text
                        }
                        _ => false,
                    };
                    if matches {
                        tracing::info!("message {uuid} offered again: already stored as {id}");
                        Ok(Stored(id))
                    } else {
                        Err(NotStored(format!(
                            "uuid {uuid} already names another message ({id})"
                        )))
                    }
                }
                Err(e) => Err(NotStored(e.to_string())),
            }
        }
    }

    /// Stores a message another program received for us (`messngr deliver`,
    /// Samba's `message command`): `text` is in the receiver's charset,
    /// UTF-8 or, when it could not convert, the OEM code page.
    pub async fn deliver(&self, from: &str, to: &str, text: &[u8]) -> Result<Stored, NotStored> {
        let (decoded, lossy) = crate::samba::decode(self.codepage, text);
        let mut new = NewMessage::received(StoreTransport::Samba, from, to, &decoded, text);
        new.codepage = Some(self.codepage.to_string());
        new.lossy = lossy;
        new.verified = false;
        new.owner_user = self.access.owner_of(to);
        self.insert(new).await
    }

    async fn insert(&self, new: NewMessage) -> Result<Stored, NotStored> {
        self.queue_new(new).await
    }

    /// Stores a message a local account sent to a name this host holds
    /// (`messngr send` to ourselves): no network, and the sender is known —
    /// the kernel reported `sender_uid` for the API socket — so it is
    /// stored verified, as `messngr`.
    pub async fn store_local(&self, local: crate::local::Local<'_>) -> Result<Stored, NotStored> {
        let mut new = NewMessage::received(
            StoreTransport::Messngr,
            local.from,
            local.to,
            local.text,
            local.text.as_bytes(),
        );
        new.codepage = Some("utf-8".into());
        new.verified = true;
        new.sender_uid = Some(local.uid);
        new.priority = local.priority;
        new.popup_secs = local.popup_secs;
        new.owner_user = self.access.owner_of(local.to);
        self.insert(new).await
    }

    fn decode(&self, m: &Incoming) -> NewMessage {
        if let Some(native) = m.native {
            return self.decode_native(m, native);
        }
        let mut d = MessageDecoder::new(self.codepage, m.transport);
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
            m.transport,
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
        new.owner_user = self.access.owner_of(&new.to);
        new
    }

    /// A messngr peer's message: UTF-8 already (the wire checked it), the
    /// sender's uuid (so a retry is stored once), priority and pop-up time
    /// as sent. Not verified: nothing is signed yet.
    fn decode_native(&self, m: &Incoming, native: crate::delivery::Native) -> NewMessage {
        let utf8 = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let mut new = NewMessage::received(
            StoreTransport::Messngr,
            &utf8(&m.from),
            &utf8(&m.to),
            &utf8(&m.text),
            &m.text,
        );
        new.uuid = Some(crate::api::to_hex(&native.uuid));
        new.received_at = m
            .received_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        new.source_addr = Some(m.source.to_string());
        new.codepage = Some("utf-8".into());
        new.verified = false;
        new.priority = native.priority;
        new.popup_secs = native.popup_secs;
        new.owner_user = self.access.owner_of(&new.to);
        new
    }

    /// One message, if it exists and the caller with `uid` may see it.
    pub async fn get(&self, id: i64, uid: u32) -> Option<messngr_store::Message> {
        let caller = self.access.caller(uid);
        self.store
            .get(id)
            .await
            .ok()
            .filter(|m| self.access.may_see(&caller, m.owner_user.as_deref()))
    }

    /// Whether the caller with `uid` may see `m` (for every delivery to
    /// people that answers a local user).
    pub fn visible_to(&self, uid: u32, m: &messngr_store::Message) -> bool {
        self.access
            .may_see(&self.access.caller(uid), m.owner_user.as_deref())
    }

    /// Answers an inbox request from the CLI, showing the caller with `uid`
    /// only what [`crate::access`] lets it see; someone else's message is
    /// answered exactly like a missing one.
    pub async fn answer(&self, request: Request, uid: u32) -> Response {
        let caller = self.access.caller(uid);
        let visible_owner = |owner: Option<&str>| self.access.may_see(&caller, owner);
        let visible = |m: &messngr_store::Message| visible_owner(m.owner_user.as_deref());
        let missing = |id: i64| Response::err("not_found", format!("no message {id}"));
        let result = match request {
            Request::Quiet { on } => return self.answer_quiet(on, uid).await,
            Request::Unread => self.handle().unread_counts().await.map(|rows| {
                let mut view = UnreadView::default();
                for (owner, priority, n) in rows {
                    if visible_owner(owner.as_deref()) {
                        view.count += n;
                        if priority == messngr_store::Priority::Urgent {
                            view.urgent += n;
                        }
                    }
                }
                Response::ok(view)
            }),
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
                .map(|list| Response::ok(list.into_iter().filter(visible).collect::<Vec<_>>())),
            Request::Read { id } => match self.store.get(id).await {
                Ok(m) if !visible(&m) => Ok(missing(id)),
                Ok(m) => {
                    let _ = self.store.mark_read(id).await;
                    Ok(Response::ok(m))
                }
                Err(messngr_store::StoreError::NotFound(_)) => Ok(missing(id)),
                Err(e) => Err(e),
            },
            Request::Rm { id } => match self.store.get(id).await {
                Ok(m) if !visible(&m) => Ok(missing(id)),
                Ok(_) => match self.store.delete(id).await {
                    Ok(()) => Ok(Response::ok(id)),
                    Err(messngr_store::StoreError::NotFound(_)) => Ok(missing(id)),
                    Err(e) => Err(e),
                },
                Err(messngr_store::StoreError::NotFound(_)) => Ok(missing(id)),
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

/// Messages queued to the store and not yet answered. The bound keeps the
/// back-pressure the delivery channel gives: when the store falls behind,
/// this task stops taking deliveries, the channel fills, and the receivers
/// wait (a datagram flood cannot queue inserts without limit).
pub const MAX_IN_FLIGHT: usize = 256;

/// Stores every delivery, in order, until the channel closes: queues each
/// insert at once and answers it from its own task when its COMMIT (shared
/// with whatever else was queued meanwhile) returned.
pub async fn run(inbox: Arc<Inbox>, mut deliveries: mpsc::Receiver<Delivery>) {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    while let Some(Delivery { message, done }) = deliveries.recv().await {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let stored = inbox.queue(&message);
        let source = message.source;
        tokio::spawn(async move {
            let r = stored.await;
            drop(permit);
            if let Err(e) = &r {
                tracing::error!("message from {source} NOT stored: {e}");
            }
            if let Some(done) = done {
                let _ = done.send(r);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::SystemTime;

    use tokio::sync::oneshot;

    use super::*;
    use crate::delivery::Transport;

    fn incoming(text: &str) -> Incoming {
        Incoming {
            transport: Transport::Smb,
            source: SocketAddr::from(([10, 77, 0, 2], 1040)),
            from: b"ALICE".to_vec(),
            to: b"H1".to_vec(),
            text: text.as_bytes().to_vec(),
            block_ends: vec![text.len()],
            received_at: SystemTime::now(),
            native: None,
        }
    }

    /// Deliveries are queued without waiting for each other's COMMIT, yet
    /// stored in arrival order, and every one is answered once on disk.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_unread_count_is_of_what_the_caller_may_see() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = Inbox::open_at(&dir.path().join(INBOX_FILE));
        for (to, owner, priority) in [
            ("ALICE", Some("alice"), messngr_store::Priority::Urgent),
            ("ALICE", Some("alice"), messngr_store::Priority::Normal),
            ("H1", None, messngr_store::Priority::Normal),
        ] {
            let mut m = NewMessage::received(StoreTransport::Smb, "H2", to, "hi", b"hi");
            m.owner_user = owner.map(str::to_owned);
            m.priority = priority;
            inbox.insert(m).await.unwrap();
        }
        let count = |uid| {
            let inbox = &inbox;
            async move {
                let r = inbox.answer(Request::Unread, uid).await;
                serde_json::from_value::<UnreadView>(r.data).unwrap()
            }
        };
        // root sees everything; a uid without an account, nothing.
        assert_eq!(
            count(0).await,
            UnreadView {
                count: 3,
                urgent: 1
            }
        );
        assert_eq!(count(59_999).await, UnreadView::default());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deliveries_are_stored_in_order_and_each_answered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(INBOX_FILE);
        let inbox = Arc::new(Inbox {
            store: StoreHandle::open(&path).unwrap(),
            path,
            codepage: CodePage::default(),
            access: crate::access::Access::default(),
            stored: tokio::sync::broadcast::channel(4).0,
            quiet: crate::quiet::Quiet::default(),
        });
        let (tx, rx) = mpsc::channel(8);
        let runner = tokio::spawn(run(inbox.clone(), rx));
        let mut answers = Vec::new();
        for i in 0..50 {
            let (done, answer) = oneshot::channel();
            let message = incoming(&format!("m{i}"));
            tx.send(Delivery {
                message,
                done: Some(done),
            })
            .await
            .unwrap();
            answers.push(answer);
        }
        // A datagram: nobody waits for it, it is stored all the same.
        tx.send(Delivery {
            message: incoming("datagram"),
            done: None,
        })
        .await
        .unwrap();
        let mut ids = Vec::new();
        for a in answers {
            ids.push(a.await.unwrap().unwrap().0);
        }
        assert!(ids.windows(2).all(|w| w[1] > w[0]), "{ids:?}");
        drop(tx);
        runner.await.unwrap();
        let texts: Vec<String> = inbox
            .store
            .list(Filter::default())
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.text)
            .collect();
        assert_eq!(texts.len(), 51);
        assert_eq!(texts[0], "m0");
        assert_eq!(texts[49], "m49");
    }
}
