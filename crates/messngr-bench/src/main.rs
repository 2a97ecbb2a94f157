//! `nbns-load`: a closed-loop NBNS name query load generator. See the
//! `nbns` module of the library for why it exists and `nbns-load --help`
//! for use.
//!
//! Exit status: 0 a run finished (or a probe was answered), 1 a probe was
//! not answered, 2 usage or socket error.

use std::process::ExitCode;

use messngr_bench::nbns::{Args, parse_args, probe, run};
use messngr_bench::{cli, print_report, probe_verdict};

fn main() -> ExitCode {
    cli::exit("nbns-load", main_inner())
}

fn main_inner() -> anyhow::Result<ExitCode> {
    let Some(o) = parse_args(std::env::args().skip(1))?.or_help::<Args>() else {
        return Ok(ExitCode::SUCCESS);
    };
    if o.probe {
        return Ok(probe_verdict(
            probe(&o)?,
            |after| {
                let ms = after.as_millis();
                format!("nbns-load: {} answered {} after {ms} ms", o.target, o.name)
            },
            || {
                let s = o.duration.as_secs_f64();
                format!(
                    "nbns-load: no correct answer from {} for {} within {s:.1} s",
                    o.target, o.name
                )
            },
        ));
    }
    print_report(&run(&o)?, o.json)
}
