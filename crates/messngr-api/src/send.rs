//! Sending: `messngr send`, `reply`, and `deliver` (a message another
//! program received, handed to the inbox).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::Priority;

/// Send a message (`net send` semantics: NAME, `*`, `/domain[:NAME]`,
/// `/users`). The answer has one [`SendView`] per receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Send {
    /// The target as the user wrote it.
    pub target: String,
    /// The text (UTF-8; encoded to the OEM code page for the wire).
    pub text: String,
    /// The receiver's address, skipping name resolution (`-I`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Ipv4Addr>,
    /// `--priority`: carried only by messngr receivers (and to names held
    /// here); a legacy receiver gets a plain message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// `--time SECS`: the receiver's pop-up closes itself after this long
    /// (1–86400); messngr receivers only, like `priority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub popup_secs: Option<u32>,
    /// `--expires`: seconds from now after which the message is never
    /// shown (1 to 604800); messngr receivers only, like `priority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_secs: Option<u32>,
    /// `--secure`: only an encrypted, signed messngr session will do; a
    /// legacy receiver is an error instead of a plain-text fallback.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secure: bool,
    /// `--transport`: which way the message goes ([`Via::Auto`], the
    /// default, picks as `net send` and messngr do).
    #[serde(default, skip_serializing_if = "Via::is_auto")]
    pub transport: Via,
    /// Keep no sender's copy: the message cannot be tracked, waited for,
    /// updated or retracted, and costs the inbox one row instead of two
    /// (what an HTTP publish asks unless it says `"track": true`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub untracked: bool,
}

impl Send {
    /// `text` to `target`, everything else as `messngr send TARGET TEXT`
    /// has it: the way chosen by the daemon, a sender's copy kept.
    pub fn new(target: impl Into<String>, text: impl Into<String>) -> Send {
        Send {
            target: target.into(),
            text: text.into(),
            address: None,
            priority: None,
            popup_secs: None,
            expires_secs: None,
            secure: false,
            transport: Via::Auto,
            untracked: false,
        }
    }
}

/// Which way a message goes (`messngr send --transport`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// messngr (encrypted, signed) when the receiver speaks it, else an SMB
    /// message on TCP 139; a `\MAILSLOT\MESSNGR` datagram (and signed
    /// copies to messngr hosts) for `*` and `/domain`.
    #[default]
    Auto,
    /// An SMB message on an NBT session, TCP 139, as `net send` and
    /// `smbclient -M` send it.
    Smb,
    /// A `\MAILSLOT\MESSNGR` datagram on UDP 138, as WinPopup sends it:
    /// nobody acknowledges it.
    Mailslot,
    /// MS-MSRP `NetrSendMessage` over DCE/RPC on UDP 135, for receivers
    /// that accept only RPC.
    Rpc,
    /// messngr only (as `--secure`): encrypted and signed, or not at all.
    Native,
}

impl Via {
    /// The default.
    pub fn is_auto(&self) -> bool {
        *self == Via::Auto
    }

    /// The name `--transport` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Auto => "auto",
            Via::Smb => "smb",
            Via::Mailslot => "mailslot",
            Via::Rpc => "rpc",
            Via::Native => "native",
        }
    }
}

/// Answer a message, to its sender, by the way it came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The message answered.
    pub id: i64,
    /// The answer.
    pub text: String,
}

/// The most text bytes a [`Deliver`] may carry (smbd's own limit is 1600).
pub const MAX_DELIVER_TEXT: usize = 16 * 1024;
/// The longest sender or recipient name a [`Deliver`] may carry.
pub const MAX_DELIVER_NAME: usize = 255;

/// Store a message another program received (`messngr deliver`, run by
/// smbd as its `message command`). What is delivered is unverified, and
/// delivering gives no right to read. The answer is the new message's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliver {
    /// Who received it: `samba`.
    pub transport: crate::Transport,
    /// The sender's name, as the receiver gave it.
    pub from: String,
    /// The recipient's name, as the receiver gave it.
    pub to: String,
    /// The text bytes as the receiver wrote them (hex on the wire).
    #[serde(with = "hex")]
    pub text: Vec<u8>,
}

/// The result of a send to one receiver, as `messngr send --json` prints it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendView {
    /// The target as given.
    pub target: String,
    /// `smb`, `mailslot` or `messngr`.
    pub transport: String,
    /// Where it went (the receiver, or the broadcast address).
    pub address: Ipv4Addr,
    /// `delivered` (acknowledged by the receiver) or `sent` (datagram).
    pub outcome: String,
    /// Characters the code page could not carry, sent as `?`.
    pub replaced: usize,
    /// SMB text blocks used (0 for a datagram or a native message).
    pub blocks: usize,
    /// Sent as a messngr-to-messngr message (priority and pop-up time
    /// carried), or stored here for a name this host holds.
    #[serde(default)]
    pub native: bool,
    /// Encrypted and signed (a messngr peer over a Noise session, with its
    /// host key checked against the pin).
    #[serde(default)]
    pub secure: bool,
    /// The sent message, kept for `messngr track ID` (messngr receivers and
    /// names held here; legacy receivers send no receipts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Its uuid, the same at every recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// What the sender should know, e.g. that priority and `--time` were
    /// dropped because the receiver does not speak messngr.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}
