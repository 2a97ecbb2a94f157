//! Signing in and out of the web inbox: with a token typed into the form,
//! or with `messngr web`'s one-time link; out with a form post.
//!
//! Why the form post is checked for its origin too: a page elsewhere must
//! not sign a browser in to an account of the attacker's choosing (login
//! CSRF). The cookie is set only here, HttpOnly and SameSite=Strict, and
//! without `Secure` because the listener speaks plain HTTP (on loopback).

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::super::App;
use super::super::peer::Peer;
use super::{failure, guard, html, page};

/// A new session for token `token_id`, bound to the account of the
/// browser's connection: the cookie, and on to the inbox.
fn open(app: &App, token_id: u32, peer: Peer) -> Response {
    let Ok(opener) = peer.binding() else {
        return html(
            StatusCode::FORBIDDEN,
            page::login(Some(
                "this host cannot tell which account your browser runs as: use a token instead",
            )),
        );
    };
    match app.services.web.open(token_id, opener) {
        Ok((id, _)) => (
            [(header::SET_COOKIE, guard::set_cookie(Some(&id)))],
            Redirect::to("/web/"),
        )
            .into_response(),
        Err(e) => failure(None, StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Code {
    code: Option<String>,
}

/// `GET /web/login?code=…`: `messngr web`'s link, good once.
pub(super) async fn with_code(
    State(app): State<App>,
    peer: Peer,
    headers: HeaderMap,
    query: Result<Query<Code>, axum::extract::rejection::QueryRejection>,
) -> Response {
    // Typed or clicked by the user, never sent by another page (login CSRF).
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site.is_some_and(|s| s != "none" && s != "same-origin") {
        return html(
            StatusCode::FORBIDDEN,
            page::login(Some(
                "a sign-in link must be opened by you, not by another page",
            )),
        );
    }
    let Some(code) = query.ok().and_then(|Query(c)| c.code) else {
        return Redirect::to("/web/").into_response();
    };
    let by = peer.binding().ok().flatten();
    match app.services.web.redeem(&code, by) {
        Some(token_id) if app.services.tokens.by_id(token_id).is_some() => {
            open(&app, token_id, peer)
        }
        _ => html(
            StatusCode::UNAUTHORIZED,
            page::login(Some(
                "this sign-in link was used already, has expired, or its token was revoked: run `messngr web` again",
            )),
        ),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct TokenForm {
    token: String,
}

/// `POST /web/login`: the form with a token.
pub(super) async fn with_token(
    State(app): State<App>,
    peer: Peer,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    if let Err(why) = guard::same_origin(&headers) {
        return html(StatusCode::FORBIDDEN, page::login(Some(why)));
    }
    let Ok(Form(f)) = form else {
        return html(
            StatusCode::BAD_REQUEST,
            page::login(Some("give a token (`messngr token create` makes one)")),
        );
    };
    match app.services.tokens.check(f.token.trim()) {
        Some((id, uid, user)) if super::super::auth::same_account(uid, &user) => {
            tracing::info!("HTTP: {user} signed in to the web inbox");
            open(&app, id, peer)
        }
        Some(_) => html(
            StatusCode::UNAUTHORIZED,
            page::login(Some(
                "the token's account is gone or renamed: make a new token",
            )),
        ),
        None => html(
            StatusCode::UNAUTHORIZED,
            page::login(Some(
                "the token is not valid (revoked, or mistyped): `messngr token list`",
            )),
        ),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct CsrfForm {
    csrf: Option<String>,
}

/// `POST /web/logout`.
pub(super) async fn logout(
    State(app): State<App>,
    peer: Peer,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let Some(b) = guard::browser(&app, &headers, peer) else {
        return super::sign_in_first();
    };
    let csrf = form.ok().and_then(|Form(f)| f.csrf);
    if let Err(why) = guard::may_change(&b, &headers, csrf.as_deref()) {
        return failure(Some(&b), StatusCode::FORBIDDEN, why);
    }
    app.services.web.close(&b.session_id);
    (
        [(header::SET_COOKIE, guard::set_cookie(None))],
        Redirect::to("/web/"),
    )
        .into_response()
}
