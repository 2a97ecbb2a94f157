//! What a send ends in, typed: a report per receiver, or why not. The
//! API's dispatch turns these into `SendView`s and error kinds.

use std::net::Ipv4Addr;

use messngr_proto::Transport;

/// How far a message got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The receiver acknowledged it (stored, for messngr and local).
    Delivered,
    /// A datagram went out; nobody acknowledges those.
    Sent,
    /// The relay stored it for a host on another site, which has not yet.
    Queued,
    /// The relay is down: kept on this host, handed to it when it is back.
    Kept,
}

/// One receiver's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SendReport {
    /// The target as given.
    pub target: String,
    /// The wire used.
    pub transport: Transport,
    /// The receiver, or the broadcast address.
    pub address: Ipv4Addr,
    /// Delivered or sent.
    pub outcome: Outcome,
    /// Characters the code page could not carry, sent as `?`.
    pub replaced: usize,
    /// SMB text blocks used.
    pub blocks: usize,
    /// Sent as a messngr message, or stored here.
    pub native: bool,
    /// Encrypted and signed over a Noise session.
    pub secure: bool,
    /// The sent message kept for tracking (`messngr track ID`).
    pub id: Option<i64>,
    /// Its uuid, the same at every recipient.
    pub uuid: Option<String>,
    /// What the sender should know (e.g. priority dropped).
    pub warning: Option<String>,
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SendError {
    /// The request itself is wrong (empty text, `--time` out of range).
    #[error("{0}")]
    BadRequest(String),
    /// The target is not a NetBIOS name.
    #[error("{0}")]
    BadName(String),
    /// Nobody answered for the name; no such message or user.
    #[error("{0}")]
    NotFound(String),
    /// The receiver said no.
    #[error("{0}")]
    Refused(String),
    /// The network failed.
    #[error("{0}")]
    Network(String),
    /// The message does not fit.
    #[error("{0}")]
    TooLong(String),
    /// The peer's key does not match its pin, or plain text is forbidden.
    #[error("{0}")]
    Untrusted(String),
    /// The daemon is stopping.
    #[error("the daemon is stopping")]
    Stopping,
    /// This account may not send this (`[relay] org_senders`).
    #[error("{0}")]
    Denied(String),
    /// The relay is away and the message could not be kept here for it
    /// (the outbox is full, or the disk failed): nothing was sent or kept.
    #[error("{0}")]
    NotKept(String),
}

impl From<crate::outbound::OutboundError> for SendError {
    fn from(e: crate::outbound::OutboundError) -> Self {
        match e {
            crate::outbound::OutboundError::Network(s) => SendError::Network(s),
            crate::outbound::OutboundError::Refused(s) => SendError::Refused(s),
        }
    }
}
