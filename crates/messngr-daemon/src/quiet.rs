//! Do-not-disturb, the daemon's side (`messngr quiet on|off`).
//!
//! Why the daemon keeps it: quiet is one wish of a person that every
//! deliverer must honour — the daemon's terminal writer as much as each of
//! that user's desktop agents — so it lives in the inbox's database (per
//! login name, surviving restarts) and the API is the one place to change
//! it. While a user is quiet, their messages are stored as always and
//! wait, unread; only those that interrupt (urgent from root or
//! admin_group on this host, `MessageView::interrupts`; never one from the
//! network) are shown at once. When quiet ends, the
//! change is broadcast: followers (agents) of that user show what waited,
//! and the terminal writer tells the user's terminals how many messages
//! arrived meanwhile.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use messngr_store::{Filter, StoreHandle, clock};
use tokio::sync::broadcast;

use crate::access::{Access, Caller};

/// One user's quiet setting changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QuietChange {
    /// The login name.
    pub user: String,
    /// Quiet now.
    pub quiet: bool,
    /// Unread messages that arrived while quiet (when it ends; else 0).
    pub waiting: u64,
}

/// A user's quiet setting, as `messngr quiet` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QuietState {
    /// The caller's login name.
    pub user: String,
    /// Quiet now.
    pub quiet: bool,
    /// Since when (Unix ms), when quiet.
    pub since: Option<i64>,
    /// Unread messages for this user (their own and the
    /// host's) that arrived since quiet began (what quiet held back, and
    /// any that interrupted and are still unread).
    pub waiting: u64,
}

/// Why quiet could not be asked or set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum QuietError {
    /// Quiet is kept per login name; this uid has none.
    #[error("uid {0} has no account name; quiet is kept per login name")]
    NoAccount(u32),
    /// The store failed.
    #[error("the inbox failed: {0}")]
    Store(String),
}

impl From<messngr_store::StoreError> for QuietError {
    fn from(e: messngr_store::StoreError) -> Self {
        QuietError::Store(e.to_string())
    }
}

/// Do-not-disturb: who is quiet (kept in memory once loaded, so that
/// delivering a message costs no store query) and where changes are
/// announced. The store stays the truth; the daemon is its only writer.
#[derive(Clone)]
pub(crate) struct Quiet {
    store: StoreHandle,
    access: Access,
    changes: broadcast::Sender<QuietChange>,
    users: Arc<RwLock<Option<BTreeSet<String>>>>,
}

impl Quiet {
    /// Quiet kept in `store`, with `access` deciding whose messages waited.
    pub(crate) fn new(store: StoreHandle, access: Access) -> Self {
        Self {
            store,
            access,
            changes: broadcast::channel(16).0,
            users: Arc::default(),
        }
    }

    /// Every change from now on (followers, the terminal writer's summary).
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<QuietChange> {
        self.changes.subscribe()
    }

    /// The sender of every change (the API's follow feed subscribes to it).
    pub(crate) fn changes(&self) -> broadcast::Sender<QuietChange> {
        self.changes.clone()
    }

    /// Reads who is quiet into memory (the daemon does this at start);
    /// until then, or if it fails, [`Quiet::users`] asks the store.
    pub(crate) async fn load(&self) {
        match self.store.quiet_users().await {
            Ok(users) => {
                if let Ok(mut cache) = self.users.write() {
                    *cache = Some(users.into_iter().collect());
                }
            }
            Err(e) => tracing::warn!("cannot read who is quiet: {e}; asking again per message"),
        }
    }

    /// The users in do-not-disturb now; a store failure is logged and
    /// counts as nobody quiet (better one message too many on a screen
    /// than one hidden by an error).
    pub(crate) async fn users(&self) -> Vec<String> {
        let cached = self
            .users
            .read()
            .ok()
            .and_then(|u| u.as_ref().map(|u| u.iter().cloned().collect()));
        if let Some(users) = cached {
            return users;
        }
        match self.store.quiet_users().await {
            Ok(users) => users,
            Err(e) => {
                tracing::warn!("cannot read who is quiet: {e}; delivering as if nobody were");
                Vec::new()
            }
        }
    }

    fn record(&self, user: &str, on: bool) {
        if let Ok(mut users) = self.users.write()
            && let Some(users) = users.as_mut()
        {
            if on {
                users.insert(user.to_owned());
            } else {
                users.remove(user);
            }
        }
    }

    /// Asks (`on: None`) or sets the quiet setting of the caller with `uid`.
    pub(crate) async fn answer(
        &self,
        uid: u32,
        on: Option<bool>,
    ) -> Result<QuietState, QuietError> {
        let caller = self.access.caller(uid);
        let user = caller.user.clone().ok_or(QuietError::NoAccount(uid))?;
        let since = self.store.quiet_since(user.clone()).await?;
        let waiting = match since {
            Some(t) => self.waiting(&caller, t).await?,
            None => 0,
        };
        let now_quiet = match on {
            None => since.is_some(),
            Some(on) => {
                if self
                    .store
                    .set_quiet(user.clone(), on, clock::now_ms())
                    .await?
                {
                    self.record(&user, on);
                    tracing::info!(
                        "{user} turned quiet {}{}",
                        if on { "on" } else { "off" },
                        if on {
                            String::new()
                        } else {
                            format!(" ({waiting} messages waited)")
                        }
                    );
                    // Nobody following is fine.
                    let _ = self.changes.send(QuietChange {
                        user: user.clone(),
                        quiet: on,
                        waiting: if on { 0 } else { waiting },
                    });
                }
                on
            }
        };
        Ok(QuietState {
            user,
            quiet: now_quiet,
            since: now_quiet.then(|| since.unwrap_or_else(clock::now_ms)),
            waiting,
        })
    }

    /// Unread received messages for `caller` that arrived since `since`:
    /// their own and the host's (not everyone's, even for root). Urgent ones
    /// count too: one from the network waited like any other, and one that
    /// interrupted (root's or admin_group's, here) is still unread. Counted
    /// in SQL.
    async fn waiting(&self, caller: &Caller, since: i64) -> Result<u64, QuietError> {
        let person = Caller {
            admin: false,
            ..caller.clone()
        };
        let filter = Filter {
            unread_only: true,
            since: Some(since),
            scope: self.access.scope(&person),
            ..Filter::default()
        };
        Ok(self.store.count(filter).await?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn who_is_quiet_follows_every_change_in_memory_and_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.sqlite");
        let quiet = Quiet::new(StoreHandle::open(&path).unwrap(), Access::default());
        quiet.load().await;
        assert!(quiet.users().await.is_empty());
        let mut changes = quiet.subscribe();
        assert!(quiet.answer(0, Some(true)).await.unwrap().quiet);
        assert_eq!(quiet.users().await, ["root"]);
        assert!(changes.recv().await.unwrap().quiet);
        // Asking changes nothing; a second `on` announces nothing.
        assert!(quiet.answer(0, None).await.unwrap().quiet);
        assert!(quiet.answer(0, Some(true)).await.unwrap().quiet);
        assert!(changes.try_recv().is_err());
        // A restarted daemon reads it back from the store.
        let again = Quiet::new(quiet.store.clone(), Access::default());
        again.load().await;
        assert_eq!(again.users().await, ["root"]);
        assert!(!quiet.answer(0, Some(false)).await.unwrap().quiet);
        assert!(quiet.users().await.is_empty());
        assert!(!changes.recv().await.unwrap().quiet);
        assert_eq!(
            quiet.answer(59_999, None).await,
            Err(QuietError::NoAccount(59_999))
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_counts_what_quiet_held_back_for_this_person() {
        use messngr_proto::{Priority, Transport};
        let dir = tempfile::tempdir().unwrap();
        let store = StoreHandle::open(dir.path().join("inbox.sqlite")).unwrap();
        let quiet = Quiet::new(store.clone(), Access::default());
        quiet.answer(0, Some(true)).await.unwrap();
        for (owner, priority) in [
            (Some("root"), Priority::Normal),
            (Some("root"), Priority::Urgent),
            (Some("alice"), Priority::Normal),
            (None, Priority::Low),
        ] {
            let mut m = messngr_store::NewMessage::received(Transport::Smb, "H2", "X", "hi", b"hi");
            m.owner_user = owner.map(str::to_owned);
            m.priority = priority;
            store.insert(m).await.unwrap();
        }
        // root's own two (the urgent one came from the network: it waited
        // too); not alice's; the host's only when host messages are visible
        // to all.
        assert_eq!(quiet.answer(0, Some(false)).await.unwrap().waiting, 2);
    }
}
