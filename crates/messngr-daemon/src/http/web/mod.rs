//! The web inbox (`/web/…`): sign in, the inbox with paging and search,
//! reading, replying, writing with name lookup, export, and live updates
//! (the page's script follows `/v1/events` with the session cookie).
//!
//! Why server-rendered pages and a few lines of script, embedded in the
//! binary: nothing to build (no Node chain), nothing to install beside the
//! daemon, and every page works as plain HTML forms; the script only adds
//! what arrives while a page is open. Every action is a `messngr_api`
//! request answered by `Services` as the session's account — the same as
//! the CLI and `/v1` — so the web inbox is no second implementation of
//! anything. Module map: `guard` (sessions, CSRF, origin, headers),
//! `session` (sign in and out), `inbox` (the pages), `page` (HTML).

pub(super) mod guard;
mod inbox;
mod page;
mod session;

pub(crate) use guard::{Browser, browser, may_change};

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use messngr_api::{ApiError, Reply, Request};
use serde::de::DeserializeOwned;

use super::App;

/// The page's script, embedded.
const APP_JS: &str = include_str!("static/app.js");
/// The page's style, embedded.
const APP_CSS: &str = include_str!("static/app.css");

/// The `/web` routes (and `/`, which leads there).
pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/web/") }))
        .route("/web", get(|| async { Redirect::to("/web/") }))
        .route("/web/", get(inbox::inbox))
        .route(
            "/web/login",
            get(session::with_code).post(session::with_token),
        )
        .route("/web/logout", post(session::logout))
        .route("/web/m/{id}", get(inbox::read))
        .route("/web/m/{id}/reply", post(inbox::reply))
        .route("/web/compose", get(inbox::compose))
        .route("/web/send", post(inbox::send))
        .route("/web/export", get(inbox::export))
        .route(
            "/web/static/app.js",
            get(|| async { asset(APP_JS, "text/javascript") }),
        )
        .route(
            "/web/static/app.css",
            get(|| async { asset(APP_CSS, "text/css") }),
        )
}

/// The headers every response of the listener carries (CSP, nosniff,
/// no referrer, no framing).
pub(super) use guard::protect;

fn asset(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// An HTML page with `status`, never cached (it shows messages).
fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// A refusal or failure as a page, with the status its kind has on `/v1`.
fn failure(b: Option<&Browser>, status: StatusCode, why: &str) -> Response {
    let signed_in = b.map(|b| (b.auth.user.as_str(), b.csrf.as_str()));
    html(status, page::error(signed_in, why))
}

/// An API error as a page.
fn api_failure(b: &Browser, e: &ApiError) -> Response {
    failure(Some(b), super::reply::status(e.kind), &e.message)
}

/// Asks the services as `uid`, typed, paced as `/v1` is.
async fn call<T: DeserializeOwned>(
    app: &App,
    uid: u32,
    request: impl Into<Request>,
) -> Result<T, ApiError> {
    let line = app.answer(uid, request.into()).await;
    match serde_json::from_slice::<Reply<T>>(&line) {
        Ok(Reply::Ok(t)) => Ok(t),
        Ok(Reply::Error(e)) => Err(e),
        Err(e) => Err(ApiError::new(
            messngr_api::ErrorKind::Unknown,
            format!("the daemon's answer did not parse: {e}"),
        )),
    }
}

/// Where a request without a session goes: the sign-in page.
fn sign_in_first() -> Response {
    Redirect::to("/web/").into_response()
}
