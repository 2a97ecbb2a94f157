//! Who a browser is, and whether a request from it may change anything:
//! the session cookie, the per-session CSRF token, the same-origin check,
//! and the headers every response carries (CSP and friends).
//!
//! Why three checks on a state-changing request: the cookie is
//! `SameSite=Strict` (a cross-site page's request does not carry it), the
//! request must carry the session's CSRF token (which only our pages hold),
//! and it must come from our own origin (`Origin`, or `Sec-Fetch-Site:
//! same-origin` where a browser sends `Origin: null`). Pages carry
//! `Referrer-Policy: same-origin`, not `no-referrer`: under `no-referrer` a
//! browser sends `Origin: null` on its own form posts, and sends
//! `Sec-Fetch-Site` only to secure contexts (loopback, not `http://` on a
//! LAN address), so no post from the LAN could have passed. The pages link
//! nowhere else, so nothing leaks. Any one refusing is a 403 that says why;
//! the request changes nothing.

use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;

use super::super::App;
use super::super::auth::{Auth, same_account};
use super::super::peer::Peer;
use crate::websession::same_secret;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "messngr_session";
/// The header `/v1` requests from the page carry the CSRF token in.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// The Content-Security-Policy of every response: nothing but our own
/// script, style and connections; no frames, no forms elsewhere.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A browser signed in: the account, and its session.
#[derive(Debug, Clone)]
pub(crate) struct Browser {
    pub(crate) auth: Auth,
    pub(crate) session_id: String,
    pub(crate) csrf: String,
}

/// The session id in the `Cookie` header(s), if any.
pub(crate) fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// The browser a request comes from, if its session is in force and its
/// token not revoked nor its account gone (such sessions end here).
pub(crate) fn browser(app: &App, headers: &HeaderMap, peer: Peer) -> Option<Browser> {
    let id = cookie(headers)?;
    let session = app.services.web.get(&id)?;
    // Only the account whose browser opened it: another local account's
    // page on 127.0.0.1 gets the same cookie from a shared browser.
    if peer.binding() != Ok(session.opener) {
        tracing::info!(
            "HTTP: a web session's cookie came from another account's connection: refused"
        );
        return None;
    }
    let account = app.services.tokens.by_id(session.token_id);
    let Some((uid, user)) = account.filter(|(uid, user)| same_account(*uid, user)) else {
        app.services.web.close(&id);
        return None;
    };
    Some(Browser {
        auth: Auth {
            uid,
            user,
            token: session.token_id,
        },
        session_id: id,
        csrf: session.csrf,
    })
}

/// Whether the request comes from a page of our own origin.
pub(crate) fn same_origin(headers: &HeaderMap) -> Result<(), &'static str> {
    let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site")
        && site != "same-origin"
    {
        return Err("a request from another site (Sec-Fetch-Site)");
    }
    match get("origin") {
        Some(origin) if origin != "null" => {
            let ours = get("host").map(|h| format!("http://{h}"));
            if ours.as_deref() == Some(origin) {
                Ok(())
            } else {
                Err("a request from another origin")
            }
        }
        // `Origin: null` or none: only a browser's own word that it is
        // same-origin will do.
        _ if get("sec-fetch-site") == Some("same-origin") => Ok(()),
        _ => Err("a request that does not say it comes from this site (no Origin)"),
    }
}

/// Whether a state-changing request from `browser` may go ahead: `given`
/// is the CSRF token it carries (form field or header).
pub(crate) fn may_change(
    browser: &Browser,
    headers: &HeaderMap,
    given: Option<&str>,
) -> Result<(), &'static str> {
    same_origin(headers)?;
    match given {
        Some(t) if same_secret(t, &browser.csrf) => Ok(()),
        Some(_) => Err("the CSRF token is wrong (reload the page)"),
        None => Err("no CSRF token (reload the page)"),
    }
}

/// Whether `method` can change nothing (the cookie alone is enough).
pub(crate) fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

/// The `Set-Cookie` value that opens (`Some(id)`) or ends a session.
pub(crate) fn set_cookie(id: Option<&str>) -> HeaderValue {
    let v = match id {
        Some(id) => format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/"),
        None => format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    };
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("messngr_session="))
}

/// The headers every response carries.
pub(crate) async fn protect(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_our_own_origin_may_change_things() {
        let host = ("host", "127.0.0.1:839");
        assert!(same_origin(&headers(&[host, ("origin", "http://127.0.0.1:839")])).is_ok());
        assert!(same_origin(&headers(&[host, ("origin", "http://evil.example")])).is_err());
        assert!(same_origin(&headers(&[host])).is_err(), "no Origin at all");
        assert!(same_origin(&headers(&[host, ("origin", "null")])).is_err());
        assert!(
            same_origin(&headers(&[
                host,
                ("origin", "null"),
                ("sec-fetch-site", "same-origin")
            ]))
            .is_ok()
        );
        assert!(
            same_origin(&headers(&[
                host,
                ("origin", "http://127.0.0.1:839"),
                ("sec-fetch-site", "cross-site")
            ]))
            .is_err()
        );
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; messngr_session=abc; b=2")]);
        assert_eq!(cookie(&h).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers(&[("cookie", "a=1")])), None);
        let set = set_cookie(Some("abc"));
        let set = set.to_str().unwrap();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        assert!(!set.contains("Secure"), "served over plain HTTP");
    }
}
