//! # messngr-daemon
//!
//! Everything of messngr that touches the operating system: sockets, timers,
//! signals, files. The protocol decisions are not here — they are the sans-IO
//! state machines of `messngr-proto`; this crate only moves bytes and time
//! between them and the world (the quinn / quinn-proto split).
//!
//! * [`daemon`]: bind, start the tasks, stop them (one cancellation token).
//! * [`names`]: the UDP 137 driver around `registration::NameService`.
//! * [`session`]: TCP 139, NBT sessions with SMB message commands.
//! * [`datagram`]: UDP 138, `\MAILSLOT\MESSNGR` datagrams.
//! * [`delivery`]: the hand-over from a transport to the inbox.
//! * [`inbox`]: decode, store durably, answer inbox requests.
//! * [`samba`]: messages smbd handed to `messngr deliver`, its charset conversion undone.
//! * [`deliver`]: delivery to people once a message is stored: terminals, hooks.
//! * [`send`]: `net send` semantics: resolve, NBT session, mailslot broadcast.
//! * [`native`]: messngr-to-messngr messages on TCP 139 (priority, pop-up time), both ways.
//! * [`local`]: a local account's message to a name held here, stored with its uid.
//! * [`registry`]: the names held right now, shared with the receivers.
//! * [`quiet`]: per-user do-not-disturb, honoured by terminals and agents.
//! * [`access`]: who owns a message, which messages an API caller may see.
//! * [`api`]: the local API socket the CLI talks to (JSON lines, uid from `SO_PEERCRED`).
//! * [`config`]: the TOML file and its defaults; [`settings`]: resolved against the machine.
//! * [`iface`]: address, netmask, broadcast and MAC of the served interface.
//! * [`udp`]: NetBIOS UDP sockets (wildcard bind, broadcast, one interface).
//! * [`limit`]: per-source token buckets against floods.
//! * [`users`]: who is logged in (utmp), for their `USER<03>` names.
#![forbid(unsafe_code)]
// Network input must never panic the daemon: no unwrap/expect outside tests.
#![warn(clippy::unwrap_used, clippy::expect_used)]

pub mod access;
pub mod api;
pub mod config;
pub mod daemon;
pub mod datagram;
pub mod deliver;
pub mod delivery;
pub mod follow;
pub mod iface;
pub mod inbox;
pub mod limit;
pub mod local;
pub mod names;
pub mod native;
pub mod quiet;
pub mod registry;
pub mod samba;
pub mod send;
pub mod session;
pub mod settings;
pub mod udp;
pub mod users;

pub use daemon::{DaemonError, run};
pub use settings::Settings;
