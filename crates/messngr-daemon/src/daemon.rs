//! The daemon's top level: bind the sockets, start the tasks, stop them.
//!
//! Tasks: the name service (UDP 137), the session listener (TCP 139), the
//! datagram receiver (UDP 138), the inbox writer, delivery to people
//! (terminals, hooks: `deliver`), and the API with its
//! dispatcher, which routes each request to the task that owns the answer.
//! Shutdown is one `CancellationToken`: the caller cancels it (SIGTERM,
//! Ctrl-C, or a test), the listeners stop, and the name service releases
//! every name before `run` returns.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::api::{Call, Request};
use crate::delivery::Delivery;
use crate::registry::Registry;
use crate::send::SendContext;
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
    /// The API socket could not be bound.
    #[error(transparent)]
    Api(#[from] crate::api::ApiError),
    /// The inbox could not be opened.
    #[error(transparent)]
    Inbox(#[from] crate::inbox::InboxError),
}

/// Runs the daemon until `stop` is cancelled.
pub async fn run(settings: Settings, stop: CancellationToken) -> Result<(), DaemonError> {
    let iface = settings.iface.name().to_owned();
    let bind_err = |what: &'static str| {
        let iface = iface.clone();
        move |source| DaemonError::Bind {
            what,
            iface,
            source,
        }
    };
    // With `serve_netbios = false` Samba owns the ports and feeds the
    // inbox through `messngr deliver`: nothing is bound.
    let nbt = if settings.serve_netbios {
        let nbns = crate::udp::bind(&settings.iface, crate::names::NBNS_PORT)
            .map_err(bind_err("UDP port 137"))?;
        let dgm = Arc::new(
            crate::udp::bind(&settings.iface, crate::datagram::NBDGM_PORT)
                .map_err(bind_err("UDP port 138"))?,
        );
        let tcp = crate::udp::listen_tcp(&settings.iface, crate::send::NBSS_PORT)
            .map_err(bind_err("TCP port 139"))?;
        Some((nbns, dgm, tcp))
    } else {
        None
    };
    let inbox = crate::inbox::Inbox::open(&settings)?;
    let listener = crate::api::bind(&settings.socket)?;
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
    let settings = Arc::new(settings);
    let registry = Registry::default();
    let tasks = tokio_util::task::TaskTracker::new();

    let (deliveries, deliveries_rx) = mpsc::channel::<Delivery>(256);
    let (names_tx, names_rx) = mpsc::channel::<Call>(64);
    let (api_tx, api_rx) = mpsc::channel::<Call>(64);
    inbox.load_quiet().await;
    let inbox = Arc::new(inbox);
    crate::deliver::spawn(&tasks, settings.clone(), &inbox, stop.child_token());
    tasks.spawn(crate::inbox::run(inbox.clone(), deliveries_rx));
    tasks.spawn(crate::api::serve(
        listener,
        api_tx,
        Some(inbox.feed()),
        stop.child_token(),
    ));
    match nbt {
        Some((nbns, dgm, tcp)) => {
            tasks.spawn(crate::session::serve(
                tcp,
                registry.clone(),
                deliveries.clone(),
                stop.child_token(),
            ));
            tasks.spawn(crate::datagram::serve(
                dgm.clone(),
                settings.iface.address,
                settings.workgroup.clone(),
                registry.clone(),
                deliveries,
                stop.child_token(),
            ));
            let ctx = SendContext {
                settings: settings.clone(),
                dgm,
                names: names_tx.clone(),
                registry: registry.clone(),
                inbox: inbox.clone(),
            };
            tasks.spawn(dispatch(api_rx, names_tx, Some(ctx), inbox));
            crate::names::run((*settings).clone(), registry, nbns, names_rx, stop.clone()).await;
        }
        None => {
            tracing::info!(
                "serve_netbios = false: UDP 137/138 and TCP 139 are left to Samba; messages arrive through `messngr deliver`"
            );
            drop(deliveries);
            tasks.spawn(dispatch(api_rx, names_tx, None, inbox));
            no_netbios(names_rx, stop.clone()).await;
        }
    }
    stop.cancel();
    tasks.close();
    tasks.wait().await;
    let _ = std::fs::remove_file(&settings.socket);
    Ok(())
}

/// Routes each API call to the task that can answer it.
async fn dispatch(
    mut calls: mpsc::Receiver<Call>,
    names: mpsc::Sender<Call>,
    ctx: Option<SendContext>,
    inbox: Arc<crate::inbox::Inbox>,
) {
    while let Some(call) = calls.recv().await {
        match call.request {
            Request::Send { .. } | Request::Reply { .. } if ctx.is_none() => {
                let _ = call.reply.send(no_netbios_answer());
            }
            Request::Deliver {
                transport,
                from,
                to,
                text_hex,
            } => {
                let inbox = inbox.clone();
                let uid = call.uid;
                tokio::spawn(async move {
                    let r = deliver(&inbox, uid, &transport, &from, &to, &text_hex).await;
                    let _ = call.reply.send(r);
                });
            }
            Request::Send {
                target,
                text,
                address,
                priority,
                popup_secs,
            } => {
                let Some(ctx) = ctx.clone() else { continue };
                let opts = crate::send::Options {
                    priority,
                    popup_secs,
                    uid: call.uid,
                };
                tokio::spawn(async move {
                    let r = crate::send::send(&ctx, &target, &text, address, opts).await;
                    let _ = call.reply.send(r);
                });
            }
            Request::Reply { id, text } => {
                let Some(ctx) = ctx.clone() else { continue };
                let inbox = inbox.clone();
                let uid = call.uid;
                tokio::spawn(async move {
                    let r = reply(&ctx, &inbox, uid, id, &text).await;
                    let _ = call.reply.send(r);
                });
            }
            ref r if r.is_inbox() => {
                let inbox = inbox.clone();
                tokio::spawn(async move {
                    let r = inbox.answer(call.request, call.uid).await;
                    let _ = call.reply.send(r);
                });
            }
            _ => {
                if names.send(call).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Answers message `id` to its sender: over SMB to the sender's name at the
/// address it came from, or as a mailslot datagram the same way; a message
/// from a local account is answered to that account's inbox here.
async fn reply(
    ctx: &SendContext,
    inbox: &crate::inbox::Inbox,
    uid: u32,
    id: i64,
    text: &str,
) -> crate::api::Response {
    let Some(original) = inbox.get(id, uid).await else {
        return crate::api::Response::err("not_found", format!("no message {id}"));
    };
    let address = original
        .source_addr
        .as_deref()
        .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
        .and_then(|a| match a.ip() {
            std::net::IpAddr::V4(ip) => Some(ip),
            std::net::IpAddr::V6(_) => None,
        });
    let opts = crate::send::Options {
        uid,
        ..Default::default()
    };
    if original.sender_uid.is_some() && original.source_addr.is_none() {
        // From a local account: back to that account, here.
        return crate::local::send(ctx, &original.from, text, opts).await;
    }
    crate::send::send(ctx, &original.from, text, address, opts).await
}

/// What a request that needs the NetBIOS ports gets when they are Samba's.
fn no_netbios_answer() -> crate::api::Response {
    crate::api::Response::err(
        "disabled",
        "this daemon does not serve NetBIOS (serve_netbios = false: Samba owns the ports); send with smbclient -M, look names up with nmblookup",
    )
}

/// Answers the name service's API calls while NetBIOS is not served.
async fn no_netbios(mut calls: mpsc::Receiver<Call>, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            call = calls.recv() => match call {
                Some(call) => {
                    let _ = call.reply.send(no_netbios_answer());
                }
                None => return,
            },
        }
    }
}

/// Stores a message another program received (`messngr deliver`).
async fn deliver(
    inbox: &crate::inbox::Inbox,
    uid: u32,
    transport: &str,
    from: &str,
    to: &str,
    text_hex: &str,
) -> crate::api::Response {
    use crate::api::Response;
    if transport != "samba" {
        return Response::err(
            "bad_request",
            format!("unknown transport {transport:?} (only \"samba\")"),
        );
    }
    let Some(text) = crate::api::from_hex(text_hex) else {
        return Response::err("bad_request", "text_hex is not hex");
    };
    match inbox.deliver(from, to, &text).await {
        Ok(crate::delivery::Stored(id)) => {
            tracing::info!(
                "message {id} ({} bytes) handed over by uid {uid} ({transport})",
                text.len()
            );
            Response::ok(id)
        }
        Err(e) => {
            tracing::error!("message handed over by uid {uid} ({transport}) NOT stored: {e}");
            Response::err("not_stored", e.to_string())
        }
    }
}
