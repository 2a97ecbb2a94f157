//! `messngr alert`: its arguments, apart from cli.rs only for size.

use std::path::PathBuf;

use super::PriorityArg;

/// What `messngr alert` takes.
#[derive(Debug, clap::Args)]
pub struct AlertArgs {
    /// The severity: it picks the subscribers (`[alerter]` low, normal,
    /// urgent) and how the pop-up behaves.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub priority: Option<PriorityArg>,
    /// A short title, shown before the text (at most 255 bytes).
    #[arg(long, value_name = "TITLE")]
    pub title: Option<String>,
    /// A systemd unit that failed: the alert names it and carries its last
    /// journal lines (read with journalctl; messngr-alert@.service passes
    /// %i). Repeats of it collapse by the unit's name.
    #[arg(long, value_name = "UNIT")]
    pub unit: Option<String>,
    /// With --unit: read the journal from this directory (journalctl
    /// --directory) instead of the system's.
    #[arg(long, value_name = "DIR", requires = "unit")]
    pub journal_directory: Option<PathBuf>,
    /// With --unit: how many journal lines to include (1–200).
    #[arg(long, value_name = "N", default_value_t = 20, requires = "unit",
          value_parser = clap::value_parser!(u32).range(1..=200))]
    pub lines: u32,
    /// What makes two alerts the same (default: title, text and priority;
    /// with --unit, the unit). The same alert again within collapse_secs
    /// is counted on the first one's message, not sent again.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// It is over: the alert with the same key sent lately (give the
    /// same --key, or --title and text) is updated to say RESOLVED at every
    /// recipient instead of a new one sent.
    #[arg(long)]
    pub resolved: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// The alert's text; `-` or nothing reads standard input (with --unit,
    /// nothing means only the unit's failure and its journal).
    pub text: Vec<String>,
}
