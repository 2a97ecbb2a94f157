//! # messngr-api
//!
//! The local protocol between the messngr daemon and its clients — the
//! `messngr` command line and the desktop agent — and nothing else: plain
//! typed requests and answers (as rust-analyzer's `lsp-server` has them),
//! the line envelope they travel in, and two clients.
//!
//! Why a crate of its own: the daemon and every client must agree on one
//! definition of each request and each answer. Before, the clients imported
//! daemon internals and then read raw JSON fields anyway; now the compiler
//! checks both ends. The default build has no async runtime, no store and
//! no socket server: a client needs only this crate.
//!
//! ## On the socket
//!
//! One JSON object per line over a Unix stream socket (poke it with
//! `socat - UNIX:/run/messngr/messngr.sock`). The client starts with a
//! [`Hello`] carrying [`API_VERSION`]; the daemon answers [`Welcome`] or a
//! `version` error and closes, so an old client meets a clear message
//! instead of a parse error. Then each line is one [`Request`], each
//! answer one [`Reply`]: `{"ok": …}` or `{"error": {"kind": …, "message":
//! …}}`. The caller's identity is the uid the kernel reports for the
//! socket (`SO_PEERCRED`), never anything in a request.
//!
//! ## Pieces
//!
//! * [`Request`], split by service ([`NamesRequest`], [`SendRequest`],
//!   [`InboxRequest`]), and one struct per call implementing [`Call`],
//!   which names the answer's type.
//! * The views: [`MessageView`] (what the CLI, the agent and `export`
//!   print), [`InboxPage`], [`SendView`], [`NameView`], [`StatusView`], …
//! * [`ApiError`] with an [`ErrorKind`] the CLI maps to its exit codes.
//! * [`FollowEvent`]: the stream of new messages and quiet changes.
//! * [`frame`]: the envelope, made in one place.
//! * [`Client`] (blocking) and, with the `tokio` feature, [`AsyncClient`].
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![deny(missing_docs)]

mod alert;
#[cfg(feature = "tokio")]
mod async_client;
mod client;
mod error;
pub mod frame;
mod hello;
mod inbox;
mod message;
mod names;
mod notice;
mod request;
mod send;
mod stream;
pub mod time;
mod token;
mod track;
mod trust;

pub use alert::{Alert, AlertView, MAX_TITLE};
#[cfg(feature = "tokio")]
pub use async_client::{AsyncClient, Follower};
pub use client::{Client, ClientError, Exporter, call};
pub use error::{ApiError, ErrorKind};
pub use frame::{MAX_LINE, MAX_REPLY_LINE, PAGE_BYTES, Reply};
pub use hello::{API_VERSION, Hello, Welcome};
pub use inbox::{
    DEFAULT_PAGE, Export, InboxFilter, InboxList, InboxPage, MAX_PAGE, Quiet, QuietChange,
    QuietView, Read, Rm, Search, Unread, UnreadView, shows_now,
};
pub use message::{Direction, MessageView};
pub use messngr_proto::{Priority, Transport};
pub use names::{
    CountersView, InboxUsageView, Lookup, LookupView, NameAdd, NameDel, NameList, NameView,
    NodeNameView, NodeStatus, NodeStatusView, RelayView, Status, StatusView,
};
pub use notice::{NoticeFailure, NoticeView, Remind, Retract, Update};
pub use request::{
    Call, InboxRequest, NamesRequest, Request, SendRequest, TokenRequest, TrustRequest,
};
pub use send::{
    Deliver, MAX_DELIVER_NAME, MAX_DELIVER_TEXT, Reply as ReplyTo, Send, SendView, Via,
};
pub use stream::{ExportItem, Follow, FollowEvent, Following, ReceiptEvent};
pub use token::{
    TokenCreate, TokenCreated, TokenList, TokenRevoke, TokenView, WebLogin, WebLoginView,
};
pub use track::{MAX_WAIT_SECS, RecipientView, Track, TrackView};
pub use trust::{KeyChangeView, PinView, TrustAdd, TrustExport, TrustList, TrustRemove, TrustShow};
