//! Alertmanager's webhook (issue #12, point 2) with the real Prometheus
//! Alertmanager (Debian's `prometheus-alertmanager`), started by the test
//! inside a namespace host with its own config and storage, no cluster
//! gossip, listening on that host's loopback only. Alerts are pushed to
//! its API; Alertmanager groups them and calls messngr's
//! `/v1/alertmanager` with a messngr token, when they fire and when they
//! resolve: the receiver on H2 gets one alert message for the group, which
//! the resolution updates in place. Malformed JSON, the wrong version, no
//! token and a group of 10,000 alerts each get a clear answer; the big
//! group is one message.
//!
//! Needs root, curl and prometheus-alertmanager (`ci/install-deps`);
//! skipped without root, failed under CI.

mod support;

use std::process::{Child, Stdio};
use std::time::Duration;

use support::http::{URL, alerts, bearer, curl, json, root_token};
use support::{Daemon, lan, wait_for};

/// Alertmanager's address inside host 1.
const AM: &str = "http://127.0.0.1:9093";

/// A running Alertmanager, stopped on drop.
struct Alertmanager {
    child: Child,
    dir: tempfile::TempDir,
}

impl Alertmanager {
    /// Starts Alertmanager in host `i`, routing every alert to messngr's
    /// webhook with `token`: grouped by alertname, flushed within a second.
    fn start(lan: &messngr_lan::Lan, i: usize, token: &str) -> Alertmanager {
        let dir = support::tempdir();
        let config = format!(
            r#"global:
  resolve_timeout: 1m
route:
  receiver: messngr
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: messngr
    webhook_configs:
      - url: {URL}/v1/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {token}
"#
        );
        let cfg = dir.path().join("alertmanager.yml");
        std::fs::write(&cfg, config).unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = lan
            .command(i, "prometheus-alertmanager")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg("--cluster.listen-address=")
            .arg("--web.listen-address=127.0.0.1:9093")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let am = Alertmanager { child, dir };
        wait_for(
            Duration::from_secs(20),
            || curl(lan, i, &[&format!("{AM}/-/ready")]).0 == 200,
            || am.log(),
        );
        am
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `alerts` (JSON) posted to Alertmanager's API in host 1.
fn push(lan: &messngr_lan::Lan, alerts: &serde_json::Value) {
    let (code, body) = curl(
        lan,
        1,
        &[
            "-H",
            "Content-Type: application/json",
            "-d",
            &alerts.to_string(),
            &format!("{AM}/api/v2/alerts"),
        ],
    );
    assert_eq!(code, 200, "{body}");
}

/// A DiskFull alert on `instance`, ended at `ends` when given.
fn disk_full(instance: &str, ends: Option<&str>) -> serde_json::Value {
    let mut a = serde_json::json!({
        "labels": {"alertname": "DiskFull", "instance": instance, "severity": "critical"},
        "annotations": {"summary": format!("/var on {instance} is full")},
    });
    if let Some(e) = ends {
        a["endsAt"] = e.into();
    }
    a
}

/// Both DiskFull alerts end a minute ago (Alertmanager resolves them).
fn resolve_web1_and_web2(lan: &messngr_lan::Lan) {
    let past = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_secs(60))
        .unwrap()
        .to_string();
    push(
        lan,
        &serde_json::json!([
            disk_full("web1", Some(&past)),
            disk_full("web2", Some(&past))
        ]),
    );
}

/// Whether `m` says it resolved.
fn resolved(m: &serde_json::Value) -> bool {
    m["text"]
        .as_str()
        .unwrap_or_default()
        .starts_with("RESOLVED")
}

#[test]
fn alertmanager_s_groups_arrive_as_one_alert_each_and_resolve_in_place() {
    let Some(lan) = lan(2) else { return };
    let d1 = Daemon::start(
        &lan,
        1,
        "H1",
        "[alerter]\nurgent = [\"H2\"]\nnormal = [\"H2\"]",
    );
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    let token = root_token(&d1);
    let am = Alertmanager::start(&lan, 1, &token);

    // One alert fires: a message on H2. A second joins its group:
    // Alertmanager notifies the group again, and that message now lists
    // both (updated in place, counted), no second message.
    push(&lan, &serde_json::json!([disk_full("web1", None)]));
    let context = || format!("{:?}\n{}\n{}", d2.inbox(), d1.log(), am.log());
    wait_for(Duration::from_secs(30), || !alerts(&d2).is_empty(), context);
    push(&lan, &serde_json::json!([disk_full("web2", None)]));
    wait_for(
        Duration::from_secs(30),
        || {
            alerts(&d2).iter().any(|m| {
                let t = m["text"].as_str().unwrap_or_default();
                t.contains("instance=web1") && t.contains("instance=web2")
            })
        },
        context,
    );
    let got = alerts(&d2);
    assert_eq!(got.len(), 1, "one message for the group: {got:?}");
    let m = &got[0];
    assert_eq!(m["title"], "DiskFull", "{m}");
    assert!(
        m["text"].as_str().unwrap().starts_with("[FIRING:2]\n"),
        "{m}"
    );
    assert!(
        m["text"].as_str().unwrap().contains("/var on web1 is full"),
        "{m}"
    );
    assert_eq!(m["author"], "root@H1");
    assert_eq!(m["repeats"], 2, "{m}");

    // Both end: Alertmanager sends the group resolved, and the message
    // says so in place.
    resolve_web1_and_web2(&lan);
    wait_for(
        Duration::from_secs(30),
        || alerts(&d2).iter().any(resolved),
        || format!("{:?}\n{}\n{}", d2.inbox(), d1.log(), am.log()),
    );
    let got = alerts(&d2);
    assert_eq!(
        got.len(),
        1,
        "resolved in place, not a new message: {got:?}"
    );
    assert!(
        got[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("RESOLVED: 2 alerts\n- DiskFull instance=web1"),
        "{}",
        got[0]
    );
    assert!(!got[0]["updated_at_ms"].is_null(), "{}", got[0]);
}

#[test]
fn a_group_notified_again_after_the_collapse_window_resolves_all_its_messages() {
    let Some(lan) = lan(2) else { return };
    // A one-second window: the group's second notification is past it.
    let d1 = Daemon::start(
        &lan,
        1,
        "H1",
        "[alerter]\nurgent = [\"H2\"]\ncollapse_secs = 1",
    );
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    let token = root_token(&d1);
    let am = Alertmanager::start(&lan, 1, &token);
    let context = || format!("{:?}\n{}\n{}", d2.inbox(), d1.log(), am.log());

    push(&lan, &serde_json::json!([disk_full("web1", None)]));
    wait_for(Duration::from_secs(30), || !alerts(&d2).is_empty(), context);
    std::thread::sleep(Duration::from_millis(1500));
    push(&lan, &serde_json::json!([disk_full("web2", None)]));
    wait_for(Duration::from_secs(30), || alerts(&d2).len() == 2, context);

    // Resolved: both messages say so, the first one too.
    resolve_web1_and_web2(&lan);
    wait_for(
        Duration::from_secs(30),
        || alerts(&d2).iter().all(resolved),
        context,
    );
    assert_eq!(alerts(&d2).len(), 2, "{:?}", d2.inbox());
}

/// An Alertmanager payload of `n` alerts of one group.
fn payload(n: usize) -> String {
    let alerts: Vec<_> = (0..n)
        .map(|i| {
            serde_json::json!({
                "status": "firing",
                "labels": {"alertname": "NodeDown", "instance": format!("node{i}:9100"), "job": "node"},
                "annotations": {"summary": format!("node{i} is down")},
                "startsAt": "2026-12-06T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": format!("{i:016x}"),
            })
        })
        .collect();
    serde_json::json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"NodeDown\"}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "messngr",
        "groupLabels": {"alertname": "NodeDown"},
        "commonLabels": {"alertname": "NodeDown", "job": "node"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    })
    .to_string()
}

#[test]
fn bad_payloads_are_refused_and_ten_thousand_alerts_are_one_message() {
    let Some(lan) = lan(2) else { return };
    let d1 = Daemon::start(&lan, 1, "H1", "[alerter]\nnormal = [\"H2\"]");
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    let token = root_token(&d1);
    let dir = support::tempdir();
    let post = |body: &str, auth: bool| {
        let path = dir.path().join("body.json");
        std::fs::write(&path, body).unwrap();
        let file = format!("@{}", path.display());
        let header = bearer(&token);
        let mut args = vec![
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &file,
        ];
        if auth {
            args.extend(["-H", &header]);
        }
        let url = format!("{URL}/v1/alertmanager");
        args.push(&url);
        curl(&lan, 1, &args)
    };

    let (code, body) = post(&payload(1), false);
    assert_eq!(code, 401, "{body}");
    let (code, body) = post("{not json", true);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("JSON"), "{body}");
    let (code, body) = post(
        &payload(1).replace(r#""version":"4""#, r#""version":"3""#),
        true,
    );
    assert_eq!(code, 400, "{body}");
    assert!(
        json(&body)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("reads version 4"),
        "{body}"
    );
    // Over the route's limit (16 MiB): 413, said in JSON.
    let huge = format!(
        r#"{{"version":"4","status":"firing","x":"{}"}}"#,
        "x".repeat(17 << 20)
    );
    let (code, body) = post(&huge, true);
    assert_eq!(code, 413, "{body}");
    assert!(json(&body)["error"]["message"].is_string(), "{body}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(alerts(&d2).is_empty(), "{:?}", d2.inbox());

    // 10,000 alerts in one group (4 MiB): one message that counts them.
    let big = payload(10_000);
    assert!(big.len() > 2 * 1024 * 1024, "{}", big.len());
    let (code, body) = post(&big, true);
    assert_eq!(code, 200, "{body}\n{}", d1.log());
    wait_for(
        Duration::from_secs(15),
        || !alerts(&d2).is_empty(),
        || d1.log(),
    );
    std::thread::sleep(Duration::from_millis(500));
    let got = alerts(&d2);
    assert_eq!(got.len(), 1, "{got:?}");
    let t = got[0]["text"].as_str().unwrap();
    assert!(
        t.starts_with("[FIRING:10000]") && t.contains("… and 9990 more"),
        "{t}"
    );
    assert!(
        t.lines().filter(|l| l.starts_with("- ")).count() <= 10,
        "{t}"
    );
    assert_eq!(got[0]["title"], "NodeDown");
}
