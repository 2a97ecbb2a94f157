//! `inbox-bench` — the durable inbox (`messngr-store`) at a million
//! messages, behind `bench/inbox.sh`.
//!
//! Why it exists: a LAN messenger that keeps everything ends up with big
//! inboxes, and the store promised that listing the newest page, counting
//! what is older, searching and exporting cost about the same at a
//! million messages as at a hundred. This tool checks that promise with
//! figures: it fills a fresh inbox through the path the daemon uses
//! (`StoreHandle::queue_insert`, many inserts in flight so that the store
//! thread commits them in groups, every COMMIT fsync'd), then times each
//! query many times and reports p50/p99/max, the fill rate and the
//! process's memory after each phase (which must not grow with the inbox).
//!
//! Nothing here opens a socket. The inbox must be on a real disk: on tmpfs
//! fsync is free and the fill rate means nothing (the tool says so).

mod data;
mod fill;
mod measure;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use messngr_bench::cli;

/// `inbox-bench`'s command line.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "inbox-bench",
    about = "The messngr inbox at a million messages: fill rate, page/search/export latency, memory"
)]
pub struct Args {
    /// A new inbox file to fill and measure (refused if it exists: this
    /// tool never writes into an inbox it did not make).
    #[arg(long, value_name = "PATH", required_unless_present = "reuse")]
    db: Option<PathBuf>,
    /// An inbox made by an earlier run: measured without filling if it
    /// holds exactly --messages received messages; filled first if it does
    /// not exist.
    #[arg(long, value_name = "PATH", conflicts_with = "db")]
    reuse: Option<PathBuf>,
    /// Messages to store.
    #[arg(long, value_name = "N", default_value_t = 1_000_000, value_parser = cli::count(1, 100_000_000))]
    messages: u64,
    /// Inserts queued at once while filling (the store commits what is
    /// queued, up to 128 a transaction).
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = cli::count(1, 100_000))]
    in_flight: u64,
    /// Times each query is timed.
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = cli::count(1, 100_000))]
    reps: u64,
    /// Messages per page.
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = cli::count(1, 10_000))]
    limit: u64,
    /// Messages per export page.
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = cli::count(1, 100_000))]
    export_page: u64,
    /// Seed of the made-up messages (the same seed, the same inbox).
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = match cli::parse::<Args>("inbox-bench", std::env::args().skip(1)) {
        Ok(cli::Parsed::Run(a)) => a,
        Ok(cli::Parsed::Help) => {
            cli::print_help::<Args>();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("inbox-bench: {e:#}");
            return ExitCode::from(2);
        }
    };
    match run::run(&args) {
        Ok(report) => {
            if args.json {
                println!("{}", report.json());
            } else {
                print!("{}", report.human());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("inbox-bench: {e:#}");
            ExitCode::from(1)
        }
    }
}
