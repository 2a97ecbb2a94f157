//! The `[http]` table: where the HTTP API, the ntfy and Alertmanager
//! receivers and the web inbox listen.
//!
//! Why loopback by default, and the LAN only when asked: a listener on the
//! LAN is a new door into the daemon. On loopback only this host's users
//! and programs reach it (each still needs a token); `lan = true` says the
//! admin meant the LAN, and the source policy (`allow_from`, `deny_from`)
//! then judges every connection as it judges TCP 139.
//!
//! `[http.topics]` maps ntfy topics to recipients: a script publishing to
//! `/ops` reaches whom the admin wrote here, never whom the caller names.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Deserialize;

use super::ConfigError;

/// Where the HTTP listener is unless told otherwise: both loopback
/// addresses (so that no local user can take the other one and collect
/// the tokens `localhost` sends there), on a port below 1024 (bound before
/// the daemon gives up root, so that no local user can take it first).
pub const DEFAULT_HTTP_LISTEN: &[&str] = &["127.0.0.1:839", "[::1]:839"];
/// The largest request body by default (a message's text is at most 64 KiB).
pub const DEFAULT_MAX_BODY: usize = 256 * 1024;

/// `[http]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Http {
    /// Addresses to listen on (`127.0.0.1:839` and `[::1]:839` by default;
    /// `[]` turns the listener off).
    pub listen: Option<Vec<String>>,
    /// Allow addresses that are not loopback (the LAN). Default false.
    pub lan: Option<bool>,
    /// The largest request body, in bytes.
    pub max_body: Option<usize>,
    /// ntfy topics and their recipients, written as `[alerter]`
    /// subscribers (`ops = ["@adm", "H2"]`).
    #[serde(default)]
    pub topics: BTreeMap<String, Vec<String>>,
}

/// Whether `name` may be a topic: ntfy's form (`[-_A-Za-z0-9]{1,64}`), and
/// not a path of the daemon's own (`v1`).
pub fn topic_name_ok(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && name != "v1"
}

impl Http {
    /// The addresses to listen on, checked.
    pub fn listen(&self) -> Result<Vec<SocketAddr>, ConfigError> {
        let given: Vec<String> = match &self.listen {
            Some(l) => l.clone(),
            None => DEFAULT_HTTP_LISTEN
                .iter()
                .map(|a| (*a).to_owned())
                .collect(),
        };
        let mut out = Vec::new();
        for a in given {
            let addr: SocketAddr = a.parse().map_err(|_| ConfigError::Invalid {
                key: "http.listen",
                message: format!("{a:?} is not ADDRESS:PORT (e.g. \"127.0.0.1:839\")"),
            })?;
            if !addr.ip().is_loopback() && !self.lan.unwrap_or(false) {
                return Err(ConfigError::Invalid {
                    key: "http.listen",
                    message: format!(
                        "{addr} is not a loopback address: set http.lan = true to serve the LAN (allow_from and deny_from then apply)"
                    ),
                });
            }
            out.push(addr);
        }
        Ok(out)
    }

    /// The largest request body.
    pub fn max_body(&self) -> usize {
        self.max_body.unwrap_or(DEFAULT_MAX_BODY)
    }

    /// Checks the values that can be wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen()?;
        if self.max_body == Some(0) {
            return Err(ConfigError::Invalid {
                key: "http.max_body",
                message: "give a size in bytes, e.g. 262144".into(),
            });
        }
        for (topic, to) in &self.topics {
            let key = "http.topics";
            if !topic_name_ok(topic) {
                return Err(ConfigError::Invalid {
                    key,
                    message: format!(
                        "{topic:?}: a topic is 1 to 64 letters, digits, - and _ (as ntfy's), and not v1"
                    ),
                });
            }
            if to.is_empty() {
                return Err(ConfigError::Invalid {
                    key,
                    message: format!("{topic}: list its recipients, e.g. {topic} = [\"@adm\"]"),
                });
            }
            for s in to {
                super::alerter::check_subscriber(s).map_err(|m| ConfigError::Invalid {
                    key,
                    message: format!("{topic}: {m}"),
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lan_needs_saying_so() {
        let h = Http::default();
        let both: Vec<SocketAddr> = vec![
            "127.0.0.1:839".parse().unwrap(),
            "[::1]:839".parse().unwrap(),
        ];
        assert_eq!(h.listen().unwrap(), both);
        let lan = Http {
            listen: Some(vec!["10.0.0.1:839".into()]),
            ..Http::default()
        };
        assert!(lan.listen().unwrap_err().to_string().contains("http.lan"));
        let lan = Http {
            lan: Some(true),
            ..lan
        };
        assert!(lan.listen().is_ok());
        let off = Http {
            listen: Some(vec![]),
            ..Http::default()
        };
        assert!(off.listen().unwrap().is_empty());
        let bad = Http {
            listen: Some(vec!["localhost".into()]),
            ..Http::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn topics_are_ntfy_s_names_with_recipients() {
        let t = |name: &str, to: &[&str]| Http {
            topics: [(
                name.to_owned(),
                to.iter().map(|s| (*s).to_owned()).collect(),
            )]
            .into(),
            ..Http::default()
        };
        assert!(t("ops", &["@adm", "H2", "*"]).validate().is_ok());
        assert!(t("disk_alerts-1", &["root"]).validate().is_ok());
        for bad in ["", "v1", "a/b", "ä", &"x".repeat(65)] {
            assert!(t(bad, &["H2"]).validate().is_err(), "{bad:?}");
        }
        let e = t("ops", &[]).validate().unwrap_err().to_string();
        assert!(e.contains("ops = [\"@adm\"]"), "{e}");
        assert!(t("ops", &["@"]).validate().is_err());
    }
}
