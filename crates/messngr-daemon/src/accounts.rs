//! Account names by uid, remembered for a moment.
//!
//! Why a cache: every HTTP request checks that its token's uid still names
//! the account the token was made for, and every local send names its
//! sender by login. Each `getpwuid(3)` opens, reads and parses
//! `/etc/passwd` (or asks NSS: sssd, LDAP), a dozen system calls on the
//! path of every message, and a blocking call on an async worker (still
//! made on a miss, without the cache's lock). Under
//! load that was two lookups per HTTP publish (bench/http.sh).
//!
//! An answer is kept for [`TTL`]: an account renamed, removed or given to
//! another uid is seen within that time, far sooner than nscd's ten
//! minutes. Answers that name no account are kept too, so that a flood
//! from an unknown uid does not become a flood of lookups. The map is
//! bounded by [`MAX_ENTRIES`] (emptied when full), so a caller cycling
//! through uids cannot grow it.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// How long an answer is believed.
pub(crate) const TTL: Duration = Duration::from_secs(2);

/// At most this many uids are remembered.
pub(crate) const MAX_ENTRIES: usize = 1024;

/// Remembered answers: uid → (login, when asked).
#[derive(Default)]
struct Names {
    map: HashMap<u32, (Option<String>, Instant)>,
}

impl Names {
    /// The remembered answer for `uid`, if younger than [`TTL`] at `now`.
    fn fresh(&self, uid: u32, now: Instant) -> Option<Option<String>> {
        self.map
            .get(&uid)
            .filter(|(_, at)| now.saturating_duration_since(*at) < TTL)
            .map(|(name, _)| name.clone())
    }

    /// The answer for `uid` at `now`: remembered if younger than [`TTL`],
    /// else asked of `fetch` and remembered.
    fn lookup(
        &mut self,
        uid: u32,
        now: Instant,
        fetch: impl FnOnce(u32) -> Option<String>,
    ) -> Option<String> {
        if let Some(name) = self.fresh(uid, now) {
            return name;
        }
        let name = fetch(uid);
        if self.map.len() >= MAX_ENTRIES && !self.map.contains_key(&uid) {
            self.map.clear();
        }
        self.map.insert(uid, (name.clone(), now));
        name
    }
}

static NAMES: LazyLock<Mutex<Names>> = LazyLock::new(Mutex::default);

/// The login name of `uid`, or `None` when no account has it (as of at
/// most [`TTL`] ago). The system is asked without the lock held, so a slow
/// NSS (sssd, LDAP) delays only the callers of uids not remembered.
pub(crate) fn name_of(uid: u32) -> Option<String> {
    let now = Instant::now();
    if let Some(name) = NAMES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .fresh(uid, now)
    {
        return name;
    }
    let name = getpwuid(uid);
    NAMES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .lookup(uid, now, |_| name.clone())
}

/// Asks the system (`getpwuid(3)`).
fn getpwuid(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn an_answer_is_reused_within_the_ttl_and_asked_again_after() {
        let mut names = Names::default();
        let asked = Cell::new(0);
        let fetch = |n: &'static str| {
            let asked = &asked;
            move |_| {
                asked.set(asked.get() + 1);
                Some(n.to_owned())
            }
        };
        let t0 = Instant::now();
        assert_eq!(
            names.lookup(7, t0, fetch("alice")).as_deref(),
            Some("alice")
        );
        let later = t0 + TTL / 2;
        assert_eq!(
            names.lookup(7, later, fetch("bob")).as_deref(),
            Some("alice")
        );
        assert_eq!(asked.get(), 1);
        // After the TTL the account's new name is seen.
        let after = t0 + TTL;
        assert_eq!(names.lookup(7, after, fetch("bob")).as_deref(), Some("bob"));
        assert_eq!(asked.get(), 2);
    }

    #[test]
    fn no_account_is_remembered_too_and_the_map_stays_bounded() {
        let mut names = Names::default();
        let t0 = Instant::now();
        assert_eq!(names.lookup(9, t0, |_| None), None);
        assert_eq!(names.lookup(9, t0, |_| Some("x".into())), None);
        for uid in 0..(MAX_ENTRIES as u32 * 3) {
            names.lookup(1000 + uid, t0, |_| None);
        }
        assert!(names.map.len() <= MAX_ENTRIES);
    }

    #[test]
    fn the_system_answers_for_root() {
        assert_eq!(name_of(0).as_deref(), Some("root"));
    }
}
