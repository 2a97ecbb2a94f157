//! ntfy's publish API: `POST /<topic>` (and `PUT`, `GET|POST
//! /<topic>/publish|send|trigger`, and the JSON form `POST /`), so that
//! scripts and tools that publish to ntfy reach messngr by changing only
//! the URL.
//!
//! Why an alert and not a `send`: a topic is a channel the admin set up
//! (`[http.topics]` names its recipients; the caller never does), what is
//! published there is a notification from a program, and the Alerter
//! already marks, collapses and addresses those. So each publish becomes
//! the API's `Alert` request with the topic, answered by
//! `server::Services` as the token's account (the Alerter's raisers rule
//! and the urgent rules apply). The answer is shaped like ntfy's, errors
//! too (`{"code","http","error"}`), because ntfy clients read them.
//!
//! No anonymous publish, not even on loopback: the token says whose
//! alert it is, and a browser on this host can post a plain-text body to
//! `localhost` from any web page without asking (a simple CORS request),
//! so a topic open to any local caller would be open to every site its
//! users visit. ntfy's own ways to pass a token all work: `-u :tk_…`,
//! `Authorization: Bearer tk_…`, `?auth=`.

use std::hash::{DefaultHasher, Hash, Hasher};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use messngr_api::{AlertView, ApiError, Priority, Reply, Request};
use serde::Deserialize;

use super::App;
use super::auth::Auth;
use super::reply::{Failure, raw_body, status};

/// A body, or why it could not be read.
type Body = Result<Bytes, axum::extract::rejection::BytesRejection>;

/// ntfy's routes.
pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/", post(json).put(json))
        .route("/{topic}", post(plain).put(plain))
        .route("/{topic}/{verb}", get(verb).post(verb).put(verb))
}

/// An error as ntfy answers it (its clients print `error`).
#[derive(Debug)]
pub(super) struct NtfyError {
    http: StatusCode,
    message: String,
}

impl NtfyError {
    fn bad(message: impl Into<String>) -> Self {
        NtfyError {
            http: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

/// Publishing is for programs with a token, never for a signed-in browser:
/// ntfy's GET form (`/TOPIC/publish?message=`) would otherwise let any
/// page the browser shows raise alerts through its session cookie.
fn token_given(headers: &HeaderMap, query: &Pairs) -> Result<(), NtfyError> {
    let in_query = query
        .as_ref()
        .is_ok_and(|Query(v)| v.iter().any(|(k, _)| k == "auth"));
    if in_query || super::auth::token(headers, None).is_some() {
        return Ok(());
    }
    Err(NtfyError {
        http: StatusCode::UNAUTHORIZED,
        message: "publishing needs a token (ntfy's --token, -u :TOKEN or ?auth=); a browser session cannot publish".into(),
    })
}

impl From<Failure> for NtfyError {
    fn from(f: Failure) -> Self {
        NtfyError {
            http: f.1.unwrap_or_else(|| status(f.0.kind)),
            message: f.0.message,
        }
    }
}

impl From<ApiError> for NtfyError {
    fn from(e: ApiError) -> Self {
        Failure(e, None).into()
    }
}

impl IntoResponse for NtfyError {
    fn into_response(self) -> Response {
        let code = u32::from(self.http.as_u16()) * 100;
        let body = serde_json::json!({
            "code": code,
            "http": self.http.as_u16(),
            "error": self.message,
        });
        let mut r = (self.http, axum::Json(body)).into_response();
        if self.http == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"messngr\""),
            );
        }
        r
    }
}

/// One publish, wherever its parts came from.
#[derive(Debug, Default, PartialEq)]
struct Publish {
    topic: String,
    message: String,
    title: Option<String>,
    /// ntfy's 1–5.
    priority: Option<u8>,
    tags: Vec<String>,
}

/// ntfy's priority, a number or a name.
fn priority(v: &str) -> Result<u8, NtfyError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "min" => Ok(1),
        "2" | "low" => Ok(2),
        "3" | "default" => Ok(3),
        "4" | "high" => Ok(4),
        "5" | "max" | "urgent" => Ok(5),
        _ => Err(NtfyError::bad(format!(
            "priority {v:?}: give 1 to 5, or min, low, default, high, max (urgent)"
        ))),
    }
}

/// messngr's priority for ntfy's: 1–2 low, 3 normal, 4–5 urgent (a
/// pop-up that stays, and the urgent rules).
fn messngr_priority(p: u8) -> Priority {
    match p {
        0..=2 => Priority::Low,
        3 => Priority::Normal,
        _ => Priority::Urgent,
    }
}

/// The first of ntfy's spellings of a parameter: header names, then the
/// query's (`?title=`, `?t=`).
fn param(headers: &HeaderMap, query: &[(String, String)], names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok()))
        .map(str::to_owned)
        .or_else(|| {
            query
                .iter()
                .find(|(k, _)| names.iter().any(|n| n.eq_ignore_ascii_case(k)))
                .map(|(_, v)| v.clone())
        })
}

/// Reads the headers' and query's options into `p`; refuses what messngr
/// cannot honour rather than silently doing something else.
fn options(
    p: &mut Publish,
    headers: &HeaderMap,
    query: &[(String, String)],
) -> Result<(), NtfyError> {
    let get = |names: &[&str]| param(headers, query, names);
    if let Some(t) = get(&["x-title", "title", "ti", "t"]) {
        p.title = Some(t);
    }
    if let Some(v) = get(&["x-priority", "priority", "prio", "p"]) {
        p.priority = Some(priority(&v)?);
    }
    if let Some(v) = get(&["x-tags", "tags", "tag", "ta"]) {
        p.tags.extend(
            v.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        );
    }
    if let Some(m) = get(&["x-message", "message", "m"]) {
        if !p.message.is_empty() {
            return Err(NtfyError::bad(
                "a body and a Message parameter: give the message once (messngr takes no attachments)",
            ));
        }
        p.message = m;
    }
    if get(&["x-delay", "delay", "x-at", "at", "x-in", "in"]).is_some() {
        return Err(NtfyError::bad(
            "messngr does not schedule messages (Delay/At/In): publish when it should be sent",
        ));
    }
    Ok(())
}

/// The query's `key=value` pairs, percent-decoded, or a 400.
type Pairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

fn pairs(q: Pairs) -> Result<Vec<(String, String)>, NtfyError> {
    q.map(|Query(v)| v)
        .map_err(|e| NtfyError::bad(format!("the query: {}", e.body_text())))
}

/// `POST /<topic>`: the body is the message.
async fn plain(
    State(app): State<App>,
    auth: Result<Auth, Failure>,
    Path(topic): Path<String>,
    query: Pairs,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, NtfyError> {
    text_publish(&app, auth, topic, query, &headers, body).await
}

/// `GET|POST|PUT /<topic>/publish` (or `send`, `trigger`): ntfy's form for
/// clients that can only make a GET, the message in `?message=`.
async fn verb(
    State(app): State<App>,
    auth: Result<Auth, Failure>,
    Path((topic, verb)): Path<(String, String)>,
    query: Pairs,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, NtfyError> {
    let auth = auth?;
    if !matches!(verb.as_str(), "publish" | "send" | "trigger") {
        return Err(NtfyError {
            http: StatusCode::NOT_FOUND,
            message: format!(
                "/{topic}/{verb}: messngr speaks ntfy's publish only (/{topic}, /{topic}/publish)"
            ),
        });
    }
    text_publish(&app, Ok(auth), topic, query, &headers, body).await
}

/// A publish whose body (if any) is the message, options in the headers
/// and query.
async fn text_publish(
    app: &App,
    auth: Result<Auth, Failure>,
    topic: String,
    query: Pairs,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, NtfyError> {
    token_given(headers, &query)?;
    let auth = auth?;
    let body = raw_body(body)?;
    let message = String::from_utf8(body.to_vec()).map_err(|_| {
        NtfyError::bad("the body is not UTF-8 text: messngr publishes text (no attachments)")
    })?;
    let mut p = Publish {
        topic,
        message,
        ..Publish::default()
    };
    options(&mut p, headers, &pairs(query)?)?;
    publish(app, &auth, p).await
}

/// ntfy's JSON publish body.
#[derive(Debug, Deserialize)]
struct JsonPublish {
    topic: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    priority: Option<u8>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    delay: Option<serde_json::Value>,
}

/// `POST /` with `{"topic": …, "message": …}` (what Apprise sends).
async fn json(
    State(app): State<App>,
    auth: Result<Auth, Failure>,
    query: Pairs,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, NtfyError> {
    token_given(&headers, &query)?;
    let auth = auth?;
    let body = raw_body(body)?;
    let j: JsonPublish = serde_json::from_slice(&body).map_err(|e| {
        NtfyError::bad(format!(
            "the JSON body: {e} (POST / takes ntfy's {{\"topic\": …, \"message\": …}}; or POST /TOPIC with the text)"
        ))
    })?;
    if j.delay.is_some() {
        return Err(NtfyError::bad(
            "messngr does not schedule messages (delay): publish when it should be sent",
        ));
    }
    let mut p = Publish {
        topic: j.topic,
        message: j.message,
        title: j.title,
        priority: j
            .priority
            .map(|n| n.to_string())
            .as_deref()
            .map(priority)
            .transpose()?,
        tags: j.tags,
    };
    // Headers and query options apply too (Apprise sends X-Priority,
    // X-Tags); the body's own title and priority come first.
    let from_body = (p.priority, p.title.clone());
    options(&mut p, &headers, &pairs(query)?)?;
    p.priority = from_body.0.or(p.priority);
    p.title = from_body.1.or(p.title);
    publish(&app, &auth, p).await
}

/// The Alerter's key: one topic's identical notifications collapse; the
/// same text on two topics is two alerts.
fn key(p: &Publish) -> String {
    let mut h = DefaultHasher::new();
    (&p.title, &p.message, p.priority.unwrap_or(3)).hash(&mut h);
    format!("ntfy/{}/{:016x}", p.topic, h.finish())
}

/// The text people read: ntfy's message ("triggered" when empty, as
/// ntfy's), with its tags after it.
fn text(p: &Publish) -> String {
    let mut t = if p.message.trim().is_empty() {
        "triggered".to_owned()
    } else {
        p.message.clone()
    };
    if !p.tags.is_empty() {
        t.push_str(&format!("\nTags: {}", p.tags.join(", ")));
    }
    t
}

/// Asks the services to raise the publish as an alert, as `auth`'s
/// account; answers as ntfy does.
async fn publish(app: &App, auth: &Auth, p: Publish) -> Result<Response, NtfyError> {
    let request = messngr_api::Alert {
        title: p.title.clone().filter(|t| !t.trim().is_empty()),
        text: text(&p),
        priority: p.priority.map(messngr_priority),
        key: Some(key(&p)),
        source: Some("ntfy".into()),
        topic: Some(p.topic.clone()),
        resolved: false,
    };
    tracing::debug!(
        "ntfy publish to {} as {} (uid {})",
        p.topic,
        auth.user,
        auth.uid
    );
    let line = app.answer(auth.uid, Request::Alert(request)).await;
    let view = match serde_json::from_slice::<Reply<AlertView>>(&line) {
        Ok(Reply::Ok(v)) => v,
        Ok(Reply::Error(e)) => return Err(e.into()),
        Err(e) => {
            return Err(NtfyError {
                http: StatusCode::INTERNAL_SERVER_ERROR,
                message: format!("the daemon's answer did not parse: {e}"),
            });
        }
    };
    let id = view
        .sent
        .iter()
        .find_map(|s| s.id)
        .map_or_else(|| view.key.clone(), |id| id.to_string());
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut answer = serde_json::json!({
        "id": id,
        "time": time,
        "event": "message",
        "topic": p.topic,
        "message": p.message,
    });
    if let Some(t) = &p.title {
        answer["title"] = t.clone().into();
    }
    if let Some(n) = p.priority {
        answer["priority"] = n.into();
    }
    if !p.tags.is_empty() {
        answer["tags"] = p.tags.clone().into();
    }
    // messngr's own account of it, for those who look.
    answer["messngr"] = serde_json::to_value(&view).unwrap_or_default();
    Ok(axum::Json(answer).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn ntfy_s_headers_and_query_parameters_are_read() {
        let mut p = Publish::default();
        let h = headers(&[
            ("title", "x"),
            ("priority", "urgent"),
            ("tags", "warning, disk"),
        ]);
        options(&mut p, &h, &[]).unwrap();
        assert_eq!((p.title.as_deref(), p.priority), (Some("x"), Some(5)));
        assert_eq!(p.tags, ["warning", "disk"]);

        let mut p = Publish::default();
        let h = headers(&[("X-Title", "y"), ("X-Priority", "2")]);
        options(&mut p, &h, &[]).unwrap();
        assert_eq!((p.title.as_deref(), p.priority), (Some("y"), Some(2)));

        let mut p = Publish::default();
        let q = [
            ("t", "Disk full"),
            ("p", "high"),
            ("ta", "a,b"),
            ("message", "m"),
        ];
        let q: Vec<_> = q
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        options(&mut p, &HeaderMap::new(), &q).unwrap();
        assert_eq!(
            (p.title.as_deref(), p.priority),
            (Some("Disk full"), Some(4))
        );
        assert_eq!((p.tags.len(), p.message.as_str()), (2, "m"));
    }

    #[test]
    fn what_messngr_cannot_honour_is_refused() {
        let mut p = Publish::default();
        let e = options(&mut p, &headers(&[("priority", "6")]), &[])
            .err()
            .unwrap();
        assert!(e.message.contains("1 to 5"), "{}", e.message);
        let e = options(&mut p, &headers(&[("x-delay", "30m")]), &[])
            .err()
            .unwrap();
        assert!(e.message.contains("schedule"));
        let mut p = Publish {
            message: "body".into(),
            ..Publish::default()
        };
        let q = [("message".to_owned(), "m".to_owned())];
        assert!(options(&mut p, &HeaderMap::new(), &q).is_err());
    }

    #[test]
    fn priorities_map_to_messngr_s_three() {
        let m = |v: &str| messngr_priority(priority(v).ok().unwrap());
        assert_eq!(
            [m("min"), m("2"), m("default"), m("high"), m("max")],
            [
                Priority::Low,
                Priority::Low,
                Priority::Normal,
                Priority::Urgent,
                Priority::Urgent
            ]
        );
    }

    #[test]
    fn topics_collapse_apart_and_tags_are_shown() {
        let p = Publish {
            topic: "ops".into(),
            message: "disk full".into(),
            tags: vec!["warning".into()],
            ..Publish::default()
        };
        let q = Publish {
            topic: "dev".into(),
            ..Publish::default()
        };
        let q = Publish {
            message: p.message.clone(),
            tags: p.tags.clone(),
            ..q
        };
        assert_ne!(key(&p), key(&q));
        assert_eq!(text(&p), "disk full\nTags: warning");
        assert_eq!(text(&Publish::default()), "triggered");
    }
}
