//! `nbns-load`: a closed-loop NBNS name query load generator. See the
//! `nbns` module of the library for why it exists and `nbns-load --help`
//! for use.
//!
//! Exit status: 0 a run finished (or a probe was answered), 1 a probe was
//! not answered, 2 usage or socket error.

use std::process::ExitCode;

use messngr_bench::cli;
use messngr_bench::nbns::{Args, parse_args, probe, run};

fn main() -> ExitCode {
    cli::exit("nbns-load", main_inner())
}

fn main_inner() -> anyhow::Result<ExitCode> {
    let Some(o) = parse_args(std::env::args().skip(1))?.or_help::<Args>() else {
        return Ok(ExitCode::SUCCESS);
    };
    if o.probe {
        return Ok(match probe(&o)? {
            Some(after) => {
                println!(
                    "nbns-load: {} answered {} after {} ms",
                    o.target,
                    o.name,
                    after.as_millis()
                );
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "nbns-load: no correct answer from {} for {} within {:.1} s",
                    o.target,
                    o.name,
                    o.duration.as_secs_f64()
                );
                ExitCode::from(1)
            }
        });
    }
    let report = run(&o)?;
    if o.json {
        println!("{}", report.json()?);
    } else {
        print!("{}", report.human());
    }
    Ok(ExitCode::SUCCESS)
}
