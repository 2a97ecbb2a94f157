//! `rpc-load`: a closed-loop load generator of MS-MSRP `NetrSendMessage`
//! calls on UDP 135. See the `rpc` module of the library for why it exists
//! and `rpc-load --help` for use.
//!
//! Exit status: 0 a run finished, 2 usage error.

use std::process::ExitCode;

use messngr_bench::rpc::{Args, parse_args, run};
use messngr_bench::{cli, print_report};

fn main() -> ExitCode {
    cli::exit("rpc-load", main_inner())
}

fn main_inner() -> anyhow::Result<ExitCode> {
    let Some(o) = parse_args(std::env::args().skip(1))?.or_help::<Args>() else {
        return Ok(ExitCode::SUCCESS);
    };
    print_report(&run(&o)?, o.json)
}
