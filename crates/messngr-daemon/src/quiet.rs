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

use messngr_store::{Direction, Filter, Priority, clock};
use serde::{Deserialize, Serialize};

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

impl Inbox {
    /// The users in do-not-disturb now; a store failure is logged and
    /// counts as nobody quiet (better one message too many on a screen
    /// than one hidden by an error).
    pub async fn quiet_users(&self) -> Vec<String> {
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
                    let _ = self.quiet_sender().send(change);
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

    #[test]
    fn urgent_overrides_quiet() {
        assert!(shows_now(false, Priority::Low));
        assert!(shows_now(false, Priority::Normal));
        assert!(!shows_now(true, Priority::Normal));
        assert!(!shows_now(true, Priority::Low));
        assert!(shows_now(true, Priority::Urgent));
    }
}
