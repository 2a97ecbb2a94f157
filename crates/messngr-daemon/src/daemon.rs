//! The daemon's top level: bind the sockets, start the tasks, stop them.
//!
//! Tasks: the name service (UDP 137), the session listener (TCP 139), the
//! datagram receiver (UDP 138), the inbox writer, delivery to people
//! (terminals, hooks: `deliver`), and the API with its
//! dispatcher, which routes each request to the task that owns the answer.
//! Started as root, `run` binds the ports and the API socket, prepares the
//! state and socket directories and then drops root for good
//! ([`crate::privs`]) before it opens the inbox or reads anything from the
//! network; nothing after that needs privilege.
//! Shutdown is one `CancellationToken`: the caller cancels it (SIGTERM,
//! Ctrl-C, or a test), the listeners stop, and the name service releases
//! every name before `run` returns.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::intake::Delivery;
use crate::names::Names;
use crate::quiet::Quiet;
use crate::registry::Registry;
use crate::send::SendContext;
use crate::server::{Feed, Services};
use crate::settings::Settings;

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// A NetBIOS port could not be bound.
    #[error(
        "cannot bind {what} on {iface}: {source} (the daemon needs root or CAP_NET_BIND_SERVICE, and no nmbd/smbd on that port)"
    )]
    Bind {
        /// Which port.
        what: &'static str,
        /// Interface name.
        iface: String,
        /// Why.
        source: std::io::Error,
    },
    /// The settings cannot run (a gateway name that is an account here).
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    /// The API socket could not be bound.
    #[error(transparent)]
    Api(#[from] crate::server::ServeError),
    /// The inbox could not be opened.
    #[error(transparent)]
    Inbox(#[from] crate::inbox::OpenError),
    /// The host key or the pins could not be loaded.
    #[error("keys: {0}")]
    Secure(#[from] crate::secure::SecureError),
    /// The HTTP listener could not start.
    #[error("{0}")]
    Http(String),
    /// The HTTP API's tokens could not be loaded.
    #[error("HTTP tokens: {0}")]
    Tokens(#[from] crate::tokens::TokenError),
    /// Root could not be given up (the daemon never runs on as root).
    #[error(transparent)]
    Privs(#[from] crate::privs::PrivsError),
    /// A hook names a user the daemon cannot run it as.
    #[error(transparent)]
    HookUser(#[from] crate::people::hooks::HookUserError),
}

impl From<crate::ports::BindError> for DaemonError {
    fn from(e: crate::ports::BindError) -> Self {
        DaemonError::Bind {
            what: e.what,
            iface: e.iface,
            source: e.source,
        }
    }
}

/// Who the daemon will run as: the account to drop to when root, else
/// the current user as it is.
fn plan(settings: &Settings) -> Result<Option<crate::privs::Target>, DaemonError> {
    let (target, name, uid) = if nix::unistd::geteuid().is_root() {
        let t = crate::privs::Target::resolve(&settings.user)?;
        let (name, uid) = (t.name.clone(), t.uid);
        (Some(t), name, uid)
    } else {
        let uid = nix::unistd::geteuid();
        let name = nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map_or_else(|| uid.to_string(), |u| u.name);
        (None, name, uid)
    };
    crate::people::hooks::run_as(&settings.hooks, uid, &name)?;
    Ok(target)
}

/// Makes the directories the user's, then drops to it (as root), or
/// clears the capabilities the daemon was started with (as anyone else).
fn give_up_root(target: Option<&crate::privs::Target>) -> Result<(), DaemonError> {
    let Some(t) = target else {
        crate::privs::clear_capabilities()?;
        tracing::info!(
            "not started as root: running as uid {} as it is, no capabilities",
            nix::unistd::geteuid()
        );
        return Ok(());
    };
    crate::privs::drop_to(t)?;
    crate::privs::verify(t.uid)?;
    if let Some(wanted) = &t.fallback {
        tracing::warn!(
            "no account {wanted:?}: running as {} instead (create it: useradd --system --no-create-home --shell /usr/sbin/nologin {wanted})",
            t.name
        );
    }
    tracing::info!(
        "dropped root: running as {} (uid {}, gid {}, groups {}), no capabilities",
        t.name,
        t.uid,
        t.gid,
        t.tty
            .map_or_else(|| "none".into(), |g| format!("tty ({g})"))
    );
    Ok(())
}

/// The secure gateway's feed, and where a gateway that never ran starts,
/// taken before anything can be stored (`send::gateway`); `None` when this
/// host is no gateway, whose cursor is then forgotten (a gateway again
/// starts afresh, instead of forwarding what came in between).
async fn gateway_feed(
    settings: &Settings,
    inbox: &crate::inbox::Inbox,
) -> Option<(
    tokio::sync::broadcast::Receiver<Arc<messngr_store::Message>>,
    i64,
)> {
    let wanted = settings.relay.enabled() && !settings.relay.gateway.is_empty();
    if wanted && !settings.serve_netbios {
        tracing::warn!(
            "[relay] gateway needs serve_netbios = true (it forwards what this daemon receives): not forwarding"
        );
    }
    if !wanted || !settings.serve_netbios {
        // Written only by a host that was a gateway: no write at every start.
        let forget = |s: &mut messngr_store::Store| match s.gateway_cursor()? {
            Some(_) => s.clear_gateway_cursor(),
            None => Ok(()),
        };
        if let Err(e) = inbox.handle().run(forget).await {
            tracing::warn!("gateway: cannot clear its cursor: {e}");
        }
        return None;
    }
    let feed = inbox.subscribe();
    match inbox.handle().run(|s| s.last_message_id()).await {
        Ok(last) => Some((feed, last)),
        Err(e) => {
            tracing::error!("gateway: cannot read the inbox ({e}); not forwarding");
            None
        }
    }
}

/// Runs the daemon until `stop` is cancelled.
pub async fn run(settings: Settings, stop: CancellationToken) -> Result<(), DaemonError> {
    run_reloading(settings, stop, None).await
}

/// [`run`], applying `reload`'s settings on each SIGHUP (`crate::reload`).
pub async fn run_reloading(
    settings: Settings,
    stop: CancellationToken,
    reload: Option<crate::reload::Reload>,
) -> Result<(), DaemonError> {
    settings.check_gateway()?;
    let target = plan(&settings)?;
    // With `serve_netbios = false` Samba owns the ports and feeds the
    // inbox through `messngr deliver`: nothing is bound.
    let nbt = if settings.serve_netbios {
        let first = crate::ports::Ports::bind(&settings.iface, settings.rpc)?;
        let mut more = Vec::new();
        for iface in &settings.more_ifaces {
            more.push((*iface, crate::ports::Ports::bind(iface, settings.rpc)?));
        }
        Some((first, more))
    } else {
        if settings.rpc {
            tracing::warn!(
                "rpc = true needs serve_netbios = true (RPC messages are for the names this daemon holds): UDP 135 is not served"
            );
        }
        None
    };
    if let Some(t) = &target {
        crate::privs::own_dir(&settings.state_dir, t, 0o700)?;
        if let Some(dir) = settings
            .socket
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            crate::privs::socket_dir(dir, t)?;
        }
    }
    let listener = crate::server::bind(&settings.socket)?;
    let http_addrs = settings
        .http
        .listen()
        .map_err(|e| DaemonError::Http(e.to_string()))?;
    let http = crate::http::bind(&http_addrs).await;
    give_up_root(target.as_ref())?;
    let inbox = crate::inbox::Inbox::open(&settings)?;
    tracing::info!(
        "messngr daemon {} on {} ({}, broadcast {}), workgroup {}; inbox {}; API at {}",
        settings.netbios_name,
        settings.iface.name(),
        settings.iface.address,
        settings.iface.broadcast,
        settings.workgroup,
        inbox.path().display(),
        settings.socket.display()
    );
    let secure = Arc::new(crate::secure::Secure::open(&settings)?);
    let tokens = Arc::new(crate::tokens::Tokens::load(&settings.state_dir)?);
    let settings = Arc::new(settings);
    let live = Arc::new(crate::live::Live::new(&settings));
    let registry = Registry::in_scope(&settings.scope);
    let inbox = Arc::new(inbox);
    let gateway_feed = gateway_feed(&settings, &inbox).await;
    let policy = Arc::new(settings.policy().with_flow(inbox.flow().clone()));
    let delivered = Arc::new(crate::people::Delivered::default());
    let tasks = tokio_util::task::TaskTracker::new();

    let (deliveries, deliveries_rx) = mpsc::channel::<Delivery>(256);
    let quiet = Quiet::new(inbox.handle().clone(), settings.access.clone());
    quiet.load().await;
    crate::people::spawn(
        &tasks,
        settings.clone(),
        &live,
        &inbox,
        &quiet,
        &delivered,
        stop.child_token(),
    );
    tasks.spawn(crate::inbox::run(
        inbox.clone(),
        deliveries_rx,
        policy.clone(),
    ));
    tasks.spawn(crate::inbox::expiry::run_senders(
        inbox.handle().clone(),
        stop.child_token(),
    ));
    if let Some(after) = settings.expire_read_after {
        let expiry = crate::inbox::expiry::run(inbox.handle().clone(), after, stop.child_token());
        tasks.spawn(expiry);
    }
    let feed = {
        let access = Arc::new(settings.access.clone());
        Feed::with_visibility(
            inbox.stored_sender(),
            Arc::new(move |uid| {
                let (access, caller) = (access.clone(), access.caller(uid));
                Box::new(move |m| access.may_see(&caller, m.owner_user.as_deref()))
            }),
        )
        .with_quiet(quiet.changes())
        .with_receipts(inbox.receipts().news())
    };
    let mut services = Services {
        settings: settings.clone(),
        inbox: inbox.clone(),
        quiet,
        policy: policy.clone(),
        secure: secure.clone(),
        tokens,
        web: Arc::default(),
        netbios: None,
        alerter: Arc::new(crate::alerter::Alerter::new(
            settings.clone(),
            live.clone(),
            None,
        )),
        delivered,
        deliveries: Some(deliveries.downgrade()),
        started: std::time::Instant::now(),
        relay: crate::relay::Relay::start(
            settings.clone(),
            secure.clone(),
            Arc::new(crate::native::Inbound {
                secure: secure.clone(),
                registry: registry.clone(),
                policy: policy.clone(),
                inbox: deliveries.clone(),
                receipts: inbox.receipts().clone(),
                groups: settings.relay.groups_upper(),
                address: settings.iface.address,
                started: std::time::Instant::now(),
                frames: tokio::sync::Semaphore::new(crate::native::FRAMES_IN_FLIGHT),
                authors: Default::default(),
                waiting: Default::default(),
            }),
            inbox.handle().clone(),
            &tasks,
            stop.child_token(),
        ),
    };
    // What SIGHUP changes, once the name service (if any) is known.
    let reloader = |names| {
        reload.map(|reload| crate::reload::Reloader {
            reload,
            running: settings.clone(),
            live: live.clone(),
            policy: policy.clone(),
            secure: secure.clone(),
            names,
        })
    };
    match nbt {
        Some((first, more)) => {
            let shared = crate::ports::Shared {
                policy: policy.clone(),
                deliveries: deliveries.clone(),
                secure: secure.clone(),
                receipts: inbox.receipts().clone(),
                tasks: tasks.clone(),
            };
            let crate::ports::Ports {
                nbns,
                dgm,
                tcp,
                rpc,
            } = first;
            crate::ports::serve_receivers(
                &settings,
                &dgm,
                tcp,
                rpc.as_ref(),
                &registry,
                &shared,
                &stop,
            );
            for (iface, ports) in more {
                crate::ports::serve_more(&settings, &iface, ports, &shared, &stop);
            }
            drop(shared);
            drop(deliveries);
            let (names, commands) = Names::channel();
            let ctx = SendContext {
                settings: settings.clone(),
                live: live.clone(),
                dgm,
                names: names.clone(),
                registry: registry.clone(),
                inbox: inbox.clone(),
                secure: secure.clone(),
                peers: Arc::new(crate::send::Peers::default()),
                relay: services.relay.clone(),
            };
            if let (Some(_), Some((feed, last))) = (&services.relay, gateway_feed) {
                tasks.spawn(crate::send::gateway::run(
                    ctx.clone(),
                    settings.relay.gateway_upper(),
                    (feed, last),
                    stop.child_token(),
                ));
            }
            services.alerter = Arc::new(crate::alerter::Alerter::new(
                settings.clone(),
                live.clone(),
                Some(ctx.clone()),
            ));
            services.netbios = Some((names.clone(), ctx));
            serve_local(&tasks, listener, http, services, feed, &stop);
            watch(&tasks, reloader(Some(names)), &stop);
            crate::names::run(
                (*settings).clone(),
                registry,
                policy,
                nbns,
                commands,
                stop.clone(),
            )
            .await;
        }
        None => {
            tracing::info!(
                "serve_netbios = false: UDP 137/138 and TCP 139 are left to Samba; messages arrive through `messngr deliver`"
            );
            drop(deliveries);
            serve_local(&tasks, listener, http, services, feed, &stop);
            watch(&tasks, reloader(None), &stop);
            stop.cancelled().await;
        }
    }
    stop.cancel();
    tasks.close();
    tasks.wait().await;
    let _ = std::fs::remove_file(&settings.socket);
    Ok(())
}

/// Tells systemd the daemon is ready (every port bound, root given up),
/// and stopping once `stop` is cancelled; applies SIGHUPs with `reloader`.
fn watch(
    tasks: &tokio_util::task::TaskTracker,
    reloader: Option<crate::reload::Reloader>,
    stop: &CancellationToken,
) {
    if let Some(r) = reloader {
        tasks.spawn(r.run(stop.clone()));
    }
    crate::notify::ready("serving");
    let stop = stop.clone();
    tasks.spawn(async move {
        stop.cancelled().await;
        crate::notify::stopping();
    });
}

/// The daemon's front doors for people and programs: the Unix socket's API
/// and the HTTP listener, both asking the same services.
fn serve_local(
    tasks: &tokio_util::task::TaskTracker,
    listener: tokio::net::UnixListener,
    http: Vec<tokio::net::TcpListener>,
    services: Services,
    feed: Feed,
    stop: &CancellationToken,
) {
    // One budget per account, whichever way it asks.
    let rates = crate::server::Rates::new(services.settings.api_limits.rate);
    if !http.is_empty() {
        let max_body = services.settings.http.max_body();
        let app = crate::http::App::new(crate::http::AppState {
            services: services.clone(),
            feed: feed.clone(),
            stop: stop.child_token(),
            rates: rates.clone(),
            streams: crate::http::Streams::default(),
            requests: Arc::default(),
            started: std::time::Instant::now(),
        });
        tasks.spawn(crate::http::serve(http, app, max_body, stop.child_token()));
    }
    tasks.spawn(crate::server::serve(
        listener,
        services,
        feed,
        rates,
        stop.child_token(),
    ));
}
