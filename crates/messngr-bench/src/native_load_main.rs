//! `native-load`: a closed-loop load generator of native messngr messages,
//! plaintext or encrypted and signed. See the `native_load` module of the
//! library for why it exists and `native-load --help` for use.
//!
//! Exit status: 0 a run finished, 2 usage error.

use std::process::ExitCode;

use messngr_bench::native_load::{Options, parse_args, run};
use messngr_bench::{cli, print_report};

fn main() -> ExitCode {
    cli::exit("native-load", main_inner())
}

fn main_inner() -> anyhow::Result<ExitCode> {
    let Some(o): Option<Options> =
        parse_args(std::env::args().skip(1))?.or_help::<messngr_bench::native_load::Args>()
    else {
        return Ok(ExitCode::SUCCESS);
    };
    print_report(&run(&o)?, o.json)
}
