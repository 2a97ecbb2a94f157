//! HTTP from inside a test host: curl in a host's namespace (the HTTP
//! listener is on that namespace's loopback), and tokens made with
//! `messngr token create`. Shared by the HTTP API, ntfy and Alertmanager
//! tests.

use std::process::Output;

use super::{Daemon, run_in, text};

/// Where the daemon's HTTP listener is by default, in each host.
pub const URL: &str = "http://127.0.0.1:839";

/// curl in host `i`: (status, body); status 0 when nothing answered.
pub fn curl(lan: &messngr_lan::Lan, i: usize, args: &[&str]) -> (u16, String) {
    let mut all = vec!["-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", "20"];
    all.extend_from_slice(args);
    let o = run_in(lan, i, "curl", &all);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, code) = out.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// The `Authorization` header for `token`.
pub fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}

/// The token `messngr token create` printed.
pub fn token_of(o: &Output) -> String {
    assert!(o.status.success(), "{}", text(o));
    let t = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert!(t.starts_with("tk_"), "{}", text(o));
    t
}

/// A new token of root on `d`.
pub fn root_token(d: &Daemon) -> String {
    token_of(&d.cli(&["token", "create"]))
}

/// The alerts `d` received (the HTTP sources raise alerts), oldest first.
pub fn alerts(d: &Daemon) -> Vec<serde_json::Value> {
    d.inbox()
        .into_iter()
        .filter(|m| m["direction"] == "in" && m["alert"] == true)
        .collect()
}

/// `body` as JSON, or a panic that shows it.
pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}
