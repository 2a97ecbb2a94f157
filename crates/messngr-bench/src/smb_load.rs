//! `smb-load`: a closed-loop load generator of SMB messages. See the `smb`
//! module of the library for why it exists and `smb-load --help` for use.
//!
//! Exit status: 0 a run finished (or a probe was accepted), 1 a probe was
//! not accepted, 2 usage error.

use std::process::ExitCode;

use messngr_bench::smb::{Args, parse_args, probe, run};
use messngr_bench::{cli, print_report, probe_verdict};

fn main() -> ExitCode {
    cli::exit("smb-load", main_inner())
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
                format!(
                    "smb-load: {} accepted a session for {}<03> after {ms} ms",
                    o.target, o.name
                )
            },
            || {
                let s = o.duration.as_secs_f64();
                format!(
                    "smb-load: {} accepted no session for {}<03> within {s:.1} s",
                    o.target, o.name
                )
            },
        ));
    }
    print_report(&run(&o)?, o.json)
}
