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

mod copies;
pub(crate) mod expiry;
pub(crate) mod notice;
mod query;
pub(crate) mod receipts;

pub(crate) use query::InboxError;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use messngr_proto::text::MessageDecoder;
use messngr_store::{Message, NewMessage, StoreHandle};
use tokio::sync::{Semaphore, mpsc};

use crate::flow::{Flow, Outcome, Route};
use crate::intake::{Again, Delivery, Incoming, NotStored, NotStoredKind, Stored};
use crate::settings::Settings;

/// File name of the inbox database in the state directory.
pub(crate) const INBOX_FILE: &str = "inbox.sqlite";

/// Why the inbox could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the inbox {path}: {source} (check `state_dir` and its permissions)")]
pub struct OpenError {
    path: PathBuf,
    source: messngr_store::StoreError,
}

/// The open inbox.
pub(crate) struct Inbox {
    store: StoreHandle,
    path: PathBuf,
    /// Each legacy peer's OEM code page.
    codepages: crate::codepages::CodePages,
    access: crate::access::Access,
    stored: tokio::sync::broadcast::Sender<Arc<messngr_store::Message>>,
    /// Broadcast copies lately stored, whose datagrams are dropped.
    copies: Arc<copies::Copies>,
    /// Receipts of sent messages, recorded and told.
    receipts: receipts::Recorder,
    /// Messages by route and outcome (shared with the policy).
    flow: Arc<Flow>,
    /// Places for inserts queued and not yet answered ([`MAX_IN_FLIGHT`]).
    in_flight: Arc<Semaphore>,
}

/// A message a local account sends to a name held here (`messngr send`
/// to ourselves; see `send::local`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Local<'a> {
    /// The sender's login name.
    pub from: &'a str,
    /// The recipient as given.
    pub to: &'a str,
    /// The text, UTF-8 as typed.
    pub text: &'a str,
    /// The caller's uid.
    pub uid: u32,
    /// As given, normal by default.
    pub priority: messngr_proto::Priority,
    /// `--time`.
    pub popup_secs: Option<u32>,
    /// `--expires`: never shown after this (Unix ms).
    pub expires_at: Option<i64>,
    /// The uuid of the sent message that tracks it (`messngr track`).
    pub notice_id: Option<&'a str>,
    /// An alert's title and count.
    pub alert: Option<messngr_proto::wire::native::Alert<'a>>,
}

impl Inbox {
    /// Opens (creating) `state_dir/inbox.sqlite`.
    pub(crate) fn open(settings: &Settings) -> Result<Self, OpenError> {
        let path = settings.state_dir.join(INBOX_FILE);
        let failed = |source| OpenError {
            path: path.clone(),
            source,
        };
        let store = StoreHandle::open(&path).map_err(failed)?;
        store.set_quota(settings.quota).map_err(failed)?;
        Ok(Self {
            path,
            codepages: settings.code_pages.clone(),
            access: settings.access.clone(),
            stored: tokio::sync::broadcast::channel(256).0,
            copies: Arc::new(copies::Copies::new(
                &settings.workgroup,
                settings.code_pages.default_page(),
            )),
            receipts: receipts::Recorder::new(store.clone()),
            store,
            flow: Arc::default(),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        })
    }

    /// The store (for the inbox's queries and [`crate::quiet`]).
    pub(crate) fn handle(&self) -> &StoreHandle {
        &self.store
    }

    /// Where receipts of sent messages are recorded and told.
    pub(crate) fn receipts(&self) -> &receipts::Recorder {
        &self.receipts
    }

    /// The access rules.
    pub(crate) fn access(&self) -> &crate::access::Access {
        &self.access
    }

    /// An inbox at `path` with default access rules (unit tests).
    #[cfg(test)]
    pub(crate) fn open_at(path: &Path) -> Self {
        let store = StoreHandle::open(path).unwrap();
        Self {
            receipts: receipts::Recorder::new(store.clone()),
            store,
            path: path.to_owned(),
            codepages: crate::codepages::CodePages::default(),
            access: crate::access::Access::default(),
            stored: tokio::sync::broadcast::channel(16).0,
            copies: Arc::new(copies::Copies::new(
                "WORKGROUP",
                messngr_proto::text::CodePage::default(),
            )),
            flow: Arc::default(),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }

    /// Every message, once it is on disk: what delivery to people
    /// (terminals, hooks, desktop agents) subscribes to. A slow subscriber
    /// misses messages (it is told how many) but never holds up the inbox;
    /// the message itself is safe in the store either way.
    pub(crate) fn subscribe(
        &self,
    ) -> tokio::sync::broadcast::Receiver<Arc<messngr_store::Message>> {
        self.stored.subscribe()
    }

    /// The broadcast [`Inbox::subscribe`] listens to (the API's follow feed).
    pub(crate) fn stored_sender(
        &self,
    ) -> tokio::sync::broadcast::Sender<Arc<messngr_store::Message>> {
        self.stored.clone()
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Messages by route and outcome (the policy counts into it too).
    pub(crate) fn flow(&self) -> &Arc<Flow> {
        &self.flow
    }

    /// Inserts queued to the store and not yet answered.
    pub(crate) fn in_flight(&self) -> usize {
        MAX_IN_FLIGHT.saturating_sub(self.in_flight.available_permits())
    }

    /// Decodes `m` and queues its insert now (messages are stored in the
    /// order of the calls, and concurrent ones share one COMMIT: the store
    /// thread's group commit); the answer, `Ok` only once it is on disk,
    /// comes from the returned future, which also hands the stored message
    /// to the subscribers (delivery to people).
    pub(crate) fn queue(
        &self,
        m: &Incoming,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Stored, NotStored>> + Send + 'static>> {
        let answer = self.queue_counted(m);
        let Some(route) = Route::of(m.transport) else {
            return answer;
        };
        // Refusals are counted by whoever refuses (the policy): here only
        // what was stored.
        let flow = self.flow.clone();
        Box::pin(async move {
            let r = answer.await;
            count(&flow, route, &r, false);
            r
        })
    }

    fn queue_counted(
        &self,
        m: &Incoming,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Stored, NotStored>> + Send + 'static>> {
        if let Some(change) = notice::Notice::of(m) {
            return Box::pin(self.notice(change));
        }
        let now = std::time::Instant::now();
        if let Some(id) = self.copies.repeated(m, now) {
            tracing::info!(
                "mailslot broadcast from {} repeats the signed copy stored as message {id}: not stored twice",
                m.source
            );
            return Box::pin(std::future::ready(Ok(Stored(id, Again::Duplicate))));
        }
        let stored = self.queue_new(self.decode(m));
        let Some(copy) = self.copies.of(m) else {
            return Box::pin(stored);
        };
        let copies = self.copies.clone();
        Box::pin(async move {
            let r = stored.await;
            if let Ok(Stored(id, _)) = &r {
                copies.remember(copy, *id, std::time::Instant::now());
            }
            r
        })
    }

    fn queue_new(
        &self,
        new: NewMessage,
    ) -> impl Future<Output = Result<Stored, NotStored>> + Send + 'static {
        // A sender-given uuid may come again (a retry): then it must name
        // the same message, or it is a different one that cannot be stored
        // under it (and must not be acknowledged as if it were).
        let same = Same::of(&new);
        let pending = self.store.queue_insert(new);
        self.answered(same, pending)
    }

    /// What a queued insert of a new message becomes: stored (and shown to
    /// the subscribers), stored already (a retry of the same message), or
    /// not stored.
    fn answered(
        &self,
        same: Option<Same>,
        pending: impl Future<Output = messngr_store::Result<Message>> + Send + 'static,
    ) -> impl Future<Output = Result<Stored, NotStored>> + Send + 'static {
        let store = self.store.clone();
        let subscribers = self.stored.clone();
        async move {
            match pending.await {
                Ok(stored) => {
                    let id = stored.id;
                    // Nobody listening is fine: the message is stored.
                    let _ = subscribers.send(Arc::new(stored));
                    Ok(Stored(id, Again::New))
                }
                // A retry of a message already on disk (a messngr peer
                // resending after a lost answer): stored, and shown once.
                Err(messngr_store::StoreError::Duplicate { uuid, id }) => {
                    let stored = store.get(id).await.ok();
                    // (Its text may have changed since: updated or
                    // withdrawn by its author, the same one.)
                    let matches = match (&same, &stored) {
                        (Some(s), Some(m)) => {
                            m.from == s.from
                                && m.to == s.to
                                && (m.text == s.text
                                    || m.updated_at.is_some()
                                    || m.retracted_at.is_some())
                                && m.verified == s.verified
                                && m.author == s.author
                                && m.gateway == s.gateway
                        }
                        _ => false,
                    };
                    if matches {
                        tracing::info!("message {uuid} offered again: already stored as {id}");
                        Ok(Stored(id, Again::Duplicate))
                    } else {
                        Err(NotStored::failed(format!(
                            "uuid {uuid} already names another message ({id})"
                        )))
                    }
                }
                Err(e) => Err(NotStored::from_store(&e)),
            }
        }
    }

    /// Stores a message another program received for us (`messngr deliver`,
    /// Samba's `message command`): `text` is in the receiver's charset,
    /// UTF-8 or, when it could not convert, the OEM code page.
    pub(crate) async fn deliver(
        &self,
        from: &str,
        to: &str,
        text: &[u8],
    ) -> Result<Stored, NotStored> {
        let codepage = self.codepages.for_peer(from.as_bytes(), None);
        let (decoded, lossy) = crate::samba::decode(codepage, text);
        let mut new =
            NewMessage::received(messngr_proto::Transport::Samba, from, to, &decoded, text);
        new.codepage = Some(codepage.to_string());
        new.lossy = lossy;
        new.verified = false;
        new.owner_user = self.access.owner_of(to);
        self.insert(Route::Samba, new).await
    }

    /// Stores a message that starts here (no receiver counted it), counted
    /// as `route`'s from received to its outcome.
    async fn insert(&self, route: Route, new: NewMessage) -> Result<Stored, NotStored> {
        self.flow.add(route, Outcome::Received);
        let r = self.queue_new(new).await;
        count(&self.flow, route, &r, true);
        r
    }

    /// Stores a message a local account sent to a name this host holds
    /// (`messngr send` to ourselves): no network, and the sender is known —
    /// the kernel reported `sender_uid` for the API socket — so it is
    /// stored verified, as `messngr`.
    ///
    /// Urgent is a privilege here: a local sender's urgent message breaks
    /// through do-not-disturb and `mesg n` (`MessageView::interrupts`), so
    /// it is stored urgent only when the sender is root, the daemon's user
    /// or in `admin_group` (decided now, from the socket's peer uid); anyone
    /// else's is stored as normal (logged).
    pub(crate) async fn store_local(&self, local: Local<'_>) -> Result<Stored, NotStored> {
        self.insert(Route::Local, self.local_message(&local)).await
    }

    /// [`Inbox::store_local`], with the sender's copy `copy` queued in the
    /// same job, so that one COMMIT holds both (see
    /// [`messngr_store::StoreHandle::queue_together`]); the copy's own
    /// result comes second.
    pub(crate) async fn store_local_with_copy(
        &self,
        local: Local<'_>,
        copy: NewMessage,
    ) -> (Result<Stored, NotStored>, messngr_store::Result<Message>) {
        let new = self.local_message(&local);
        self.flow.add(Route::Local, Outcome::Received);
        let same = Same::of(&new);
        let (pending, kept) = self.store.queue_together(new, copy);
        let (r, kept) = tokio::join!(self.answered(same, pending), kept);
        count(&self.flow, Route::Local, &r, true);
        (r, kept)
    }

    /// The message a local account sent to a name held here, as stored.
    fn local_message(&self, local: &Local<'_>) -> NewMessage {
        let mut new = NewMessage::received(
            messngr_proto::Transport::Messngr,
            local.from,
            local.to,
            local.text,
            local.text.as_bytes(),
        );
        new.codepage = Some("utf-8".into());
        new.verified = true;
        new.sender_uid = Some(local.uid);
        new.author = Some(format!("{}@{}", local.from, self.access.host));
        new.notice_id = local.notice_id.map(str::to_owned);
        new.priority = local.priority;
        if local.priority == messngr_proto::Priority::Urgent && !self.access.caller(local.uid).admin
        {
            tracing::info!(
                "uid {} sent an urgent message to {}: stored as normal (only root and admin_group may interrupt)",
                local.uid,
                messngr_proto::text::sanitize_line(local.to)
            );
            new.priority = messngr_proto::Priority::Normal;
        }
        new.popup_secs = local.popup_secs;
        new.expires_at = local.expires_at;
        new.alert = local.alert.map(messngr_store::AlertMark::from);
        new.owner_user = self.access.owner_of(local.to);
        new
    }

    fn decode(&self, m: &Incoming) -> NewMessage {
        if let Some(native) = &m.native {
            return self.decode_native(m, native);
        }
        let codepage = self.codepages.for_peer(&m.from, Some(m.source.ip()));
        let mut d = MessageDecoder::new(codepage, m.transport);
        let mut start = 0;
        for &end in &m.block_ends {
            d.push_block(m.text.get(start..end).unwrap_or_default());
            start = end;
        }
        if start < m.text.len() {
            d.push_block(&m.text[start..]);
        }
        let decoded = d.finish();
        let name = |raw: &[u8]| codepage.decode(raw).text;
        let mut new = NewMessage::received(
            m.transport,
            &name(&m.from),
            &name(&m.to),
            &decoded.text,
            &m.text,
        );
        new.received_at = unix_ms(m.received_at);
        new.source_addr = Some(m.source.to_string());
        new.codepage = Some(codepage.to_string());
        new.lossy = decoded.lossy;
        new.verified = false;
        new.owner_user = self.access.owner_of(&new.to);
        new
    }

    /// A messngr peer's message: UTF-8 already (the wire checked it), the
    /// sender's uuid (so a retry is stored once), priority and pop-up time
    /// as sent; verified when its signature was checked (then the author and
    /// the signed frame are kept with it).
    fn decode_native(&self, m: &Incoming, native: &crate::intake::Native) -> NewMessage {
        let utf8 = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let mut new = NewMessage::received(
            messngr_proto::Transport::Messngr,
            &utf8(&m.from),
            &utf8(&m.to),
            &utf8(&m.text),
            &m.text,
        );
        new.uuid = Some(hex::encode(native.uuid));
        new.received_at = unix_ms(m.received_at);
        new.source_addr = Some(m.source.to_string());
        new.codepage = Some("utf-8".into());
        new.verified = native.origin.is_some();
        if let Some((author, fingerprint, signed)) = &native.origin {
            new.sender_key = Some(fingerprint.clone());
            new.author = Some(author.clone());
            new.signed = Some(signed.clone());
            // The sender tracks it (receipts, live notices) by this uuid.
            new.notice_id = new.uuid.clone();
        }
        new.priority = native.priority;
        new.popup_secs = native.popup_secs;
        new.expires_at = native.expires_at;
        new.gateway = native.gateway.clone();
        new.alert = native.alert.clone();
        new.owner_user = self.access.owner_of(&new.to);
        new
    }

    /// One message, if it exists and the caller with `uid` may see it.
    pub(crate) async fn get(&self, id: i64, uid: u32) -> Option<messngr_store::Message> {
        let caller = self.access.caller(uid);
        self.store
            .get(id)
            .await
            .ok()
            .filter(|m| self.access.may_see(&caller, m.owner_user.as_deref()))
    }
}

/// Counts the inbox's answer for a message of `route`: stored, duplicate,
/// or (when `refused` counts it here, for the routes no receiver judged)
/// refused.
fn count(flow: &Flow, route: Route, r: &Result<Stored, NotStored>, refused: bool) {
    match r {
        Ok(Stored(_, Again::New)) => flow.add(route, Outcome::Stored),
        Ok(Stored(_, Again::Duplicate)) => flow.add(route, Outcome::Duplicate),
        // Came before (deleted since), or a notice no newer than the one
        // shown: the sender hears it was taken, as for a duplicate.
        Err(e) if matches!(e.kind, NotStoredKind::Replayed | NotStoredKind::Superseded) => {
            flow.add(route, Outcome::Duplicate);
        }
        Err(_) if refused => flow.add(route, Outcome::Refused),
        Err(_) => {}
    }
}

/// What a message offered under a uuid of its own must match to be the
/// same message offered again.
struct Same {
    from: String,
    to: String,
    text: String,
    /// A retry is as verified as the first, from the same author and
    /// gateway: an unverified copy never stands in for a signed one.
    verified: bool,
    author: Option<String>,
    gateway: Option<String>,
}

impl Same {
    fn of(new: &NewMessage) -> Option<Same> {
        new.uuid.is_some().then(|| Same {
            from: new.from.clone(),
            to: new.to.clone(),
            text: new.text.clone(),
            verified: new.verified,
            author: new.author.clone(),
            gateway: new.gateway.clone(),
        })
    }
}

/// `t` in the store's Unix milliseconds (0 before 1970).
fn unix_ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Messages queued to the store and not yet answered. The bound keeps the
/// back-pressure the delivery channel gives: when the store falls behind,
/// this task stops taking deliveries, the channel fills, and the receivers
/// wait (a datagram flood cannot queue inserts without limit).
pub(crate) const MAX_IN_FLIGHT: usize = 256;

/// Stores every delivery, in order, until the channel closes: queues each
/// insert at once and answers it from its own task when its COMMIT (shared
/// with whatever else was queued meanwhile) returned. A delivery nobody
/// waits for (a datagram) that is not stored is refused through `policy`
/// (counted, logged once a minute per source); the waiting receivers
/// refuse their own.
pub(crate) async fn run(
    inbox: Arc<Inbox>,
    mut deliveries: mpsc::Receiver<Delivery>,
    policy: Arc<crate::policy::Policy>,
) {
    let in_flight = inbox.in_flight.clone();
    while let Some(Delivery { message, done }) = deliveries.recv().await {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let stored = inbox.queue(&message);
        let (source, transport) = (message.source, message.transport);
        let policy = policy.clone();
        tokio::spawn(async move {
            let r = stored.await;
            drop(permit);
            match (&r, &done) {
                (Err(e), None) => policy.refuse_message(
                    transport,
                    e.refusal(),
                    source.ip(),
                    format_args!("datagram dropped: {e}"),
                ),
                (Err(e), Some(_)) if e.kind == NotStoredKind::Failed => {
                    tracing::error!("message from {source} NOT stored: {e}");
                }
                _ => {}
            }
            if let Some(done) = done {
                let _ = done.send(r);
            }
        });
    }
}

#[cfg(test)]
mod tests;
