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

/// The longest pause between two attempts at a first connection: short,
/// as a cluster started after the daemons should be found soon.
const CONNECT_PAUSE: Duration = Duration::from_secs(8);

/// What the admin should look at, for a connection's failure `why`.
fn what_to_check(why: &str) -> &'static str {
    let why = why.to_ascii_lowercase();
    if why.contains("certificate") || why.contains("tls") {
        "check [relay] ca_file (the CA that signed the servers' certificates) and that the servers' certificates name the addresses in [relay] servers"
    } else if why.contains("authorization") || why.contains("authentication") {
        "check [relay] credentials or nkey_seed_file against the servers' authorization"
    } else {
        "check that nats-server runs and is reachable at the addresses in [relay] servers"
    }
}

impl Relay {
    /// The client, once connected to one of the servers: tried again,
    /// with a growing pause, until one takes it (the daemon runs meanwhile;
    /// sends to other sites are kept). An error only for settings no retry
    /// can mend (a server URL that does not parse, a file that cannot be
    /// read).
    ///
    /// Why this loop and not the client's own first-connect retry: that
    /// one reports each failure as its kind only ("IO error"), and the
    /// admin must see why ("invalid peer certificate: UnknownIssuer",
    /// "authorization violation", "connection refused"). A first attempt
    /// made by hand returns the error with its cause, which goes to the
    /// log (when it changes) and to `messngr status`. Once connected, the
    /// client reconnects by itself, for ever.
    pub(super) async fn connect(
        self: &Arc<Self>,
        settings: &Settings,
    ) -> Result<async_nats::Client, RelayError> {
        let options = self.options(settings).await?;
        tracing::info!("relay: connecting to {}", self.servers.join(", "));
        let mut wait = Duration::from_secs(1);
        let mut last = String::new();
        loop {
            match options.clone().connect(self.servers.clone()).await {
                Ok(client) => return Ok(client),
                Err(e) if e.kind() == async_nats::ConnectErrorKind::ServerParse => {
                    return Err(RelayError::Connect(e.to_string()));
                }
                Err(e) => {
                    let why = format!("cannot connect: {e}");
                    if why != last {
                        tracing::warn!(
                            "relay: {why}; {}; trying again (sends to other sites are kept here meanwhile)",
                            what_to_check(&why)
                        );
                        last.clone_from(&why);
                    }
                    self.note_error(why);
                    tokio::time::sleep(super::loops::jittered(wait)).await;
                    wait = (wait * 2).min(CONNECT_PAUSE);
                }
            }
        }
    }

    /// How the client connects, from `[relay]`.
    async fn options(
        self: &Arc<Self>,
        settings: &Settings,
    ) -> Result<async_nats::ConnectOptions, RelayError> {
        let cfg = &settings.relay;
        let me = self.clone();
        let mut options = async_nats::ConnectOptions::new()
            // Not the host's name: the servers learn no more than they must.
            .name("messngr")
            // Replies to this host's own prefix, so that its account's
            // permissions can say "these and nothing else" (`permissions`).
            .custom_inbox_prefix(permissions::inbox_prefix(&settings.netbios_name))
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
            // Opened here, so that an unreadable file is said at start
            // (the client reads it at each attempt).
            std::fs::File::open(path).map_err(|source| RelayError::File {
                key: "ca_file",
                path: path.clone(),
                source,
            })?;
            options = options
                .add_root_certificates(path.clone())
                .require_tls(true);
        }
        Ok(options)
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
