//! `smb-load`: a closed-loop load generator of SMB messages. See the `smb`
//! module of the library for why it exists and `smb-load --help` for use.
//!
//! Exit status: 0 a run finished (or a probe was accepted), 1 a probe was
//! not accepted, 2 usage error.

use std::process::ExitCode;

use messngr_bench::cli;
use messngr_bench::smb::{Args, parse_args, probe, run};

fn main() -> ExitCode {
    cli::exit("smb-load", main_inner())
}

fn main_inner() -> anyhow::Result<ExitCode> {
    let Some(o) = parse_args(std::env::args().skip(1))?.or_help::<Args>() else {
        return Ok(ExitCode::SUCCESS);
    };
    if o.probe {
        return Ok(match probe(&o) {
            Some(after) => {
                println!(
                    "smb-load: {} accepted a session for {}<03> after {} ms",
                    o.target,
                    o.name,
                    after.as_millis()
                );
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "smb-load: {} accepted no session for {}<03> within {:.1} s",
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
