//! The `[alerter]` table: who is told of an alert of each severity, how
//! long identical alerts are collapsed, and who may raise alerts.
//!
//! Why its own file: the Alerter (`crate::alerter`, issue 12) is a service
//! of its own with its own defaults, and `config.rs` is edited by every
//! part of the daemon. How subscribers are reached is the Alerter's
//! business; here they are only checked for form.

use serde::Deserialize;

use super::ConfigError;

/// Seconds within which an identical alert is counted, not sent again.
pub const DEFAULT_COLLAPSE_SECS: u64 = 300;
/// The longest collapse window: a day.
pub const MAX_COLLAPSE_SECS: u64 = 86_400;

/// `[alerter]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Alerter {
    /// Subscribers of low alerts (absent: the admins, see
    /// [`Alerter::subscribers`]).
    pub low: Option<Vec<String>>,
    /// Subscribers of normal alerts.
    pub normal: Option<Vec<String>>,
    /// Subscribers of urgent alerts.
    pub urgent: Option<Vec<String>>,
    /// Seconds an identical alert is collapsed into the first (default
    /// 300; 0: never collapsed).
    pub collapse_secs: Option<u64>,
    /// Local users who may raise alerts besides root, the daemon's user and
    /// `admin_group`.
    #[serde(default)]
    pub raisers: Vec<String>,
}

impl Alerter {
    /// The subscribers of `priority` alerts: as configured, or the admins
    /// (`@ADMIN_GROUP`, or `root` without one).
    pub fn subscribers(
        &self,
        priority: messngr_proto::Priority,
        admin_group: Option<&str>,
    ) -> Vec<String> {
        let list = match priority {
            messngr_proto::Priority::Low => &self.low,
            messngr_proto::Priority::Normal => &self.normal,
            messngr_proto::Priority::Urgent => &self.urgent,
        };
        list.clone().unwrap_or_else(|| {
            vec![admin_group.map_or_else(|| "root".to_owned(), |g| format!("@{g}"))]
        })
    }

    /// The collapse window.
    pub fn collapse(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.collapse_secs.unwrap_or(DEFAULT_COLLAPSE_SECS))
    }

    /// Checks the values that can be wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, list) in [
            ("alerter.low", &self.low),
            ("alerter.normal", &self.normal),
            ("alerter.urgent", &self.urgent),
        ] {
            for s in list.iter().flatten() {
                check_subscriber(s).map_err(|message| ConfigError::Invalid { key, message })?;
            }
        }
        if self.collapse_secs.is_some_and(|s| s > MAX_COLLAPSE_SECS) {
            return Err(ConfigError::Invalid {
                key: "alerter.collapse_secs",
                message: format!("at most {MAX_COLLAPSE_SECS} (a day); 0 never collapses"),
            });
        }
        for r in &self.raisers {
            if r.trim().is_empty() || r.chars().any(|c| c.is_whitespace() || c == '/') {
                return Err(ConfigError::Invalid {
                    key: "alerter.raisers",
                    message: format!("{r:?}: give local user names"),
                });
            }
        }
        Ok(())
    }
}

/// A subscriber's form: `*`, `/users`, `/domain[:NAME]`, `@group`, or a
/// name (a local user or a NetBIOS name).
pub(super) fn check_subscriber(s: &str) -> Result<(), String> {
    let s = s.trim();
    if s == "*" || s == "/users" || s.starts_with("/domain") {
        return Ok(());
    }
    if let Some(g) = s.strip_prefix('@') {
        if g.is_empty() || g.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(format!("{s:?}: write @GROUP with a Unix group's name"));
        }
        return Ok(());
    }
    super::netbios_name("subscriber", s)
        .map(|_| ())
        .map_err(|e| {
            format!("{s:?}: not a user or NetBIOS name ({e}); or write @GROUP, * or /users")
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use messngr_proto::Priority;

    #[test]
    fn subscribers_default_to_the_admins() {
        let a = Alerter::default();
        assert_eq!(a.subscribers(Priority::Urgent, Some("adm")), ["@adm"]);
        assert_eq!(a.subscribers(Priority::Low, None), ["root"]);
        assert_eq!(a.collapse().as_secs(), 300);
        let a: Alerter =
            toml::from_str("normal = [\"@ops\", \"H2\", \"*\", \"/users\", \"alice\"]\nurgent = []\ncollapse_secs = 0\nraisers = [\"backup\"]")
                .unwrap();
        a.validate().unwrap();
        assert_eq!(a.subscribers(Priority::Normal, Some("adm")).len(), 5);
        assert!(a.subscribers(Priority::Urgent, Some("adm")).is_empty());
        assert_eq!(a.collapse().as_secs(), 0);
    }

    #[test]
    fn bad_values_are_refused_with_the_key() {
        for bad in [
            "normal = [\"@\"]",
            "low = [\"A NAME TOO LONG FOR NETBIOS\"]",
            "collapse_secs = 100000",
            "raisers = [\"a b\"]",
        ] {
            let a: Alerter = toml::from_str(bad).unwrap();
            let e = a.validate().unwrap_err().to_string();
            assert!(e.contains("alerter."), "{bad}: {e}");
        }
        assert!(toml::from_str::<Alerter>("subscribers = []").is_err());
    }
}
