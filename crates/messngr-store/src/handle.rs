//! The store for async code: one thread owns the connection, callers send
//! it work and await the answer.
//!
//! rusqlite blocks, and SQLite wants one writer; the daemon is tokio-based
//! and has many tasks that receive messages. So a dedicated thread owns the
//! [`Store`] and serves a `std::sync::mpsc` queue of jobs in order; each job
//! answers on a `tokio::sync::oneshot`. Sending never blocks (the queue is
//! unbounded; callers are bounded by awaiting their answers), and an
//! `insert` future resolves only after the thread's `COMMIT` returned, so
//! the durability contract of [`Store::insert`] carries over unchanged.
//!
//! Group commit: inserts are the one job that runs for every message
//! received, and each used to cost one COMMIT, i.e. one fsync of the WAL —
//! with several sessions delivering at once they queued up behind each
//! other's fsyncs. So the thread takes every insert already queued behind
//! the first one (up to [`MAX_BATCH`], stopping at the first other job so
//! that order is kept), stores them with [`Store::insert_batch`] in one
//! transaction, and answers each caller after that one COMMIT. Nobody waits
//! for a batch to fill: a lone insert is committed at once, and a batch is
//! simply what arrived during the previous COMMIT. The contract is
//! unchanged — an insert is answered `Ok` only after the COMMIT that holds
//! it returned under `synchronous=FULL` — and a batch that fails (disk
//! full, I/O error) fails for every caller in it, none of whose messages is
//! stored: nothing is half-acknowledged.
//!
//! Reads: a handle opened with [`StoreHandle::open`] also has a reader, a
//! second, query-only connection on a thread of its own (`reader.rs`);
//! every method here that only reads goes there, so no listing, search or
//! export page ever waits in front of an insert. A handle made with
//! [`StoreHandle::spawn`] (tests) serves reads on its one thread.
//!
//! The threads end when every handle is dropped or on [`StoreHandle::close`],
//! which answers once the connections are closed (the WAL checkpointed).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};

use tokio::sync::oneshot;

use crate::derived::INDEX_BATCH;
use crate::error::{Result, StoreError};
use crate::filter::{Filter, Scope};
use crate::message::{Message, NewMessage};
use crate::page::Page;
use crate::reader::Reader;
use crate::receipts::{Receipt, ReceiptState, ReceiptSummary};
use crate::store::Store;

/// Most inserts committed in one transaction: bounds how long the first
/// caller of a batch waits for the others' rows (a row is a few µs; the
/// COMMIT's fsync dominates) and the size of one transaction.
pub const MAX_BATCH: usize = 128;

type Job = Box<dyn FnOnce(&mut Store) + Send>;
type InsertReply = oneshot::Sender<Result<Message>>;

enum Request {
    Job(Job),
    /// Kept apart from [`Request::Job`] so that queued inserts can share
    /// one transaction; one request's inserts always do (see
    /// [`StoreHandle::queue_together`]).
    Insert(Vec<(NewMessage, InsertReply)>),
    Close(oneshot::Sender<()>),
}

/// A cheap, cloneable handle to a store served by its own thread.
#[derive(Debug, Clone)]
pub struct StoreHandle {
    tx: mpsc::Sender<Request>,
    reader: Option<Reader>,
    /// Set by the writer while messages wait for the full-text index, so a
    /// search asks the writer to catch up only when there is something to do.
    unindexed: Arc<AtomicBool>,
}

impl StoreHandle {
    /// Opens the store at `path` (on the calling thread, so that errors
    /// come back here) and starts its writer and its reader.
    pub fn open(path: impl AsRef<Path>) -> Result<StoreHandle> {
        let path = path.as_ref();
        let mut handle = StoreHandle::spawn(Store::open(path)?)?;
        handle.reader = Some(Reader::open(path)?);
        Ok(handle)
    }

    /// Starts a thread serving `store`.
    pub fn spawn(mut store: Store) -> Result<StoreHandle> {
        let (tx, rx) = mpsc::channel::<Request>();
        let unindexed_flag = Arc::new(AtomicBool::new(true));
        let flag = unindexed_flag.clone();
        std::thread::Builder::new()
            .name("messngr-store".into())
            .spawn(move || {
                // A request taken off the queue while collecting a batch,
                // served after that batch.
                let mut next: Option<Request> = None;
                let mut indexer = Indexer {
                    waiting: 1, // whatever an earlier run left, if any
                    retry_at: None,
                    flag,
                };
                loop {
                    let req = match next.take() {
                        Some(r) => r,
                        None if indexer.waiting > 0 => match rx.recv_timeout(INDEX_WHEN_IDLE) {
                            Ok(r) => r,
                            Err(mpsc::RecvTimeoutError::Timeout) => {
                                indexer.run(&mut store);
                                continue;
                            }
                            Err(mpsc::RecvTimeoutError::Disconnected) => return,
                        },
                        None => match rx.recv() {
                            Ok(r) => r,
                            Err(_) => return,
                        },
                    };
                    match req {
                        // A panicking job drops its own answer (its caller
                        // sees Closed); the store keeps serving the others.
                        Request::Job(job) => {
                            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut store)));
                        }
                        Request::Insert(mut batch) => {
                            while batch.len() < MAX_BATCH {
                                match rx.try_recv() {
                                    Ok(Request::Insert(more)) => batch.extend(more),
                                    Ok(other) => {
                                        next = Some(other);
                                        break;
                                    }
                                    Err(_) => break,
                                }
                            }
                            indexer.added(batch.len());
                            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| {
                                insert_batch(&mut store, batch);
                            }));
                            if indexer.waiting >= INDEX_BATCH {
                                indexer.run(&mut store);
                            }
                        }
                        Request::Close(done) => {
                            drop(store);
                            let _ = done.send(());
                            return;
                        }
                    }
                }
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start the store thread: {e}")))?;
        Ok(StoreHandle {
            tx,
            reader: None,
            unindexed: unindexed_flag,
        })
    }

    fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T> + Send + 'static,
    ) -> Result<oneshot::Receiver<Result<T>>> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |store| {
            let _ = reply.send(f(store));
        });
        self.tx
            .send(Request::Job(job))
            .map_err(|_| StoreError::Closed)?;
        Ok(answer)
    }

    /// Runs `f` on the store's thread and returns its result.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.submit(f)?.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs the query `f` on the reader (the writer's thread when there is
    /// none) and returns its result.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        match &self.reader {
            Some(r) => r.submit(f)?.await.map_err(|_| StoreError::Closed)?,
            None => self.run(move |s| f(s)).await,
        }
    }

    /// As [`StoreHandle::run`], blocking the calling thread (not for use
    /// inside an async runtime: tokio panics there).
    pub fn run_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.submit(f)?
            .blocking_recv()
            .map_err(|_| StoreError::Closed)?
    }

    /// [`Store::insert`]: resolves after the message is committed to disk
    /// (possibly in one transaction with other inserts queued at the same
    /// time; see the module docs).
    pub async fn insert(&self, m: NewMessage) -> Result<Message> {
        self.queue_insert(m).await
    }

    /// Queues `m` for insertion now, when called — so that inserts are
    /// stored in the order of the calls even if their futures are awaited
    /// elsewhere or later — and returns the answer to await: as
    /// [`StoreHandle::insert`], `Ok` only after the COMMIT holding it.
    pub fn queue_insert(
        &self,
        m: NewMessage,
    ) -> impl Future<Output = Result<Message>> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let queued = self.tx.send(Request::Insert(vec![(m, reply)])).is_ok();
        inserted(queued, answer)
    }

    /// Queues `first` and `second` as one job, so that one transaction
    /// holds both, and returns their answers as [`StoreHandle::queue_insert`]
    /// does; each is stored or refused on its own (a duplicate uuid, a
    /// full quota), as in any batch.
    ///
    /// Why one job: a message and the sender's copy that tracks it were two
    /// requests, and the store thread, woken by the first, often began its
    /// batch before the second was queued: two COMMITs, two fsyncs, one
    /// after the other, for every message a local account sent here.
    pub fn queue_together(
        &self,
        first: NewMessage,
        second: NewMessage,
    ) -> (
        impl Future<Output = Result<Message>> + Send + 'static,
        impl Future<Output = Result<Message>> + Send + 'static,
    ) {
        let (reply1, answer1) = oneshot::channel();
        let (reply2, answer2) = oneshot::channel();
        let queued = self
            .tx
            .send(Request::Insert(vec![(first, reply1), (second, reply2)]))
            .is_ok();
        (inserted(queued, answer1), inserted(queued, answer2))
    }

    /// [`Store::set_quota`], queued now: every insert queued after this
    /// call is checked against `quota` (nothing to wait for).
    pub fn set_quota(&self, quota: crate::Quota) -> Result<()> {
        let job: Job = Box::new(move |store| store.set_quota(quota));
        self.tx
            .send(Request::Job(job))
            .map_err(|_| StoreError::Closed)
    }

    /// [`Store::expire_read`]: one batch, one job on the writer (inserts
    /// queued meanwhile go between batches).
    pub async fn expire_read(&self, before: i64, limit: u32) -> Result<usize> {
        self.run(move |s| s.expire_read(before, limit)).await
    }

    /// [`Store::list`].
    pub async fn list(&self, filter: Filter) -> Result<Vec<Message>> {
        self.read(move |s| s.list(&filter)).await
    }

    /// [`Store::get`].
    pub async fn get(&self, id: i64) -> Result<Message> {
        self.read(move |s| s.get(id)).await
    }

    /// [`Store::mark_read`].
    pub async fn mark_read(&self, id: i64) -> Result<Message> {
        self.run(move |s| s.mark_read(id)).await
    }

    /// [`Store::delete`].
    pub async fn delete(&self, id: i64) -> Result<()> {
        self.run(move |s| s.delete(id)).await
    }

    /// [`Store::count`] (the filter's scope, `before` and `max_priority`
    /// included).
    pub async fn count(&self, filter: Filter) -> Result<u64> {
        self.read(move |s| s.count(&filter)).await
    }

    /// [`Store::page`]: the newest `limit` messages of `filter`, oldest
    /// first, and how many older ones match.
    pub async fn page(&self, filter: Filter, limit: u32) -> Result<Page> {
        self.read(move |s| s.page(&filter, limit)).await
    }

    /// [`Store::search`]: as [`StoreHandle::page`], of the messages holding
    /// every word of `text`. The writer first indexes what waits (normally
    /// fewer than [`INDEX_BATCH`], see `derived.rs`; at most four times
    /// that), so every message stored before the call is found.
    pub async fn search(&self, text: String, filter: Filter, limit: u32) -> Result<Page> {
        // Bounded: normally fewer than INDEX_BATCH wait; if the indexer
        // kept failing, a search must not hold the writer for all of them.
        if self.unindexed.load(Ordering::Acquire) {
            self.run(|s| s.index_pending(4 * INDEX_BATCH)).await?;
        }
        self.read(move |s| s.search(&text, &filter, limit)).await
    }

    /// [`Store::export_page`]: up to `n` messages of `scope` with an id
    /// above `after`, ascending. One call is one job on the reader, so an
    /// export page by page lets other readers in between.
    pub async fn export_page(&self, scope: Scope, after: i64, n: u32) -> Result<Vec<Message>> {
        self.read(move |s| s.export_page(&scope, after, n)).await
    }

    /// [`Store::count_unread`].
    pub async fn count_unread(&self) -> Result<u64> {
        self.read(|s| s.count_unread()).await
    }

    /// [`Store::set_receipt`].
    pub async fn set_receipt(
        &self,
        uuid: String,
        recipient: String,
        state: ReceiptState,
        at: i64,
    ) -> Result<bool> {
        self.run(move |s| s.set_receipt(&uuid, &recipient, state, at))
            .await
    }

    /// [`Store::add_recipients`].
    pub async fn add_recipients(
        &self,
        uuid: String,
        recipients: Vec<String>,
        at: i64,
    ) -> Result<usize> {
        self.run(move |s| s.add_recipients(&uuid, &recipients, at))
            .await
    }

    /// [`Store::receipts`].
    pub async fn receipts(&self, uuid: String) -> Result<Vec<Receipt>> {
        self.read(move |s| s.receipts(&uuid)).await
    }

    /// [`Store::unread_recipients`].
    pub async fn unread_recipients(&self, uuid: String) -> Result<Vec<String>> {
        self.read(move |s| s.unread_recipients(&uuid)).await
    }

    /// [`Store::find_by_uuid`].
    pub async fn find_by_uuid(&self, uuid: String) -> Result<Option<Message>> {
        self.read(move |s| s.find_by_uuid(&uuid)).await
    }

    /// [`Store::update_notice`].
    pub async fn update_notice(
        &self,
        uuid: String,
        author: String,
        text: String,
        signed: Option<Vec<u8>>,
        at: i64,
    ) -> Result<Vec<Message>> {
        self.run(move |s| s.update_notice(&uuid, &author, &text, signed.as_deref(), at))
            .await
    }

    /// [`Store::retract_notice`].
    pub async fn retract_notice(
        &self,
        uuid: String,
        author: String,
        signed: Option<Vec<u8>>,
        at: i64,
    ) -> Result<Vec<Message>> {
        self.run(move |s| s.retract_notice(&uuid, &author, signed.as_deref(), at))
            .await
    }

    /// [`Store::set_repeats`].
    pub async fn set_repeats(
        &self,
        uuid: String,
        author: String,
        repeats: u32,
    ) -> Result<Vec<Message>> {
        self.run(move |s| s.set_repeats(&uuid, &author, repeats))
            .await
    }

    /// [`Store::change_sent`].
    pub async fn change_sent(
        &self,
        id: i64,
        text: Option<String>,
        at: i64,
    ) -> Result<Option<Message>> {
        self.run(move |s| s.change_sent(id, text.as_deref(), at))
            .await
    }

    /// [`Store::receipt_summary`].
    pub async fn receipt_summary(&self, uuid: String) -> Result<ReceiptSummary> {
        self.read(move |s| s.receipt_summary(&uuid)).await
    }

    /// [`Store::unread_counts`].
    pub async fn unread_counts(&self) -> Result<Vec<(Option<String>, crate::Priority, u64)>> {
        self.read(|s| s.unread_counts()).await
    }

    /// [`Store::set_quiet`].
    pub async fn set_quiet(&self, user: String, on: bool, at: i64) -> Result<bool> {
        self.run(move |s| s.set_quiet(&user, on, at)).await
    }

    /// [`Store::quiet_since`].
    pub async fn quiet_since(&self, user: String) -> Result<Option<i64>> {
        self.read(move |s| s.quiet_since(&user)).await
    }

    /// [`Store::quiet_users`].
    pub async fn quiet_users(&self) -> Result<Vec<String>> {
        self.read(|s| s.quiet_users()).await
    }

    /// Stops the thread after the jobs queued before this call, closing the
    /// database; later calls on any clone fail with [`StoreError::Closed`].
    pub async fn close(&self) -> Result<()> {
        if let Some(r) = &self.reader {
            r.close().await?;
        }
        let (done, closed) = oneshot::channel();
        self.tx
            .send(Request::Close(done))
            .map_err(|_| StoreError::Closed)?;
        closed.await.map_err(|_| StoreError::Closed)
    }
}

/// How long the writer waits for work before it indexes what waits.
const INDEX_WHEN_IDLE: std::time::Duration = std::time::Duration::from_millis(100);

/// How long the writer waits before it tries to index again after a
/// failure (the next search tries at once, and reports the error).
const INDEX_RETRY: std::time::Duration = std::time::Duration::from_secs(10);

/// The writer's view of the full-text index: how many stored messages may
/// wait for it.
struct Indexer {
    waiting: usize,
    retry_at: Option<std::time::Instant>,
    flag: Arc<AtomicBool>,
}

impl Indexer {
    /// `n` messages were queued for storing. The flag goes up before they
    /// are committed, so a search after their acknowledgement sees it.
    fn added(&mut self, n: usize) {
        self.waiting += n;
        self.flag.store(true, Ordering::Release);
    }

    /// Indexes up to [`INDEX_BATCH`] waiting messages; after a failure,
    /// tries again no sooner than [`INDEX_RETRY`].
    fn run(&mut self, store: &mut Store) {
        if self.retry_at.is_some_and(|t| std::time::Instant::now() < t) {
            return;
        }
        match std::panic::catch_unwind(AssertUnwindSafe(|| store.index_pending(INDEX_BATCH))) {
            Ok(Ok(n)) if n < INDEX_BATCH => {
                self.waiting = 0;
                self.retry_at = None;
                self.flag.store(false, Ordering::Release);
            }
            Ok(Ok(_)) => self.waiting = self.waiting.saturating_sub(INDEX_BATCH).max(1),
            _ => self.retry_at = Some(std::time::Instant::now() + INDEX_RETRY),
        }
    }
}

/// The answer to an insert queued (`queued`) on the store thread.
async fn inserted(queued: bool, answer: oneshot::Receiver<Result<Message>>) -> Result<Message> {
    if !queued {
        return Err(StoreError::Closed);
    }
    answer.await.map_err(|_| StoreError::Closed)?
}

/// Stores one batch of queued inserts in one transaction and answers every
/// caller: each with its own result, or all with the batch's error.
fn insert_batch(store: &mut Store, batch: Vec<(NewMessage, InsertReply)>) {
    let (messages, replies): (Vec<NewMessage>, Vec<InsertReply>) = batch.into_iter().unzip();
    match store.insert_batch(&messages) {
        Ok(results) => {
            for (result, reply) in results.into_iter().zip(replies) {
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(e.replicate()));
            }
        }
    }
}
