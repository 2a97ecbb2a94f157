//! The relay: this daemon's connection to the NATS JetStream cluster that
//! joins sites, and the organisation-wide directory kept on it
//! (`directory`).
//!
//! Why a task of its own that never fails the daemon: the cluster is
//! another organisation's service on another network, and it goes away.
//! async-nats reconnects by itself (to every server listed, then to any
//! the cluster told it of); what it reports is kept here for `messngr
//! status` and logged once per change, and everything that asks the relay
//! gets a clear "not connected" instead of waiting. Without `[relay]
//! servers` none of this starts.
//!
//! What goes over the relay: each host's signed directory entry (its
//! names, addresses and host key; `directory`), and messages to names on
//! other sites, sealed to their host's key and held until it has them
//! (`mail`, `inbound`).

mod answers;
mod client;
mod directory;
mod dropped;
mod entry;
mod error;
mod holders;
mod lanes;
mod loops;
mod mail;
mod outbox;
mod permissions;
mod publish;
mod streams;

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream;
use tokio_util::sync::CancellationToken;

pub(crate) use directory::{Found, ORGANISATION, held_here, is_relay_group, to_a_group};
pub(crate) use dropped::Kind as DropKind;
pub(crate) use error::LookupError;
pub(crate) use error::RelayError;
pub(crate) use mail::{MAX_AGE, MAX_ENVELOPE, Settle, Taken, is_relayed_source, relayed_source};
pub use permissions::nats_permissions;

use crate::registry::Registry;
use crate::secure::Secure;
use crate::settings::Settings;

/// What takes the messages the relay brings for this host (the native
/// receiver: `native::Inbound`). A trait, so that the relay knows nothing
/// of native frames, and nothing the senders use depends on the receivers.
pub(crate) trait Deliver: Send + Sync + 'static {
    /// The names this host holds.
    fn registry(&self) -> &Registry;
    /// Checks and stores `taken`; what the stream should do with it.
    fn deliver<'a>(
        &'a self,
        relay: &'a Relay,
        taken: &'a Taken,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Settle> + Send + 'a>>;
}

/// The connection's state, as last reported.
#[derive(Debug, Default)]
struct State {
    connected: bool,
    /// Unix ms of the last change.
    since_ms: i64,
    /// The last error the client or a server reported.
    last_error: Option<String>,
    /// Given up until a restart (a setting no retry can mend).
    stopped: bool,
    /// The client's errors logged since it was last connected (each once:
    /// it tries again every 4 s while the cluster is away).
    warned: std::collections::HashSet<String>,
}

/// The relay, shared by the senders, the API and its own task.
pub(crate) struct Relay {
    servers: Vec<String>,
    state: Mutex<State>,
    directory: tokio::sync::OnceCell<directory::Directory>,
    mail: tokio::sync::OnceCell<mail::Mail>,
    /// Names found in the directory lately: a lookup falls back on them
    /// for the directory's TTL while the directory does not answer; a
    /// send to one a send found there (NetBIOS asked first) goes straight
    /// to the relay for [`RECENT`] (a broadcast nobody answers costs
    /// 750 ms).
    answers: answers::Answers,
    /// The client, once made (the connected server's name).
    client: std::sync::OnceLock<async_nats::Client>,
    /// Directory entries written (this host's, renewed).
    published: AtomicU64,
    /// Whether this host's consumer is taking its messages now.
    receiving: AtomicBool,
    /// Unix ms of the last entry written (0: none yet).
    written_ms: AtomicI64,
    /// Streams found made otherwise, not used until a check passes again
    /// (`loops`): each with the name of the stream to look at (itself,
    /// or another that took its publishes).
    refused: Mutex<std::collections::BTreeMap<&'static str, String>>,
    /// Asks the receiving loop to check the message stream now (a publish
    /// found it refused).
    recheck: tokio::sync::Notify,
    /// `directory_ttl_secs`.
    ttl: Duration,
    /// Directory entries read and refused (unsigned, oversized, a key
    /// that is not the pinned one, …).
    dropped: dropped::Dropped,
    /// Messages kept here for the relay (`outbox`), as last counted.
    kept: AtomicU64,
    /// Messages on their way to the stream, by subject (`publish`).
    lanes: lanes::Lanes,
    /// Hosts whose entry, as last read, says they take bundles.
    bundlers: Mutex<std::collections::HashSet<String>>,
    /// How long a directory answer in `recent` is fallen back on while
    /// the directory does not answer: its TTL, at most [`STALE_MAX`].
    answers_kept: Duration,
    /// This host's key for its publishes' message ids (`mail::id_key`).
    id_key: [u8; 64],
    /// Kept messages being sent now (`outbox`).
    leaving: outbox::Leaving,
}

impl Relay {
    /// The relay of `settings`, connecting in the background until `stop`;
    /// `None` without `[relay] servers`.
    pub(crate) fn start(
        settings: Arc<Settings>,
        secure: Arc<Secure>,
        deliver: Arc<dyn Deliver>,
        store: messngr_store::StoreHandle,
        tasks: &tokio_util::task::TaskTracker,
        stop: CancellationToken,
    ) -> Option<Arc<Relay>> {
        if !settings.relay.enabled() {
            return None;
        }
        let relay = Arc::new(Relay {
            servers: settings.relay.servers.clone(),
            state: Mutex::new(State {
                since_ms: now_ms(),
                ..State::default()
            }),
            directory: tokio::sync::OnceCell::new(),
            mail: tokio::sync::OnceCell::new(),
            client: std::sync::OnceLock::new(),
            answers: answers::Answers::default(),
            published: AtomicU64::new(0),
            receiving: AtomicBool::new(false),
            written_ms: AtomicI64::new(0),
            refused: Mutex::default(),
            recheck: tokio::sync::Notify::new(),
            ttl: settings.relay.directory_ttl(),
            dropped: dropped::Dropped::default(),
            kept: AtomicU64::new(0),
            lanes: lanes::Lanes::default(),
            bundlers: Mutex::default(),
            answers_kept: settings.relay.directory_ttl().min(STALE_MAX),
            id_key: mail::id_key(secure.host()),
            leaving: outbox::Leaving::default(),
        });
        let r = relay.clone();
        tasks.spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = r.run(settings, secure, deliver, store) => {}
            }
        });
        Some(relay)
    }

    /// Connects, makes the directory ready, then keeps this host's entry
    /// in it. Returns only if the relay cannot be used at all (logged).
    async fn run(
        self: Arc<Self>,
        settings: Arc<Settings>,
        secure: Arc<Secure>,
        deliver: Arc<dyn Deliver>,
        store: messngr_store::StoreHandle,
    ) {
        let client = match self.connect(&settings).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("relay: {e}; running without it (fix [relay] and restart)");
                let mut s = self.lock_state();
                s.last_error = Some(one_line(&e.to_string()));
                s.stopped = true;
                return;
            }
        };
        let js = jetstream::new(client.clone());
        let _ = self.client.set(client);
        let mut wait = Duration::from_secs(1);
        let dir = loop {
            match directory::Directory::open(&js, &settings.relay).await {
                Ok(d) => {
                    self.checked(directory::STREAM, Ok(()));
                    break d;
                }
                Err(e) => {
                    tracing::info!("relay: the directory is not ready; trying again in {wait:?}");
                    self.checked(directory::STREAM, Err(e));
                    tokio::time::sleep(loops::jittered(wait)).await;
                    wait = (wait * 2).min(loops::MAX_PAUSE);
                }
            }
        };
        let dir = self.directory.get_or_init(|| async { dir }).await;
        tracing::info!("relay: directory ready");
        tokio::join!(
            self.renew(dir, &settings, &secure, deliver.registry()),
            self.receive(&js, &settings, deliver.as_ref()),
            self.send_kept(&store, &secure)
        );
    }

    /// Whether `stream` is refused now (found made otherwise).
    fn refused(&self, stream: &str) -> bool {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(stream)
    }

    /// Refuses `stream`, `found` (the stream to look at) made otherwise,
    /// or with `None` uses it again; whether that changed anything.
    fn set_refused(&self, stream: &'static str, found: Option<String>) -> bool {
        let mut map = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        match found {
            Some(found) => map.insert(stream, found.clone()).as_ref() != Some(&found),
            None => map.remove(stream).is_some(),
        }
    }

    /// Counts this host's entry written, now.
    fn entry_written(&self) {
        self.published.fetch_add(1, Ordering::Relaxed);
        self.written_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// Notes `why` as the last error (`messngr status`).
    fn note_error(&self, why: String) {
        self.lock_state().last_error = Some(one_line(&why));
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The other hosts holding `name` in the directory (one, or each site
    /// a user is logged on at), checked against their signatures and this
    /// host's pins.
    pub(crate) async fn lookup(
        &self,
        secure: &Secure,
        name: &str,
    ) -> Result<Vec<Found>, LookupError> {
        let key = name.trim().to_ascii_uppercase();
        let dir = self.directory()?;
        // With an answer of the last [`STALE_MAX`] (or TTL) to fall back
        // on, the directory gets [`ANSWER_WAIT`]; without, as long as it
        // takes (a new leader's election: up to 15 s). What it said then it
        // would still say of a host that stopped since, so the answer is as
        // good as the directory's own; `stale` keeps only hosts still
        // pinned, and their keys are checked again when a message is sealed.
        let asked = dir.lookup(secure, name);
        let found = match self.answered(&key) {
            None => asked.await,
            Some((hosts, age)) => {
                let found = tokio::time::timeout(ANSWER_WAIT, asked)
                    .await
                    .unwrap_or_else(|_| {
                        let secs = ANSWER_WAIT.as_secs();
                        Err(LookupError::Io(format!("no answer within {secs} s")))
                    });
                if let Err(LookupError::Io(why)) = &found
                    && let Some(hosts) = stale(secure, &key, hosts, age, why)
                {
                    return Ok(hosts);
                }
                found
            }
        };
        let found = self.counted(found);
        match &found {
            Ok(f) => self.answers.keep(key, f),
            // An answer that the name is not there (or not to be believed)
            // ends what an earlier one said.
            Err(e) if !e.is_transient() => self.answers.forget(&key),
            Err(_) => {}
        }
        found
    }

    /// [`Relay::lookup`] for a send that found nobody for `name` on this
    /// LAN: the next sends to it, for [`RECENT`], skip NetBIOS
    /// ([`Relay::routed`]).
    pub(crate) async fn lookup_to_send(
        &self,
        secure: &Secure,
        name: &str,
    ) -> Result<Vec<Found>, LookupError> {
        let found = self.lookup(secure, name).await;
        if found.is_ok() {
            self.answers.route(&name.trim().to_ascii_uppercase());
        }
        found
    }

    /// The directory's last answer for `key`, and its age, if it is
    /// younger than [`Relay::answers_kept`].
    fn answered(&self, key: &str) -> Option<(Vec<Found>, Duration)> {
        self.answers.answered(key, self.answers_kept)
    }

    /// `host`'s own entry (not the claims of its name), which may
    /// introduce its key: for a frame signed on `host`. Kept for no send.
    pub(crate) async fn host_entry(
        &self,
        secure: &Secure,
        host: &str,
    ) -> Result<Found, LookupError> {
        let found = self.directory()?.host_entry(secure, host).await;
        self.counted(found.map(|f| vec![f]))?
            .into_iter()
            .next()
            .ok_or_else(|| LookupError::Absent(host.to_owned()))
    }

    /// The other hosts in relay group `group` (`*`: every host), checked
    /// as [`Relay::lookup`]'s are.
    pub(crate) async fn lookup_group(
        &self,
        secure: &Secure,
        group: &str,
    ) -> Result<Vec<Found>, LookupError> {
        self.counted(self.directory()?.lookup_group(secure, group).await)
    }

    /// The directory, if the relay is connected and it is open.
    fn directory(&self) -> Result<&directory::Directory, LookupError> {
        if !self.connected() {
            return Err(LookupError::NotConnected);
        }
        if self.refused(directory::STREAM) {
            return Err(LookupError::StreamRefused);
        }
        self.directory.get().ok_or(LookupError::NotReady)
    }

    /// `found`, an entry refused counted as dropped, and whether each host
    /// found takes bundles noted.
    fn counted(&self, found: Result<Vec<Found>, LookupError>) -> Result<Vec<Found>, LookupError> {
        match &found {
            Err(e) if e.is_refusal() => {
                self.dropped.count();
            }
            Err(_) => {}
            Ok(hosts) => {
                let mut bundlers = self.bundlers.lock().unwrap_or_else(|p| p.into_inner());
                if bundlers.len() >= MAX_RECENT {
                    bundlers.clear();
                }
                for f in hosts {
                    if f.bundles {
                        bundlers.insert(f.host.clone());
                    } else {
                        bundlers.remove(&f.host);
                    }
                }
            }
        }
        found
    }

    /// Whether `host`'s entry, as last read, says it takes bundles.
    fn takes_bundles(&self, host: &str) -> bool {
        self.bundlers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(host)
    }

    /// `name`, if a send found it on another site within [`RECENT`]
    /// ([`Relay::lookup_to_send`]).
    pub(crate) fn routed(&self, name: &str) -> Option<Vec<Found>> {
        self.answers
            .routed(&name.trim().to_ascii_uppercase(), RECENT)
    }

    /// Counts a message just kept in the outbox (until the next count).
    pub(crate) fn count_kept(&self) {
        self.kept.fetch_add(1, Ordering::Relaxed);
    }

    fn connected(&self) -> bool {
        self.lock_state().connected
    }

    /// What `messngr status` shows.
    pub(crate) fn view(&self) -> messngr_api::RelayView {
        let (connected, since_ms, last_error, stopped) = {
            let s = self.lock_state();
            (s.connected, s.since_ms, s.last_error.clone(), s.stopped)
        };
        messngr_api::RelayView {
            servers: self.servers.clone(),
            connected,
            server: self
                .client
                .get()
                .filter(|_| connected)
                .map(|c| c.server_info().server_name),
            since_ms,
            directory: self.directory.initialized() && !self.refused(directory::STREAM),
            published: self.published.load(Ordering::Relaxed),
            receiving: Some(self.receiving.load(Ordering::Relaxed)),
            dropped: self.dropped.total(),
            kept: self.kept.load(Ordering::Relaxed),
            last_error,
            refused: self
                .refused
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .values()
                .cloned()
                .collect(),
            written_ms: Some(self.written_ms.load(Ordering::Relaxed)).filter(|ms| *ms > 0),
            ttl_secs: self.ttl.as_secs(),
            stopped,
        }
    }
}

/// How long a name found in the directory is sent to through the relay
/// without asking NetBIOS again.
const RECENT: Duration = Duration::from_secs(30);
/// How long a lookup waits for the directory when an earlier answer (see
/// `Relay::answered`) can stand in.
const ANSWER_WAIT: Duration = Duration::from_secs(3);
/// The oldest answer that stands in: long enough for an election or a
/// node's restart, short beside a host's renewals (a third of the TTL).
const STALE_MAX: Duration = Duration::from_secs(120);

/// `hosts`, the directory's answer for `key` of `age` ago, used since it
/// does not answer now (`why`), said in the log: those of them whose key
/// is still pinned here (a pin removed since, for a key change, leaves
/// the host to the directory); `None` if that leaves none.
fn stale(
    secure: &Secure,
    key: &str,
    mut hosts: Vec<Found>,
    age: Duration,
    why: &str,
) -> Option<Vec<Found>> {
    hosts.retain(|f| secure.trust().pinned(&f.host).is_some());
    if hosts.is_empty() {
        return None;
    }
    tracing::info!(
        "relay: the directory did not answer for {} ({}); using its answer of {} s ago",
        messngr_proto::text::sanitize_line(key),
        messngr_proto::text::sanitize_line(why),
        age.as_secs()
    );
    Some(hosts)
}
/// Names remembered at most (emptied when full).
const MAX_RECENT: usize = 4096;

/// How often the names held are compared with the directory entry.
const NAMES_CHECK: Duration = Duration::from_secs(2);

/// Until this host holds its own name (a few seconds after a start, while
/// NetBIOS claims it; at most 20 s, then on all the same).
async fn wait_for_own_name(settings: &Settings, registry: &Registry) {
    let own = crate::config::netbios_name("netbios_name", &settings.netbios_name).ok();
    for _ in 0..100 {
        if own.is_none_or(|n| registry.accepts_messages_for(&n)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `name` as it appears in the relay's subjects, keys, consumers and inbox
/// prefix: trimmed, upper case, in hex (`H2` → `4832`), so that any NetBIOS
/// name makes a valid token and none can carry a wildcard or a dot.
fn hex_name(name: &str) -> String {
    hex::encode_upper(name.trim().to_ascii_uppercase())
}

/// An address of a host found in the directory.
pub(crate) fn first_address(found: &Found) -> Option<Ipv4Addr> {
    found.addresses.first().copied()
}

use messngr_store::clock::now_ms;

/// `why` on one line, its controls escaped: an error may carry what a
/// server or a stream said, and goes to the log and to `messngr status`.
fn one_line(why: &str) -> String {
    messngr_proto::text::sanitize_line(why).into_owned()
}
