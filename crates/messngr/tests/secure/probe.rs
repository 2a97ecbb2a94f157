//! Runs `secure-probe` (crates/messngr-bench), the hostile messngr peer, in
//! one host of a test LAN and returns its JSON line.

use std::path::PathBuf;

use crate::support::{BIN, Lan, run_in, text};

/// `secure-probe`, built next to `messngr` by `cargo test --workspace`.
fn binary() -> PathBuf {
    let p = std::path::Path::new(BIN).with_file_name("secure-probe");
    assert!(
        p.exists(),
        "{} is missing: build it first with `cargo build -p messngr-bench --bin secure-probe`",
        p.display()
    );
    p
}

/// Plays `args` from host `i` against H1 (10.77.0.1); panics with `log()` if
/// the probe could not play the attack.
#[track_caller]
pub fn probe(lan: &Lan, i: usize, args: &[&str], log: impl Fn() -> String) -> serde_json::Value {
    let bin = binary();
    let all = [&["--target", "10.77.0.1"], args].concat();
    let o = run_in(lan, i, bin.to_str().unwrap_or_default(), &all);
    assert!(
        o.status.success(),
        "secure-probe {args:?}: {}\n{}",
        text(&o),
        log()
    );
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("secure-probe printed no JSON ({e}): {}", text(&o)))
}
