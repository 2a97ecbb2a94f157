//! `messngr agent`: the per-user receiver that turns stored messages into
//! desktop notifications.
//!
//! Why it is a separate process from the daemon: the daemon is a system
//! service without a desktop; the notification server lives on each user's
//! D-Bus session bus. The agent runs in the user's session (systemd user
//! unit or XDG autostart, see `packaging/`), follows the daemon's stream of
//! new messages (`messngr_api::Follow`) and first shows every unread message
//! that arrived while it was away (the LinPopUp promise). It never marks a
//! message read by itself: only the "Mark read" action does, so a message
//! whose pop-up failed (no D-Bus session, no notification server) stays
//! unread in the inbox and is shown again on the next try.

mod notifier;
mod popup;
pub mod quiet;
pub mod tray;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use futures_lite::StreamExt;
use messngr_api::{
    AsyncClient, Call, Direction, FollowEvent, InboxFilter, InboxList, MessageView, Quiet, Read,
};

use notifier::{Event, Notifier};
pub use popup::Popup;

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The daemon's API socket.
    pub socket: PathBuf,
    /// Run for "Reply": PROGRAM with the message id as its argument (never
    /// through a shell); `None`: print how to reply.
    pub reply_command: Option<PathBuf>,
    /// Wait between attempts when the daemon or D-Bus is missing.
    pub retry: Duration,
    /// Show the unread count as a tray icon (StatusNotifierItem).
    pub tray: bool,
}

/// Ids already shown in this process: a reconnect does not show them twice.
/// `gone` are those whose pop-up has closed since (the tray icon's click
/// shows them again).
/// `on_screen` maps the notification server's ids of this session's
/// pop-ups to message ids (for its action and close signals).
#[derive(Debug, Default)]
struct Seen {
    shown: HashSet<i64>,
    gone: HashSet<i64>,
    on_screen: HashMap<u32, i64>,
}
type Shown = Arc<Mutex<Seen>>;

/// Runs until SIGTERM/SIGINT: follow, show, and retry after any failure.
pub fn run(options: Options) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let shown = Shown::default();
        let stop = stop_signal();
        tokio::pin!(stop);
        let mut tray_failed = false;
        loop {
            // A tray that fails (no session bus yet) is tried again with
            // the next attempt, and said once.
            if options.tray
                && let Err(e) = tray::start_within(&options.socket, options.retry).await
                && !std::mem::replace(&mut tray_failed, true)
            {
                eprintln!("messngr agent: {e:#} (pop-ups work regardless)");
            }
            let result = tokio::select! {
                () = &mut stop => return Ok(()),
                r = session(&options, &shown) => r,
            };
            match result {
                Ok(()) => eprintln!(
                    "messngr agent: the daemon closed the stream; reconnecting in {} s",
                    options.retry.as_secs()
                ),
                Err(e) => eprintln!(
                    "messngr agent: {e:#}; retrying in {} s (messages wait in the inbox)",
                    options.retry.as_secs()
                ),
            }
            tokio::select! {
                () = &mut stop => return Ok(()),
                () = tokio::time::sleep(options.retry) => {}
            }
        }
    })
}

async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}

/// Aborts a background task when the session that started it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One call over the API socket (a connection of its own: the follow
/// stream holds the other).
async fn call<C: Call>(socket: &Path, c: C) -> anyhow::Result<C::Output> {
    Ok(AsyncClient::connect(socket).await?.call(c).await?)
}

/// One connection to the daemon: subscribe, catch up, then follow.
async fn session(options: &Options, shown: &Shown) -> anyhow::Result<()> {
    let notifier = Notifier::connect().await?;
    // Before the first pop-up, so that no click is missed. Drained by a task
    // of its own into an unbounded queue: zbus stops reading the bus while
    // a signal stream is full, and a catch-up that awaits one `Notify`
    // reply after another would then wait for its reply forever.
    let mut signals = notifier.events().await?;
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let _pump = AbortOnDrop(tokio::spawn(async move {
        while let Some(event) = signals.next().await {
            if tx.send(event).is_err() {
                return;
            }
        }
    }));
    let n = &notifier;
    let mut follower = AsyncClient::connect(&options.socket)
        .await
        .with_context(|| {
            format!(
                "cannot reach the messngr daemon at {} (is `messngr daemon` running?)",
                options.socket.display()
            )
        })?
        .follow()
        .await
        .context("the daemon refused to stream messages")?;
    // Subscribed first, so nothing stored (and no quiet change) from now on
    // is missed; now whether the user is quiet, and what arrived while no
    // agent ran.
    ask_quiet(options).await?;
    catch_up(options, shown, n).await?;
    loop {
        let event = tokio::select! {
            e = follower.next() => match e? {
                Some(e) => e,
                None => return Ok(()),
            },
            () = tray::activated() => {
                show_again(options, shown, n).await?;
                continue;
            }
            event = events.recv() => {
                match event {
                    Some(event) => on_event(options, shown, event),
                    None => bail!("the session bus connection closed"),
                }
                continue;
            }
        };
        tray::refresh();
        match event {
            FollowEvent::Message(m) => show(shown, &m, n).await?,
            FollowEvent::Quiet(change) => {
                if quiet::set(change.quiet) {
                    // Quiet ended: what waited pops up now.
                    catch_up(options, shown, n).await?;
                }
            }
            // The agent shows what arrives, not who read what was sent.
            FollowEvent::Receipt(_) => {}
            FollowEvent::Lagged { .. } => {
                // Missed messages or quiet changes: ask again, show what waits.
                ask_quiet(options).await?;
                catch_up(options, shown, n).await?;
            }
        }
    }
}

/// Asks the daemon whether the user is quiet and records it.
async fn ask_quiet(options: &Options) -> anyhow::Result<()> {
    match call(&options.socket, Quiet { on: None }).await {
        Ok(view) => {
            quiet::set(view.quiet);
        }
        Err(e) => {
            eprintln!(
                "messngr agent: cannot ask whether you are quiet ({e:#}); showing every message"
            );
            quiet::set(false);
        }
    }
    Ok(())
}

/// Unread messages asked for at a time while catching up.
const CATCH_UP_PAGE: u32 = 100;
/// The most unread messages one catch-up pops up (the newest).
const CATCH_UP_MAX: usize = 1000;

/// Shows the unread messages, oldest first — at most the newest
/// [`CATCH_UP_MAX`]: the pages of the unread listing, newest page first,
/// shown in reverse.
async fn catch_up(options: &Options, shown: &Shown, n: &Notifier) -> anyhow::Result<()> {
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let list = InboxList {
            filter: InboxFilter {
                unread: true,
                limit: Some(CATCH_UP_PAGE),
                before,
                ..InboxFilter::default()
            },
        };
        let page = call(&options.socket, list)
            .await
            .context("the inbox refused")?;
        let (Some(first), older) = (page.messages.first(), page.older) else {
            break;
        };
        before = Some(first.id);
        pages.push(page.messages);
        if older == 0 {
            break;
        }
        // A flood of unread messages (anyone on the LAN can send them)
        // must not open a pop-up each, nor fill the agent's memory.
        if pages.len() * CATCH_UP_PAGE as usize >= CATCH_UP_MAX {
            eprintln!(
                "messngr agent: {older} older unread messages are not popped up; `messngr inbox --unread` lists them"
            );
            break;
        }
    }
    for m in pages.iter().rev().flatten() {
        show(shown, m, n).await?;
    }
    tray::refresh();
    Ok(())
}

/// The tray icon was clicked: the unread messages whose pop-up has closed
/// pop up again (those still on screen are not doubled).
async fn show_again(options: &Options, shown: &Shown, n: &Notifier) -> anyhow::Result<()> {
    if let Ok(mut s) = shown.lock() {
        let Seen { shown, gone, .. } = &mut *s;
        shown.retain(|id| !gone.contains(id));
        gone.clear();
    }
    catch_up(options, shown, n).await
}

/// Shows `m` once (received, unread, not shown yet); its actions arrive
/// as [`Event`]s.
async fn show(shown: &Shown, m: &MessageView, n: &Notifier) -> anyhow::Result<()> {
    if m.direction != Direction::In {
        return Ok(());
    }
    // A live notice for a message on screen: its pop-up is replaced in
    // place (a withdrawn one too, saying so), whatever quiet says.
    let changed = m.updated_at_ms.is_some() || m.retracted_at_ms.is_some();
    let on_screen = shown.lock().ok().and_then(|s| {
        s.on_screen
            .iter()
            .find(|(_, id)| **id == m.id)
            .map(|(nid, _)| *nid)
    });
    let replaces = match on_screen {
        Some(nid) if changed => nid,
        _ => {
            if !m.is_unread() || !quiet::pops_up(quiet::is_on(), m) {
                return Ok(());
            }
            if !changed && shown.lock().map_or(true, |s| s.shown.contains(&m.id)) {
                return Ok(());
            }
            0
        }
    };
    let nid = n
        .show(&Popup::of(m, n.markup), replaces)
        .await
        .map_err(|e| anyhow::anyhow!("cannot show message {}: {e:#}", m.id))?;
    if let Ok(mut s) = shown.lock() {
        s.on_screen.remove(&replaces);
    }
    if let Ok(mut s) = shown.lock() {
        s.shown.insert(m.id);
        s.gone.remove(&m.id);
        s.on_screen.insert(nid, m.id);
    }
    Ok(())
}

/// A signal about one of our pop-ups: an action runs in its own task (a
/// reply command may take long), a closed pop-up is remembered as gone.
fn on_event(options: &Options, shown: &Shown, event: Event) {
    match event {
        Event::Action { id: nid, key } => {
            let id = shown
                .lock()
                .ok()
                .and_then(|s| s.on_screen.get(&nid).copied());
            if let Some(id) = id {
                let (options, shown) = (options.clone(), shown.clone());
                tokio::spawn(async move { act(&options, &shown, id, &key).await });
            }
        }
        Event::Closed { id: nid } => {
            if let Ok(mut s) = shown.lock()
                && let Some(id) = s.on_screen.remove(&nid)
            {
                s.gone.insert(id);
            }
        }
    }
}

/// Carries out a notification action (failures are logged, never fatal).
async fn act(options: &Options, shown: &Shown, id: i64, action: &str) {
    match action {
        popup::ACTION_MARK_READ => match call(&options.socket, Read { id }).await {
            Ok(_) => {
                if let Ok(mut s) = shown.lock() {
                    s.shown.remove(&id);
                }
                tray::refresh();
            }
            Err(e) => eprintln!("messngr agent: cannot mark {id} read: {e:#}"),
        },
        popup::ACTION_REPLY => match &options.reply_command {
            Some(program) => {
                let (program, socket) = (program.clone(), options.socket.clone());
                let status = tokio::task::spawn_blocking(move || {
                    std::process::Command::new(&program)
                        .arg(id.to_string())
                        .env("MESSNGR_MESSAGE_ID", id.to_string())
                        .env("MESSNGR_SOCKET", &socket)
                        .status()
                        .map_err(|e| format!("{}: {e}", program.display()))
                })
                .await;
                match status {
                    Ok(Ok(s)) if s.success() => {}
                    Ok(Ok(s)) => eprintln!("messngr agent: reply command {s}"),
                    Ok(Err(e)) => eprintln!("messngr agent: reply command failed: {e}"),
                    Err(e) => eprintln!("messngr agent: reply command failed: {e}"),
                }
            }
            None => eprintln!("messngr agent: to answer message {id}: messngr reply {id} TEXT"),
        },
        _ => {}
    }
}
