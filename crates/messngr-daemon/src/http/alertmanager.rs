//! `POST /v1/alertmanager`: Prometheus Alertmanager's webhook (payload
//! version 4), so that Alertmanager's grouped alerts reach people through
//! every sink messngr has.
//!
//! Why one alert per group: Alertmanager already decided what belongs
//! together (its `groupKey`) and calls again whenever a group changes; one
//! message per group, listing its alerts, is what a person wants on their
//! screen. The group key is the Alerter's key, so a new notification of
//! the same group updates its message in place (a live notice, counted),
//! and `status: resolved` turns that message into RESOLVED instead of
//! sending another. Recipients: the `[http.topics]` topic named like the
//! Alertmanager receiver when there is one, else the `[alerter]`
//! subscribers of the group's severity (its `severity` label).
//!
//! A group can be huge (a network partition takes a thousand targets down
//! at once): the listing is capped at [`LISTED`] alerts and the rest are
//! counted, so 10,000 alerts make one message, not 10,000; the body limit
//! of this route is [`MAX_BODY`] for the same reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::Response;
use axum::routing::post;
use messngr_api::{Priority, Request};
use serde::Deserialize;

use super::App;
use super::auth::Auth;
use super::reply::{Failure, from_line, raw_body};

/// The payload version this receiver reads.
const VERSION: &str = "4";
/// Alerts listed in one message; the rest are counted.
pub(crate) const LISTED: usize = 10;
/// The longest line about one alert, in characters.
const LINE_CHARS: usize = 160;
/// The largest webhook body (10,000 alerts are ~4 MiB).
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;

/// The route, with its own body limit.
pub(super) fn routes() -> Router<App> {
    Router::new().route(
        "/v1/alertmanager",
        post(webhook).layer(DefaultBodyLimit::max(MAX_BODY)),
    )
}

/// Alertmanager's webhook payload (what this receiver reads of it).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Webhook {
    status: String,
    #[serde(default)]
    receiver: String,
    #[serde(default)]
    group_key: String,
    #[serde(default)]
    truncated_alerts: u64,
    #[serde(default)]
    group_labels: BTreeMap<String, String>,
    #[serde(default)]
    common_labels: BTreeMap<String, String>,
    #[serde(default)]
    common_annotations: BTreeMap<String, String>,
    #[serde(default, rename = "externalURL")]
    external_url: String,
    #[serde(default)]
    alerts: Vec<AmAlert>,
}

/// One alert of a group.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AmAlert {
    #[serde(default)]
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    starts_at: String,
}

/// Reads the body: JSON, version 4, Alertmanager's shape; else a 400 that
/// says which.
fn parse(body: &[u8]) -> Result<Webhook, Failure> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Failure::bad_request(format!("the JSON body: {e}")))?;
    match value.get("version").and_then(|v| v.as_str()) {
        Some(VERSION) => {}
        other => {
            return Err(Failure::bad_request(format!(
                "Alertmanager webhook version {}: this receiver reads version {VERSION} (Alertmanager 0.x's webhook_configs)",
                other.map_or_else(|| "missing".to_owned(), |v| format!("{v:?}"))
            )));
        }
    }
    let w: Webhook = serde_json::from_value(value)
        .map_err(|e| Failure::bad_request(format!("not an Alertmanager webhook payload: {e}")))?;
    if !matches!(w.status.as_str(), "firing" | "resolved") {
        return Err(Failure::bad_request(format!(
            "status {:?}: Alertmanager sends firing or resolved",
            w.status
        )));
    }
    Ok(w)
}

/// The group's severity: the most severe `severity` label of its alerts
/// (critical, page → urgent; info, none → low; others normal).
fn severity(w: &Webhook) -> Priority {
    let rank = |p: Priority| match p {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::Urgent => 2,
    };
    let of = |labels: &BTreeMap<String, String>| {
        labels
            .get("severity")
            .map(|s| match s.to_ascii_lowercase().as_str() {
                "critical" | "page" | "urgent" | "emergency" | "high" => Priority::Urgent,
                "info" | "informational" | "none" | "low" | "debug" => Priority::Low,
                _ => Priority::Normal,
            })
    };
    w.alerts
        .iter()
        .filter_map(|a| of(&a.labels))
        .chain(of(&w.common_labels))
        .max_by_key(|p| rank(*p))
        .unwrap_or(Priority::Normal)
}

/// The group's labels' values (`DiskFull node`): what names the group,
/// firing or resolved (a resolution updates the text, which says so).
fn title(w: &Webhook) -> String {
    let t = w
        .group_labels
        .values()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    let t = if t.trim().is_empty() {
        format!("Alertmanager {}", w.receiver)
    } else {
        t
    };
    cut(&t, messngr_api::MAX_TITLE)
}

/// `s` within `max` bytes, on a character boundary, with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// One alert as a line: what tells it apart from the group, its summary,
/// since when.
fn line(w: &Webhook, a: &AmAlert) -> String {
    let mut l = String::from("- ");
    if w.status == "firing" && a.status == "resolved" {
        l.push_str("(resolved) ");
    }
    let own: Vec<String> = a
        .labels
        .iter()
        .filter(|(k, v)| w.common_labels.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let name = a.labels.get("alertname").map_or("alert", String::as_str);
    l.push_str(name);
    if !own.is_empty() {
        let _ = write!(l, " {}", own.join(" "));
    }
    if let Some(s) = ["summary", "description", "message"]
        .iter()
        .find_map(|k| a.annotations.get(*k))
        .filter(|s| w.common_annotations.values().all(|c| c != *s))
    {
        let _ = write!(l, ": {s}");
    }
    if let Some(since) = a.starts_at.get(..16).filter(|_| w.status == "firing") {
        let _ = write!(l, " (since {}Z)", since.replace('T', " "));
    }
    let line: String = l.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > LINE_CHARS {
        let mut c: String = line.chars().take(LINE_CHARS - 1).collect();
        c.push('…');
        return c;
    }
    line
}

/// The message: `[FIRING:2]` as Alertmanager's templates say it (a
/// resolution gets the Alerter's `RESOLVED:` instead), the group's common
/// summary, its alerts (at most [`LISTED`]), how many more, and where
/// Alertmanager shows them.
fn text(w: &Webhook) -> String {
    let total = w.alerts.len() as u64 + w.truncated_alerts;
    let firing =
        w.alerts.iter().filter(|a| a.status == "firing").count() as u64 + w.truncated_alerts;
    let mut head = if w.status == "firing" {
        let mut h = format!("[FIRING:{firing}]");
        if total > firing {
            let _ = write!(h, " ({} resolved)", total - firing);
        }
        h
    } else {
        format!("{total} alert{}", if total == 1 { "" } else { "s" })
    };
    if let Some(s) = ["summary", "description"]
        .iter()
        .find_map(|k| w.common_annotations.get(*k))
    {
        let _ = write!(head, " {}", s.trim());
    }
    let mut t = head;
    t.push('\n');
    for a in w.alerts.iter().take(LISTED) {
        t.push_str(&line(w, a));
        t.push('\n');
    }
    if total > LISTED as u64 {
        let _ = writeln!(
            t,
            "… and {} more",
            total - LISTED.min(w.alerts.len()) as u64
        );
    }
    if !w.external_url.is_empty() {
        t.push_str(&w.external_url);
    }
    t.trim_end().to_owned()
}

/// The Alerter's key of a group: Alertmanager's own, per receiver.
fn key(w: &Webhook) -> String {
    let group = if w.group_key.is_empty() {
        format!("{}:{:?}", w.receiver, w.group_labels)
    } else {
        w.group_key.clone()
    };
    format!("alertmanager/{group}")
}

/// `POST /v1/alertmanager`.
async fn webhook(
    State(app): State<App>,
    auth: Auth,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, Failure> {
    let w = parse(&raw_body(body)?)?;
    // A topic named like the receiver, when there is one; else the
    // [alerter] subscribers of its severity.
    let topic = app
        .services
        .settings
        .http
        .topics
        .contains_key(&w.receiver)
        .then(|| w.receiver.clone());
    let request = messngr_api::Alert {
        title: Some(title(&w)),
        text: text(&w),
        priority: Some(severity(&w)),
        key: Some(key(&w)),
        source: Some("alertmanager".into()),
        topic,
        resolved: w.status == "resolved",
    };
    tracing::debug!(
        "Alertmanager {} group {} ({} alerts) as {}",
        w.status,
        w.group_key,
        w.alerts.len(),
        auth.user
    );
    Ok(from_line(
        &app.answer(auth.uid, Request::Alert(request)).await,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(status: &str, n: usize) -> String {
        let alerts: Vec<_> = (0..n)
            .map(|i| {
                serde_json::json!({
                    "status": status,
                    "labels": {"alertname": "DiskFull", "instance": format!("h{i}"), "severity": if i == 1 { "critical" } else { "warning" }},
                    "annotations": {"summary": format!("disk {i} full")},
                    "startsAt": "2026-12-06T10:00:00.123Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": format!("{i:016x}"),
                })
            })
            .collect();
        serde_json::json!({
            "version": "4", "status": status, "receiver": "ops",
            "groupKey": "{}:{alertname=\"DiskFull\"}",
            "groupLabels": {"alertname": "DiskFull"},
            "commonLabels": {"alertname": "DiskFull"},
            "commonAnnotations": {},
            "externalURL": "http://am:9093",
            "alerts": alerts,
        })
        .to_string()
    }

    #[test]
    fn a_group_is_one_titled_message_listing_its_alerts() {
        let w = parse(payload("firing", 2).as_bytes()).ok().unwrap();
        assert_eq!(title(&w), "DiskFull");
        assert_eq!(severity(&w), Priority::Urgent);
        let t = text(&w);
        assert!(
            t.contains(
                "- DiskFull instance=h0 severity=warning: disk 0 full (since 2026-12-06 10:00Z)"
            ),
            "{t}"
        );
        assert!(t.starts_with("[FIRING:2]\n- DiskFull"), "{t}");
        assert_eq!(key(&w), "alertmanager/{}:{alertname=\"DiskFull\"}");
        let r = parse(payload("resolved", 1).as_bytes()).ok().unwrap();
        assert_eq!(title(&r), "DiskFull");
        assert!(
            text(&r).starts_with("1 alert\n- DiskFull instance=h0"),
            "{}",
            text(&r)
        );
        assert_eq!(key(&r), key(&w));
    }

    #[test]
    fn ten_thousand_alerts_are_counted_not_listed() {
        let w = parse(payload("firing", 10_000).as_bytes()).ok().unwrap();
        let t = text(&w);
        assert_eq!(t.lines().filter(|l| l.starts_with("- ")).count(), LISTED);
        assert!(
            t.starts_with("[FIRING:10000]") && t.contains("… and 9990 more"),
            "{t}"
        );
        assert!(t.len() < 4096, "{}", t.len());
    }

    #[test]
    fn bad_payloads_say_what_is_wrong() {
        let e = |b: &str| parse(b.as_bytes()).err().unwrap().0.message;
        assert!(e("{not json").contains("JSON"));
        assert!(e(r#"{"version":"3","status":"firing"}"#).contains("reads version 4"));
        assert!(e(r#"{"status":"firing"}"#).contains("missing"));
        assert!(e(r#"{"version":"4","status":"odd"}"#).contains("firing or resolved"));
        assert!(
            e(r#"{"version":"4","status":"firing","alerts":3}"#).contains("not an Alertmanager")
        );
        assert_eq!(cut("ab€", 4), "a…");
    }
}
