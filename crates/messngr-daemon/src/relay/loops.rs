//! The relay's two loops that run for as long as the daemon: taking this
//! host's messages from the stream, and keeping its directory entry
//! written. Each checks its stream: when something failed (and makes it
//! again if it is gone), and every third of `directory_ttl_secs` even when
//! nothing did (one changed in place); and stops using one it finds made
//! otherwise.
//!
//! Why here and not only at start: the cluster is someone else's service.
//! It may come back with empty stores (its disks lost, rebuilt by an
//! admin), or a stream may be deleted, and then made again by anyone the
//! cluster lets make it, first. A stream found made otherwise (one that
//! drops, republishes or mirrors what it holds: `streams::check`) is
//! *refused*: no message is published to it or taken from it, and no
//! lookup reads it, until a check passes again; senders keep their
//! messages on disk meanwhile, and `messngr status` and `messngr doctor`
//! say which stream and what to do.

use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream;

use super::{Deliver, NAMES_CHECK, Relay, RelayError, directory, entry, mail, wait_for_own_name};
use crate::registry::Registry;
use crate::secure::Secure;
use crate::settings::Settings;

/// The longest pause between tries.
pub(super) const MAX_PAUSE: Duration = Duration::from_secs(30);

/// `pause`, give or take a quarter at random: every host lost the cluster
/// at the same moment, and should not all come back to it at the same
/// moment again, every pause.
pub(super) fn jittered(pause: Duration) -> Duration {
    let mut b = [0u8; 2];
    // Without randomness, the pause as it is.
    let r = getrandom::fill(&mut b).map_or(0.5, |()| {
        f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX)
    });
    pause.mul_f64(0.75 + r / 2.0)
}

impl Relay {
    /// Takes this host's messages from the relay, for ever: the stream
    /// checked (and made again, or refused) whenever taking them stops,
    /// and between times.
    pub(super) async fn receive(
        &self,
        js: &jetstream::Context,
        settings: &Settings,
        deliver: &dyn Deliver,
    ) {
        // Not before this host holds its names, or what waited for them
        // would find nobody here.
        wait_for_own_name(settings, deliver.registry()).await;
        let every = settings.relay.directory_ttl() / 3;
        let mut wait = Duration::from_secs(1);
        loop {
            let mail = match self.mail.get() {
                Some(m) => m,
                None => match mail::Mail::open(js, &settings.relay).await {
                    Ok(m) => {
                        self.checked(mail::STREAM, Ok(()));
                        self.mail.get_or_init(|| async { m }).await
                    }
                    Err(e) => {
                        tracing::info!(
                            "relay: the message stream is not ready; trying again in {wait:?}"
                        );
                        self.checked(mail::STREAM, Err(e));
                        tokio::time::sleep(jittered(wait)).await;
                        wait = (wait * 2).min(MAX_PAUSE);
                        continue;
                    }
                },
            };
            // Nothing is taken while either stream is refused: a message
            // from a host not pinned yet needs the directory, and would
            // be offered until JetStream gives up on it.
            if !self.refused(mail::STREAM) && !self.refused(directory::STREAM) {
                let started = std::time::Instant::now();
                let served = tokio::select! {
                    served = mail.serve(
                        &settings.netbios_name,
                        || self.receiving.store(true, Ordering::Relaxed),
                        |taken| async move {
                            let settle = deliver.deliver(self, &taken).await;
                            (taken, settle)
                        },
                    ) => served,
                    why = self.watch(mail, every) => Err(why),
                };
                self.receiving.store(false, Ordering::Relaxed);
                // Taking messages for a while is a success: the pause
                // after it starts short again.
                if started.elapsed() >= Duration::from_secs(60) {
                    wait = Duration::from_secs(1);
                }
                if let Err(e) = served {
                    tracing::warn!("relay: taking messages stopped ({e}); again in {wait:?}");
                    self.note_error(format!("messages: {e}"));
                }
            }
            // At once: the stream may be gone (deleted, or the cluster
            // back with empty stores: made again, or its consumer never
            // would be), or swapped under the consumer for one made
            // otherwise (refused before anything more is published to it).
            self.checked(mail::STREAM, mail.reopen().await);
            // Woken early when a refusal is set or cleared (`checked`):
            // messages are taken again as soon as both streams pass.
            tokio::select! {
                () = tokio::time::sleep(jittered(wait)) => {}
                () = self.recheck.notified() => {}
            }
            wait = (wait * 2).min(MAX_PAUSE);
        }
    }

    /// Checks the message stream every `every`, and when a publish found
    /// it refused; returns (ending its consumer) once it, or the
    /// directory's (checked by `renew`), is refused.
    async fn watch(&self, mail: &mail::Mail, every: Duration) -> RelayError {
        loop {
            tokio::select! {
                () = tokio::time::sleep(jittered(every)) => {}
                () = self.recheck.notified() => {}
            }
            self.checked(mail::STREAM, mail.reopen().await);
            if self.refused(mail::STREAM) || self.refused(directory::STREAM) {
                return RelayError::NotReady("stream (refused: see `messngr status`)");
            }
        }
    }

    /// Keeps this host's directory entry written, for ever.
    pub(super) async fn renew(
        &self,
        dir: &directory::Directory,
        settings: &Settings,
        secure: &Secure,
        registry: &Registry,
    ) {
        wait_for_own_name(settings, registry).await;
        let renew = settings.relay.directory_ttl() / 3;
        let gateway = settings.relay.gateway_upper();
        // Written again each third of the TTL, and as soon as the names
        // held change (a name claimed late, one given up); a failed write
        // is tried again soon (a new stream's leader, or a server that
        // just came back, takes a moment).
        let mut retry = Duration::from_secs(1);
        let mut written: Option<(Vec<String>, std::time::Instant)> = None;
        let mut checked = std::time::Instant::now();
        loop {
            // A gateway's names are other sites' people: not held here.
            let mut names = registry.messenger_names();
            names.retain(|n| !gateway.contains(n));
            let due = written
                .as_ref()
                .is_none_or(|(w, at)| *w != names || at.elapsed() >= renew);
            if !due {
                tokio::time::sleep(NAMES_CHECK).await;
                continue;
            }
            // Checked once a renewal, though nothing failed: a bucket
            // changed in place still takes the writes.
            if checked.elapsed() >= renew {
                self.checked(directory::STREAM, dir.reopen().await);
                checked = std::time::Instant::now();
            }
            let entry = entry::Entry::ours(settings, secure, names.clone());
            let outcome = if self.refused(directory::STREAM) {
                Err(RelayError::NotReady("directory (its stream is refused)"))
            } else {
                dir.publish(secure, &entry).await
            };
            match outcome {
                Ok(()) => {
                    self.entry_written();
                    tracing::debug!("relay: directory entry of {} written", entry.host);
                    retry = Duration::from_secs(1);
                    written = Some((names, std::time::Instant::now()));
                }
                Err(e) => {
                    tracing::warn!(
                        "relay: could not write this host's directory entry ({e}); trying again in {retry:?}"
                    );
                    self.note_error(format!("directory: {e}"));
                    tokio::time::sleep(jittered(retry.min(renew))).await;
                    retry = (retry * 2).min(MAX_PAUSE);
                    // The bucket may be gone (deleted, or the cluster back
                    // with empty stores): made again before the next try;
                    // or made otherwise meanwhile: refused.
                    self.checked(directory::STREAM, dir.reopen().await);
                    checked = std::time::Instant::now();
                }
            }
        }
    }

    /// Notes how `stream`'s check came out: passed (used again, if it was
    /// refused), made otherwise (refused: said loudly, someone with the
    /// cluster's credentials put it there), the cluster's refusal while
    /// connected (said: a permission or a limit the next try may not
    /// mend), or the relay not connected (quietly).
    pub(super) fn checked(&self, stream: &'static str, outcome: Result<(), RelayError>) {
        match outcome {
            Ok(()) => {
                if self.set_refused(stream, None) {
                    tracing::warn!("relay: the stream {stream} is as messngr makes it again");
                    // The receiving loop takes messages again now.
                    self.recheck.notify_one();
                }
            }
            Err(RelayError::MadeOtherwise { found, why }) => {
                if self.set_refused(stream, Some(found)) {
                    tracing::warn!("relay: {why}; until then it is not used");
                    // The receiving loop stops taking messages, and
                    // checks the message stream at once (a refusal from a
                    // publish's answer is cleared if it passes).
                    self.recheck.notify_one();
                }
                self.note_error(format!("{stream}: {why}"));
            }
            Err(e) if self.connected() => {
                tracing::warn!("relay: the stream {stream} could not be made or opened: {e}");
                self.note_error(format!("{stream}: {e}"));
            }
            Err(e) => tracing::debug!("relay: the stream {stream} is not ready ({e})"),
        }
    }
}
