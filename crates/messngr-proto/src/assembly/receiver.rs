//! The receiving side of one NBT session (nbt-session-and-smb-messages.md
//! §8.3): fed one SMB at a time, it answers each and assembles messages.
//!
//! ```text
//! Idle      --0xD0 ok--------> Deliver(token) … accept → reply WC 0      --> Idle
//! Idle      --0xD5-----------> reply WC 1 + group id (never 0)           --> InMessage
//! InMessage --0xD7 (any gid)-> append; over a cap: ERRnoroom, drop it    --> InMessage | Idle
//! InMessage --0xD6 (any gid)-> Deliver(token) … accept → reply WC 0      --> Idle
//! InMessage --0xD5-----------> discard the open message, start again (as smbd)
//! Idle      --0xD7/0xD6------> ERRSRV/ERRerror                           --> Idle
//! any       --other command--> ERRSRV/ERRsmbcmd                          (state kept)
//! ```

use std::time::{Duration, Instant};

use crate::wire::name::{NetbiosName, suffix};
use crate::wire::smb::header::{Command, Header, Smb, Status, dos};
use crate::wire::smb::message::{Repr, Request};
use crate::wire::{Emit, Error};

/// Default cap on one message's text: 64 KiB (§6 recommendation).
pub const DEFAULT_MAX_MESSAGE_LEN: usize = 64 * 1024;
/// Default cap on one 0xD0 or 0xD7 block: 1024 bytes, eight times the
/// protocol's 128 (§6 recommendation).
pub const DEFAULT_MAX_BLOCK_LEN: usize = 1024;
/// Default cap on OriginatorName / DestinationName: 255 bytes (§6
/// recommendation; smbclient sends names longer than 15).
pub const DEFAULT_MAX_NAME_LEN: usize = 255;
/// Default cap on 0xD7 blocks in one message (64 KiB in 128-byte blocks is
/// 512; this also stops a flood of empty blocks).
pub const DEFAULT_MAX_BLOCKS: usize = 1024;
/// Default idle time after which the session should be closed (§1: "an
/// implementation choice, e.g. 60 s", as SSN_KEEP_ALIVE_TIMEOUT).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Limits of a [`Receiver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// Longest text of one message; beyond it the reply is ERRnoroom and the
    /// message is dropped.
    pub max_message_len: usize,
    /// Longest single block; a longer one is answered ERRnoroom.
    pub max_block_len: usize,
    /// Longest originator or destination name; a longer one is a malformed
    /// request (ERRerror).
    pub max_name_len: usize,
    /// Most 0xD7 blocks in one message; one more is answered ERRnoroom and
    /// drops the message.
    pub max_blocks: usize,
    /// Idle time after which [`Receiver::poll_timeout`] asks for the session
    /// to be closed.
    pub idle_timeout: Duration,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        Self {
            max_message_len: DEFAULT_MAX_MESSAGE_LEN,
            max_block_len: DEFAULT_MAX_BLOCK_LEN,
            max_name_len: DEFAULT_MAX_NAME_LEN,
            max_blocks: DEFAULT_MAX_BLOCKS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// A complete message, as the sender gave it: raw OEM bytes, not decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageReceived {
    /// OriginatorName (the sender), raw.
    pub from: Vec<u8>,
    /// DestinationName (the recipient as the sender typed it), raw; the
    /// daemon matches its first 15 bytes against its names.
    pub to: Vec<u8>,
    /// The text: the 0xD7 blocks concatenated, or the 0xD0 data without one
    /// trailing NUL. Line breaks (0x14, CR LF) are left as they came.
    pub text: Vec<u8>,
    /// Where each block ends in `text` (one entry per block, in order), for
    /// decoders that decide the character set per block (§7).
    pub block_ends: Vec<usize>,
    /// `true` for START/TEXT/END, `false` for a single 0xD0.
    pub multi_block: bool,
    /// When the 0xD0 or 0xD5 arrived.
    pub started: Instant,
    /// When the 0xD0 or 0xD6 arrived.
    pub completed: Instant,
}

impl MessageReceived {
    /// The destination as a Messenger name, for matching against our names
    /// (§8.3): its first 15 bytes, ASCII upper-cased, suffix 0x03.
    pub fn destination_name(&self) -> NetbiosName {
        NetbiosName::truncated(&self.to, suffix::MESSENGER)
    }

    /// The blocks of `text`, in order.
    pub fn blocks(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut start = 0;
        self.block_ends.iter().map(move |&end| {
            let block = self.text.get(start..end).unwrap_or_default();
            start = end;
            block
        })
    }
}

/// Names a message handed out by [`Action::Deliver`] until it is accepted or
/// refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token(pub(super) u64);

/// [`Receiver::accept`] or [`Receiver::refuse`] with a token that is not the
/// pending one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no pending message with this token")]
pub struct UnknownToken;

/// Why the daemon does not keep a delivered message; each becomes a DOS
/// error reply (§4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// ERRSRV/ERRnoroom: cannot buffer it (storage failed, inbox full, rate
    /// limit, too long).
    NoRoom,
    /// ERRSRV/ERRmsgoff: not receiving messages for this destination.
    MessagesOff,
    /// ERRSRV/ERRpaused: the messenger is paused.
    Paused,
    /// Any other status; a success status is sent as ERRSRV/ERRerror.
    Status(Status),
}

impl Refusal {
    fn status(self) -> Status {
        match self {
            Self::NoRoom => Status::srv(dos::ERRNOROOM),
            Self::MessagesOff => Status::srv(dos::ERRMSGOFF),
            Self::Paused => Status::srv(dos::ERRPAUSED),
            Self::Status(s) if s.is_success() => Status::srv(dos::ERRERROR),
            Self::Status(s) => s,
        }
    }
}

/// What the daemon must do after [`Receiver::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this SMB (in a SESSION MESSAGE).
    Reply(Vec<u8>),
    /// A message is complete: store it durably, then call
    /// [`Receiver::accept`] (or [`Receiver::refuse`]) with the token to get
    /// the reply. Until then [`Receiver::handle`] answers [`Action::Busy`].
    Deliver {
        /// Pass it back to accept or refuse.
        token: Token,
        /// The message.
        message: MessageReceived,
    },
    /// A delivery is still pending; the SMB was **not** consumed. Stop
    /// reading from the peer, and feed the SMB again after accepting or
    /// refusing (senders wait for each reply, so this only happens with a
    /// misbehaving peer).
    Busy,
    /// The bytes are not an SMB1 message (no `\xFFSMB` header): there is
    /// nothing to reply to; close the session.
    Close(Error),
}

/// A multi-block message being assembled.
#[derive(Debug, Clone)]
struct Open {
    from: Vec<u8>,
    to: Vec<u8>,
    text: Vec<u8>,
    block_ends: Vec<usize>,
    started: Instant,
}

/// A message handed out and not yet accepted or refused.
#[derive(Debug, Clone, Copy)]
struct Pending {
    token: Token,
    request: Header,
}

/// The receiver of one NBT session (see the module docs for the states).
#[derive(Debug, Clone)]
pub struct Receiver {
    config: ReceiverConfig,
    open: Option<Open>,
    pending: Option<Pending>,
    pub(super) last_group_id: u16,
    next_token: u64,
    last_activity: Instant,
}

impl Receiver {
    /// A receiver for a session that started at `now`.
    pub fn new(config: ReceiverConfig, now: Instant) -> Self {
        Self {
            config,
            open: None,
            pending: None,
            last_group_id: 0,
            next_token: 0,
            last_activity: now,
        }
    }

    /// The limits in force.
    pub const fn config(&self) -> &ReceiverConfig {
        &self.config
    }

    /// `true` while a multi-block message is open (after 0xD5, before 0xD6).
    pub const fn in_message(&self) -> bool {
        self.open.is_some()
    }

    /// The token of the message waiting for accept/refuse, if any.
    pub fn pending(&self) -> Option<Token> {
        self.pending.map(|p| p.token)
    }

    /// Handles one SMB from the peer that arrived at `now`.
    pub fn handle(&mut self, now: Instant, smb: &[u8]) -> Action {
        if self.pending.is_some() {
            return Action::Busy;
        }
        self.last_activity = now;
        let header = match Header::parse(smb) {
            Ok(h) => h,
            Err(e) => return Action::Close(e),
        };
        let is_message = matches!(
            header.command,
            Command::SendMessage
                | Command::SendStartMbMessage
                | Command::SendTextMbMessage
                | Command::SendEndMbMessage
        );
        if !is_message {
            return error(&header, dos::ERRSMBCMD);
        }
        let request = Smb::parse(smb).and_then(|s| Request::parse(&s));
        match (request, header.command) {
            (
                Ok(Request::SendMessage {
                    originator,
                    destination,
                    text,
                }),
                _,
            ) => self.send_message(now, header, originator, destination, text),
            (
                Ok(Request::SendStart {
                    originator,
                    destination,
                }),
                _,
            ) => self.start(now, &header, originator, destination),
            (Ok(Request::SendText { text, .. }), _) => self.text(&header, text),
            (Ok(Request::SendEnd { .. }), _) => self.end(now, header),
            (Err(_), Command::SendMessage) => error(&header, dos::ERRERROR),
            (Err(_), _) => {
                // A broken START/TEXT/END would leave a hole in the text:
                // drop the open message so that the END fails too and the
                // sender learns that it was not delivered.
                self.open = None;
                error(&header, dos::ERRERROR)
            }
        }
    }

    fn send_message(
        &mut self,
        now: Instant,
        request: Header,
        from: &[u8],
        to: &[u8],
        text: &[u8],
    ) -> Action {
        if !self.names_fit(from, to) {
            return error(&request, dos::ERRERROR);
        }
        let text = text.strip_suffix(b"\0").unwrap_or(text);
        if text.len() > self.config.max_block_len || text.len() > self.config.max_message_len {
            return error(&request, dos::ERRNOROOM);
        }
        let message = MessageReceived {
            from: from.to_vec(),
            to: to.to_vec(),
            text: text.to_vec(),
            block_ends: vec![text.len()],
            multi_block: false,
            started: now,
            completed: now,
        };
        self.deliver(request, message)
    }

    fn start(&mut self, now: Instant, request: &Header, from: &[u8], to: &[u8]) -> Action {
        // A new START discards whatever was open, as smbd does.
        self.open = None;
        if !self.names_fit(from, to) {
            return error(request, dos::ERRERROR);
        }
        self.open = Some(Open {
            from: from.to_vec(),
            to: to.to_vec(),
            text: Vec::new(),
            block_ends: Vec::new(),
            started: now,
        });
        self.last_group_id = match self.last_group_id.wrapping_add(1) {
            0 => 1,
            id => id,
        };
        encode(&Repr::start_reply(request, Some(self.last_group_id)))
    }

    fn text(&mut self, request: &Header, block: &[u8]) -> Action {
        let config = self.config;
        let Some(open) = self.open.as_mut() else {
            return error(request, dos::ERRERROR);
        };
        if block.len() > config.max_block_len
            || open.block_ends.len() >= config.max_blocks
            || open.text.len() + block.len() > config.max_message_len
        {
            self.open = None;
            return error(request, dos::ERRNOROOM);
        }
        open.text.extend_from_slice(block);
        open.block_ends.push(open.text.len());
        encode(&Repr::ack(request))
    }

    fn end(&mut self, now: Instant, request: Header) -> Action {
        let Some(open) = self.open.take() else {
            return error(&request, dos::ERRERROR);
        };
        let message = MessageReceived {
            from: open.from,
            to: open.to,
            text: open.text,
            block_ends: open.block_ends,
            multi_block: true,
            started: open.started,
            completed: now,
        };
        self.deliver(request, message)
    }

    fn deliver(&mut self, request: Header, message: MessageReceived) -> Action {
        let token = Token(self.next_token);
        self.next_token = self.next_token.wrapping_add(1);
        self.pending = Some(Pending { token, request });
        Action::Deliver { token, message }
    }

    fn names_fit(&self, from: &[u8], to: &[u8]) -> bool {
        from.len() <= self.config.max_name_len && to.len() <= self.config.max_name_len
    }

    fn take_pending(&mut self, token: Token) -> Result<Header, UnknownToken> {
        match self.pending {
            Some(p) if p.token == token => {
                self.pending = None;
                Ok(p.request)
            }
            _ => Err(UnknownToken),
        }
    }

    /// The message of `token` is durable: returns the success reply
    /// (WordCount 0) to send.
    pub fn accept(&mut self, token: Token) -> Result<Vec<u8>, UnknownToken> {
        let request = self.take_pending(token)?;
        Ok(reply_bytes(&Repr::ack(&request)))
    }

    /// The message of `token` was not kept: returns the error reply to send.
    /// The session stays usable.
    pub fn refuse(&mut self, token: Token, why: Refusal) -> Result<Vec<u8>, UnknownToken> {
        let request = self.take_pending(token)?;
        Ok(reply_bytes(&Repr::error(&request, why.status())))
    }

    /// When the session should be closed for idleness, unless something
    /// arrives first; `None` while a delivery is pending (the daemon is busy
    /// storing, not the peer idle).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.pending {
            Some(_) => None,
            // An idle timeout too large for an Instant means "never".
            None => self.last_activity.checked_add(self.config.idle_timeout),
        }
    }

    /// `true` when, at `now`, the session has been idle too long and should
    /// be closed (then call [`Receiver::close`]).
    pub fn handle_timeout(&self, now: Instant) -> bool {
        self.poll_timeout().is_some_and(|t| now >= t)
    }

    /// The connection is gone: returns the multi-block message left open, if
    /// any, for a daemon whose policy keeps incomplete messages (it was never
    /// acknowledged; §8.3).
    pub fn close(self) -> Option<MessageReceived> {
        let open = self.open?;
        Some(MessageReceived {
            from: open.from,
            to: open.to,
            text: open.text,
            block_ends: open.block_ends,
            multi_block: true,
            started: open.started,
            completed: self.last_activity,
        })
    }
}

fn error(request: &Header, code: u16) -> Action {
    encode(&Repr::error(request, Status::srv(code)))
}

fn encode(reply: &Repr<'_>) -> Action {
    Action::Reply(reply_bytes(reply))
}

/// Encodes a reply built by this module. They are consistent by
/// construction (ack for 0xD0/0xD6/0xD7, start reply for 0xD5, errors with a
/// non-success status), so emitting cannot fail.
fn reply_bytes(reply: &Repr<'_>) -> Vec<u8> {
    let bytes = reply.to_vec();
    debug_assert!(bytes.is_ok(), "reply {reply:?} does not encode");
    bytes.unwrap_or_default()
}
