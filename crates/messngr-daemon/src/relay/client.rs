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

/// At most this many different reasons are logged while connecting, or
/// reconnecting (each once; later ones at debug): several servers failing
/// each its own way take turns as the reason of an attempt.
const MAX_REASONS: usize = 16;

impl super::State {
    /// Notes `why` the client could not connect, or reported, as the last
    /// error; true the first time since it was last connected (log it
    /// then: it tries again every few seconds while the cluster is away).
    fn connection_error(&mut self, why: String) -> bool {
        let first = self.warned.len() < MAX_REASONS && self.warned.insert(why.clone());
        self.last_error = Some(why);
        first
    }

    /// Connected: what it could not do before is no longer so.
    fn connected(&mut self) {
        self.connected = true;
        self.since_ms = now_ms();
        if self
            .last_error
            .as_ref()
            .is_some_and(|e| self.warned.contains(e))
        {
            self.last_error = None;
        }
        self.warned.clear();
    }
}

/// What the admin should look at when a first connection failed.
#[derive(Debug, PartialEq)]
enum Check {
    /// The servers' certificates against `ca_file`.
    Tls,
    /// The credentials or the seed against the servers' authorization.
    Credentials,
    /// Whether nats-server runs there and is reachable.
    Reach,
    /// The addresses a server advertises (the configured ones parsed).
    Advertised,
}

impl Check {
    fn of(e: &async_nats::ConnectError) -> Check {
        use async_nats::ConnectErrorKind as Kind;
        match e.kind() {
            Kind::Tls => Check::Tls,
            Kind::Authentication | Kind::AuthorizationViolation => Check::Credentials,
            Kind::ServerParse => Check::Advertised,
            // A failed handshake comes as an IO error with rustls's
            // inside (a bad certificate, or a server that speaks no TLS).
            _ if from_rustls(e) => Check::Tls,
            _ => Check::Reach,
        }
    }

    fn say(&self) -> &'static str {
        match self {
            Check::Tls => {
                "check [relay] ca_file (the CA that signed the servers' certificates), that the servers' certificates name the addresses in [relay] servers, and that the servers have a tls block"
            }
            Check::Credentials => {
                "check [relay] credentials or nkey_seed_file against the servers' authorization"
            }
            Check::Reach => {
                "check that nats-server runs and is reachable at the addresses in [relay] servers"
            }
            Check::Advertised => {
                "a server advertised an address that does not parse: check the servers' client_advertise and cluster settings"
            }
        }
    }
}

/// Whether `e`, or an error under it, is rustls's.
fn from_rustls(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.is::<async_nats::rustls::Error>() {
            return true;
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && inner.is::<async_nats::rustls::Error>()
        {
            return true;
        }
        next = e.source();
    }
    false
}

impl Relay {
    /// The client, once connected to one of the servers: tried again,
    /// with a growing pause, until one takes it (the daemon runs meanwhile;
    /// sends to other sites are kept). An error only for settings no retry
    /// can mend (checked before the first attempt: a server URL that does
    /// not parse, a file that cannot be read or holds no seed or
    /// certificate).
    ///
    /// Why this loop and not the client's own first-connect retry: that
    /// one reports each failure as its kind only ("IO error"), and the
    /// admin must see why ("invalid peer certificate: UnknownIssuer",
    /// "authorization violation", "connection refused"). A first attempt
    /// made by hand returns the error with its cause, which goes to the
    /// log (each reason once) and to `messngr status`. Once connected, the
    /// client reconnects by itself, for ever.
    pub(super) async fn connect(
        self: &Arc<Self>,
        settings: &Settings,
    ) -> Result<async_nats::Client, RelayError> {
        let options = self.options(settings).await?;
        tracing::info!("relay: connecting to {}", self.servers.join(", "));
        let mut wait = Duration::from_secs(1);
        loop {
            match options.clone().connect(self.servers.clone()).await {
                Ok(client) => return Ok(client),
                Err(e) => {
                    let why = super::one_line(&format!("cannot connect: {e}"));
                    if self.lock_state().connection_error(why.clone()) {
                        tracing::warn!(
                            "relay: {why}; {}; trying again (sends to other sites are kept here meanwhile)",
                            Check::of(&e).say()
                        );
                    } else {
                        tracing::debug!("relay: {why}; trying again");
                    }
                    tokio::time::sleep(super::loops::jittered(wait)).await;
                    wait = (wait * 2).min(CONNECT_PAUSE);
                }
            }
        }
    }

    /// How the client connects, from `[relay]`; what no retry can mend
    /// is said here.
    async fn options(
        self: &Arc<Self>,
        settings: &Settings,
    ) -> Result<async_nats::ConnectOptions, RelayError> {
        let cfg = &settings.relay;
        for server in &self.servers {
            server
                .parse::<async_nats::ServerAddr>()
                .map_err(|e| RelayError::Setting {
                    key: "servers",
                    why: format!("{server}: {e}"),
                })?;
        }
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
            let seed = read(path, "nkey_seed_file")?;
            let seed = String::from_utf8_lossy(&seed);
            let seed = seed.trim();
            nkeys::KeyPair::from_seed(seed).map_err(|e| RelayError::Setting {
                key: "nkey_seed_file",
                why: format!(
                    "{} holds no nkey seed ({e}): it is the SU… line `nk -gen user` prints, not the public key",
                    path.display()
                ),
            })?;
            options = options.nkey(seed.to_owned());
        }
        if let Some(path) = &cfg.ca_file {
            // The client reads it at each attempt; read here too, as it
            // does, so that a file that is not one is said at start.
            use async_nats::rustls::pki_types::{CertificateDer, pem::PemObject};
            let pem = read(path, "ca_file")?;
            let certificates = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| RelayError::Setting {
                    key: "ca_file",
                    why: format!("{}: {e}", path.display()),
                })?;
            if certificates.is_empty() {
                return Err(RelayError::Setting {
                    key: "ca_file",
                    why: format!(
                        "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                        path.display()
                    ),
                });
            }
            options = options
                .add_root_certificates(path.clone())
                .require_tls(true);
        }
        Ok(options)
    }

    fn on_event(&self, event: async_nats::Event) {
        let mut s = self.lock_state();
        match event {
            async_nats::Event::Connected => {
                s.connected();
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
                let why = super::one_line(&other.to_string());
                if s.connection_error(why.clone()) {
                    tracing::warn!("relay: {why} (said once until it is connected again)");
                } else {
                    tracing::debug!("relay: {why}");
                }
            }
        }
    }
}

/// The bytes of `[relay]`'s file `key` at `path`.
fn read(path: &std::path::Path, key: &'static str) -> Result<Vec<u8>, RelayError> {
    std::fs::read(path).map_err(|source| RelayError::File {
        key,
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_nats::{ConnectError, ConnectErrorKind as Kind};
    use std::io;

    #[test]
    fn each_connection_error_is_told_once_until_connected_and_then_forgotten() {
        let mut s = super::super::State::default();
        let refused = super::super::one_line("cannot connect: IO error\nforged line");
        assert!(!refused.contains('\n'), "one line: {refused}");
        assert!(s.connection_error(refused.clone()));
        assert!(!s.connection_error(refused.clone()), "the same, again");
        assert!(s.connection_error("client error: nats: IO error".into()));
        assert_eq!(
            s.last_error.as_deref(),
            Some("client error: nats: IO error")
        );
        // Connected: that error is over, and each is told again next time.
        s.connected();
        assert!(s.connected && s.last_error.is_none());
        assert!(s.connection_error(refused));
        // An error of another kind (a stream's) outlives a reconnection.
        s.connected();
        s.last_error = Some("messages: no responders".into());
        s.connected();
        assert_eq!(s.last_error.as_deref(), Some("messages: no responders"));
        // A flood of ever new reasons: 16 told, then no more.
        let told = (0..40)
            .filter(|n| s.connection_error(format!("server error: {n}")))
            .count();
        assert_eq!(told, MAX_REASONS);
    }

    #[test]
    fn a_failed_connection_says_what_to_check() {
        let of = |kind, source: Option<io::Error>| match source {
            Some(s) => Check::of(&ConnectError::with_source(kind, s)),
            None => Check::of(&ConnectError::new(kind)),
        };
        // A certificate the CA did not sign: tokio-rustls's IO error with
        // rustls's inside, as the client returns it.
        let unknown = async_nats::rustls::Error::InvalidCertificate(
            async_nats::rustls::CertificateError::UnknownIssuer,
        );
        let handshake = io::Error::new(io::ErrorKind::InvalidData, unknown);
        assert_eq!(of(Kind::Io, Some(handshake)), Check::Tls);
        // A server without TLS answers the handshake in plain text.
        let plain = io::Error::new(
            io::ErrorKind::InvalidData,
            async_nats::rustls::Error::InvalidMessage(
                async_nats::rustls::InvalidMessage::InvalidContentType,
            ),
        );
        assert_eq!(of(Kind::Io, Some(plain)), Check::Tls);
        assert_eq!(of(Kind::Tls, None), Check::Tls);
        // A seed the servers do not know, or the wrong credentials.
        assert_eq!(of(Kind::Authentication, None), Check::Credentials);
        assert_eq!(of(Kind::AuthorizationViolation, None), Check::Credentials);
        // Nobody there.
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(of(Kind::Io, Some(refused)), Check::Reach);
        assert_eq!(of(Kind::TimedOut, None), Check::Reach);
        assert_eq!(of(Kind::Dns, None), Check::Reach);
        assert_eq!(of(Kind::ServerParse, None), Check::Advertised);
    }
}
