//! `/metrics`: the daemon's counters in Prometheus' text exposition format
//! (version 0.0.4), rendered from what each module already counts.
//!
//! Why one module that only reads: every counter lives with the thing it
//! counts, as atomics (messages by route and outcome in `flow::Flow`,
//! refusals by reason in `policy`, deliveries by sink in `people`, HTTP
//! requests in `http`), so counting costs a relaxed add on the hot path and
//! no lock. Gauges (queue depths, the store's size) are read when scraped.
//! This module only knows the format: names, labels, HELP and TYPE lines,
//! and that every label value is escaped.

use std::fmt::Write as _;

use crate::flow::{Flow, Outcome, Route};
use crate::people::{Delivered, Sink};
use crate::policy::{Refusal, Refusals};

/// The Content-Type of the text format.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a scrape reads besides the counters: gauges taken just now.
#[derive(Debug, Default, Clone)]
pub(crate) struct Gauges {
    /// Inserts queued to the store and not yet answered.
    pub(crate) inbox_in_flight: usize,
    /// Deliveries waiting in the receivers' channel to the inbox, and its
    /// capacity (`None` when no receiver runs: Samba owns the ports).
    pub(crate) delivery_queue: Option<(usize, usize)>,
    /// Messages in the store: received, sent (`None`: the count failed).
    pub(crate) stored: Option<(u64, u64)>,
    /// Bytes of the database file and of its write-ahead log.
    pub(crate) store_bytes: (u64, u64),
    /// Seconds since the daemon started.
    pub(crate) uptime_secs: u64,
}

/// The text format, one metric family after another.
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: u64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", escape(v));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }
}

/// A label value as the format wants it: `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Everything a scrape shows.
pub(crate) struct Scrape<'a> {
    pub(crate) flow: &'a Flow,
    pub(crate) refusals: &'a Refusals,
    pub(crate) delivered: &'a Delivered,
    /// HTTP requests by (route, status).
    pub(crate) http: Vec<((String, u16), u64)>,
    pub(crate) gauges: Gauges,
}

/// Renders a scrape in the text format.
pub(crate) fn render(s: &Scrape<'_>) -> String {
    let mut t = Text(String::with_capacity(4096));
    let name = "messngr_messages_total";
    t.family(
        name,
        "counter",
        "Messages by transport (local: a local account to a name held here) and outcome (received = stored + duplicate + refused, once answered).",
    );
    for route in Route::ALL {
        for outcome in Outcome::ALL {
            let labels = [("transport", route.as_str()), ("outcome", outcome.as_str())];
            t.sample(name, &labels, s.flow.get(route, outcome));
        }
    }
    let name = "messngr_refusals_total";
    t.family(
        name,
        "counter",
        "Refusals by reason, for every transport (connections and datagrams too), as messngr status shows them.",
    );
    for reason in Refusal::ALL {
        t.sample(name, &[("reason", reason.as_str())], s.refusals.get(reason));
    }
    let name = "messngr_deliveries_total";
    t.family(
        name,
        "counter",
        "Stored messages delivered, by sink: terminals written, hooks that exited 0, API followers (agents), HTTP event streams.",
    );
    for sink in Sink::ALL {
        t.sample(name, &[("sink", sink.as_str())], s.delivered.get(sink));
    }
    let g = &s.gauges;
    let name = "messngr_inbox_in_flight";
    t.family(
        name,
        "gauge",
        "Messages queued to the store and not yet committed.",
    );
    t.sample(name, &[], g.inbox_in_flight as u64);
    if let Some((depth, capacity)) = g.delivery_queue {
        let name = "messngr_delivery_queue_depth";
        t.family(
            name,
            "gauge",
            "Messages waiting in the receivers' channel to the inbox.",
        );
        t.sample(name, &[], depth as u64);
        let name = "messngr_delivery_queue_capacity";
        t.family(name, "gauge", "The size of that channel.");
        t.sample(name, &[], capacity as u64);
    }
    if let Some((received, sent)) = g.stored {
        let name = "messngr_store_messages";
        t.family(name, "gauge", "Messages in the inbox database.");
        t.sample(name, &[("direction", "in")], received);
        t.sample(name, &[("direction", "out")], sent);
    }
    let name = "messngr_store_bytes";
    t.family(name, "gauge", "Bytes of the inbox database, by file.");
    t.sample(name, &[("file", "db")], g.store_bytes.0);
    t.sample(name, &[("file", "wal")], g.store_bytes.1);
    let name = "messngr_http_requests_total";
    t.family(
        name,
        "counter",
        "HTTP requests answered, by route (the pattern matched, or \"other\") and status.",
    );
    for ((route, status), n) in &s.http {
        t.sample(name, &[("route", route), ("code", &status.to_string())], *n);
    }
    let name = "messngr_uptime_seconds";
    t.family(name, "gauge", "Seconds since the daemon started.");
    t.sample(name, &[], g.uptime_secs);
    t.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_help_and_type_and_labels_are_escaped() {
        let flow = Flow::default();
        flow.add(Route::Local, Outcome::Stored);
        let refusals = Refusals::default();
        refusals.add(Refusal::OffLan);
        let delivered = Delivered::default();
        let s = Scrape {
            flow: &flow,
            refusals: &refusals,
            delivered: &delivered,
            http: vec![(("/x\"\\\n".into(), 200), 3)],
            gauges: Gauges::default(),
        };
        let text = render(&s);
        assert!(
            text.contains("messngr_messages_total{transport=\"local\",outcome=\"stored\"} 1\n")
        );
        assert!(text.contains("messngr_refusals_total{reason=\"off_lan\"} 1\n"));
        assert!(
            text.contains("messngr_http_requests_total{route=\"/x\\\"\\\\\\n\",code=\"200\"} 3\n")
        );
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let family = line.split(['{', ' ']).next().unwrap_or_default();
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "{family} has no TYPE"
            );
        }
    }
}
