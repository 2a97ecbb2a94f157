//! The HTTP listener: the JSON API (`/v1/…`), `/metrics` for Prometheus,
//! and what other parts of the daemon serve over it (ntfy's publish,
//! Alertmanager's webhook, the web inbox).
//!
//! Why connection by connection (hyper-util) rather than `axum::serve`:
//! each connection is judged before a byte of it is parsed — the source
//! policy for a LAN listener, a cap on connections in all and per address
//! — and gets a deadline for its request headers, so that a slow client
//! (slow-loris) holds a connection for seconds, not forever. What a
//! request may do is the same as over the Unix socket: every route turns
//! it into a `messngr_api::Request` and asks `server::Services`, as the
//! account its token belongs to; nothing here is a second implementation
//! of sending or of the inbox. Every response carries a strict
//! Content-Security-Policy, nosniff and a same-origin referrer policy (`web::guard`).

mod alertmanager;
mod api;
mod auth;
mod guard;
mod ntfy;
pub(crate) mod peer;
mod reply;
mod scrape;
mod web;

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
/// Event streams one account may hold open.
pub(crate) const MAX_STREAMS_PER_ACCOUNT: usize = 8;
/// How long open connections get to finish when the daemon stops.
const GRACE: Duration = Duration::from_secs(2);

/// What every route may use: one [`AppState`] behind an `Arc`, because
/// axum clones the state for every extractor of every request (a dozen
/// reference counts each time, when the state was cloned field by field).
#[derive(Clone)]
pub(crate) struct App(Arc<AppState>);

impl App {
    pub(crate) fn new(state: AppState) -> App {
        App(Arc::new(state))
    }
}

impl std::ops::Deref for App {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.0
    }
}

/// What [`App`] holds.
pub(crate) struct AppState {
    /// The daemon's services, as the Unix socket's callers get them.
    pub(crate) services: Services,
    /// New messages, for `/v1/events`.
    pub(crate) feed: Feed,
    /// Stops event streams when the daemon stops.
    pub(crate) stop: CancellationToken,
    /// How fast each account may ask (`api_rate_limit`, as on the Unix
    /// socket: over it, answers come late, never refused).
    pub(crate) rates: crate::server::Rates,
    /// Event streams open, by account.
    pub(crate) streams: Streams,
    /// Requests answered, by route and status (`/metrics`).
    pub(crate) requests: Arc<scrape::Requests>,
    /// When the daemon started (`/metrics`' uptime).
    pub(crate) started: std::time::Instant,
}

impl App {
    /// Answers `request` as the account `uid`, paced by its rate: every
    /// route asks through here, so none (ntfy, Alertmanager, the web
    /// pages) goes around `api_rate_limit`.
    pub(crate) async fn answer(&self, uid: u32, request: messngr_api::Request) -> Vec<u8> {
        self.pace(uid).await;
        self.services.answer(uid, request).await
    }

    /// Waits as long as `uid`'s rate asks before a request is answered
    /// (`api_rate_limit`: late, never refused).
    async fn pace(&self, uid: u32) {
        let wait = self.rates.delay(uid, std::time::Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Event streams open, by account.
#[derive(Clone, Default)]
pub(crate) struct Streams(Arc<Mutex<HashMap<u32, usize>>>);

/// One open stream, given back when dropped.
pub(crate) struct Stream {
    uid: u32,
    streams: Streams,
}

impl Streams {
    /// A place for one more stream of `uid`, if it has fewer than the cap.
    pub(crate) fn take(&self, uid: u32) -> Option<Stream> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(uid).or_default();
        if *n >= MAX_STREAMS_PER_ACCOUNT {
            return None;
        }
        *n += 1;
        Some(Stream {
            uid,
            streams: self.clone(),
        })
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let mut map = self.streams.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.uid) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.uid);
            }
        }
    }
}

/// Binds every configured address (before the daemon gives up root, so
/// that a port below 1024 works). An address that cannot be bound is
/// logged with what to do and left out: the rest of the daemon (NetBIOS,
/// the Unix socket) serves on without it.
pub(crate) async fn bind(addrs: &[SocketAddr]) -> Vec<TcpListener> {
    let mut out = Vec::new();
    for &addr in addrs {
        match TcpListener::bind(addr).await {
            Ok(l) => out.push(l),
            Err(e) if addr.is_ipv6() && e.kind() == std::io::ErrorKind::AddrNotAvailable => {
                tracing::info!("HTTP: no {addr} on this host (IPv6 off): not listening there");
            }
            Err(e) => tracing::error!(
                "HTTP: cannot listen on {addr}: {e} (another program has the port? set [http] listen, or listen = [] to turn HTTP off); serving without it"
            ),
        }
    }
    out
}

/// The routes, with the body limit; every request counted by the route
/// it matched and its status (an unknown path as `other`). A route_layer
/// wraps only the routes above it: add new routes before it.
fn router(app: App, max_body: usize) -> Router {
    api::routes()
        .merge(web::routes())
        .merge(ntfy::routes())
        .merge(alertmanager::routes())
        .route("/metrics", axum::routing::get(scrape::metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            scrape::count,
        ))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(guard::guard))
        // Outermost: the guard's refusals carry the headers too.
        .layer(axum::middleware::map_response(web::protect))
        .with_state(app)
}

/// A path no route serves: 404, counted as `other`.
async fn not_found(axum::extract::State(app): axum::extract::State<App>) -> reply::Failure {
    app.requests.add("other", axum::http::StatusCode::NOT_FOUND);
    reply::Failure(
        messngr_api::ApiError::new(messngr_api::ErrorKind::NotFound, "no such path"),
        None,
    )
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
        // Every local account shares the loopback address: a cap on it
        // would let one of them shut the others out.
        if *n >= MAX_PER_ADDRESS && !ip.is_loopback() {
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
        let ip = peer.ip().to_canonical();
        if !ip.is_loopback() && policy.admit_source("HTTP", ip).is_err() {
            continue;
        }
        let Some(place) = held.take(ip) else {
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
    let ours = tcp.local_addr();
    let loopback = guard::Loopback(
        ours.as_ref()
            .is_ok_and(|a| a.ip().to_canonical().is_loopback()),
    );
    // Which local account this is: asked of the kernel only if a request
    // needs it (a cookie, a sign-in code).
    let who = peer::Peer::of(ours.ok(), peer);
    let service = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(loopback);
        req.extensions_mut().insert(who);
        let mut router = router.clone();
        async move {
            use tower_service::Service;
            router.call(req.map(axum::body::Body::new)).await
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        // Headers are small; hyper's default buffer (~400 KB) times every
        // connection would be memory for the asking.
        .max_buf_size(64 * 1024)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_holds_a_few_event_streams_and_gets_them_back() {
        let streams = Streams::default();
        let held: Vec<Stream> = (0..MAX_STREAMS_PER_ACCOUNT)
            .map(|_| streams.take(1000).unwrap())
            .collect();
        assert!(streams.take(1000).is_none());
        assert!(
            streams.take(1001).is_some(),
            "another account is not held up"
        );
        drop(held);
        assert!(streams.take(1000).is_some());
    }

    #[test]
    fn loopback_is_not_capped_per_address_the_lan_is() {
        let held = Held {
            all: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            by_address: Arc::default(),
        };
        let lan: IpAddr = "10.0.0.9".parse().unwrap();
        let mine: Vec<Place> = (0..MAX_PER_ADDRESS)
            .map(|_| held.take(lan).unwrap())
            .collect();
        assert!(held.take(lan).is_none());
        let local: Vec<Place> = (0..MAX_PER_ADDRESS + 1)
            .map(|_| held.take("127.0.0.1".parse().unwrap()).unwrap())
            .collect();
        drop((mine, local));
        assert!(held.take(lan).is_some());
    }
}
