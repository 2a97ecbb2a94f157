//! Delivery to people: what happens to a message once it is safely stored.
//!
//! Why a module of its own: the transports and the inbox end at "stored";
//! everything after that — terminals ([`terminal`]), hooks ([`hooks`]) —
//! follows [`crate::inbox::Inbox::subscribe`], each as its own task with its
//! own subscription. Nothing here can lose or hold up a message: a dead
//! terminal, a missing program or a hook that hangs is logged and the next
//! delivery goes on; the message stays in the inbox whatever happens. A
//! consumer that falls behind skips messages (logged with their number);
//! they are in the inbox too.
//!
//! Remote text reaches terminals and hooks only through [`clean`] and
//! [`clean_line`], i.e. `sanitize_for_display`.

pub mod hooks;
pub mod terminal;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use messngr_proto::text::{sanitize_for_display, sanitize_line};
use messngr_store::{Direction, Message};
use tokio::sync::broadcast::{Receiver, error::RecvError};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::inbox::Inbox;
use crate::settings::Settings;

/// Where a stored message reached someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sink {
    /// Written on a terminal (one per terminal).
    Terminal,
    /// A hook that ran and exited 0 (one per hook).
    Hook,
    /// Streamed to a follower of the API socket: desktop agents, `messngr
    /// follow` (one per follower).
    Follow,
    /// Streamed as an HTTP `/v1/events` message (one per stream).
    Http,
}

impl Sink {
    /// Every sink, in the order `/metrics` lists them.
    pub(crate) const ALL: [Sink; 4] = [Sink::Terminal, Sink::Hook, Sink::Follow, Sink::Http];

    /// The label.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Sink::Terminal => "terminal",
            Sink::Hook => "hook",
            Sink::Follow => "follow",
            Sink::Http => "http_events",
        }
    }
}

/// Deliveries by sink, counted where each one happens; read by `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct Delivered {
    counts: [AtomicU64; Sink::ALL.len()],
}

impl Delivered {
    /// Counts one delivery to `sink`.
    pub(crate) fn add(&self, sink: Sink) {
        self.counts[sink as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// How many deliveries `sink` had.
    pub(crate) fn get(&self, sink: Sink) -> u64 {
        self.counts[sink as usize].load(Ordering::Relaxed)
    }
}

/// Starts the delivery tasks configured in `settings`, subscribed now (so
/// that no message stored after this call is missed).
pub(crate) fn spawn(
    tasks: &TaskTracker,
    settings: Arc<Settings>,
    live: &Arc<crate::live::Live>,
    inbox: &Arc<Inbox>,
    quiet: &crate::quiet::Quiet,
    delivered: &Arc<Delivered>,
    stop: CancellationToken,
) {
    if settings.terminals {
        let (s, l, q, d) = (
            settings.clone(),
            live.clone(),
            quiet.clone(),
            delivered.clone(),
        );
        tasks.spawn(follow(
            "terminals",
            inbox.subscribe(),
            stop.clone(),
            move |m| {
                let (s, a, q, d) = (s.clone(), l.aliases(), q.clone(), d.clone());
                async move { terminal::deliver(s, a, m, q.users().await, d).await }
            },
        ));
        tasks.spawn(quiet_summaries(
            settings.clone(),
            quiet.subscribe(),
            stop.clone(),
        ));
    }
    // Always followed: a reload may add hooks to a daemon started without.
    let runner = hooks::Runner::new(live.clone()).counting(delivered.clone());
    tasks.spawn(follow("hooks", inbox.subscribe(), stop, move |m| {
        runner.clone().start(m)
    }));
}

/// Hands every received message to `deliver`, in order, until `stop`.
async fn follow<F, Fut>(
    what: &'static str,
    mut rx: Receiver<Arc<Message>>,
    stop: CancellationToken,
    mut deliver: F,
) where
    F: FnMut(Arc<Message>) -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        let next = tokio::select! {
            () = stop.cancelled() => return,
            next = rx.recv() => next,
        };
        match next {
            Ok(m) if m.direction == Direction::In => deliver(m).await,
            Ok(_) => {}
            Err(RecvError::Lagged(n)) => tracing::warn!(
                "{what}: fell behind, {n} messages not delivered (they are in the inbox)"
            ),
            Err(RecvError::Closed) => return,
        }
    }
}

/// Tells a user's terminals how many messages waited when their quiet ends.
async fn quiet_summaries(
    settings: Arc<Settings>,
    mut rx: Receiver<crate::quiet::QuietChange>,
    stop: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            () = stop.cancelled() => return,
            next = rx.recv() => next,
        };
        match next {
            Ok(c) if !c.quiet => terminal::quiet_ended(settings.clone(), c.user, c.waiting).await,
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
    }
}

/// Remote text made harmless for a terminal or a hook: control characters
/// and escape sequences shown as `^[`…, bidi and invisible characters as
/// U+FFFD, LF and TAB kept (messngr-proto's `text::escape`).
pub fn clean(text: &str) -> String {
    sanitize_for_display(text).into_owned()
}

/// Like [`clean`], for names and other one-line fields: LF and TAB too
/// become visible (`^J`, `^I`), so a name cannot start a line of its own.
pub fn clean_line(text: &str) -> String {
    sanitize_line(text).into_owned()
}

/// `s` cut to at most `max` bytes at a character boundary; whether it was cut.
pub fn cut(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (&s[..end], true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_on_one_line_and_text_is_inert() {
        assert_eq!(clean_line("evil\n\x1b[2Jname\t"), "evil^J^[[2Jname^I");
        assert_eq!(clean("a\x1b]2;pwned\x07\nb"), "a^[]2;pwned^G\nb");
        assert_eq!(cut("aé", 2), ("a", true));
        assert_eq!(cut("abc", 3), ("abc", false));
    }
}
