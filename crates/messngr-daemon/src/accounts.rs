//! Accounts by uid and by name, remembered for a moment.
//!
//! Why a cache: every HTTP request checks that its token's uid still names
//! the account the token was made for, every local send names its
//! sender by login, and every stored message is given its owner by the
//! name it was sent to (`Access::owner_of`, as written and lower case).
//! Each `getpwuid(3)` or `getpwnam(3)` opens, reads and parses
//! `/etc/passwd` (or asks NSS: systemd-userdb, sssd, LDAP), a dozen or
//! more system calls on the path of every message, and a blocking call on
//! an async worker (still made on a miss, without the cache's lock). Under
//! load that was two lookups per HTTP publish (bench/http.sh), and a fifth
//! of a relay receiver's CPU per message (bench/relay.sh, stop 27: 0.66 to
//! 0.27 ms).
//!
//! An answer is kept for [`TTL`]: an account made, renamed, removed or
//! given to another uid is seen within that time, far sooner than nscd's
//! ten minutes (and its 20 s for "no such account"). A failure to answer
//! (sssd or LDAP unreachable) is not kept, and is not taken for "no such
//! account" (`Access::owner_of` then gives the message to root). Answers that name no account are kept too, so that a flood
//! from an unknown uid does not become a flood of lookups. The map is
//! bounded by [`MAX_ENTRIES`] (emptied when full), so a caller cycling
//! through uids cannot grow it.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// How long an answer is believed.
pub(crate) const TTL: Duration = Duration::from_secs(2);

/// At most this many uids (and as many names) are remembered.
pub(crate) const MAX_ENTRIES: usize = 1024;

/// Remembered answers: key (a uid, or a name asked for) → (login, when
/// asked).
struct Names<K> {
    map: HashMap<K, (Option<String>, Instant)>,
}

impl<K> Default for Names<K> {
    fn default() -> Self {
        Names {
            map: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq> Names<K> {
    /// The remembered answer for `key`, if younger than [`TTL`] at `now`.
    fn fresh<Q>(&self, key: &Q, now: Instant) -> Option<Option<String>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map
            .get(key)
            .filter(|(_, at)| now.saturating_duration_since(*at) < TTL)
            .map(|(name, _)| name.clone())
    }

    /// The answer for `key` at `now`: remembered if younger than [`TTL`],
    /// else asked of `fetch` and remembered.
    fn lookup<Q>(
        &mut self,
        key: &Q,
        now: Instant,
        fetch: impl FnOnce(&Q) -> Option<String>,
    ) -> Option<String>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(name) = self.fresh(key, now) {
            return name;
        }
        let name = fetch(key);
        if self.map.len() >= MAX_ENTRIES && !self.map.contains_key(key) {
            self.map.clear();
        }
        self.map.insert(key.to_owned(), (name.clone(), now));
        name
    }
}

/// Answers by uid.
static BY_UID: LazyLock<Mutex<Names<u32>>> = LazyLock::new(Mutex::default);
/// Answers by the name asked for (as asked: `OPS2` and `ops2` apart).
static BY_NAME: LazyLock<Mutex<Names<String>>> = LazyLock::new(Mutex::default);

/// The answer for `key` in `names`, remembered or asked of `fetch`. The
/// system is asked without the lock held, so a slow NSS (sssd, LDAP)
/// delays only the callers of keys not remembered. A failure to answer
/// (NSS unreachable) is not remembered.
fn remembered<K, Q>(
    names: &Mutex<Names<K>>,
    key: &Q,
    fetch: impl FnOnce(&Q) -> Result<Option<String>, nix::Error>,
) -> Result<Option<String>, nix::Error>
where
    K: Hash + Eq + Borrow<Q>,
    Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
{
    let now = Instant::now();
    let lock = || names.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(name) = lock().fresh(key, now) {
        return Ok(name);
    }
    let name = fetch(key)?;
    Ok(lock().lookup(key, now, |_| name.clone()))
}

/// The login name of `uid`, or `None` when no account has it (as of at
/// most [`TTL`] ago), or the system could not say.
pub(crate) fn name_of(uid: u32) -> Option<String> {
    remembered(&BY_UID, &uid, |uid| getpwuid(*uid))
        .ok()
        .flatten()
}

/// The login name of the account called `name` (`getpwnam(3)`, which
/// matches it exactly), `None` when there is none (as of at most [`TTL`]
/// ago: an account made just now may be missed that long), or the
/// system's error when it could not say (sssd or LDAP unreachable).
pub(crate) fn account_named(name: &str) -> Result<Option<String>, nix::Error> {
    remembered(&BY_NAME, name, getpwnam)
}

/// Asks the system (`getpwnam(3)`).
fn getpwnam(name: &str) -> Result<Option<String>, nix::Error> {
    found(nix::unistd::User::from_name(name))
}

/// Asks the system (`getpwuid(3)`).
fn getpwuid(uid: u32) -> Result<Option<String>, nix::Error> {
    found(nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)))
}

/// What `getpwnam_r(3)` or `getpwuid_r(3)` said: the errors it may give
/// for "no such account" are that, the rest a failure to answer.
fn found(answer: nix::Result<Option<nix::unistd::User>>) -> Result<Option<String>, nix::Error> {
    use nix::errno::Errno;
    match answer {
        Ok(user) => Ok(user.map(|u| u.name)),
        Err(Errno::ENOENT | Errno::ESRCH | Errno::EBADF | Errno::EPERM) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn an_answer_is_reused_within_the_ttl_and_asked_again_after() {
        let mut names: Names<u32> = Names::default();
        let asked = Cell::new(0);
        let fetch = |n: &'static str| {
            let asked = &asked;
            move |_: &u32| {
                asked.set(asked.get() + 1);
                Some(n.to_owned())
            }
        };
        let t0 = Instant::now();
        assert_eq!(
            names.lookup(&7, t0, fetch("alice")).as_deref(),
            Some("alice")
        );
        let later = t0 + TTL / 2;
        assert_eq!(
            names.lookup(&7, later, fetch("bob")).as_deref(),
            Some("alice")
        );
        assert_eq!(asked.get(), 1);
        // After the TTL the account's new name is seen.
        let after = t0 + TTL;
        assert_eq!(
            names.lookup(&7, after, fetch("bob")).as_deref(),
            Some("bob")
        );
        assert_eq!(asked.get(), 2);
    }

    #[test]
    fn no_account_is_remembered_too_and_the_map_stays_bounded() {
        let mut names: Names<u32> = Names::default();
        let t0 = Instant::now();
        assert_eq!(names.lookup(&9, t0, |_| None), None);
        assert_eq!(names.lookup(&9, t0, |_| Some("x".into())), None);
        for uid in 0..(MAX_ENTRIES as u32 * 3) {
            names.lookup(&(1000 + uid), t0, |_| None);
        }
        assert!(names.map.len() <= MAX_ENTRIES);
    }

    #[test]
    fn the_system_answers_for_root() {
        assert_eq!(name_of(0).as_deref(), Some("root"));
        assert_eq!(account_named("root").unwrap().as_deref(), Some("root"));
        // As getpwnam(3) matches: exactly.
        assert_eq!(account_named("ROOT").unwrap(), None);
    }

    #[test]
    fn a_failure_to_answer_is_not_remembered_nor_taken_for_no_account() {
        use nix::errno::Errno;
        assert_eq!(found(Err(Errno::ENOENT)), Ok(None));
        assert_eq!(found(Err(Errno::EIO)), Err(Errno::EIO));
        let names: Mutex<Names<String>> = Mutex::default();
        let key = "alice";
        assert_eq!(
            remembered(&names, key, |_| Err(Errno::EIO)),
            Err(Errno::EIO)
        );
        assert_eq!(
            remembered(&names, key, |_| Ok(Some("alice".into()))),
            Ok(Some("alice".into())),
            "the failure was not remembered"
        );
    }

    #[test]
    fn names_are_remembered_apart_by_spelling() {
        let mut names: Names<String> = Names::default();
        let t0 = Instant::now();
        assert_eq!(
            names.lookup("ops2", t0, |_| Some("ops2".into())).as_deref(),
            Some("ops2")
        );
        assert_eq!(names.lookup("OPS2", t0, |_| None), None);
        assert_eq!(names.lookup("ops2", t0, |_| None).as_deref(), Some("ops2"));
        assert_eq!(names.lookup("ops2", t0 + TTL, |_| None), None);
    }
}
