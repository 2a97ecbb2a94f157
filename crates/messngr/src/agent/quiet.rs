//! Do-not-disturb as the agent sees it.
//!
//! The daemon keeps the setting (`messngr quiet on|off`, see
//! `messngr_api::Quiet`), so terminals and every agent of a user agree.
//! The agent asks for it when it connects and then hears each change on
//! its follow stream (`FollowEvent::Quiet`); this flag is its copy. While it is
//! on, only messages that interrupt (urgent from root or admin_group on
//! this host) pop up; when it goes off, the agent shows what
//! waited.

use std::sync::atomic::{AtomicBool, Ordering};

use messngr_api::MessageView;

static QUIET: AtomicBool = AtomicBool::new(false);

/// Whether do-not-disturb is on, as last heard from the daemon.
pub fn is_on() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Records what the daemon said; returns whether quiet just ended.
pub fn set(on: bool) -> bool {
    QUIET.swap(on, Ordering::Relaxed) && !on
}

/// Whether `m` pops up now: while quiet, only a message that interrupts
/// (urgent from root or admin_group on this host, never one from the
/// network: `MessageView::interrupts`).
pub fn pops_up(quiet: bool, m: &MessageView) -> bool {
    messngr_api::shows_now(quiet, m.interrupts())
}
