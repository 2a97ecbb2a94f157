//! `http-load`: a closed-loop load generator of HTTP publishes. See the
//! `http` module of the library for why it exists and `http-load --help`
//! for use.
//!
//! Exit status: 0 a run finished (or a probe was answered), 1 a probe was
//! not answered, 2 usage error.

use std::process::ExitCode;

use messngr_bench::http::{Args, parse_args, probe, run};
use messngr_bench::{cli, print_report, probe_verdict};

fn main() -> ExitCode {
    cli::exit("http-load", main_inner())
}

fn main_inner() -> anyhow::Result<ExitCode> {
    let Some(o) = parse_args(std::env::args().skip(1))?.or_help::<Args>() else {
        return Ok(ExitCode::SUCCESS);
    };
    if o.probe {
        return Ok(probe_verdict(
            probe(&o),
            |after| {
                let ms = after.as_millis();
                format!("http-load: http://{} answered after {ms} ms", o.target)
            },
            || {
                let s = o.duration.as_secs_f64();
                format!(
                    "http-load: http://{} did not answer 200 within {s:.1} s (listener off, or the token wrong?)",
                    o.target
                )
            },
        ));
    }
    print_report(&run(&o)?, o.json)
}
