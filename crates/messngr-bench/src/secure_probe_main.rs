//! `secure-probe`: a hostile messngr peer for the secure-channel attack
//! tests. See the `secure_probe` module of the library for why it exists
//! and `secure-probe --help` for use.
//!
//! Exit status: 0 the attack was played (its outcome is the JSON line), 2
//! usage error or the attack could not be played (no connection, …).

use std::process::ExitCode;

use messngr_bench::cli;
use messngr_bench::secure_probe::{Args, run};

fn main() -> ExitCode {
    cli::exit("secure-probe", main_inner())
}

fn main_inner() -> anyhow::Result<ExitCode> {
    let Some(a) = cli::parse::<Args>("secure-probe", std::env::args().skip(1))?.or_help::<Args>()
    else {
        return Ok(ExitCode::SUCCESS);
    };
    println!("{}", run(&a)?);
    Ok(ExitCode::SUCCESS)
}
