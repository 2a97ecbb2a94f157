//! The sending side of one NBT session (nbt-session-and-smb-messages.md
//! §8.4): turns a message into SMB requests, one at a time, and follows the
//! replies.
//!
//! ```text
//! Start --reply WC≥1: gid / WC 0: gid 0--> Text(0) … Text(n-1) --> End --> Done
//! (or, with `single_request` and at most one block: Single 0xD0 --> Done)
//! any non-success Status, a wrong or malformed reply, or no reply in time --> Failed
//! ```
//!
//! Unlike smbclient, a refusal is an error the caller sees ([`SendError`]).

use std::time::{Duration, Instant};

use crate::wire::smb::header::{Command, Header, Smb, Status, dos};
use crate::wire::smb::message::{MAX_BLOCK_LEN, MAX_NAME_LEN, Reply, Repr, Request};
use crate::wire::{Emit, Error};

/// Default time to wait for each reply: SSN_CLOSE_TIMEOUT (30 s), about
/// what Windows senders wait (interop notes §1.1).
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// How a [`Sender`] builds its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderConfig {
    /// Bytes of text per 0xD7 block for [`Sender::new`], clamped to
    /// 1..=[`MAX_BLOCK_LEN`] (128, the protocol limit and the default).
    pub block_len: usize,
    /// PIDLow of every request: 0 per [MS-MSRP]; smbclient puts its process
    /// id there.
    pub pid: u16,
    /// Send a message of at most one block as a single 0xD0, as Windows
    /// does. Off by default: smbd refuses 0xD0 without a NEGOTIATE (§8.4).
    pub single_request: bool,
    /// How long to wait for each reply.
    pub reply_timeout: Duration,
}

impl Default for SenderConfig {
    fn default() -> Self {
        Self {
            block_len: MAX_BLOCK_LEN,
            pid: 0,
            single_request: false,
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
        }
    }
}

/// Why a message was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The receiver answered with an error status.
    #[error("receiver refused {command:?}: {} ({status:?})", status_text(*status))]
    Refused {
        /// The request it refused.
        command: Command,
        /// Its Status, DOS or NT form.
        status: Status,
    },
    /// The reply could not be decoded.
    #[error("malformed reply to {command:?}: {error}")]
    BadReply {
        /// The request outstanding.
        command: Command,
        /// What was wrong.
        error: Error,
    },
    /// The reply was for another command.
    #[error("reply to {got:?} while waiting for {expected:?}")]
    UnexpectedReply {
        /// The request outstanding.
        expected: Command,
        /// The reply's Command.
        got: Command,
    },
    /// A reply arrived with no request outstanding.
    #[error("reply without an outstanding request")]
    UnsolicitedReply,
    /// No reply in [`SenderConfig::reply_timeout`].
    #[error("no reply to {command:?} in time")]
    Timeout {
        /// The request outstanding.
        command: Command,
    },
    /// A request could not be encoded (cannot happen with the limits the
    /// constructors enforce; kept rather than panicking).
    #[error("cannot encode {command:?}: {error}")]
    Encode {
        /// The request.
        command: Command,
        /// Why.
        error: Error,
    },
}

/// A user-facing explanation of a message error status (§4, §8.4).
pub fn status_text(status: Status) -> &'static str {
    match status {
        Status::Dos { class: 0, code: 0 } | Status::Nt(0) => "success",
        Status::Dos {
            class: dos::ERRSRV,
            code,
        } => match code {
            dos::ERRMSGOFF => "recipient does not accept messages",
            dos::ERRPAUSED => "recipient's messenger is paused",
            dos::ERRNOROOM => "recipient has no room for the message",
            dos::ERRRMUNS => "recipient has too many names or sessions",
            dos::ERRSMBCMD => "recipient does not support this command",
            _ => "recipient reported an error",
        },
        // NT_STATUS_REQUEST_NOT_ACCEPTED: smbd without `message command`.
        Status::Nt(0xC000_00D0) => "recipient does not accept messages",
        // NT_STATUS_INVALID_PARAMETER: smbd's answer to TEXT without START.
        Status::Nt(0xC000_000D) => "recipient rejected the request as invalid",
        _ => "recipient reported an error",
    }
}

/// Where a [`Sender`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// More requests to send or a reply to wait for.
    Pending,
    /// Every reply was a success: the message is delivered.
    Done,
    /// The message was not delivered; send nothing more and close.
    Failed(SendError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Single,
    Start,
    Text(usize),
    End,
    Finished,
}

#[derive(Debug, Clone, Copy)]
struct Outstanding {
    command: Command,
    /// `None` when the timeout is too large for an Instant: never.
    deadline: Option<Instant>,
}

/// Sends one message over one NBT session: call [`Sender::poll_request`]
/// and send what it gives, feed each reply to [`Sender::handle_reply`],
/// until [`Sender::progress`] is no longer [`Progress::Pending`].
#[derive(Debug, Clone)]
pub struct Sender {
    config: SenderConfig,
    originator: Vec<u8>,
    destination: Vec<u8>,
    text: Vec<u8>,
    block_ends: Vec<usize>,
    truncated: bool,
    step: Step,
    group_id: Option<u16>,
    outstanding: Option<Outstanding>,
    progress: Progress,
}

impl Sender {
    /// A sender of `text` (OEM bytes, line breaks already converted) from
    /// `from` to `to`, cut into blocks of [`SenderConfig::block_len`] bytes.
    /// Names are cut at a NUL and to 15 bytes ([`Sender::names_truncated`]
    /// says whether that happened, so the caller can warn).
    pub fn new(from: &[u8], to: &[u8], text: &[u8], config: SenderConfig) -> Self {
        let block = config.block_len.clamp(1, MAX_BLOCK_LEN);
        let block_ends = (1..=text.len().div_ceil(block))
            .map(|i| (i * block).min(text.len()))
            .collect();
        Self::build(from, to, text.to_vec(), block_ends, config)
    }

    /// A sender of the given blocks, each sent as one 0xD7 as it is (for
    /// callers that convert text per block, as smbclient does). A block over
    /// [`MAX_BLOCK_LEN`] is [`Error::TooLong`].
    pub fn with_blocks<I, B>(
        from: &[u8],
        to: &[u8],
        blocks: I,
        config: SenderConfig,
    ) -> Result<Self, Error>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let mut text = Vec::new();
        let mut block_ends = Vec::new();
        for block in blocks {
            let block = block.as_ref();
            if block.len() > MAX_BLOCK_LEN {
                return Err(Error::TooLong("message block over 128 bytes"));
            }
            text.extend_from_slice(block);
            block_ends.push(text.len());
        }
        Ok(Self::build(from, to, text, block_ends, config))
    }

    fn build(
        from: &[u8],
        to: &[u8],
        text: Vec<u8>,
        block_ends: Vec<usize>,
        config: SenderConfig,
    ) -> Self {
        let (originator, cut_from) = clean_name(from);
        let (destination, cut_to) = clean_name(to);
        let step = if config.single_request && block_ends.len() <= 1 {
            Step::Single
        } else {
            Step::Start
        };
        Self {
            config,
            originator,
            destination,
            text,
            block_ends,
            truncated: cut_from || cut_to,
            step,
            group_id: None,
            outstanding: None,
            progress: Progress::Pending,
        }
    }

    /// `true` if a name was cut to 15 bytes (or at a NUL).
    pub const fn names_truncated(&self) -> bool {
        self.truncated
    }

    /// The group id in use: from the START reply, 0 if it had none; `None`
    /// before that reply.
    pub const fn group_id(&self) -> Option<u16> {
        self.group_id
    }

    /// Where the send stands.
    pub const fn progress(&self) -> Progress {
        self.progress
    }

    /// Number of 0xD7 blocks the text is sent in.
    pub fn block_count(&self) -> usize {
        self.block_ends.len()
    }

    /// The blocks, in the order they are sent.
    pub fn blocks(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.block_ends.len()).map(|i| self.block(i))
    }

    /// OriginatorName as sent (after truncation).
    pub fn originator(&self) -> &[u8] {
        &self.originator
    }

    /// DestinationName as sent (after truncation).
    pub fn destination(&self) -> &[u8] {
        &self.destination
    }

    fn block(&self, i: usize) -> &[u8] {
        let start = i
            .checked_sub(1)
            .and_then(|p| self.block_ends.get(p))
            .copied()
            .unwrap_or(0);
        let end = self.block_ends.get(i).copied().unwrap_or(start);
        self.text.get(start..end).unwrap_or_default()
    }

    /// The next request to send (an SMB, to wrap in a SESSION MESSAGE), or
    /// `None` while a reply is awaited or when the send is over. Starts the
    /// reply timer at `now`.
    pub fn poll_request(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.progress != Progress::Pending || self.outstanding.is_some() {
            return None;
        }
        let gid = self.group_id.unwrap_or(0);
        let request = match self.step {
            Step::Single => Request::SendMessage {
                originator: &self.originator,
                destination: &self.destination,
                text: self.block(0),
            },
            Step::Start => Request::SendStart {
                originator: &self.originator,
                destination: &self.destination,
            },
            Step::Text(i) => Request::SendText {
                group_id: gid,
                text: self.block(i),
            },
            Step::End => Request::SendEnd { group_id: gid },
            Step::Finished => return None,
        };
        let command = request.command();
        let repr = Repr {
            header: Header {
                pid_low: self.config.pid,
                ..Header::request(command)
            },
            body: crate::wire::smb::message::Body::Request(request),
        };
        match repr.to_vec() {
            Ok(bytes) => {
                self.outstanding = Some(Outstanding {
                    command,
                    deadline: now.checked_add(self.config.reply_timeout),
                });
                Some(bytes)
            }
            Err(error) => {
                self.fail(SendError::Encode { command, error });
                None
            }
        }
    }

    /// Takes the peer's reply (an SMB) to the outstanding request.
    pub fn handle_reply(&mut self, smb: &[u8]) -> Progress {
        if self.progress != Progress::Pending {
            return self.progress;
        }
        let Some(out) = self.outstanding.take() else {
            return self.fail(SendError::UnsolicitedReply);
        };
        let command = out.command;
        let smb = match Smb::parse(smb) {
            Ok(s) => s,
            Err(error) => return self.fail(SendError::BadReply { command, error }),
        };
        if smb.header.command != command {
            return self.fail(SendError::UnexpectedReply {
                expected: command,
                got: smb.header.command,
            });
        }
        let reply = match Reply::parse(&smb) {
            Ok(r) => r,
            Err(error) => return self.fail(SendError::BadReply { command, error }),
        };
        match reply {
            Reply::Error => {
                return self.fail(SendError::Refused {
                    command,
                    status: smb.header.status,
                });
            }
            Reply::Start { group_id } => self.group_id = Some(group_id.unwrap_or(0)),
            Reply::Ack => {}
        }
        self.step = match self.step {
            Step::Start if self.block_ends.is_empty() => Step::End,
            Step::Start => Step::Text(0),
            Step::Text(i) if i + 1 < self.block_ends.len() => Step::Text(i + 1),
            Step::Text(_) => Step::End,
            Step::Single | Step::End | Step::Finished => Step::Finished,
        };
        if self.step == Step::Finished {
            self.progress = Progress::Done;
        }
        self.progress
    }

    /// When the outstanding reply is due, if one is awaited.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.outstanding.and_then(|o| o.deadline)
    }

    /// Fails the send if the outstanding reply is overdue at `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Progress {
        if let Some(out) = self.outstanding
            && out.deadline.is_some_and(|d| now >= d)
        {
            self.outstanding = None;
            return self.fail(SendError::Timeout {
                command: out.command,
            });
        }
        self.progress
    }

    fn fail(&mut self, error: SendError) -> Progress {
        self.step = Step::Finished;
        self.progress = Progress::Failed(error);
        self.progress
    }
}

/// Cuts a name at its first NUL and to [`MAX_NAME_LEN`] bytes; says whether
/// anything was cut.
fn clean_name(name: &[u8]) -> (Vec<u8>, bool) {
    let until_nul = name.split(|&b| b == 0).next().unwrap_or_default();
    let kept = until_nul.get(..MAX_NAME_LEN).unwrap_or(until_nul);
    (kept.to_vec(), kept.len() != name.len())
}
