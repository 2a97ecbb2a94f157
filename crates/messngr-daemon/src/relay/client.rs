//! The NATS client of the relay: how it connects (servers, credentials,
//! nkeys, TLS, the inbox prefix its permissions allow) and what it
//! reports while connected.
//!
//! Why apart: this is everything the admin's `[relay]` settings say about
//! reaching the cluster, and the only place that turns the client's events
//! into the state `messngr status` shows and the log lines an admin acts
//! on.

use std::sync::Arc;
use std::time::Duration;

use super::{Relay, RelayError, now_ms, permissions};
use crate::settings::Settings;

impl Relay {
    /// The client, connecting in the background (it returns at once).
    pub(super) async fn connect(
        self: &Arc<Self>,
        settings: &Settings,
    ) -> Result<async_nats::Client, RelayError> {
        let cfg = &settings.relay;
        let me = self.clone();
        let mut options = async_nats::ConnectOptions::new()
            // Not the host's name: the servers learn no more than they must.
            .name("messngr")
            // Replies to this host's own prefix, so that its account's
            // permissions can say "these and nothing else" (`permissions`).
            .custom_inbox_prefix(permissions::inbox_prefix(&settings.netbios_name))
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(5))
            .event_callback(move |event| {
                let me = me.clone();
                async move { me.on_event(event) }
            });
        if let Some(path) = &cfg.credentials {
            options = options
                .credentials_file(path)
                .await
                .map_err(|source| RelayError::File {
                    key: "credentials",
                    path: path.clone(),
                    source,
                })?;
        }
        if let Some(path) = &cfg.nkey_seed_file {
            let seed = std::fs::read_to_string(path).map_err(|source| RelayError::File {
                key: "nkey_seed_file",
                path: path.clone(),
                source,
            })?;
            options = options.nkey(seed.trim().to_owned());
        }
        if let Some(path) = &cfg.ca_file {
            options = options
                .add_root_certificates(path.clone())
                .require_tls(true);
        }
        tracing::info!("relay: connecting to {}", self.servers.join(", "));
        options
            .connect(self.servers.clone())
            .await
            .map_err(|e| RelayError::Connect(e.to_string()))
    }

    fn on_event(&self, event: async_nats::Event) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            async_nats::Event::Connected => {
                s.connected = true;
                s.since_ms = now_ms();
                tracing::info!("relay: connected");
            }
            async_nats::Event::Disconnected => {
                s.connected = false;
                s.since_ms = now_ms();
                tracing::warn!(
                    "relay: disconnected; reconnecting (sends to other sites fail until it is back)"
                );
            }
            async_nats::Event::LameDuckMode => {
                tracing::info!("relay: the server is shutting down; moving to another");
            }
            other => {
                let why = other.to_string();
                tracing::warn!("relay: {why}");
                s.last_error = Some(why);
            }
        }
    }
}
