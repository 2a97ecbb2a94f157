//! What can go wrong with the relay, for the log, `messngr status` and a
//! sender's one-line error.

use std::path::PathBuf;

/// A relay operation that failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RelayError {
    /// No server is connected now.
    #[error("the relay is not connected: try again when `messngr status` shows it back")]
    NotConnected,
    /// Connected, the stream or bucket not opened yet.
    #[error("the relay's {0} is not ready yet")]
    NotReady(&'static str),
    /// The cluster did not store a publish in time (no answer, no stream
    /// leader, the connection lost under it): it may come back.
    #[error("the relay did not take it in time ({0})")]
    Unanswered(String),
    /// The receiving host's key is not pinned (it is, once looked up).
    #[error("{0} has no pinned key")]
    NoPin(String),
    /// A file of `[relay]` could not be read.
    #[error("relay.{key} {}: {source}", path.display())]
    File {
        key: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A `[relay]` setting that no retry can mend: a server URL that does
    /// not parse, a seed or CA file that holds no seed or certificate.
    #[error("relay.{key}: {why}")]
    Setting { key: &'static str, why: String },
    /// The cluster refused or did not answer (JetStream's own words).
    #[error("{0}")]
    JetStream(String),
    /// A stream on the cluster differs from what messngr makes
    /// (`streams`), or another stream took a publish: `found` is its name.
    #[error("{why}")]
    MadeOtherwise { found: String, why: String },
    /// This host's directory entry is larger than an entry may be.
    #[error("this host's directory entry is {len} bytes, over {max}")]
    TooLarge { len: usize, max: usize },
    /// The envelope could not be made.
    #[error("{0}")]
    Seal(#[from] messngr_secure::SealError),
    /// Frames that cannot travel together (not native frames).
    #[error("these messages cannot be bundled: {0}")]
    Bundle(messngr_proto::wire::Error),
    /// JSON could not be written.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// The consumer's stream of messages ended.
    #[error("the relay's message stream ended")]
    Ended,
    /// The task publishing a message stopped before it was published
    /// (the daemon stopping).
    #[error("not sent: the relay's publisher stopped")]
    Stopped,
}

impl RelayError {
    /// Whether the relay is away for now (not connected, not ready, not
    /// answering, its stream refused): the sender keeps the message and
    /// sends it when it is back, rather than failing it.
    pub(crate) fn is_away(&self) -> bool {
        matches!(
            self,
            RelayError::NotConnected
                | RelayError::NotReady(_)
                | RelayError::Unanswered(_)
                | RelayError::MadeOtherwise { .. }
        )
    }

    /// The same failure again, for each message of a bundle that one
    /// publish failed for (what a sender reads of it is its text).
    pub(crate) fn again(&self) -> RelayError {
        match self {
            RelayError::NotConnected => RelayError::NotConnected,
            RelayError::NotReady(what) => RelayError::NotReady(what),
            RelayError::NoPin(host) => RelayError::NoPin(host.clone()),
            RelayError::Unanswered(why) => RelayError::Unanswered(why.clone()),
            RelayError::MadeOtherwise { found, why } => RelayError::MadeOtherwise {
                found: found.clone(),
                why: why.clone(),
            },
            RelayError::Ended => RelayError::Ended,
            RelayError::Stopped => RelayError::Stopped,
            other => RelayError::JetStream(other.to_string()),
        }
    }
}

/// async-nats's many error types, in its own words.
pub(crate) fn nats(e: impl std::fmt::Display) -> RelayError {
    RelayError::JetStream(e.to_string())
}

/// Why a lookup found nothing usable.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LookupError {
    /// The relay is down.
    #[error("the relay is not connected")]
    NotConnected,
    /// Connected, the directory not yet opened.
    #[error("the relay's directory is not ready yet")]
    NotReady,
    /// The directory's stream on the cluster is made otherwise than
    /// messngr makes it: not read until it passes a check (`loops`).
    #[error(
        "the relay's directory is not used now: its stream on the cluster is made otherwise (see `messngr status`)"
    )]
    StreamRefused,
    /// Nobody has it.
    #[error("{0} is not in the relay's directory")]
    Absent(String),
    /// This host holds it.
    #[error("{0} is this host's own name")]
    Ours(String),
    /// The entry is not acceptable (unsigned, forged, oversized, not
    /// listing the name, from a host this host is): dropped, counted.
    #[error("the relay's directory entry for {name} was refused: {why}")]
    Refused {
        /// The name looked up.
        name: String,
        /// Why.
        why: String,
    },
    /// The entry's key is not the one pinned for its host.
    #[error(
        "the relay's directory offers a key for {0} that is not the pinned one: refused (`messngr trust` to replace a host's key)"
    )]
    KeyChanged(String),
    /// Several hosts claim the name, none vetted by an admin.
    #[error(
        "{name} is claimed at several sites ({hosts}), none vetted by an admin: nothing sent (`messngr trust add HOST KEY` vets the real ones)"
    )]
    Conflict {
        /// The name.
        name: String,
        /// Its claimants.
        hosts: String,
    },
    /// The cluster did not answer.
    #[error("the relay's directory did not answer: {0}")]
    Io(String),
}

impl LookupError {
    /// Whether the directory could not be asked now (not connected, not
    /// ready, not answering): worth asking again later, unlike an answer.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(
            self,
            LookupError::NotConnected
                | LookupError::NotReady
                | LookupError::StreamRefused
                | LookupError::Io(_)
        )
    }

    /// Whether this is an entry refused (counted as dropped).
    pub(crate) fn is_refusal(&self) -> bool {
        matches!(
            self,
            LookupError::Refused { .. } | LookupError::KeyChanged(_) | LookupError::Conflict { .. }
        )
    }
}
