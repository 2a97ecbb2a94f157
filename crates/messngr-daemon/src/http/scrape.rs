//! `GET /metrics` for Prometheus, and the count of HTTP requests it shows.
//!
//! Why only root and admins: the counters are the host's, not the
//! token's account's — how many messages every user got, from which
//! transports, which refusals — so a token reads them only when its
//! account may see every message (root, the daemon's user, `admin_group`).
//! Anyone else gets a 403 that says so. Prometheus sends the token as
//! `authorization: credentials: tk_…` (a Bearer header), like every client.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use messngr_api::{ApiError, ErrorKind};
use messngr_store::{Direction, Filter};

use super::App;
use super::auth::Auth;
use super::reply::Failure;
use crate::metrics::{self, Gauges, Scrape};

/// HTTP requests answered, by (route pattern, status).
#[derive(Debug, Default)]
pub(crate) struct Requests(Mutex<BTreeMap<(String, u16), u64>>);

impl Requests {
    pub(super) fn add(&self, route: &str, status: StatusCode) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((route.to_owned(), status.as_u16())).or_default() += 1;
    }

    fn snapshot(&self) -> Vec<((String, u16), u64)> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

/// Counts every request by the route it matched (its pattern, never the
/// path: `/v1/messages/{id}`, not one label per message) and its status.
pub(super) async fn count(State(app): State<App>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(request).await;
    app.requests.add(&route, response.status());
    response
}

/// `GET /metrics`.
pub(super) async fn metrics(State(app): State<App>, auth: Auth) -> Result<Response, Failure> {
    if !app.services.inbox.access().caller(auth.uid).admin {
        return Err(Failure(
            ApiError::new(
                ErrorKind::Denied,
                format!(
                    "/metrics shows the whole host's counters: only a token of root, the daemon's user or admin_group may read it ({} may not)",
                    auth.user
                ),
            ),
            None,
        ));
    }
    let gauges = gauges(&app).await;
    let services = &app.services;
    let text = metrics::render(&Scrape {
        flow: services.inbox.flow(),
        refusals: services.policy.refusals(),
        delivered: &services.delivered,
        http: app.requests.snapshot(),
        gauges,
    });
    Ok(([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response())
}

async fn gauges(app: &App) -> Gauges {
    let inbox = &app.services.inbox;
    let count = |direction| {
        inbox.handle().count(Filter {
            direction,
            ..Filter::default()
        })
    };
    let stored = match (count(Direction::In).await, count(Direction::Out).await) {
        (Ok(i), Ok(o)) => Some((i, o)),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!("/metrics: the store's counts failed: {e}");
            None
        }
    };
    let size = |suffix: &str| {
        let mut p = inbox.path().as_os_str().to_owned();
        p.push(suffix);
        std::fs::metadata(p).map_or(0, |m| m.len())
    };
    let delivery_queue = app
        .services
        .deliveries
        .as_ref()
        .and_then(tokio::sync::mpsc::WeakSender::upgrade)
        .map(|tx| (tx.max_capacity() - tx.capacity(), tx.max_capacity()));
    Gauges {
        inbox_in_flight: inbox.in_flight(),
        delivery_queue,
        stored,
        store_bytes: (size(""), size("-wal")),
        uptime_secs: app.started.elapsed().as_secs(),
    }
}
