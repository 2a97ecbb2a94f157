//! The command-line plumbing the bench tools share: clap does the
//! parsing and the help text; this module adds what they all need on top —
//! `--help` as a result rather than an exit, one-line errors with exit
//! status 2, and the value parsers for run times and bounded counts.

use std::process::ExitCode;
use std::time::Duration;

use clap::error::ErrorKind;

/// Longest run accepted, so a typo cannot start an endless load.
pub const MAX_DURATION: Duration = Duration::from_secs(600);

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed<A> {
    /// Run with these arguments.
    Run(A),
    /// `-h` / `--help`.
    Help,
}

impl<A> Parsed<A> {
    /// The arguments to run with; `None` after printing `H`'s help.
    pub fn or_help<H: clap::CommandFactory>(self) -> Option<A> {
        match self {
            Parsed::Run(a) => Some(a),
            Parsed::Help => {
                print_help::<H>();
                None
            }
        }
    }
}

/// Parses `args` (without the program name) as `A`.
pub fn parse<A: clap::Parser>(
    program: &str,
    args: impl IntoIterator<Item = String>,
) -> anyhow::Result<Parsed<A>> {
    match A::try_parse_from(std::iter::once(program.to_owned()).chain(args)) {
        Ok(a) => Ok(Parsed::Run(a)),
        Err(e) if e.kind() == ErrorKind::DisplayHelp => Ok(Parsed::Help),
        // One line, as the programs print every error ("PROGRAM: …").
        Err(e) => {
            let text = e.render().to_string();
            let what = text.split("\n\n").next().unwrap_or_default();
            let what = what.strip_prefix("error: ").unwrap_or(what);
            let what: Vec<&str> = what.split_whitespace().collect();
            Err(anyhow::anyhow!("{} (see --help)", what.join(" ")))
        }
    }
}

/// The end of every tool's `main`: the exit code `result` asks for, or its
/// error on one line (`PROGRAM: …`) and exit status 2.
pub fn exit(program: &str, result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("{program}: {e:#}");
        ExitCode::from(2)
    })
}

/// Prints `A`'s help (`--help`).
pub fn print_help<A: clap::CommandFactory>() {
    print!("{}", A::command().render_help());
}

/// A positive number of seconds (fractions allowed), at most
/// [`MAX_DURATION`] (longer is cut to it).
pub fn seconds(v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(MAX_DURATION.as_secs_f64())))
        .ok_or_else(|| "a positive number of seconds".to_owned())
}

/// A whole number from `lo` to `hi`.
pub fn count(lo: u64, hi: u64) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync {
    move |v| {
        v.parse::<u64>()
            .ok()
            .filter(|n| (lo..=hi).contains(n))
            .ok_or_else(|| format!("a whole number from {lo} to {hi}"))
    }
}
