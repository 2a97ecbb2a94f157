//! `messngr token`: the subcommands, apart from cli.rs only for size.

use clap::Subcommand;

/// What `messngr token` does.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Make a token for your account and print it (the only time it is
    /// shown; the daemon keeps a hash).
    ///
    /// Use it as `Authorization: Bearer TOKEN`, with ntfy's `--token`, or
    /// as the password of `http://:TOKEN@localhost:839/`. It sees and
    /// sends what your account does, until you revoke it.
    Create {
        /// A label, to tell your tokens apart (`grafana`, `phone`).
        #[arg(long)]
        label: Option<String>,
    },
    /// List your tokens (root and admin_group: everyone's), never the
    /// tokens themselves.
    List,
    /// Revoke token ID (as `messngr token list` shows it): the next request
    /// with it is refused.
    Revoke {
        /// The token's number.
        id: u32,
    },
}
