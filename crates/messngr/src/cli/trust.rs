//! `messngr trust`: the subcommands, apart from cli.rs only for size.

use clap::Subcommand;

/// What `messngr trust` does.
#[derive(Debug, Subcommand)]
pub enum TrustAction {
    /// List every pinned host key: name, fingerprint, where the pin came from.
    List,
    /// Show this host's key and fingerprint, or the pin of NAME.
    ///
    /// Read the fingerprint aloud to the other host's admin (or compare it
    /// with theirs) before you trust a key you were not sure of.
    Show {
        /// A host's NetBIOS name; without it, this host.
        name: Option<String>,
    },
    /// Pin NAME to KEY by hand (root): trust a host without trust on
    /// first use, or accept a key that changed after you checked it.
    ///
    /// KEY is what `messngr trust show` prints on NAME: `ed25519:` and 64
    /// hex digits.
    Add {
        /// The host's NetBIOS name.
        name: String,
        /// `ed25519:` and 64 hex digits.
        key: String,
    },
    /// Forget NAME's pin (root); the next contact pins the key it meets
    /// (with `trust = "tofu"`).
    Remove {
        /// The host's NetBIOS name.
        name: String,
    },
    /// Print every pin as a trust file (`NAME ed25519:HEX` per line), to
    /// distribute as `trust_file` to hosts that should not trust on first use.
    Export,
}
