//! The one place an API answer becomes an HTTP response.
//!
//! Why through the reply line: the Unix socket's dispatch
//! (`server::Services::answer`) is where requests meet services and where
//! the envelope is made; HTTP reads that same `Reply` back and only picks
//! the status code for its error kind. A refusal keeps its words: the body
//! is `{"error":{"kind":…,"message":…}}`, as on the socket.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use messngr_api::{ApiError, ErrorKind, Reply};

/// A response that is an API error (with a status of its own when the
/// kind's is not the one: 401 for a missing token).
#[derive(Debug)]
pub(crate) struct Failure(pub(crate) ApiError, pub(crate) Option<StatusCode>);

impl Failure {
    pub(crate) fn unauthorized(message: &str) -> Failure {
        Failure(
            ApiError::new(ErrorKind::Denied, message),
            Some(StatusCode::UNAUTHORIZED),
        )
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Failure {
        Failure(ApiError::bad_request(message), None)
    }
}

/// A raw body, or the refusal that says why not (413 over the limit), in
/// the API's error shape rather than axum's plain text.
pub(crate) fn raw_body(
    b: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<axum::body::Bytes, Failure> {
    b.map_err(|e| {
        Failure(
            ApiError::new(ErrorKind::TooLong, format!("the body: {}", e.body_text())),
            Some(e.status()),
        )
    })
}

/// The status code for an error kind.
pub(crate) fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest | ErrorKind::BadName => StatusCode::BAD_REQUEST,
        ErrorKind::TooLong => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Denied => StatusCode::FORBIDDEN,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Refused | ErrorKind::Untrusted | ErrorKind::Network => StatusCode::BAD_GATEWAY,
        ErrorKind::NotStored => StatusCode::INSUFFICIENT_STORAGE,
        ErrorKind::Disabled => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let code = self.1.unwrap_or_else(|| status(self.0.kind));
        let mut r = (code, Json(serde_json::json!({ "error": self.0 }))).into_response();
        if code == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"messngr\""),
            );
        }
        r
    }
}

/// A reply line from `Services::answer`, as a response.
pub(crate) fn from_line(line: &[u8]) -> Response {
    // The answer's JSON is passed on as it is, not parsed into a tree and
    // written again.
    match serde_json::from_slice::<Reply<&serde_json::value::RawValue>>(line) {
        Ok(Reply::Ok(v)) => (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            v.get().to_owned(),
        )
            .into_response(),
        Ok(Reply::Error(e)) => Failure(e, None).into_response(),
        Err(e) => Failure(
            ApiError::new(
                ErrorKind::Unknown,
                format!("the daemon's answer did not parse: {e}"),
            ),
            None,
        )
        .into_response(),
    }
}
