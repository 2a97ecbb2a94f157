//! Do-not-disturb, the daemon's side (`messngr quiet on|off`).
//!
//! Why the daemon keeps it: quiet is one wish of a person that every
//! deliverer must honour — the daemon's terminal writer as much as each of
//! that user's desktop agents — so it lives in the inbox's database (per
//! login name, surviving restarts) and the API is the one place to change
//! it. While a user is quiet, their messages are stored as always and
//! wait, unread; only urgent ones are shown at once. When quiet ends, the
//! change is broadcast: followers (agents) of that user show what waited,
//! and the terminal writer tells the user's terminals how many messages
//! arrived meanwhile.

use std::collections::BTreeSet;
use std::sync::RwLock;

use messngr_store::{Direction, Filter, Priority, clock};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::access::Caller;
use crate::api::Response;
use crate::inbox::Inbox;

/// One user's quiet setting changed (streamed as `kind: "quiet"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietChange {
    /// The login name.
    pub user: String,
    /// Quiet now.
    pub quiet: bool,
    /// Unread messages that arrived while quiet (when it ends; else 0).
    pub waiting: u64,
}

/// What `messngr quiet` prints (`--json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietView {
    /// The caller's login name.
    pub user: String,
    /// Quiet now.
    pub quiet: bool,
    /// Since when (RFC 3339), when quiet.
    pub since: Option<String>,
    /// Since when (Unix ms), when quiet.
    pub since_ms: Option<i64>,
    /// Unread, non-urgent messages for this user (their own and the host's)
    /// that arrived since quiet began: what quiet held back.
    pub waiting: u64,
}

/// Whether a message of `priority` is shown now to a user who is `quiet`:
/// urgent ones always.
pub fn shows_now(quiet: bool, priority: Priority) -> bool {
    !quiet || priority == Priority::Urgent
}

/// The inbox's quiet state: who is quiet (kept in memory once loaded, so
/// that delivering a message costs no store query) and where changes are
/// announced. The store stays the truth; the daemon is its only writer.
pub struct Quiet {
    /// Every change, for followers and the terminal writer.
    pub changes: broadcast::Sender<QuietChange>,
    users: RwLock<Option<BTreeSet<String>>>,
}

impl Default for Quiet {
    fn default() -> Self {
        Self {
            changes: broadcast::channel(16).0,
            users: RwLock::new(None),
        }
    }
}

impl Quiet {
    fn cached(&self) -> Option<Vec<String>> {
        let users = self.users.read().ok()?;
        users.as_ref().map(|u| u.iter().cloned().collect())
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
}

impl Inbox {
    /// Reads who is quiet into memory (the daemon does this at start);
    /// until then, or if it fails, [`Inbox::quiet_users`] asks the store.
    pub async fn load_quiet(&self) {
        match self.handle().quiet_users().await {
            Ok(users) => {
                if let Ok(mut cache) = self.quiet_state().users.write() {
                    *cache = Some(users.into_iter().collect());
                }
            }
            Err(e) => tracing::warn!("cannot read who is quiet: {e}; asking again per message"),
        }
    }

    /// The users in do-not-disturb now; a store failure is logged and
    /// counts as nobody quiet (better one message too many on a screen
    /// than one hidden by an error).
    pub async fn quiet_users(&self) -> Vec<String> {
        if let Some(users) = self.quiet_state().cached() {
            return users;
        }
        match self.handle().quiet_users().await {
            Ok(users) => users,
            Err(e) => {
                tracing::warn!("cannot read who is quiet: {e}; delivering as if nobody were");
                Vec::new()
            }
        }
    }

    /// Answers `Request::Quiet` for the caller with `uid`.
    pub async fn answer_quiet(&self, on: Option<bool>, uid: u32) -> Response {
        let caller = self.access().caller(uid);
        let Some(user) = caller.user.clone() else {
            return Response::err(
                "denied",
                format!("uid {uid} has no account name; quiet is kept per login name"),
            );
        };
        match self.quiet(&caller, &user, on).await {
            Ok(view) => Response::ok(view),
            Err(e) => Response::err("store", format!("the inbox failed: {e}")),
        }
    }

    async fn quiet(
        &self,
        caller: &Caller,
        user: &str,
        on: Option<bool>,
    ) -> messngr_store::Result<QuietView> {
        let since = self.handle().quiet_since(user.to_owned()).await?;
        let waiting = match since {
            Some(t) => self.waiting(caller, t).await?,
            None => 0,
        };
        let now_quiet = match on {
            None => since.is_some(),
            Some(on) => {
                let at = clock::now_ms();
                if self.handle().set_quiet(user.to_owned(), on, at).await? {
                    self.quiet_state().record(user, on);
                    tracing::info!(
                        "{user} turned quiet {}{}",
                        if on { "on" } else { "off" },
                        if on {
                            String::new()
                        } else {
                            format!(" ({waiting} messages waited)")
                        }
                    );
                    let change = QuietChange {
                        user: user.to_owned(),
                        quiet: on,
                        waiting: if on { 0 } else { waiting },
                    };
                    // Nobody following is fine.
                    let _ = self.quiet_state().changes.send(change);
                }
                on
            }
        };
        let since = if now_quiet {
            since.or(Some(clock::now_ms()))
        } else {
            None
        };
        Ok(QuietView {
            user: user.to_owned(),
            quiet: now_quiet,
            since: since.map(clock::rfc3339),
            since_ms: since,
            waiting,
        })
    }

    /// Unread received messages `caller` may see, stored at or after `since`.
    async fn waiting(&self, caller: &Caller, since: i64) -> messngr_store::Result<u64> {
        let list = self
            .handle()
            .list(Filter {
                unread_only: true,
                since: Some(since),
                ..Filter::default()
            })
            .await?;
        // What was held back for this person: their own and the host's
        // messages (not everyone's, even for root), and not the urgent
        // ones, which were shown.
        let person = Caller {
            admin: false,
            ..caller.clone()
        };
        let n = list
            .iter()
            .filter(|m| m.direction == Direction::In && m.priority != Priority::Urgent)
            .filter(|m| self.access().may_see(&person, m.owner_user.as_deref()))
            .count();
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn who_is_quiet_follows_every_change_in_memory_and_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.sqlite");
        let inbox = Inbox::open_at(&path);
        inbox.load_quiet().await;
        assert!(inbox.quiet_users().await.is_empty());
        let mut changes = inbox.subscribe_quiet();
        let r = inbox.answer_quiet(Some(true), 0).await;
        assert!(r.ok, "{r:?}");
        assert_eq!(inbox.quiet_users().await, ["root"]);
        assert!(changes.recv().await.unwrap().quiet);
        // Asking changes nothing; a second `on` announces nothing.
        assert_eq!(inbox.answer_quiet(None, 0).await.data["quiet"], true);
        assert!(inbox.answer_quiet(Some(true), 0).await.ok);
        assert!(changes.try_recv().is_err());
        // A restarted daemon reads it back from the store.
        let again = Inbox::open_at(&path);
        again.load_quiet().await;
        assert_eq!(again.quiet_users().await, ["root"]);
        assert!(inbox.answer_quiet(Some(false), 0).await.ok);
        assert!(inbox.quiet_users().await.is_empty());
        assert!(!changes.recv().await.unwrap().quiet);
    }

    #[test]
    fn urgent_overrides_quiet() {
        assert!(shows_now(false, Priority::Low));
        assert!(shows_now(false, Priority::Normal));
        assert!(!shows_now(true, Priority::Normal));
        assert!(!shows_now(true, Priority::Low));
        assert!(shows_now(true, Priority::Urgent));
    }
}
