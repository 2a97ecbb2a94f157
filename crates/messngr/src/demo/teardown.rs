//! Everything the demo creates, in one place, so that one function removes
//! it — at the end, after an error, or from the signal thread on Ctrl-C.
//!
//! Why a shared, locked slot: a Ctrl-C can arrive at any moment, also while
//! the main thread is building the LAN or starting a daemon. The main thread
//! holds the lock while it *creates* something and registers it here, so the
//! signal thread (which takes the same lock) sees either nothing or the
//! finished thing, never half of it, and nothing created escapes cleanup.

use std::path::PathBuf;
use std::process::Child;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use messngr_lan::Lan;

/// What must be undone.
#[derive(Default)]
pub struct Resources {
    /// The namespaces (their `Drop` kills what runs inside and deletes them).
    pub lan: Option<Lan>,
    /// Configs, state, sockets and logs of the daemons.
    pub dir: Option<tempfile::TempDir>,
    /// The daemons (`ip netns exec` execs the binary, so these are their pids).
    pub daemons: Vec<Child>,
}

/// The resources, shared between the main thread and the signal thread.
#[derive(Clone, Default)]
pub struct Shared(Arc<Mutex<Resources>>);

impl Shared {
    /// Locks the resources; a panic elsewhere must not stop the cleanup.
    pub fn lock(&self) -> MutexGuard<'_, Resources> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Resources {
    /// Stops the daemons (SIGTERM, so they release their names; the LAN's
    /// removal kills whatever is left), deletes the namespaces and the temp
    /// dir — or keeps the dir and returns its path when `keep_dir`.
    pub fn tear_down(&mut self, keep_dir: bool) -> Option<PathBuf> {
        for d in &self.daemons {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &d.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        for d in &mut self.daemons {
            while matches!(d.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        drop(self.lan.take());
        for mut d in self.daemons.drain(..) {
            let _ = d.kill();
            let _ = d.wait();
        }
        let dir = self.dir.take()?;
        if keep_dir { Some(dir.keep()) } else { None }
    }
}

/// The exit code a caught signal asked for (0: none yet).
static INTERRUPTED: AtomicU8 = AtomicU8::new(0);

/// The exit code of a signal caught so far (130, 143, 129), if any: the main
/// thread then says nothing more and exits with it, since the signal thread
/// may lose the race to its own `exit`.
pub fn interrupted() -> Option<u8> {
    match INTERRUPTED.load(Ordering::SeqCst) {
        0 => None,
        code => Some(code),
    }
}

/// Catches SIGINT, SIGTERM and SIGHUP for the rest of the process: the
/// handler thread removes everything in `shared`, then exits with 128 + the
/// signal number (130, 143, 129), as a shell would report it.
pub fn on_signals(shared: Shared) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("starting the Ctrl-C handler")?;
    // Registering here (not in the thread) means the handlers are in place
    // before the first namespace exists.
    let (mut int, mut term, mut hup) = {
        let _guard = rt.enter();
        let install = |kind| signal(kind).context("installing the Ctrl-C handler");
        (
            install(SignalKind::interrupt())?,
            install(SignalKind::terminate())?,
            install(SignalKind::hangup())?,
        )
    };
    std::thread::Builder::new()
        .name("demo-signals".into())
        .spawn(move || {
            let (name, code) = rt.block_on(async {
                tokio::select! {
                    _ = int.recv() => ("Interrupted", 130u8),
                    _ = term.recv() => ("Terminated", 143),
                    _ = hup.recv() => ("Hung up", 129),
                }
            });
            INTERRUPTED.store(code, Ordering::SeqCst);
            // Holding stderr keeps the main thread from printing errors about
            // daemons vanishing under it while we remove them.
            let mut err = std::io::stderr().lock();
            let _ = std::io::Write::write_fmt(
                &mut err,
                format_args!("\n{name}: removing the demo LAN…\n"),
            );
            shared.lock().tear_down(false);
            let _ = std::io::Write::write_fmt(&mut err, format_args!("Removed.\n"));
            std::process::exit(i32::from(code));
        })
        .context("starting the Ctrl-C handler")?;
    Ok(())
}
