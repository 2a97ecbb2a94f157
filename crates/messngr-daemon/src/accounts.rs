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
//! load that was two lookups per HTTP publish (bench/http.sh), and most of
//! a relay receiver's CPU per message (bench/relay.sh, stop 27: 0.66 to
//! 0.27 ms).
//!
//! An answer is kept for [`TTL`]: an account made, renamed, removed or
//! given to another uid is seen within that time, far sooner than nscd's
//! ten minutes (and its 20 s for "no such account"). Answers that name no
//! account are kept too, so that a flood from an unknown uid or to an
//! unknown name does not become a flood of lookups, and so are NSS's
//! errors (a module unreachable: a flood to one name does not wait on
//! sssd's timeout once per message; one to ever new names still asks
//! each, as before the cache), as errors: never taken for "no such account"
//! (`Access::owner_of` then gives the message to root). glibc says "no
//! such account" with no error; any error is NSS failing to say. The maps
//! are bounded by [`MAX_ENTRIES`] (emptied when full), so a caller cycling
//! through uids or names cannot grow them.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// How long an answer is believed.
pub(crate) const TTL: Duration = Duration::from_secs(2);

/// At most this many uids (and as many names) are remembered.
pub(crate) const MAX_ENTRIES: usize = 1024;

/// What the system said: the account's login name, no account, or its
/// error (it could not say).
pub(crate) type Answer = Result<Option<String>, nix::Error>;

/// Remembered answers: key (a uid, or a name asked for) → (answer, when
/// asked).
struct Names<K> {
    map: HashMap<K, (Answer, Instant)>,
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
    fn fresh<Q>(&self, key: &Q, now: Instant) -> Option<Answer>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map
            .get(key)
            .filter(|(_, at)| now.saturating_duration_since(*at) < TTL)
            .map(|(answer, _)| answer.clone())
    }

    /// The answer for `key` at `now`: remembered if younger than [`TTL`],
    /// else asked of `fetch` and remembered.
    fn lookup<Q>(&mut self, key: &Q, now: Instant, fetch: impl FnOnce(&Q) -> Answer) -> Answer
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(answer) = self.fresh(key, now) {
            return answer;
        }
        let answer = fetch(key);
        if self.map.len() >= MAX_ENTRIES && !self.map.contains_key(key) {
            self.map.clear();
        }
        self.map.insert(key.to_owned(), (answer.clone(), now));
        answer
    }
}

/// Answers by uid.
static BY_UID: LazyLock<Mutex<Names<u32>>> = LazyLock::new(Mutex::default);
/// Answers by the name asked for (as asked: `OPS2` and `ops2` apart).
static BY_NAME: LazyLock<Mutex<Names<String>>> = LazyLock::new(Mutex::default);

/// The answer for `key` in `names`, remembered or asked of `fetch`. The
/// system is asked without the lock held, so a slow NSS (sssd, LDAP)
/// delays only the callers of keys not remembered.
fn remembered<K, Q>(names: &Mutex<Names<K>>, key: &Q, fetch: impl FnOnce(&Q) -> Answer) -> Answer
where
    K: Hash + Eq + Borrow<Q>,
    Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
{
    let now = Instant::now();
    let lock = || names.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(answer) = lock().fresh(key, now) {
        return answer;
    }
    let answer = fetch(key);
    lock().lookup(key, now, |_| answer)
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
/// ago: an account made just now may be missed that long), or NSS's error
/// when it could not say (a module unreachable).
pub(crate) fn account_named(name: &str) -> Answer {
    remembered(&BY_NAME, name, getpwnam)
}

/// Asks the system (`getpwnam(3)`).
fn getpwnam(name: &str) -> Answer {
    nix::unistd::User::from_name(name).map(|u| u.map(|u| u.name))
}

/// Asks the system (`getpwuid(3)`).
fn getpwuid(uid: u32) -> Answer {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)).map(|u| u.map(|u| u.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::errno::Errno;
    use std::cell::Cell;

    #[test]
    fn an_answer_is_reused_within_the_ttl_and_asked_again_after() {
        let mut names: Names<u32> = Names::default();
        let asked = Cell::new(0);
        let fetch = |n: &'static str| {
            let asked = &asked;
            move |_: &u32| {
                asked.set(asked.get() + 1);
                Ok(Some(n.to_owned()))
            }
        };
        let t0 = Instant::now();
        assert_eq!(
            names.lookup(&7, t0, fetch("alice")),
            Ok(Some("alice".into()))
        );
        let later = t0 + TTL / 2;
        assert_eq!(
            names.lookup(&7, later, fetch("bob")),
            Ok(Some("alice".into()))
        );
        assert_eq!(asked.get(), 1);
        // After the TTL the account's new name is seen.
        let after = t0 + TTL;
        assert_eq!(
            names.lookup(&7, after, fetch("bob")),
            Ok(Some("bob".into()))
        );
        assert_eq!(asked.get(), 2);
    }

    #[test]
    fn no_account_is_remembered_too_and_the_map_stays_bounded() {
        let mut names: Names<u32> = Names::default();
        let t0 = Instant::now();
        assert_eq!(names.lookup(&9, t0, |_| Ok(None)), Ok(None));
        assert_eq!(names.lookup(&9, t0, |_| Ok(Some("x".into()))), Ok(None));
        for uid in 0..(MAX_ENTRIES as u32 * 3) {
            let _ = names.lookup(&(1000 + uid), t0, |_| Ok(None));
        }
        assert!(names.map.len() <= MAX_ENTRIES);
    }

    #[test]
    fn the_system_answers_for_root() {
        assert_eq!(name_of(0).as_deref(), Some("root"));
        assert_eq!(account_named("root"), Ok(Some("root".into())));
        // As getpwnam(3) matches: exactly.
        assert_eq!(account_named("ROOT"), Ok(None));
    }

    #[test]
    fn a_failure_to_answer_is_remembered_as_one_never_as_no_account() {
        let names: Mutex<Names<String>> = Mutex::default();
        assert_eq!(
            remembered(&names, "alice", |_| Err(Errno::EIO)),
            Err(Errno::EIO)
        );
        assert_eq!(
            remembered(&names, "alice", |_| Ok(None)),
            Err(Errno::EIO),
            "within the TTL, still the failure"
        );
    }

    #[test]
    fn names_are_remembered_apart_by_spelling() {
        let mut names: Names<String> = Names::default();
        let t0 = Instant::now();
        let ops2 = || Ok(Some("ops2".to_owned()));
        assert_eq!(names.lookup("ops2", t0, |_| ops2()), ops2());
        assert_eq!(names.lookup("OPS2", t0, |_| Ok(None)), Ok(None));
        assert_eq!(names.lookup("ops2", t0, |_| Ok(None)), ops2());
        assert_eq!(names.lookup("ops2", t0 + TTL, |_| Ok(None)), Ok(None));
    }
}
