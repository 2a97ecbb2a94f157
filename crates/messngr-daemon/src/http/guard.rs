//! What every HTTP request passes before any route: the host it names,
//! where it comes from, and how long it may take.
//!
//! Why: the listener is on loopback, where a web page in a local user's
//! browser can reach it. A page from another site is refused outright
//! (`Sec-Fetch-Site: cross-site`, or an `Origin` that is not this host),
//! and on a loopback listener the `Host` must be a loopback name, so that
//! a DNS name rebound to 127.0.0.1 gets nothing (421). A request that
//! trickles its body holds a connection: each must be answered within
//! [`REQUEST_TIMEOUT`] (event streams excepted, which last). Answers are
//! never cached: they carry people's messages.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use messngr_api::{ApiError, ErrorKind};

use super::reply::Failure;

/// How long a request (its body included) may take to be answered.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether the connection came in on a loopback address.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loopback(pub(crate) bool);

fn refuse(code: StatusCode, message: String) -> Response {
    Failure(ApiError::new(ErrorKind::Denied, message), Some(code)).into_response()
}

/// The host part of a `Host` or `Origin` value (`[::1]:839` → `[::1]`).
fn host_of(value: &str) -> &str {
    let v = value.split_once("://").map_or(value, |(_, rest)| rest);
    let v = v.split('/').next().unwrap_or(v);
    if v.starts_with('[') {
        return v.split_once(']').map_or(v, |(h, _)| &v[..=h.len()]);
    }
    v.rsplit_once(':').map_or(v, |(h, _)| h)
}

/// `host[:port]` of an `Origin` value (`http://127.0.0.1:839` →
/// `127.0.0.1:839`): the port counts, other ports are other servers.
fn authority_of(origin: &str) -> &str {
    let v = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    v.split('/').next().unwrap_or(v)
}

/// Whether `host` names this host's loopback.
fn is_loopback_name(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.eq_ignore_ascii_case("localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The checks, then the route, within the deadline.
pub(crate) async fn guard(req: Request, next: Next) -> Response {
    let headers = req.headers();
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // `same-site` too: a page another local user serves on 127.0.0.1:8080
    // is the same site as ours.
    if matches!(value("sec-fetch-site"), Some("cross-site" | "same-site")) {
        return refuse(
            StatusCode::FORBIDDEN,
            "a request from another site's page is refused".into(),
        );
    }
    let host = value("host").map(host_of).unwrap_or_default().to_owned();
    let authority = value("host").unwrap_or_default().to_ascii_lowercase();
    if let Some(origin) = value("origin")
        && origin != "null"
        && authority_of(origin).to_ascii_lowercase() != authority
    {
        return refuse(
            StatusCode::FORBIDDEN,
            format!("a request from {origin:?} is refused: not this host"),
        );
    }
    let loopback = req.extensions().get::<Loopback>().is_some_and(|l| l.0);
    if loopback && !is_loopback_name(&host) {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "Host {host:?} is not a loopback name: use http://127.0.0.1:PORT/ or http://localhost:PORT/"
            ),
        );
    }
    let streaming = req.uri().path() == "/v1/events";
    let mut response = if streaming {
        next.run(req).await
    } else {
        match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
            Ok(r) => r,
            Err(_) => refuse(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request was not complete within {} s",
                    REQUEST_TIMEOUT.as_secs()
                ),
            ),
        }
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_pass_on_loopback() {
        for ok in [
            "127.0.0.1:839",
            "localhost:839",
            "LOCALHOST",
            "[::1]:839",
            "127.1.2.3",
        ] {
            assert!(is_loopback_name(host_of(ok)), "{ok}");
        }
        for bad in [
            "evil.example:839",
            "10.0.0.1:839",
            "[::2]:839",
            "localhost.evil.example",
        ] {
            assert!(!is_loopback_name(host_of(bad)), "{bad}");
        }
        assert_eq!(host_of("http://127.0.0.1:839"), "127.0.0.1");
        assert_eq!(host_of("https://[::1]:839/x"), "[::1]");
        assert_eq!(authority_of("http://127.0.0.1:839"), "127.0.0.1:839");
        assert_ne!(authority_of("http://127.0.0.1:8080"), "127.0.0.1:839");
    }
}
