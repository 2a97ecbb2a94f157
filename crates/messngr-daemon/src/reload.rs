//! SIGHUP (`systemctl reload messngr`): read the configuration again and
//! apply what can change in a running daemon — the message rules, the
//! aliases, the `[[hook]]` programs, the Alerter's subscribers and raisers
//! — without dropping a name held or a session open.
//!
//! Why apart from `daemon`: the daemon starts things once; this task
//! changes a few of them later, and says in the log what it changed, what
//! it could not (a bad file changes nothing), and which edited keys wait
//! for a restart.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::live::Live;
use crate::names::Names;
use crate::policy::Policy;
use crate::settings::Settings;

/// How a daemon reloads: SIGHUP, caught from the start (its default action
/// ends the process, and systemd does not restart a daemon that ended on
/// SIGHUP), and how the configuration is read again.
pub struct Reload {
    /// Reads and resolves the file again: the new settings, or why there
    /// are none (the running ones then stay).
    pub read: Box<dyn Fn() -> Result<Settings, String> + Send + Sync>,
    /// SIGHUP (`tokio::signal::unix::signal(SignalKind::hangup())`), made
    /// before the daemon starts binding.
    pub hangups: tokio::signal::unix::Signal,
}

/// What a reload changes, and how it reads the file.
pub(crate) struct Reloader {
    /// Reads the file; the signal.
    pub(crate) reload: Reload,
    /// The settings the daemon started with (what needs a restart).
    pub(crate) running: Arc<Settings>,
    /// Aliases, hooks, Alerter.
    pub(crate) live: Arc<Live>,
    /// The message rules.
    pub(crate) policy: Arc<Policy>,
    /// Keys and pins: a new alias is reserved (no peer may sign as it).
    pub(crate) secure: Arc<crate::secure::Secure>,
    /// The name service, to claim new aliases and release dropped ones
    /// (`None`: `serve_netbios = false`, no names here).
    pub(crate) names: Option<Names>,
}

impl Reloader {
    /// Applies each SIGHUP until `stop`.
    pub(crate) async fn run(mut self, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                got = self.reload.hangups.recv() => if got.is_none() { return },
            }
            crate::notify::reloading();
            let status = if self.apply().await {
                "configuration reloaded"
            } else {
                "reload failed, nothing changed: see the log (journalctl -u messngr)"
            };
            crate::notify::ready(status);
        }
    }

    /// Reads the file and applies it, or logs why not; whether it did.
    async fn apply(&self) -> bool {
        let new = match (self.reload.read)() {
            Ok(new) => new,
            Err(e) => {
                tracing::warn!(
                    "SIGHUP: {e}; nothing changed, the daemon runs on as it was (fix the file, then `systemctl reload messngr` again)"
                );
                return false;
            }
        };
        if let Err(e) = crate::people::hooks::run_as_now(&new.hooks) {
            tracing::warn!(
                "SIGHUP: {e}; nothing changed, the daemon runs on as it was (fix the file, then reload again)"
            );
            return false;
        }
        // What the rules know of the machine (subnets, workgroup, WINS)
        // and of [secure] stays as the daemon serves it until a restart:
        // sending and the secure channel read [secure] once, at start.
        let running = &self.running.policy;
        self.policy.set_rules(crate::policy::Rules {
            lan: running.lan,
            other_lans: running.other_lans.clone(),
            workgroup: running.workgroup.clone(),
            wins_server: running.wins_server,
            require_verified_from: running.require_verified_from.clone(),
            require_verified_names: running.require_verified_names.clone(),
            urgent_senders: running.urgent_senders.clone(),
            require_secure: running.require_secure,
            ..new.policy.clone()
        });
        // An alias whose owner would change (a new `[aliases]` entry, or
        // one given to someone else) waits for a restart: claimed now, its
        // messages would be stored as the running owner map says — the
        // host's, seen by everyone — for good.
        let mut new = new;
        let owner = |s: &Settings, a: &str| s.access.alias_owners.get(a).cloned();
        let (running, before) = (&self.running, self.live.aliases());
        let waiting: Vec<String> = new
            .aliases
            .iter()
            .filter(|a| owner(&new, a) != owner(running, a))
            .cloned()
            .collect();
        new.aliases
            .retain(|a| !waiting.contains(a) || before.contains(a));
        if !waiting.is_empty() {
            tracing::warn!(
                "SIGHUP: [aliases] {} changed owner or is new: applied only at start (`systemctl restart messngr`), so that no message to it is stored for the wrong owner",
                waiting.join(", ")
            );
        }
        self.live.replace(&new);
        let dropped: Vec<&String> = before.iter().filter(|a| !new.aliases.contains(a)).collect();
        let added: Vec<&String> = new.aliases.iter().filter(|a| !before.contains(a)).collect();
        for alias in &added {
            self.secure.trust().reserve(alias);
        }
        if let Some(names) = &self.names {
            for alias in dropped {
                if let Err(e) = names.del(alias.clone()).await {
                    tracing::warn!("SIGHUP: alias {alias} is no longer configured but stays: {e}");
                }
            }
            for alias in added {
                if let Err(e) = names.add(alias.clone(), false).await {
                    tracing::warn!(
                        "SIGHUP: alias {alias} could not be claimed: {e} (`messngr name add {alias}` tries again)"
                    );
                }
            }
        }
        // A gateway name that became an account (created since the start):
        // the running gateway list stays until a restart, which refuses it.
        if let Err(e) = new.check_gateway() {
            tracing::warn!("SIGHUP: {e}");
        }
        let waiting = needs_restart(&self.running, &new);
        if !waiting.is_empty() {
            tracing::warn!(
                "SIGHUP: edited but applied only at start: {} (`systemctl restart messngr` applies it, releasing and claiming the names again)",
                waiting.join(", ")
            );
        }
        tracing::info!(
            "SIGHUP: reloaded the message rules, aliases [{}], {} hook(s), the [alerter] subscribers and [relay] org_senders; names held and sessions open are kept",
            new.aliases.join(", "),
            new.hooks.len()
        );
        true
    }
}

/// The served interfaces' names, in order.
fn names_of(s: &Settings) -> Vec<String> {
    std::iter::once(&s.iface)
        .chain(&s.more_ifaces)
        .map(|i| i.name().to_owned())
        .collect()
}

/// The configuration keys whose new values wait for a restart.
fn needs_restart(running: &Settings, new: &Settings) -> Vec<&'static str> {
    let differ =
        |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?}") != format!("{b:?}");
    let (r, n) = (running, new);
    let keys: [(&'static str, bool); 26] = [
        ("netbios_name", differ(&r.netbios_name, &n.netbios_name)),
        ("workgroup", differ(&r.workgroup, &n.workgroup)),
        ("socket", differ(&r.socket, &n.socket)),
        ("utmp", differ(&r.utmp, &n.utmp)),
        (
            "[alerter] collapse_secs",
            differ(&r.alerter.collapse_secs, &n.alerter.collapse_secs),
        ),
        (
            "interface",
            // By name: an address the interface got since (DHCP) is no edit.
            differ(&names_of(r), &names_of(n)),
        ),
        ("state_dir", differ(&r.state_dir, &n.state_dir)),
        ("wins_server", differ(&r.wins_server, &n.wins_server)),
        ("groups", differ(&r.groups, &n.groups)),
        ("scope", differ(&r.scope, &n.scope)),
        (
            "register_users",
            differ(&r.register_users, &n.register_users),
        ),
        (
            "nbns_rate_limit",
            differ(&r.nbns_rate_limit, &n.nbns_rate_limit),
        ),
        ("name_retry_secs", differ(&r.name_retry, &n.name_retry)),
        (
            "admin_group, [aliases] owners, host_messages_visible_to_all",
            differ(
                &(
                    &r.access.admin_group,
                    &r.access.alias_owners,
                    r.access.host_messages_visible_to_all,
                ),
                &(
                    &n.access.admin_group,
                    &n.access.alias_owners,
                    n.access.host_messages_visible_to_all,
                ),
            ),
        ),
        ("serve_netbios", differ(&r.serve_netbios, &n.serve_netbios)),
        ("rpc", differ(&r.rpc, &n.rpc)),
        ("code_page", differ(&r.code_pages, &n.code_pages)),
        (
            "terminals",
            differ(
                &(r.terminals, r.terminal_host_messages),
                &(n.terminals, n.terminal_host_messages),
            ),
        ),
        ("deliver_users", differ(&r.deliver_uids, &n.deliver_uids)),
        ("user", differ(&r.user, &n.user)),
        ("[limits]", differ(&r.limits, &n.limits)),
        (
            "max_messages, expire_read_after_days",
            differ(
                &(&r.quota, r.expire_read_after),
                &(&n.quota, n.expire_read_after),
            ),
        ),
        (
            "api_rate_limit, api_idle_secs",
            differ(&r.api_limits, &n.api_limits),
        ),
        ("[secure]", differ(&r.secure, &n.secure)),
        ("[http]", differ(&r.http, &n.http)),
        (
            "[relay] (all but org_senders)",
            differ(
                &crate::config::Relay {
                    org_senders: Vec::new(),
                    ..r.relay.clone()
                },
                &crate::config::Relay {
                    org_senders: Vec::new(),
                    ..n.relay.clone()
                },
            ),
        ),
    ];
    keys.into_iter()
        .filter(|(_, d)| *d)
        .map(|(k, _)| k)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_edited_keys_that_wait_for_a_restart_are_named() {
        let running = Settings::example();
        let mut new = running.clone();
        new.aliases.push("OPS".into());
        new.hooks.clear();
        assert!(
            needs_restart(&running, &new).is_empty(),
            "aliases and hooks reload"
        );
        new.relay.org_senders.push("dave".into());
        assert!(
            needs_restart(&running, &new).is_empty(),
            "org_senders reloads"
        );
        new.workgroup = "OTHER".into();
        new.rpc = true;
        new.relay.groups.push("OPS".into());
        assert_eq!(
            needs_restart(&running, &new),
            ["workgroup", "rpc", "[relay] (all but org_senders)"]
        );
    }
}
