//! Messages by where they came in and what became of them: the counters
//! behind `/metrics`' `messngr_messages_total{transport,outcome}`.
//!
//! Why a module of its own: every receiver, the policy and the inbox count
//! into the same [`Flow`], so it must depend on none of them (the policy
//! and the inbox both use it; `ci/layers.py` forbids a cycle). Atomics, so
//! that counting costs a relaxed add on the receive path and no lock.

use std::sync::atomic::{AtomicU64, Ordering};

use messngr_proto::Transport;

/// Where a message came in, as `/metrics` labels it: the transports this
/// daemon receives on, and `local` — a local account's message to a name
/// held here (`messngr send` or `POST /v1/messages` to ourselves).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Smb,
    Mailslot,
    Rpc,
    Messngr,
    Samba,
    Local,
}

impl Route {
    /// Every route, in the order `/metrics` lists them.
    pub(crate) const ALL: [Route; 6] = [
        Route::Smb,
        Route::Mailslot,
        Route::Rpc,
        Route::Messngr,
        Route::Samba,
        Route::Local,
    ];

    /// The label (the transport's stored name, or `local`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Route::Smb => "smb",
            Route::Mailslot => "mailslot",
            Route::Rpc => "rpc",
            Route::Messngr => "messngr",
            Route::Samba => "samba",
            Route::Local => "local",
        }
    }

    /// The route of a transport (`None`: an unknown one).
    pub(crate) fn of(t: Transport) -> Option<Route> {
        match t {
            Transport::Smb => Some(Route::Smb),
            Transport::Mailslot => Some(Route::Mailslot),
            Transport::Messngr => Some(Route::Messngr),
            Transport::Samba => Some(Route::Samba),
            Transport::Rpc => Some(Route::Rpc),
            Transport::Unknown => None,
        }
    }
}

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Complete and about to be judged: every message counts here once.
    Received,
    /// Committed to the inbox, new.
    Stored,
    /// Already on disk (a retry, a replay, a broadcast's datagram after its
    /// signed copy): acknowledged, kept once.
    Duplicate,
    /// Refused by the policy, or not stored (the reason is counted by the
    /// policy's refusals).
    Refused,
}

impl Outcome {
    /// Every outcome, in the order `/metrics` lists them.
    pub(crate) const ALL: [Outcome; 4] = [
        Outcome::Received,
        Outcome::Stored,
        Outcome::Duplicate,
        Outcome::Refused,
    ];

    /// The label.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Received => "received",
            Outcome::Stored => "stored",
            Outcome::Duplicate => "duplicate",
            Outcome::Refused => "refused",
        }
    }
}

/// Messages by route and outcome, counted where each thing happens: the
/// receivers count `received`, the policy `refused`, the inbox `stored`
/// and `duplicate` (and all of them for the routes that start at the
/// inbox, `samba` and `local`). Shared by the inbox and the policy
/// (`Arc`), read by `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct Flow {
    counts: [[AtomicU64; Outcome::ALL.len()]; Route::ALL.len()],
}

impl Flow {
    /// Counts one message of `route` with `outcome`.
    pub(crate) fn add(&self, route: Route, outcome: Outcome) {
        self.counts[route as usize][outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// [`Flow::add`] for a transport (nothing for one without a route).
    pub(crate) fn add_transport(&self, t: Transport, outcome: Outcome) {
        if let Some(route) = Route::of(t) {
            self.add(route, outcome);
        }
    }

    /// How many messages of `route` had `outcome`.
    pub(crate) fn get(&self, route: Route, outcome: Outcome) -> u64 {
        self.counts[route as usize][outcome as usize].load(Ordering::Relaxed)
    }
}
