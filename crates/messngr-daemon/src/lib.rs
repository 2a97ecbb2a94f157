//! # messngr-daemon
//!
//! Everything of messngr that touches the operating system: sockets, timers,
//! signals, files. The protocol decisions are not here — they are the sans-IO
//! state machines of `messngr-proto`; this crate only moves bytes and time
//! between them and the world (the quinn / quinn-proto split).
//!
//! The binary needs only [`run`], [`Settings`] and [`config`]; every other
//! module is private to the crate (so the compiler finds dead code). Inside:
//!
//! * `daemon`: bind, start the tasks, stop them (one cancellation token).
//! * `privs`: started as root, give it up for good once bound (`user`).
//! * `names`: the UDP 137 driver around `registration::NameService`, asked
//!   through a typed command channel (`names::Names`).
//! * `session`: TCP 139, NBT sessions with SMB message commands;
//!   `native`: messngr frames received on them.
//! * `datagram`: UDP 138, `\MAILSLOT\MESSNGR` datagrams.
//! * `intake`: the hand-over from a transport to the inbox.
//! * `inbox`: decode, store durably, and the callers' queries (in SQL).
//! * `samba`: messages smbd handed to `messngr deliver`, its charset undone.
//! * `people`: delivery to people once a message is stored: terminals, hooks.
//! * `send`: `net send` semantics: resolve, NBT session, mailslot broadcast,
//!   native frames, local accounts; `outbound`: the calling side of a session.
//! * `registry`: the names held right now, shared with the receivers.
//! * `quiet`: per-user do-not-disturb, honoured by terminals and agents.
//! * `policy`: who may put a message here (rates and per-source session
//!   caps in `policy::limits`); every refusal counted by reason
//!   and logged once per source per interval.
//! * `access`: who owns a message, which messages an API caller may see;
//!   `accounts`: login names by uid, remembered for two seconds.
//! * `server`: the local API socket (`messngr-api`'s protocol): the one
//!   dispatch that maps requests to the services and results to replies.
//! * [`config`]: the TOML file and its defaults; `settings`: resolved
//!   against the machine; `iface`, `udp`: the served interface and sockets.
//! * `limit`: per-source token buckets; `users`: who is logged in (utmp).
//! * `view`: a stored message as the API (and a hook's stdin) shows it.
#![forbid(unsafe_code)]
// Network input must never panic the daemon: no unwrap/expect outside tests.
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod accounts;
mod alerter;
pub mod codepages;
pub mod config;
mod daemon;
mod datagram;
mod flow;
mod http;
mod iface;
mod inbox;
mod intake;
mod limit;
mod live;
mod metrics;
mod names;
mod native;
mod notify;
mod outbound;
mod people;
mod policy;
mod ports;
mod privs;
mod quiet;
mod recipient;
mod registry;
mod relay;
mod reload;
mod rpc;
mod samba;
mod secure;
mod send;
mod server;
mod session;
mod settings;
mod tokens;
mod udp;
mod users;
mod view;
mod websession;

#[cfg(test)]
mod testing;

/// The receive paths driven in memory, for `fuzz/fuzz_targets/daemon.rs`.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use daemon::{DaemonError, run, run_reloading};
pub use privs::PrivsError;
pub use relay::nats_permissions;
pub use reload::Reload;
pub use settings::{Settings, SettingsError};
