//! The daemon's top level: bind the sockets, start the tasks, stop them.
//!
//! Shutdown is one `CancellationToken`: the caller cancels it (SIGTERM,
//! Ctrl-C, or a test), the API stops accepting, and the name service
//! releases every name before `run` returns.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::settings::Settings;

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// UDP 137 could not be bound.
    #[error(
        "cannot bind UDP port 137 on {iface}: {source} (the daemon needs root or CAP_NET_BIND_SERVICE, and no nmbd on that port)"
    )]
    Bind137 {
        /// Interface name.
        iface: String,
        /// Why.
        source: std::io::Error,
    },
    /// The API socket could not be bound.
    #[error(transparent)]
    Api(#[from] crate::api::ApiError),
}

/// Runs the daemon until `stop` is cancelled.
pub async fn run(settings: Settings, stop: CancellationToken) -> Result<(), DaemonError> {
    let nbns = crate::udp::bind(&settings.iface, crate::names::NBNS_PORT).map_err(|source| {
        DaemonError::Bind137 {
            iface: settings.iface.name().to_owned(),
            source,
        }
    })?;
    let listener = crate::api::bind(&settings.socket)?;
    tracing::info!(
        "messngr daemon {} on {} ({}, broadcast {}), workgroup {}; API at {}",
        settings.netbios_name,
        settings.iface.name(),
        settings.iface.address,
        settings.iface.broadcast,
        settings.workgroup,
        settings.socket.display()
    );
    let (tx, rx) = mpsc::channel(64);
    let api = tokio::spawn(crate::api::serve(listener, tx, stop.child_token()));
    let socket_path = settings.socket.clone();
    crate::names::run(settings, nbns, rx, stop.clone()).await;
    stop.cancel();
    let _ = api.await;
    let _ = std::fs::remove_file(&socket_path);
    Ok(())
}
