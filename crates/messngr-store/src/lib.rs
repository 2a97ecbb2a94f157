//! # messngr-store
//!
//! The durable inbox. The Messenger service's promise to a sender is the
//! SMB success reply (or the messngr acknowledgement): "your message is
//! here". This crate makes that promise true — a message is on disk before
//! anyone is told it was accepted — and keeps everything known about it:
//! the decoded text and the original bytes with their code page, who sent
//! it from where over which transport, and whether the sender was verified
//! (never, on a legacy transport).
//!
//! ## Durability contract
//!
//! [`Store::insert`] (and [`StoreHandle::insert`]) return only after
//! `COMMIT` returned under `journal_mode=WAL` and `synchronous=FULL`: SQLite
//! has fsync'd the write-ahead log, so an acknowledged message survives a
//! crash or power loss. [`Store::open`] reads both settings back and refuses
//! to run if either did not take. On any error nothing is stored, and the
//! caller must refuse the message: [`StoreError::Full`] (disk full,
//! `SQLITE_FULL`) and [`StoreError::QuotaFull`] (over the [`Quota`]) are
//! the daemon's `ERRnoroom`, everything else a general error. Never acknowledge what `insert` did not return `Ok` for.
//!
//! ## Pieces
//!
//! * [`Store`]: the blocking store (the CLI may use it directly).
//! * [`StoreHandle`]: the same for async code, served by one thread.
//! * [`NewMessage`] in, [`Message`] out; [`Filter`] (with its [`Scope`])
//!   for listings.
//! * Inboxes of a million messages: [`Store::page`] (the newest N by id,
//!   with the number of older ones, on indexes), [`Store::search`]
//!   (full-text, FTS5), [`Store::export_page`] (an export one page at a
//!   time), [`Store::count`] (exact, from kept counts: `derived.rs`).
//! * The schema and its migrations: [`SCHEMA_VERSION`], see `schema.rs`.
//! * Pages, search, export pages and counts in SQL: [`Store::page`],
//!   [`Store::search`], [`Store::export_page`], [`Store::count`]; a
//!   [`StoreHandle`] serves them on a reader connection of their own.
//! * Receipts of sent messages: [`Store::add_recipients`],
//!   [`Store::set_receipt`], [`Store::unread_recipients`], [`ReceiptSummary`].
//! * Signed messages and live notices (issue #11): [`Message::author`] and
//!   [`Message::signed`], [`Store::find_by_uuid`], [`Store::update_notice`],
//!   [`Store::retract_notice`] (`notices.rs`).
//! * Do-not-disturb per user: [`Store::set_quiet`], [`Store::quiet_users`].
//! * Limits: [`Quota`] ([`Store::set_quota`]; a message over it is
//!   [`StoreError::QuotaFull`]) and the expiry of read messages
//!   ([`Store::expire_read`]).
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![deny(missing_docs)]

pub mod clock;
mod counts;
mod derived;
mod error;
mod expires;
mod filter;
mod gone;
mod handle;
mod message;
mod notices;
mod outbox;
mod page;
mod quiet;
mod quota;
mod reader;
mod receipts;
mod schema;
mod search;
mod store;
mod uuids;

pub use error::{Result, StoreError};
pub use filter::{Filter, Scope};
pub use gone::{MAX_REMEMBERED, REMEMBERED_MS};
pub use handle::StoreHandle;
pub use message::{
    AlertMark, Direction, Message, NewMessage, Priority, Transport, new_uuid, new_uuid_bytes,
};
/// Longest alert title, in bytes: the native frame's ALERT field's limit.
pub use messngr_proto::wire::native::MAX_TITLE_LEN as MAX_TITLE;
pub use notices::{MAX_AUTHOR, MAX_SIGNED};
pub use outbox::{MAX_OUTBOX, MAX_OUTBOX_PER_USER, Queued};
pub use page::Page;
pub use quota::{Quota, QuotaBucket};
pub use receipts::{Receipt, ReceiptState, ReceiptSummary};
pub use schema::SCHEMA_VERSION;
pub use store::{BUSY_TIMEOUT, Store};

#[cfg(test)]
mod tests;
