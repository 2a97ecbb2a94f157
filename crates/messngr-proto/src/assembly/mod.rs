//! Sans-IO state machines for SMB messages on an NBT session: the
//! [`Receiver`] that turns a sender's 0xD0 or 0xD5/0xD7…/0xD6 requests into
//! one [`MessageReceived`] and answers each request, and the [`Sender`] that
//! turns a text into those requests and follows the replies
//! (nbt-session-and-smb-messages.md §8.3, §8.4; [MS-MSRP] §3.2.4).
//!
//! Both are fed bytes and [`Instant`](std::time::Instant)s and hand back bytes
//! and events; they never touch a socket or a clock. The bytes are whole SMBs:
//! the daemon cuts its TCP stream with [`crate::wire::nbss::frame_len`],
//! handles the SESSION REQUEST and keep-alives itself, and passes the payload
//! of each SESSION MESSAGE here (and wraps what comes back in one).
//!
//! # Durability
//!
//! A sender takes the success reply to 0xD0 or 0xD6 as "delivered". The
//! receiver therefore never produces that reply on its own: it hands out the
//! message with a [`Token`], and the daemon answers with
//! [`Receiver::accept`] once the message is on disk, or [`Receiver::refuse`]
//! when it could not (or would not) keep it.

mod receiver;
mod sender;

pub use receiver::{
    Action, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BLOCK_LEN, DEFAULT_MAX_BLOCKS,
    DEFAULT_MAX_MESSAGE_LEN, DEFAULT_MAX_NAME_LEN, MessageReceived, Receiver, ReceiverConfig,
    Refusal, Token, UnknownToken,
};
pub use sender::{DEFAULT_REPLY_TIMEOUT, Progress, SendError, Sender, SenderConfig, status_text};

#[cfg(test)]
mod receiver_tests;
#[cfg(test)]
mod sender_tests;
