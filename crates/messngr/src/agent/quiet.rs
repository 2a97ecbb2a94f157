//! Do-not-disturb as the agent sees it.
//!
//! The daemon keeps the setting (`messngr quiet on|off`, see
//! `messngr_api::Quiet`), so terminals and every agent of a user agree.
//! The agent asks for it when it connects and then hears each change on
//! its follow stream (`FollowEvent::Quiet`); this flag is its copy. While it is
//! on, only urgent messages pop up; when it goes off, the agent shows what
//! waited.

use std::sync::atomic::{AtomicBool, Ordering};

use messngr_api::Priority;

static QUIET: AtomicBool = AtomicBool::new(false);

/// Whether do-not-disturb is on, as last heard from the daemon.
pub fn is_on() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Records what the daemon said; returns whether quiet just ended.
pub fn set(on: bool) -> bool {
    QUIET.swap(on, Ordering::Relaxed) && !on
}

/// Whether a message of `priority` pops up now.
pub fn pops_up(quiet: bool, priority: Priority) -> bool {
    messngr_api::shows_now(quiet, priority)
}
