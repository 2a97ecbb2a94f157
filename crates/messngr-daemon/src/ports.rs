//! The NetBIOS ports of one interface — UDP 137 and 138, TCP 139, and UDP
//! 135 with `rpc = true` — bound while the daemon is still root, then
//! served.
//!
//! Why apart from `daemon.rs`: with `interface = ["eth0", "eth1"]` each
//! interface is its own broadcast domain (B-nodes never route), so each
//! gets the whole set: its own sockets (bound to the device), its own name
//! service claiming this host's names there and defending them, its own
//! registry of the names held there, and its own receivers. What they
//! share is everything behind the receivers: policy, inbox, keys. Sending
//! and the API's name commands go through the first interface.

use std::sync::Arc;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::iface::Interface;
use crate::intake::Delivery;
use crate::policy::Policy;
use crate::registry::Registry;
use crate::settings::Settings;

/// A port that could not be bound (another program holds it, or no
/// privilege).
#[derive(Debug)]
pub(crate) struct BindError {
    /// Which port.
    pub(crate) what: &'static str,
    /// The interface.
    pub(crate) iface: String,
    /// Why.
    pub(crate) source: std::io::Error,
}

/// One interface's NetBIOS sockets, bound.
pub(crate) struct Ports {
    pub(crate) nbns: UdpSocket,
    pub(crate) dgm: Arc<UdpSocket>,
    pub(crate) tcp: TcpListener,
    pub(crate) rpc: Option<Arc<UdpSocket>>,
}

impl Ports {
    /// Binds `iface`'s ports (UDP 135 too with `rpc`).
    pub(crate) fn bind(iface: &Interface, rpc: bool) -> Result<Ports, BindError> {
        let err = |what: &'static str| {
            let iface = iface.name().to_owned();
            move |source| BindError {
                what,
                iface,
                source,
            }
        };
        let nbns = crate::udp::bind(iface, crate::names::NBNS_PORT).map_err(err("UDP port 137"))?;
        let dgm =
            crate::udp::bind(iface, crate::datagram::NBDGM_PORT).map_err(err("UDP port 138"))?;
        let tcp = crate::udp::listen_tcp(iface, crate::outbound::NBSS_PORT)
            .map_err(err("TCP port 139"))?;
        let rpc = if rpc {
            let s = crate::udp::bind_unicast(iface, crate::rpc::RPC_PORT)
                .map_err(err("UDP port 135"))?;
            Some(Arc::new(s))
        } else {
            None
        };
        Ok(Ports {
            nbns,
            dgm: Arc::new(dgm),
            tcp,
            rpc,
        })
    }
}

/// What every interface's receivers share.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) policy: Arc<Policy>,
    pub(crate) deliveries: mpsc::Sender<Delivery>,
    pub(crate) secure: Arc<crate::secure::Secure>,
    pub(crate) receipts: crate::inbox::receipts::Recorder,
    pub(crate) tasks: TaskTracker,
}

/// Serves an interface's receivers — TCP 139 (`tcp`), UDP 138 (`dgm`),
/// UDP 135 (`rpc`) — for the names in `registry`, as `settings.iface`.
pub(crate) fn serve_receivers(
    settings: &Settings,
    dgm: &Arc<UdpSocket>,
    tcp: TcpListener,
    rpc: Option<&Arc<UdpSocket>>,
    registry: &Registry,
    shared: &Shared,
    stop: &CancellationToken,
) {
    let tasks = &shared.tasks;
    tasks.spawn(crate::session::serve(
        tcp,
        registry.clone(),
        shared.policy.clone(),
        shared.deliveries.clone(),
        shared.secure.clone(),
        shared.receipts.clone(),
        stop.child_token(),
    ));
    tasks.spawn(crate::datagram::serve(
        dgm.clone(),
        settings.iface.address,
        settings.workgroup.clone(),
        registry.clone(),
        shared.policy.clone(),
        shared.deliveries.clone(),
        stop.child_token(),
    ));
    if let Some(socket) = rpc {
        tracing::info!(
            "serving MS-MSRP (NetrSendMessage) on UDP {}:{} (rpc = true)",
            settings.iface.address,
            crate::rpc::RPC_PORT
        );
        tasks.spawn(crate::rpc::serve(
            socket.clone(),
            registry.clone(),
            shared.policy.clone(),
            shared.deliveries.clone(),
            tasks.clone(),
            stop.child_token(),
        ));
    }
}

/// Serves another interface (`interface = [..]`) whole: its receivers and
/// its own name service, with a registry of its own.
pub(crate) fn serve_more(
    settings: &Settings,
    iface: &Interface,
    ports: Ports,
    shared: &Shared,
    stop: &CancellationToken,
) {
    let mut here = settings.clone();
    here.iface = *iface;
    here.more_ifaces.clear();
    let registry = Registry::in_scope(&here.scope);
    tracing::info!(
        "also serving {} ({}, broadcast {})",
        iface.name(),
        iface.address,
        iface.broadcast
    );
    let Ports {
        nbns,
        dgm,
        tcp,
        rpc,
    } = ports;
    serve_receivers(&here, &dgm, tcp, rpc.as_ref(), &registry, shared, stop);
    // No API call reaches this name service (the API's go to the first
    // interface's): its handle is dropped, and it serves the network only.
    let (_names, commands) = crate::names::Names::channel();
    shared.tasks.spawn(crate::names::run(
        here,
        registry,
        shared.policy.clone(),
        nbns,
        commands,
        stop.clone(),
    ));
}
