//! `/v1/…`: the JSON API — send, list and read messages, and a live event
//! stream — each route a `messngr_api` request answered by the daemon's
//! services as the token's account.
//!
//! Why the same requests as the CLI: `POST /v1/messages` must address as
//! `messngr send` does (`H2`, `*`, `/domain:X`, `/users`, a local user),
//! and `GET /v1/messages` must filter and page as `messngr inbox` does; the
//! API crate already says what each means, and `Services` already answers
//! it with the caller's access rules. A new route adds a mapping, never a
//! second implementation.

use std::convert::Infallible;
use std::net::Ipv4Addr;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use messngr_api::{
    FollowEvent, InboxFilter, InboxList, Priority, Read, ReplyTo, Request, Rm, Search, Send,
};
use serde::Deserialize;

use super::App;
use super::auth::Auth;
use super::reply::{Failure, from_line};

/// The `/v1` routes.
pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/v1/messages", get(list).post(send))
        .route("/v1/messages/{id}", get(read).delete(remove))
        .route("/v1/messages/{id}/reply", axum::routing::post(reply))
        .route("/v1/events", get(events))
}

/// Asks the services as `auth`'s account.
async fn ask(app: &App, auth: &Auth, request: impl Into<Request>) -> Response {
    tracing::debug!("HTTP request as {} (uid {})", auth.user, auth.uid);
    from_line(&app.answer(auth.uid, request.into()).await)
}

/// A JSON body, or a 400 that says what is wrong with it.
fn body<T>(r: Result<axum::Json<T>, JsonRejection>) -> Result<T, Failure> {
    r.map(|axum::Json(t)| t).map_err(|e| {
        let mut f = Failure::bad_request(format!("the JSON body: {}", e.body_text()));
        // 413 for a body over the limit, 415 without the JSON type.
        f.1 = Some(e.status());
        f
    })
}

/// `POST /v1/messages`: what `messngr send` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMessage {
    /// The target, as `messngr send` takes it.
    #[serde(alias = "target")]
    to: String,
    text: String,
    #[serde(default)]
    priority: Option<Priority>,
    /// Seconds the receiver's pop-up stays (`--time`).
    #[serde(default)]
    time: Option<u32>,
    #[serde(default)]
    secure: bool,
    /// Skip the name lookup (`-I`).
    #[serde(default)]
    address: Option<Ipv4Addr>,
    /// `--transport`: auto, smb, mailslot, rpc or native.
    #[serde(default)]
    transport: messngr_api::Via,
    /// Keep a sender's copy, as `messngr send` does, so that the answer
    /// has an `id` to `messngr track`. Off by default: a publisher (a
    /// script, a monitor) has no use for a copy of every publish, and it
    /// would double the inbox's writes and count against its quota.
    #[serde(default)]
    track: bool,
}

async fn send(
    State(app): State<App>,
    auth: Auth,
    json: Result<axum::Json<NewMessage>, JsonRejection>,
) -> Result<Response, Failure> {
    let m = body(json)?;
    let request = Send {
        target: m.to,
        text: m.text,
        address: m.address,
        priority: m.priority,
        popup_secs: m.time,
        secure: m.secure,
        transport: m.transport,
        untracked: !m.track,
        expires_secs: None,
    };
    Ok(ask(&app, &auth, request).await)
}

/// `GET /v1/messages`: `messngr inbox`'s filters, and `q` for `messngr
/// search`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Listing {
    #[serde(default)]
    unread: bool,
    from: Option<String>,
    since: Option<i64>,
    limit: Option<u32>,
    before: Option<i64>,
    q: Option<String>,
    /// A token in the query (ntfy's `auth`), read by [`Auth`].
    #[serde(default, rename = "auth")]
    _auth: Option<String>,
}

async fn list(
    State(app): State<App>,
    auth: Auth,
    query: Result<Query<Listing>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Failure> {
    let Query(l) = query.map_err(|e| Failure::bad_request(e.body_text()))?;
    let filter = InboxFilter {
        unread: l.unread,
        from: l.from,
        since: l.since,
        limit: l.limit,
        before: l.before,
    };
    Ok(match l.q {
        Some(text) => ask(&app, &auth, Search { text, filter }).await,
        None => ask(&app, &auth, InboxList { filter }).await,
    })
}

/// `GET /v1/messages/ID`: the message, marked read (as `messngr read`).
async fn read(State(app): State<App>, auth: Auth, Path(id): Path<i64>) -> Response {
    ask(&app, &auth, Read { id }).await
}

/// `DELETE /v1/messages/ID`.
async fn remove(State(app): State<App>, auth: Auth, Path(id): Path<i64>) -> Response {
    ask(&app, &auth, Rm { id }).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    text: String,
}

/// `POST /v1/messages/ID/reply`: `{"text": …}` to its sender.
async fn reply(
    State(app): State<App>,
    auth: Auth,
    Path(id): Path<i64>,
    json: Result<axum::Json<Answer>, JsonRejection>,
) -> Result<Response, Failure> {
    let a = body(json)?;
    Ok(ask(&app, &auth, ReplyTo { id, text: a.text }).await)
}

/// `GET /v1/events`: Server-Sent Events — `message` for each new message
/// the account may see, `update` when one changed (a live notice),
/// `receipt` when a recipient of a message it sent got or read it, `quiet`
/// for its do-not-disturb, `lagged` when it fell behind (then list again).
async fn events(State(app): State<App>, auth: Auth) -> Result<impl IntoResponse, Failure> {
    // A stream holds a connection for as long as it lasts: a few per
    // account, so that one account cannot hold every connection.
    let Some(held) = app.streams.take(auth.uid) else {
        let mut f = Failure::bad_request(format!(
            "this account has {} event streams open already: close one",
            super::MAX_STREAMS_PER_ACCOUNT
        ));
        f.1 = Some(axum::http::StatusCode::TOO_MANY_REQUESTS);
        return Err(f);
    };
    let subscription = app
        .feed
        .subscribe(auth.uid)
        .counting(app.services.delivered.clone(), crate::people::Sink::Http);
    let live = Live {
        app: app.clone(),
        token: auth.token,
        _held: held,
    };
    let state = (subscription, live);
    let stream = futures_lite::stream::unfold(state, |(mut sub, live)| async move {
        let event = loop {
            tokio::select! {
                () = live.app.stop.cancelled() => return None,
                e = sub.next() => break e?,
                // A revoked token's stream ends within a check.
                () = tokio::time::sleep(REVOKED_CHECK) => {
                    if !live.app.services.tokens.is_live(live.token) {
                        return None;
                    }
                }
            }
        };
        if !live.app.services.tokens.is_live(live.token) {
            return None;
        }
        let (name, data) = match &event {
            FollowEvent::Message(m) if m.updated_at_ms.is_some() || m.retracted_at_ms.is_some() => {
                ("update", serde_json::to_string(m))
            }
            FollowEvent::Message(m) => ("message", serde_json::to_string(m)),
            FollowEvent::Quiet(q) => ("quiet", serde_json::to_string(q)),
            FollowEvent::Receipt(r) => ("receipt", serde_json::to_string(r)),
            FollowEvent::Lagged { missed } => (
                "lagged",
                serde_json::to_string(&serde_json::json!({ "missed": missed })),
            ),
        };
        let e = Event::default()
            .event(name)
            .data(data.unwrap_or_else(|_| "{}".into()));
        Some((Ok::<_, Infallible>(e), (sub, live)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// How often an idle event stream checks that its token still holds.
const REVOKED_CHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// What an open event stream holds: its token's number (checked), its
/// place among the account's streams.
struct Live {
    app: App,
    token: u32,
    _held: super::Stream,
}
