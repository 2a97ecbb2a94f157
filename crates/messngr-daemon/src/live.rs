//! The part of the configuration a running daemon changes on SIGHUP
//! (`systemctl reload messngr`): the aliases, the `[[hook]]` programs, the
//! Alerter's subscribers and raisers, and who may send to the whole
//! organisation (`[relay] org_senders`). (The message rules are the
//! fourth; they live in [`crate::policy::Policy`], which swaps them the
//! same way.) Everything else is read once at start.
//!
//! Why a module of its own: each value is read where it is used through an
//! [`ArcSwap`], so a reload replaces it whole, between two messages — a
//! message meets the old hooks or the new ones, never half of each — and
//! touches nothing else: names held, sessions and connections open,
//! counters and rate buckets all stay.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::{Alerter, HookConfig};
use crate::settings::Settings;

/// The reloadable values, shared (`Arc<Live>`) by their readers and the
/// reload task.
#[derive(Debug)]
pub(crate) struct Live {
    aliases: ArcSwap<Vec<String>>,
    hooks: ArcSwap<Vec<HookConfig>>,
    alerter: ArcSwap<Alerter>,
    org_senders: ArcSwap<Vec<String>>,
}

impl Live {
    /// The values `settings` starts with.
    pub(crate) fn new(settings: &Settings) -> Self {
        Live {
            aliases: ArcSwap::from_pointee(settings.aliases.clone()),
            hooks: ArcSwap::from_pointee(settings.hooks.clone()),
            alerter: ArcSwap::from_pointee(settings.alerter.clone()),
            org_senders: ArcSwap::from_pointee(settings.relay.org_senders.clone()),
        }
    }

    /// The configured aliases (`names`), upper case.
    pub(crate) fn aliases(&self) -> Arc<Vec<String>> {
        self.aliases.load_full()
    }

    /// The `[[hook]]` programs.
    pub(crate) fn hooks(&self) -> Arc<Vec<HookConfig>> {
        self.hooks.load_full()
    }

    /// `[alerter]`.
    pub(crate) fn alerter(&self) -> Arc<Alerter> {
        self.alerter.load_full()
    }

    /// `[relay] org_senders`: accounts and `@groups` who may send to
    /// `/org`, besides root, the daemon's user and `admin_group`.
    pub(crate) fn org_senders(&self) -> Arc<Vec<String>> {
        self.org_senders.load_full()
    }

    /// Takes `settings`' values (the reload task, once they are checked).
    pub(crate) fn replace(&self, settings: &Settings) {
        self.aliases.store(Arc::new(settings.aliases.clone()));
        self.hooks.store(Arc::new(settings.hooks.clone()));
        self.alerter.store(Arc::new(settings.alerter.clone()));
        self.org_senders
            .store(Arc::new(settings.relay.org_senders.clone()));
    }
}
