//! # messngr-bench
//!
//! The tools behind the end-to-end benchmarks in `bench/`:
//!
//! - `nbns-load` ([`nbns`]): closed-loop NBNS name queries, for `bench/nbns.sh`
//!   (messngr against nmbd);
//! - `smb-load` ([`smb`]): closed-loop SMB messages over NBT sessions, for
//!   `bench/messages.sh` (messngr against smbd);
//! - `secure-probe` ([`secure_probe`]): a hostile messngr peer for the
//!   secure-channel attack tests (crates/messngr/tests/secure.rs);
//! - `http-load` ([`http`]): closed-loop HTTP publishes (`POST
//!   /v1/messages`) over keep-alive connections, for `bench/http.sh`;
//! - `native-load` ([`native_load`]): closed-loop native messngr messages,
//!   plaintext or encrypted and signed, for `bench/secure.sh`;
//! - `smb-conf`: the private smb.conf those scripts run Samba with
//!   (`messngr_lan::samba`, the tests' and the demo's writer).
//!
//! Why they share a crate: both load generators are the same machine — `N`
//! workers on threads of their own, each with one request in flight, counting
//! what came back into a tally that [`closed_loop`] merges, latencies in an
//! HDR histogram ([`latency`]), a report for people or one JSON line for the
//! scripts — around a different protocol.

pub mod cli;
pub mod http;
pub mod latency;
pub mod native_load;
pub mod nbns;
pub mod rpc;
pub mod secure_probe;
pub mod smb;

use std::process::ExitCode;
use std::time::Duration;

pub use cli::MAX_DURATION;

/// What a run of either load generator reports.
pub trait Report {
    /// The report for people (a few lines).
    fn human(&self) -> String;
    /// The report as one JSON line, for the bench scripts.
    fn json(&self) -> serde_json::Result<String>;
}

/// Prints `report` (as JSON when `json`); exit status 0.
pub fn print_report(report: &impl Report, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", report.json()?);
    } else {
        print!("{}", report.human());
    }
    Ok(ExitCode::SUCCESS)
}

/// A probe's verdict: `answered(after)` on stdout and exit status 0 when the
/// server answered after `after`, else `silent()` on stderr and status 1.
pub fn probe_verdict(
    after: Option<Duration>,
    answered: impl FnOnce(Duration) -> String,
    silent: impl FnOnce() -> String,
) -> ExitCode {
    match after {
        Some(after) => {
            println!("{}", answered(after));
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("{}", silent());
            ExitCode::from(1)
        }
    }
}

/// What one worker counted; the run's total is every worker's, merged.
pub trait Tally: Default + Send {
    /// Adds `other`'s counts to this one's.
    fn merge(&mut self, other: Self);
}

/// Runs `worker(0..workers)` on a thread each (a closed loop: each worker
/// sends its next request when the last one is answered or lost, until its
/// end) and merges their tallies. A worker that panicked counts nothing.
pub fn closed_loop<T: Tally>(workers: usize, worker: impl Fn(usize) -> T + Sync) -> T {
    std::thread::scope(|scope| {
        let worker = &worker;
        let handles: Vec<_> = (0..workers)
            .map(|w| scope.spawn(move || worker(w)))
            .collect();
        let mut total = T::default();
        for h in handles {
            if let Ok(t) = h.join() {
                total.merge(t);
            }
        }
        total
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Checks that `json` is one line holding one flat object with exactly
    /// `keys`, in that order (as the bench scripts read it); returns it.
    pub(crate) fn json_line(json: &str, keys: &[&str]) -> serde_json::Value {
        assert!(!json.contains('\n') && json.ends_with('}'), "{json}");
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let n = v.as_object().map_or(0, |o| o.len());
        // Each key as written: the text between the quotes before a `":`.
        let written: Vec<&str> = json
            .split("\":")
            .take(n)
            .filter_map(|before| before.rsplit_once('"').map(|(_, k)| k))
            .collect();
        assert_eq!(written, keys, "{json}");
        v
    }

    #[derive(Default)]
    struct Count(usize, Vec<usize>);

    impl Tally for Count {
        fn merge(&mut self, other: Count) {
            self.0 += other.0;
            self.1.extend(other.1);
        }
    }

    #[test]
    fn every_worker_runs_once_and_is_merged() {
        let total = closed_loop(5, |w| Count(w * 10, vec![w]));
        assert_eq!(total.0, 100);
        let mut seen = total.1;
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2, 3, 4]);
    }
}
