//! The HTTP listener: the JSON API (`/v1/…`), and what other parts of the
//! daemon serve over it (ntfy's publish, Alertmanager's webhook, the web
//! inbox).
//!
//! Why connection by connection (hyper-util) rather than `axum::serve`:
//! each connection is judged before a byte of it is parsed — the source
//! policy for a LAN listener, a cap on connections in all and per address
//! — and gets a deadline for its request headers, so that a slow client
//! (slow-loris) holds a connection for seconds, not forever. What a
//! request may do is the same as over the Unix socket: every route turns
//! it into a `messngr_api::Request` and asks `server::Services`, as the
//! account its token belongs to; nothing here is a second implementation
//! of sending or of the inbox.

mod alertmanager;
mod api;
mod auth;
mod ntfy;
mod reply;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::server::{Feed, Services};

/// How long a client has to send a request's headers.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections open at once, in all.
pub(crate) const MAX_CONNECTIONS: usize = 512;
/// Connections open at once from one address.
pub(crate) const MAX_PER_ADDRESS: usize = 32;
/// How long open connections get to finish when the daemon stops.
const GRACE: Duration = Duration::from_secs(2);

/// What every route may use.
#[derive(Clone)]
pub(crate) struct App {
    /// The daemon's services, as the Unix socket's callers get them.
    pub(crate) services: Services,
    /// New messages, for `/v1/events`.
    pub(crate) feed: Feed,
    /// Stops event streams when the daemon stops.
    pub(crate) stop: CancellationToken,
}

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot listen for HTTP on {addr}: {source} (another program has the port? set [http] listen, or listen = [] to turn it off)"
)]
pub struct BindError {
    addr: SocketAddr,
    source: std::io::Error,
}

/// Binds every configured address (before the daemon gives up root, so
/// that a port below 1024 works).
pub(crate) async fn bind(addrs: &[SocketAddr]) -> Result<Vec<TcpListener>, BindError> {
    let mut out = Vec::new();
    for &addr in addrs {
        let l = TcpListener::bind(addr)
            .await
            .map_err(|source| BindError { addr, source })?;
        out.push(l);
    }
    Ok(out)
}

/// The routes, with the body limit.
fn router(app: App, max_body: usize) -> Router {
    api::routes()
        .merge(ntfy::routes())
        .merge(alertmanager::routes())
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(app)
}

/// Connections held, in all and by address.
#[derive(Clone)]
struct Held {
    all: Arc<Semaphore>,
    by_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One address's place, given back when dropped.
struct Place {
    ip: IpAddr,
    by_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
    _all: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut map = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

impl Held {
    fn take(&self, ip: IpAddr) -> Option<Place> {
        let all = self.all.clone().try_acquire_owned().ok()?;
        let mut map = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_default();
        if *n >= MAX_PER_ADDRESS {
            return None;
        }
        *n += 1;
        Some(Place {
            ip,
            by_address: self.by_address.clone(),
            _all: all,
        })
    }
}

/// Serves HTTP on `listeners` until `stop` is cancelled.
pub(crate) async fn serve(
    listeners: Vec<TcpListener>,
    app: App,
    max_body: usize,
    stop: CancellationToken,
) {
    let router = router(app.clone(), max_body);
    let held = Held {
        all: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        by_address: Arc::default(),
    };
    let tasks = TaskTracker::new();
    for listener in listeners {
        if let Ok(a) = listener.local_addr() {
            tracing::info!("HTTP API on http://{a}/ (tokens: messngr token create)");
        }
        tasks.spawn(accept(
            listener,
            router.clone(),
            app.services.policy.clone(),
            held.clone(),
            tasks.clone(),
            stop.clone(),
        ));
    }
    stop.cancelled().await;
    tasks.close();
    tasks.wait().await;
}

async fn accept(
    listener: TcpListener,
    router: Router,
    policy: Arc<crate::policy::Policy>,
    held: Held,
    tasks: TaskTracker,
    stop: CancellationToken,
) {
    loop {
        let (tcp, peer) = tokio::select! {
            () = stop.cancelled() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("HTTP: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Loopback is this host's own; anything else is the LAN, judged
        // as TCP 139 is (the refusal is counted and logged there).
        if !peer.ip().is_loopback() && policy.admit_source("HTTP", peer.ip()).is_err() {
            continue;
        }
        let Some(place) = held.take(peer.ip()) else {
            tracing::debug!("HTTP: {peer} over the connection cap, closed");
            continue;
        };
        tasks.spawn(connection(tcp, peer, router.clone(), place, stop.clone()));
    }
}

/// One connection: HTTP/1.1 with keep-alive and a header deadline, until
/// the client closes or the daemon stops.
async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    place: Place,
    stop: CancellationToken,
) {
    let service = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        async move {
            use tower_service::Service;
            router.call(req.map(axum::body::Body::new)).await
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(tcp), service);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!("HTTP: {peer}: {e}");
            }
        }
        () = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(GRACE, conn).await;
        }
    }
    drop(place);
}
