//! The `[relay]` table: the NATS JetStream cluster that joins sites.
//!
//! Why optional and its own file: NetBIOS ends at the subnet; an
//! organisation with several joins them through a NATS cluster it already
//! runs (docs/relay.md). Without `servers` nothing of the relay starts and
//! messngr works as on one LAN. What the keys do is `crate::relay`'s
//! business.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// How long a directory entry lives unless its host renews it.
pub const DEFAULT_DIRECTORY_TTL_SECS: u64 = 300;

/// `[relay]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Relay {
    /// The cluster's servers (`nats://HOST:PORT`, `tls://HOST:PORT`);
    /// empty: no relay.
    #[serde(default)]
    pub servers: Vec<String>,
    /// A NATS credentials file (`.creds`: a user JWT and its nkey seed).
    pub credentials: Option<PathBuf>,
    /// A file holding a user nkey seed (`SU…`), for nkey authentication.
    pub nkey_seed_file: Option<PathBuf>,
    /// Trust this CA for the servers' TLS certificates (implies TLS).
    pub ca_file: Option<PathBuf>,
    /// Copies of each JetStream stream the relay creates (1 to 5; default
    /// 3 when three or more servers are listed, else 1).
    pub replicas: Option<usize>,
    /// Seconds a host's directory entry lives unless renewed (30 to 86400,
    /// default 300): a host that stops is gone from the directory after
    /// this long. It is renewed every third of it.
    pub directory_ttl_secs: Option<u64>,
    /// The relay groups this host is in (`send /group:NAME`), besides the
    /// whole organisation (`send /org`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The secure gateway: names this host answers for on its LAN, whose
    /// messages from that LAN (SMB, mailslot, RPC, smbd's hand-over, and
    /// messngr peers') it forwards through the relay to their holders on
    /// other sites, marked unverified and vouched for by this host.
    #[serde(default)]
    pub gateway: Vec<String>,
    /// Who may `send /org` besides root, the daemon's user and
    /// `admin_group`: local accounts (`alice`) and Unix groups (`@staff`).
    /// Empty (the default): nobody else, so that no account on any host
    /// can put text on every host of the organisation.
    #[serde(default)]
    pub org_senders: Vec<String>,
}

impl Relay {
    /// Whether a relay is configured.
    pub fn enabled(&self) -> bool {
        !self.servers.is_empty()
    }

    /// Copies of each stream.
    pub fn replicas(&self) -> usize {
        self.replicas
            .unwrap_or(if self.servers.len() >= 3 { 3 } else { 1 })
    }

    /// The relay groups, upper case (as the directory and receivers
    /// compare them).
    pub fn groups_upper(&self) -> Vec<String> {
        self.groups.iter().map(|g| g.to_ascii_uppercase()).collect()
    }

    /// The gateway's names, upper case.
    pub fn gateway_upper(&self) -> Vec<String> {
        self.gateway
            .iter()
            .map(|g| g.to_ascii_uppercase())
            .collect()
    }

    /// How long a directory entry lives.
    pub fn directory_ttl(&self) -> Duration {
        Duration::from_secs(
            self.directory_ttl_secs
                .unwrap_or(DEFAULT_DIRECTORY_TTL_SECS),
        )
    }

    /// Checks the values alone.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for s in &self.servers {
            check_server(s).map_err(|message| ConfigError::Invalid {
                key: "relay.servers",
                message,
            })?;
        }
        if self.credentials.is_some() && self.nkey_seed_file.is_some() {
            return Err(ConfigError::Invalid {
                key: "relay.credentials",
                message: "give credentials or nkey_seed_file, not both".into(),
            });
        }
        if let Some(r) = self.replicas
            && !(1..=5).contains(&r)
        {
            return Err(ConfigError::Invalid {
                key: "relay.replicas",
                message: format!("{r}: JetStream keeps 1 to 5 copies (3 for a 3-node cluster)"),
            });
        }
        for g in &self.groups {
            if !is_group_name(g) {
                return Err(ConfigError::Invalid {
                    key: "relay.groups",
                    message: format!(
                        "{g:?}: a group is 1 to 15 letters, digits or - _ . $ (like OPS or ON-CALL)"
                    ),
                });
            }
        }
        if self.groups.len() > 64 {
            return Err(ConfigError::Invalid {
                key: "relay.groups",
                message: format!("{} groups: a host may be in 64 at most", self.groups.len()),
            });
        }
        for s in &self.org_senders {
            if !word(s.strip_prefix('@').unwrap_or(s), 32, b"-_.") {
                return Err(ConfigError::Invalid {
                    key: "relay.org_senders",
                    message: format!("{s:?}: give local accounts (alice) or Unix groups (@staff)"),
                });
            }
        }
        if let Some(t) = self.directory_ttl_secs
            && !(30..=MAX_DIRECTORY_TTL_SECS).contains(&t)
        {
            return Err(ConfigError::Invalid {
                key: "relay.directory_ttl_secs",
                message: format!("{t}: give 30 to {MAX_DIRECTORY_TTL_SECS} seconds (default 300)"),
            });
        }
        Ok(())
    }
}

/// The longest `directory_ttl_secs` a host may set (a day): no honest
/// host makes the directory keep entries longer.
pub(crate) const MAX_DIRECTORY_TTL_SECS: u64 = 86_400;

/// `nats://HOST:PORT` or `tls://HOST:PORT` (the port may be left out).
fn check_server(s: &str) -> Result<(), String> {
    let rest = s
        .strip_prefix("nats://")
        .or_else(|| s.strip_prefix("tls://"))
        .ok_or_else(|| format!("{s:?}: write nats://HOST:PORT or tls://HOST:PORT"))?;
    let host = match rest.rsplit_once(':') {
        Some((host, port)) => {
            port.parse::<u16>()
                .map_err(|_| format!("{s:?}: {port:?} is not a port"))?;
            host
        }
        None => rest,
    };
    if host.is_empty() || rest.contains(['/', '@', ' ']) {
        return Err(format!(
            "{s:?}: write nats://HOST:PORT (credentials go in relay.credentials or relay.nkey_seed_file, not in the URL)"
        ));
    }
    Ok(())
}

/// Whether `g` is a relay group's name: 1 to 15 letters, digits or
/// `- _ . $` (what `[relay] groups` takes, and `send /group:NAME`).
pub(crate) fn is_group_name(g: &str) -> bool {
    word(g, 15, b"-_.$")
}

/// Whether `s` is 1 to `max` letters, digits or bytes of `also`.
fn word(s: &str, max: usize, also: &[u8]) -> bool {
    (1..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || also.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_nats_urls_without_credentials() {
        assert!(check_server("nats://10.0.0.1:4222").is_ok());
        assert!(check_server("tls://relay.example.org").is_ok());
        for bad in [
            "10.0.0.1:4222",
            "nats://u:p@h:4222",
            "nats://h:99999",
            "nats://",
        ] {
            assert!(check_server(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn groups_are_short_plain_names() {
        let with = |g: &str| Relay {
            groups: vec![g.into()],
            ..Relay::default()
        };
        assert!(with("OPS").validate().is_ok());
        assert!(with("on-call").validate().is_ok());
        for bad in ["", "A VERY LONG GROUP NAME", "a b", "*", "x\u{0}"] {
            let e = with(bad).validate().unwrap_err().to_string();
            assert!(e.contains("relay.groups"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn replicas_default_to_the_cluster_size() {
        let mut r = Relay {
            servers: vec!["nats://a".into()],
            ..Relay::default()
        };
        assert_eq!(r.replicas(), 1);
        r.servers = vec!["nats://a".into(), "nats://b".into(), "nats://c".into()];
        assert_eq!(r.replicas(), 3);
        r.replicas = Some(9);
        assert!(r.validate().is_err());
    }
}
