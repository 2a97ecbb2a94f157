//! The store's reader: a second connection, on a thread of its own, for
//! every query that only reads (pages, search, counts, export pages, one
//! message, who is quiet).
//!
//! Why: the writer thread commits every arriving message, and a sender is
//! answered only after that COMMIT. A listing, a search of a common word or
//! an export page queued in front of an insert would delay the answer to a
//! sender — and many callers could stall intake altogether. Under WAL a
//! reader and the writer do not block each other, so reads go here and the
//! writer thread only ever waits for other writes. Everything an insert
//! returned `Ok` for is committed, so a read that starts after it sees it.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::mpsc;

use tokio::sync::oneshot;

use crate::error::{Result, StoreError};
use crate::store::Store;

type Job = Box<dyn FnOnce(&Store) + Send>;

enum Request {
    Job(Job),
    Close(oneshot::Sender<()>),
}

/// A handle to the reader thread.
#[derive(Debug, Clone)]
pub(crate) struct Reader {
    tx: mpsc::Sender<Request>,
}

impl Reader {
    /// Opens a query-only connection to the (already migrated) store at
    /// `path` and starts its thread.
    pub(crate) fn open(path: &Path) -> Result<Reader> {
        let store = Store::open(path)?;
        store.conn_ref().pragma_update(None, "query_only", "ON")?;
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("messngr-store-read".into())
            .spawn(move || {
                while let Ok(req) = rx.recv() {
                    match req {
                        // A panicking job drops its own answer; the others
                        // are served.
                        Request::Job(job) => {
                            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&store)));
                        }
                        Request::Close(done) => {
                            drop(store);
                            let _ = done.send(());
                            return;
                        }
                    }
                }
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start the reader thread: {e}")))?;
        Ok(Reader { tx })
    }

    /// Queues `f` and returns where its answer comes.
    pub(crate) fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
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

    /// Stops the thread after the jobs queued before this call.
    pub(crate) async fn close(&self) -> Result<()> {
        let (done, closed) = oneshot::channel();
        self.tx
            .send(Request::Close(done))
            .map_err(|_| StoreError::Closed)?;
        closed.await.map_err(|_| StoreError::Closed)
    }
}
