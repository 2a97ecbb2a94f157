//! `messngr agent`: the per-user receiver that turns stored messages into
//! desktop notifications.
//!
//! Why it is a separate process from the daemon: the daemon is a system
//! service without a desktop; the notification server lives on each user's
//! D-Bus session bus. The agent runs in the user's session (systemd user
//! unit or XDG autostart, see `packaging/`), follows the daemon's stream of
//! new messages (`Request::Follow`) and first shows every unread message
//! that arrived while it was away (the LinPopUp promise). It never marks a
//! message read by itself: only the "Mark read" action does, so a message
//! whose pop-up failed (no D-Bus session, no notification server) stays
//! unread in the inbox and is shown again on the next try.

mod popup;
pub mod quiet;
pub mod tray;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use messngr_daemon::api::{self, Request, Response};
use messngr_daemon::quiet::{QuietChange, QuietView};
use messngr_store::{Direction, Message};
use notify_rust::NotificationResponse;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

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
#[derive(Debug, Default)]
struct Seen {
    shown: HashSet<i64>,
    gone: HashSet<i64>,
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

/// Whether the notification server renders body markup; an error means no
/// session bus or no notification server on it.
async fn notification_server() -> anyhow::Result<bool> {
    let caps = tokio::task::spawn_blocking(notify_rust::get_capabilities)
        .await
        .context("asking the notification server")?
        .map_err(|e| {
            anyhow::anyhow!(
                "no desktop notification server on the D-Bus session bus ({e}; is DBUS_SESSION_BUS_ADDRESS set and a notification daemon running?)"
            )
        })?;
    Ok(caps.iter().any(|c| c == "body-markup"))
}

/// One request over the API socket, off the runtime (the client is blocking).
async fn call(socket: &Path, request: Request) -> anyhow::Result<Response> {
    let socket = socket.to_owned();
    Ok(tokio::task::spawn_blocking(move || api::call(&socket, &request)).await??)
}

/// One connection to the daemon: subscribe, catch up, then follow.
async fn session(options: &Options, shown: &Shown) -> anyhow::Result<()> {
    let markup = notification_server().await?;
    let stream = tokio::net::UnixStream::connect(&options.socket)
        .await
        .with_context(|| {
            format!(
                "cannot reach the messngr daemon at {} (is `messngr daemon` running?)",
                options.socket.display()
            )
        })?;
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_vec(&Request::Follow)?;
    line.push(b'\n');
    write.write_all(&line).await?;
    let mut lines = BufReader::new(read).lines();
    let first: Response = match lines.next_line().await? {
        Some(l) => serde_json::from_str(&l)?,
        None => bail!("the daemon hung up before following"),
    };
    if !first.ok {
        bail!(
            "the daemon refused to stream messages: {}",
            first.error.unwrap_or_default()
        );
    }
    // Subscribed first, so nothing stored (and no quiet change) from now on
    // is missed; now whether the user is quiet, and what arrived while no
    // agent ran.
    let q = call(&options.socket, Request::Quiet { on: None }).await?;
    if q.ok {
        let view: QuietView = serde_json::from_value(q.data)?;
        quiet::set(view.quiet);
    } else {
        eprintln!(
            "messngr agent: cannot ask whether you are quiet ({}); showing every message",
            q.error.unwrap_or_default()
        );
        quiet::set(false);
    }
    catch_up(options, shown, markup).await?;
    loop {
        let l = tokio::select! {
            l = lines.next_line() => match l? {
                Some(l) => l,
                None => return Ok(()),
            },
            () = tray::activated() => {
                show_again(options, shown, markup).await?;
                continue;
            }
        };
        let r: Response = serde_json::from_str(&l).context("a garbled line from the daemon")?;
        tray::refresh();
        if r.ok && r.kind.as_deref() == Some("quiet") {
            let change: QuietChange = serde_json::from_value(r.data)?;
            if quiet::set(change.quiet) {
                // Quiet ended: what waited pops up now.
                catch_up(options, shown, markup).await?;
            }
        } else if r.ok {
            let m: Message = serde_json::from_value(r.data)?;
            show(options, shown, &m, markup).await?;
        } else if r.kind.as_deref() == Some("lagged") {
            catch_up(options, shown, markup).await?;
        }
    }
}

async fn catch_up(options: &Options, shown: &Shown, markup: bool) -> anyhow::Result<()> {
    let r = call(
        &options.socket,
        Request::Inbox {
            unread: true,
            from: None,
            since: None,
        },
    )
    .await?;
    if !r.ok {
        bail!("the inbox refused: {}", r.error.unwrap_or_default());
    }
    let unread: Vec<Message> = serde_json::from_value(r.data)?;
    for m in &unread {
        show(options, shown, m, markup).await?;
    }
    tray::refresh();
    Ok(())
}

/// The tray icon was clicked: the unread messages whose pop-up has closed
/// pop up again (those still on screen are not doubled).
async fn show_again(options: &Options, shown: &Shown, markup: bool) -> anyhow::Result<()> {
    if let Ok(mut s) = shown.lock() {
        let Seen { shown, gone } = &mut *s;
        shown.retain(|id| !gone.contains(id));
        gone.clear();
    }
    catch_up(options, shown, markup).await
}

/// Shows `m` once (received, unread, not shown yet) and handles its actions
/// in the background.
async fn show(options: &Options, shown: &Shown, m: &Message, markup: bool) -> anyhow::Result<()> {
    if m.direction != Direction::In || !m.is_unread() || !quiet::pops_up(quiet::is_on(), m.priority)
    {
        return Ok(());
    }
    if shown.lock().map_or(true, |s| s.shown.contains(&m.id)) {
        return Ok(());
    }
    let handle = Popup::of(m, markup)
        .notification()
        .show_async()
        .await
        .map_err(|e| anyhow::anyhow!("cannot show message {}: {e}", m.id))?;
    if let Ok(mut s) = shown.lock() {
        s.shown.insert(m.id);
        s.gone.remove(&m.id);
    }
    let (options, shown, id) = (options.clone(), shown.clone(), m.id);
    tokio::spawn(async move {
        let mut chosen = None;
        handle
            .wait_for_action_async(|r| chosen = Some(r.clone()))
            .await;
        if let Ok(mut s) = shown.lock() {
            s.gone.insert(id);
        }
        if let Some(NotificationResponse::Action(a)) = chosen {
            act(&options, &shown, id, &a).await;
        }
    });
    Ok(())
}

/// Carries out a notification action (failures are logged, never fatal).
async fn act(options: &Options, shown: &Shown, id: i64, action: &str) {
    match action {
        popup::ACTION_MARK_READ => match call(&options.socket, Request::Read { id }).await {
            Ok(r) if r.ok => {
                if let Ok(mut s) = shown.lock() {
                    s.shown.remove(&id);
                }
                tray::refresh();
            }
            Ok(r) => eprintln!(
                "messngr agent: cannot mark {id} read: {}",
                r.error.unwrap_or_default()
            ),
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
