//! Who is asking: the account a request's token belongs to.
//!
//! Why these three places for a token: `Authorization: Bearer tk_…` is
//! what scripts and ntfy's `--token` send; `Authorization: Basic` with the
//! token as the password is what a URL like `https://:tk_…@host/` and
//! ntfy's `-u :tk_…` send; ntfy's `?auth=` (base64 of one of those header
//! values) is for clients that cannot set headers. A request without a
//! valid token is answered 401 and sees nothing — not whether a message,
//! a topic or an account exists.
//!
//! The web inbox's session cookie also names an account (see
//! `web::guard`): enough for a GET, and for anything else only with the
//! session's CSRF token in `X-CSRF-Token` and from our own origin.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};

use super::App;
use super::reply::Failure;

/// The account a valid token acts as.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    pub(crate) uid: u32,
    pub(crate) user: String,
    /// The token's number (event streams end when it is revoked).
    pub(crate) token: u32,
}

/// The token in an `Authorization` header value, if any.
fn from_header_value(v: &str) -> Option<String> {
    let (scheme, rest) = v.trim().split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(rest).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        // user:password, the token as the password (the user is ignored).
        let (_, password) = decoded.split_once(':')?;
        return Some(password.to_owned());
    }
    None
}

/// ntfy's `auth` query parameter: a header value in base64.
fn from_query(query: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    let value = pairs
        .into_iter()
        .find(|(k, _)| k == "auth")
        .map(|(_, v)| v)?;
    let value = value.as_str();
    let decoded = [URL_SAFE_NO_PAD, URL_SAFE, STANDARD]
        .iter()
        .find_map(|e| e.decode(value).ok())?;
    from_header_value(&String::from_utf8(decoded).ok()?)
}

/// Whether a request offers a credential at all (an `Authorization`
/// header, or an `auth` query parameter), readable or not: one that does
/// not read as a token is refused, never replaced by the session cookie
/// (else `?auth=x` would let a browser's cookie publish).
pub(crate) fn offers_credential(headers: &HeaderMap, query: Option<&str>) -> bool {
    headers.contains_key(header::AUTHORIZATION)
        || query.is_some_and(|q| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .is_ok_and(|pairs| pairs.iter().any(|(k, _)| k == "auth"))
        })
}

/// The token a request carries, wherever it is.
pub(crate) fn token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(from_header_value)
        .or_else(|| query.and_then(from_query))
}

/// Whether `uid` still names the account `user` a token was made for: a
/// token belongs to an account, not to a number, so when the uid now
/// names another account (or none), the token (and its web sessions) is no
/// longer good.
pub(crate) fn same_account(uid: u32, user: &str) -> bool {
    crate::accounts::name_of(uid).as_deref() == Some(user)
}

/// A signed-in browser's request, as its account: a GET as it is,
/// anything else only with the CSRF token and from our origin (else 403,
/// saying why).
fn from_browser(b: super::web::guard::Browser, parts: &Parts) -> Result<Auth, Failure> {
    use super::web::guard;
    if guard::is_safe(&parts.method) {
        return Ok(b.auth);
    }
    let given = parts
        .headers
        .get(guard::CSRF_HEADER)
        .and_then(|v| v.to_str().ok());
    match guard::may_change(&b, &parts.headers, given) {
        Ok(()) => Ok(b.auth),
        Err(why) => {
            tracing::info!(
                "HTTP: refused a request of {}'s web session: {why}",
                b.auth.user
            );
            Err(Failure(
                messngr_api::ApiError::new(messngr_api::ErrorKind::Denied, why),
                Some(axum::http::StatusCode::FORBIDDEN),
            ))
        }
    }
}

impl FromRequestParts<App> for Auth {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Some(token) = token(&parts.headers, parts.uri.query()) else {
            if offers_credential(&parts.headers, parts.uri.query()) {
                return Err(Failure::unauthorized(
                    "the credential given is not a token: send `Authorization: Bearer tk_…` (or Basic with the token as the password)",
                ));
            }
            let peer = super::peer::Peer::from_parts(parts);
            if let Some(b) = super::web::guard::browser(app, &parts.headers, peer) {
                return from_browser(b, parts);
            }
            return Err(Failure::unauthorized(
                "no token: send `Authorization: Bearer tk_…` (make one with `messngr token create`)",
            ));
        };
        let Some((id, uid, user)) = app.services.tokens.check(&token) else {
            return Err(Failure::unauthorized(
                "the token is not valid (revoked, or mistyped): `messngr token list`",
            ));
        };
        if !same_account(uid, &user) {
            return Err(Failure::unauthorized(
                "the token's account is gone or renamed: make a new token",
            ));
        }
        Ok(Auth {
            uid,
            user,
            token: id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_comes_in_a_header_or_ntfy_s_auth_parameter() {
        let t = "tk_abcdefghijklmnopqrstuvwxyz012";
        assert_eq!(
            from_header_value(&format!("Bearer {t}")).as_deref(),
            Some(t)
        );
        let basic = STANDARD.encode(format!(":{t}"));
        assert_eq!(
            from_header_value(&format!("Basic {basic}")).as_deref(),
            Some(t)
        );
        let q = URL_SAFE_NO_PAD.encode(format!("Bearer {t}"));
        assert_eq!(from_query(&format!("x=1&auth={q}")).as_deref(), Some(t));
        assert_eq!(from_header_value("Digest abc"), None);
        assert_eq!(from_query("auth=%%%"), None);
        let padded = URL_SAFE.encode(format!("Bearer {t}")).replace('=', "%3D");
        assert_eq!(from_query(&format!("auth={padded}")).as_deref(), Some(t));
    }
}
