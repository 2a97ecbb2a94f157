//! The name-service driver: UDP 137 bytes and timers in, into the sans-IO
//! `NameService` of messngr-proto, and its datagrams and events out.
//!
//! Why it is this small: every protocol decision (claim, defend, answer,
//! release, resolve) is made by `messngr_proto::registration`. This task only
//! reads the socket, runs the timer, applies the per-source flood limit, turns
//! API calls into `add_name` / `remove_name` / `query`, and answers each call
//! when the matching event comes back. Node status queries (`lookup -A`) are
//! a one-shot client exchange kept here: they are not part of the B-node's
//! own state.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use messngr_proto::registration::{
    Destination, Event, NameService, NameState, QueryId, RECLAIM_MAX,
};
use messngr_proto::wire::name::NetbiosName;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::limit::SourceLimiter;
use crate::policy::Policy;
use crate::registry::Registry;
use crate::settings::Settings;

mod handle;
mod node_status;
mod report;

pub(crate) use handle::Names;
use handle::{Answer, Command};
use report::Counters;
pub(crate) use report::{NameInfo, NamesError, NamesReport, NodeReport};

/// UDP port of the name service (RFC 1002 §6).
pub(crate) const NBNS_PORT: u16 = 137;
/// How long a node status query waits for its answer per try.
pub(crate) const NODE_STATUS_TIMEOUT: Duration = Duration::from_millis(1500);
/// Node status tries (UCAST_REQ_RETRY_COUNT).
pub(crate) const NODE_STATUS_TRIES: u8 = 3;
/// How long `shutdown` may take to broadcast the releases.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// Most datagrams handled in a row before timers and API calls get a turn.
pub(crate) const DRAIN_BATCH: usize = 64;
/// The longest wait between claims of a lost name, in first waits
/// (`name_retry_secs`): 60 s grows to 30 min.
pub(crate) const RECLAIM_BACKOFF_LIMIT: u32 = 30;
/// How often logged-in users are looked up again.
pub(crate) const USERS_INTERVAL: Duration = Duration::from_secs(30);

struct NodeStatusQuery {
    trn_id: u16,
    target: SocketAddrV4,
    tries: u8,
    deadline: Instant,
    reply: Answer<NodeReport>,
}

/// The driver's state around the `NameService`.
struct Driver {
    settings: Settings,
    ns: NameService,
    registry: Registry,
    policy: Arc<Policy>,
    socket: UdpSocket,
    limiter: Option<SourceLimiter>,
    sources: HashMap<NetbiosName, String>,
    claims: HashMap<NetbiosName, Answer<NameInfo>>,
    lookups: HashMap<QueryId, Answer<Vec<std::net::Ipv4Addr>>>,
    node_status: Vec<NodeStatusQuery>,
    next_trn_id: u16,
    rate_limited: u64,
    sent: u64,
    started: Instant,
}

/// Runs the name service until `stop` is cancelled, then releases every
/// name (bounded by [`SHUTDOWN_GRACE`]) and returns. `registry` follows
/// every name this host holds.
///
/// The loop runs as a task of its own rather than inside the caller's
/// future: the daemon awaits this from `Runtime::block_on`, whose thread does
/// not drive the I/O reactor, so every time the socket ran dry a worker thread
/// had to wake the blocked thread for the next datagram (two thread switches
/// per wake-up). As a spawned task, the worker that sees the datagram arrive
/// runs the loop itself. A panic in the loop still reaches the caller.
pub(crate) async fn run(
    settings: Settings,
    registry: Registry,
    policy: Arc<Policy>,
    socket: UdpSocket,
    calls: mpsc::Receiver<Command>,
    stop: CancellationToken,
) {
    match tokio::spawn(serve(settings, registry, policy, socket, calls, stop)).await {
        Ok(()) => {}
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => tracing::error!("name service task stopped: {e}"),
    }
}

async fn serve(
    settings: Settings,
    registry: Registry,
    policy: Arc<Policy>,
    socket: UdpSocket,
    mut calls: mpsc::Receiver<Command>,
    stop: CancellationToken,
) {
    let now = Instant::now();
    let mut config = messngr_proto::registration::Config::new(settings.iface.address);
    config.unit_id = settings.iface.mac;
    config.first_trn_id = random_u16();
    config.reclaim_after = settings.name_retry;
    config.reclaim_max = settings
        .name_retry
        .map_or(RECLAIM_MAX, |d| d.saturating_mul(RECLAIM_BACKOFF_LIMIT));
    if let Some(wins) = settings.wins_server {
        config = config.with_wins(SocketAddrV4::new(wins, NBNS_PORT));
    }
    if !settings.scope.is_empty() {
        match config.clone().with_scope(&settings.scope().to_string()) {
            Ok(c) => config = c,
            Err(e) => tracing::error!(
                "scope {}: {e}: names are served without it",
                settings.scope()
            ),
        }
    }
    let mut d = Driver {
        ns: NameService::new(config),
        registry,
        policy,
        socket,
        limiter: match settings.nbns_rate_limit {
            0 => None,
            r => Some(SourceLimiter::new(
                f64::from(r),
                2.0 * f64::from(r),
                crate::limit::DEFAULT_MAX_SOURCES,
            )),
        },
        sources: HashMap::new(),
        claims: HashMap::new(),
        lookups: HashMap::new(),
        node_status: Vec::new(),
        next_trn_id: random_u16() | 0x8000,
        rate_limited: 0,
        sent: 0,
        started: now,
        settings,
    };
    for (name, group, source) in d.settings.initial_names() {
        d.add(now, name, group, source);
    }
    d.sync_users(now);

    let mut buf = vec![0u8; 2048];
    let mut users = tokio::time::interval(USERS_INTERVAL);
    users.tick().await;
    let mut stopping: Option<Instant> = None;
    loop {
        d.flush().await;
        if let Some(since) = stopping
            && (d.ns.is_idle() || since.elapsed() > SHUTDOWN_GRACE)
        {
            tracing::info!("names released; name service stopped");
            return;
        }
        let timer = [
            d.ns.poll_timeout(),
            d.node_status.iter().map(|q| q.deadline).min(),
        ]
        .into_iter()
        .flatten()
        .min();
        tokio::select! {
            () = stop.cancelled(), if stopping.is_none() => {
                tracing::info!("stopping: releasing {} names", d.ns.names().count());
                d.ns.shutdown(Instant::now());
                stopping = Some(Instant::now());
            }
            r = d.socket.recv_from(&mut buf) => match r {
                Ok((n, from)) => {
                    d.incoming(Instant::now(), from, &buf[..n]);
                    d.drain(&mut buf).await;
                }
                Err(e) => tracing::warn!("nbns: receive failed: {e}"),
            },
            () = sleep_until(timer), if timer.is_some() => {
                let now = Instant::now();
                d.ns.handle_timeout(now);
                d.node_status_timeouts(now);
            }
            Some(call) = calls.recv(), if stopping.is_none() => d.call(Instant::now(), call),
            _ = users.tick(), if stopping.is_none() => d.sync_users(Instant::now()),
        }
    }
}

async fn sleep_until(t: Option<Instant>) {
    if let Some(t) = t {
        tokio::time::sleep_until(t.into()).await;
    }
}

impl Driver {
    fn add(&mut self, now: Instant, name: NetbiosName, group: bool, source: &str) {
        match self.ns.add_name(now, name, group) {
            Ok(()) => {
                tracing::info!("claiming {name}{}", if group { " (group)" } else { "" });
                self.sources.insert(name, source.to_owned());
            }
            Err(e) => tracing::warn!("cannot claim {name}: {e}"),
        }
    }

    fn sync_users(&mut self, now: Instant) {
        if !self.settings.register_users {
            return;
        }
        let users = match crate::users::logged_in(&self.settings.utmp) {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(
                    "cannot read {}: {e}; user names are not registered",
                    self.settings.utmp.display()
                );
                return;
            }
        };
        let wanted: Vec<NetbiosName> = users
            .iter()
            .filter_map(|u| {
                NetbiosName::new(u.as_bytes(), messngr_proto::wire::name::suffix::MESSENGER).ok()
            })
            .collect();
        for name in &wanted {
            if self.ns.state(name).is_none() {
                self.add(now, *name, false, "user");
            }
        }
        let gone: Vec<NetbiosName> = self
            .sources
            .iter()
            .filter(|(n, s)| s.as_str() == "user" && !wanted.iter().any(|w| w.eq_ignore_case(n)))
            .map(|(n, _)| *n)
            .collect();
        for name in gone {
            tracing::info!(
                "{} logged out: releasing {name}",
                String::from_utf8_lossy(name.name())
            );
            self.registry.remove(&name);
            self.ns.remove_name(now, &name);
            self.sources.remove(&name);
        }
    }

    fn incoming(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        let SocketAddr::V4(from) = from else { return };
        // Off-LAN hosts are not answered (we would be a reflector), except
        // the one we asked for its node status.
        if !self.node_status.iter().any(|q| q.target == from)
            && self.policy.admit_name_service((*from.ip()).into()).is_err()
        {
            return;
        }
        if let Some(limiter) = &mut self.limiter
            && !limiter.allow(now, IpAddr::V4(*from.ip()))
        {
            self.rate_limited += 1;
            if self.rate_limited.is_power_of_two() {
                tracing::warn!(
                    "nbns: {} over the rate limit; dropped {} datagrams so far",
                    from.ip(),
                    self.rate_limited
                );
            }
            return;
        }
        if self.node_status_answer(from, bytes) {
            return;
        }
        let before = *self.ns.counters();
        self.ns.handle(now, from, bytes);
        let after = self.ns.counters();
        if after.malformed > before.malformed {
            tracing::debug!(
                "nbns: malformed datagram from {from} dropped ({} bytes)",
                bytes.len()
            );
        }
        let ignored = after.conflict_demands_ignored + after.releases_ignored;
        if ignored > before.conflict_demands_ignored + before.releases_ignored
            && ignored.is_power_of_two()
        {
            tracing::warn!(
                "nbns: ignored a conflict demand or release for one of our names from {from}: it answered no registration of ours ({ignored} so far; the names are kept)"
            );
        }
        self.drain_events();
    }

    fn drain_events(&mut self) {
        while let Some(ev) = self.ns.poll_event() {
            match ev {
                Event::NameClaimed { name } => {
                    tracing::info!("claimed {name}");
                    if self.info(&name).is_some_and(|i| i.group) {
                        self.registry.insert_group(name);
                    } else {
                        self.registry.insert(name);
                    }
                    if let Some(tx) = self.claims.remove(&name) {
                        let _ = tx.send(self.info(&name).ok_or_else(|| {
                            NamesError::NotFound(format!("{name} was released meanwhile"))
                        }));
                    }
                }
                Event::NameConflict { name, by } => {
                    self.registry.remove(&name);
                    let retry = match self.info(&name).and_then(|i| i.retry_in) {
                        Some(d) => format!("claiming it again in {} s", d.as_secs()),
                        None => "not claiming it again (name_retry_secs = 0)".into(),
                    };
                    tracing::warn!(
                        "cannot use {name}: {by} holds it (it refused our claim); {retry}; the other names keep working"
                    );
                    if let Some(tx) = self.claims.remove(&name) {
                        let _ = tx.send(Err(NamesError::Conflict { name, by }));
                    }
                }
                Event::NameReleased { name } => {
                    tracing::info!("released {name}");
                    self.registry.remove(&name);
                    self.sources.remove(&name);
                }
                Event::QueryResult {
                    id,
                    name,
                    addresses,
                } => {
                    if let Some(tx) = self.lookups.remove(&id) {
                        tracing::debug!("{name} resolved to {addresses:?}");
                        let _ = tx.send(Ok(addresses));
                    }
                }
                Event::QueryFailed { id, name } => {
                    if let Some(tx) = self.lookups.remove(&id) {
                        let _ = tx.send(Err(NamesError::NotFound(format!("no answer for {name}"))));
                    }
                }
            }
        }
    }

    /// Answers the datagrams already queued on the socket (at most
    /// [`DRAIN_BATCH`]) without going back through `select!`: under load
    /// this saves the per-datagram cost of re-arming every branch, while the
    /// bound keeps timers and API calls running.
    async fn drain(&mut self, buf: &mut [u8]) {
        for _ in 0..DRAIN_BATCH {
            self.flush().await;
            match self.socket.try_recv_from(buf) {
                Ok((n, from)) => self.incoming(Instant::now(), from, &buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::warn!("nbns: receive failed: {e}");
                    return;
                }
            }
        }
    }

    async fn flush(&mut self) {
        self.drain_events();
        while let Some(t) = self.ns.poll_transmit(Instant::now()) {
            let to = match t.destination {
                Destination::Broadcast => {
                    SocketAddrV4::new(self.settings.iface.broadcast, NBNS_PORT)
                }
                Destination::Unicast(a) => a,
            };
            self.send(to, &t.bytes).await;
        }
    }

    async fn send(&mut self, to: SocketAddrV4, bytes: &[u8]) {
        match self.socket.send_to(bytes, to).await {
            Ok(_) => self.sent += 1,
            Err(e) => tracing::warn!("nbns: cannot send to {to}: {e}"),
        }
    }

    fn info(&self, name: &NetbiosName) -> Option<NameInfo> {
        self.ns.names().find(|i| i.name == *name).map(|i| NameInfo {
            name: i.name,
            group: i.group,
            state: match i.state {
                NameState::Registering { .. } => "registering",
                NameState::Registered => "registered",
                NameState::Conflict => "conflict",
                NameState::Releasing { .. } => "releasing",
            },
            source: self.sources.get(&i.name).cloned().unwrap_or_default(),
            held_by: i.held_by,
            retry_in: i
                .retry_at
                .map(|t| t.saturating_duration_since(Instant::now())),
        })
    }

    fn call(&mut self, now: Instant, command: Command) {
        let bad_name = |e: &dyn std::fmt::Display| NamesError::BadName(e.to_string());
        match command {
            Command::Report(reply) => {
                let c = *self.ns.counters();
                let _ = reply.send(Ok(NamesReport {
                    names: self.ns.names().filter_map(|i| self.info(&i.name)).collect(),
                    counters: Counters {
                        received: c.received + self.rate_limited,
                        malformed: c.malformed,
                        rate_limited: self.rate_limited,
                        sent: self.sent,
                        queries_answered: c.queries_answered,
                        node_status_answered: c.node_status_answered,
                        defended: c.defended,
                        conflicts: c.conflicts,
                        conflict_demands_ignored: c.conflict_demands_ignored,
                        releases_ignored: c.releases_ignored,
                    },
                    uptime: self.started.elapsed(),
                }));
            }
            Command::Add(name, group, reply) => match crate::config::netbios_name("name", &name) {
                Err(e) => {
                    let _ = reply.send(Err(bad_name(&e)));
                }
                Ok(n) => match self.ns.add_name(now, n, group) {
                    Ok(()) => {
                        let what = if group { "group" } else { "alias" };
                        tracing::info!("claiming {what} {n}");
                        self.sources.insert(n, what.into());
                        self.claims.insert(n, reply);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(NamesError::Refused(format!("{n}: {e}"))));
                    }
                },
            },
            Command::Del(name, reply) => match crate::config::netbios_name("name", &name) {
                Err(e) => {
                    let _ = reply.send(Err(bad_name(&e)));
                }
                Ok(n) => {
                    self.registry.remove(&n);
                    let _ = reply.send(if self.ns.remove_name(now, &n) {
                        tracing::info!("releasing alias {n}");
                        Ok(n.to_string())
                    } else {
                        Err(NamesError::NotFound(format!(
                            "{n} is not one of this host's names"
                        )))
                    });
                }
            },
            Command::Lookup(name, suffix, reply) => {
                match NetbiosName::new(name.as_bytes(), suffix) {
                    Err(e) => {
                        let _ = reply.send(Err(NamesError::BadName(format!("{name:?}: {e}"))));
                    }
                    Ok(n) => {
                        let id = self.ns.query(now, n);
                        self.lookups.insert(id, reply);
                    }
                }
            }
            Command::NodeStatus(address, reply) => {
                let trn_id = self.next_trn_id;
                self.next_trn_id = self.next_trn_id.wrapping_add(1) | 0x8000;
                let target = SocketAddrV4::new(address, NBNS_PORT);
                self.node_status.push(NodeStatusQuery {
                    trn_id,
                    target,
                    tries: 0,
                    deadline: now,
                    reply,
                });
                self.node_status_timeouts(now);
            }
        }
    }
}

/// A random 16-bit value for transaction ids (not security: it keeps two
/// daemons started together from using the same ids).
pub(crate) fn random_u16() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() as u16
}
