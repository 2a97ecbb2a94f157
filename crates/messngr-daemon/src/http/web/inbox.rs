//! The web inbox's pages: the inbox (paged, searchable), one message
//! (marked read) with its reply form, writing with name lookup, and the
//! export download.
//!
//! Why forms that post and redirect (303) rather than script: each action
//! works in any browser, the address bar always shows a page that can be
//! reloaded without sending twice, and a state-changing request is a form
//! post the CSRF guard checks in one place ([`super::may_change`]).

use axum::Form;
use axum::body::Body;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use messngr_api::{
    InboxFilter, InboxList, InboxPage, Lookup, MessageView, Read, ReplyTo, Search, Send, SendView,
    Unread, UnreadView,
};
use serde::Deserialize;

use super::super::App;
use super::super::auth::Auth;
use super::super::peer::Peer;
use super::{Browser, api_failure, browser, call, failure, html, may_change, page, sign_in_first};

/// Messages on one page of the inbox.
const PAGE: u32 = 25;

#[derive(Debug, Default, Deserialize)]
pub(super) struct Listing {
    q: Option<String>,
    unread: Option<String>,
    before: Option<i64>,
    sent: Option<String>,
}

/// `GET /web/`: the inbox, or the sign-in page.
pub(super) async fn inbox(
    State(app): State<App>,
    headers: HeaderMap,
    peer: Peer,
    query: Result<Query<Listing>, QueryRejection>,
) -> Response {
    let Some(b) = browser(&app, &headers, peer) else {
        return html(StatusCode::OK, page::login(None));
    };
    let Ok(Query(l)) = query else {
        return failure(Some(&b), StatusCode::BAD_REQUEST, "a malformed query");
    };
    let q = l.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let unread = l.unread.is_some();
    let filter = InboxFilter {
        unread,
        limit: Some(PAGE),
        before: l.before,
        ..InboxFilter::default()
    };
    let uid = b.auth.uid;
    let listed: Result<InboxPage, _> = match q {
        Some(text) => {
            let text = text.to_owned();
            call(&app, uid, Search { text, filter }).await
        }
        None => call(&app, uid, InboxList { filter }).await,
    };
    let listed = match listed {
        Ok(p) => p,
        Err(e) => return api_failure(&b, &e),
    };
    let count: UnreadView = call(&app, uid, Unread {}).await.unwrap_or_default();
    let shown = page::Shown {
        q,
        unread,
        notice: l.sent.as_ref().map(|_| "Message sent."),
    };
    html(
        StatusCode::OK,
        page::inbox(&b.auth.user, &b.csrf, &listed, count, &shown),
    )
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Shown {
    replied: Option<String>,
}

/// `GET /web/m/ID`: one message, marked read.
pub(super) async fn read(
    State(app): State<App>,
    headers: HeaderMap,
    peer: Peer,
    Path(id): Path<i64>,
    query: Result<Query<Shown>, QueryRejection>,
) -> Response {
    let Some(b) = browser(&app, &headers, peer) else {
        return sign_in_first();
    };
    let note = query
        .ok()
        .and_then(|Query(s)| s.replied)
        .map(|_| "Reply sent.");
    match call::<MessageView>(&app, b.auth.uid, Read { id }).await {
        Ok(m) => html(
            StatusCode::OK,
            page::message(&b.auth.user, &b.csrf, &m, note),
        ),
        Err(e) => api_failure(&b, &e),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Text {
    csrf: Option<String>,
    #[serde(default)]
    to: String,
    text: String,
}

/// A form post's fields, once it passed the CSRF guard.
fn checked(
    b: &Browser,
    headers: &HeaderMap,
    form: Result<Form<Text>, FormRejection>,
) -> Result<Text, Response> {
    let form = form.map(|Form(f)| f);
    let csrf = form.as_ref().ok().and_then(|f| f.csrf.as_deref());
    if let Err(why) = may_change(b, headers, csrf) {
        tracing::info!("HTTP: refused a form post of {}: {why}", b.auth.user);
        return Err(failure(Some(b), StatusCode::FORBIDDEN, why));
    }
    form.map_err(|e| failure(Some(b), StatusCode::BAD_REQUEST, &e.body_text()))
}

/// `POST /web/m/ID/reply`: the text, to the message's sender.
pub(super) async fn reply(
    State(app): State<App>,
    headers: HeaderMap,
    peer: Peer,
    Path(id): Path<i64>,
    form: Result<Form<Text>, FormRejection>,
) -> Response {
    let Some(b) = browser(&app, &headers, peer) else {
        return failure(None, StatusCode::FORBIDDEN, "not signed in");
    };
    let f = match checked(&b, &headers, form) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let request = ReplyTo { id, text: f.text };
    match call::<SendView>(&app, b.auth.uid, request).await {
        Ok(_) => Redirect::to(&format!("/web/m/{id}?replied=1")).into_response(),
        Err(e) => api_failure(&b, &e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Compose {
    lookup: Option<String>,
}

/// `GET /web/compose[?lookup=NAME]`: the form, and where NAME is.
pub(super) async fn compose(
    State(app): State<App>,
    headers: HeaderMap,
    peer: Peer,
    query: Result<Query<Compose>, QueryRejection>,
) -> Response {
    let Some(b) = browser(&app, &headers, peer) else {
        return sign_in_first();
    };
    let name = query
        .ok()
        .and_then(|Query(c)| c.lookup)
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    let found = match &name {
        Some(n) => {
            // The Messenger name (suffix 03), as `messngr lookup` asks.
            let request = Lookup {
                name: n.clone(),
                suffix: 0x03,
            };
            Some(call(&app, b.auth.uid, request).await.map_err(|e| e.message))
        }
        None => None,
    };
    let to = name.unwrap_or_default();
    html(
        StatusCode::OK,
        page::compose(&b.auth.user, &b.csrf, &to, found),
    )
}

/// `POST /web/send`: a new message, addressed as `messngr send` takes it.
pub(super) async fn send(
    State(app): State<App>,
    headers: HeaderMap,
    peer: Peer,
    form: Result<Form<Text>, FormRejection>,
) -> Response {
    let Some(b) = browser(&app, &headers, peer) else {
        return failure(None, StatusCode::FORBIDDEN, "not signed in");
    };
    let f = match checked(&b, &headers, form) {
        Ok(f) => f,
        Err(r) => return r,
    };
    // A person's message, kept as `messngr send` keeps it.
    let request = Send::new(f.to.trim(), f.text);
    match call::<Vec<SendView>>(&app, b.auth.uid, request).await {
        Ok(_) => Redirect::to("/web/?sent=1").into_response(),
        Err(e) => api_failure(&b, &e),
    }
}

/// `GET /web/export`: every message the account may see, oldest first,
/// one JSON object a line (as `messngr export`), streamed page by page.
pub(super) async fn export(State(app): State<App>, auth: Auth) -> Response {
    let inbox = app.services.inbox.clone();
    let scope = inbox.scope_of(auth.uid);
    let pages = futures_lite::stream::unfold(Some(0i64), move |after| {
        let (inbox, scope) = (inbox.clone(), scope.clone());
        async move {
            let after = after?;
            match inbox
                .export_page(&scope, after, crate::server::EXPORT_PAGE)
                .await
            {
                Ok(page) => {
                    let last = page.last()?.id;
                    let mut out = Vec::new();
                    for m in &page {
                        if serde_json::to_writer(&mut out, &crate::view::message(m)).is_ok() {
                            out.push(b'\n');
                        }
                    }
                    Some((Ok::<_, std::io::Error>(out), Some(last)))
                }
                Err(e) => {
                    tracing::error!("web export stopped: {e}");
                    Some((Err(std::io::Error::other(e.to_string())), None))
                }
            }
        }
    });
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"messngr-export.jsonl\""),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Body::from_stream(pages),
    )
        .into_response()
}
