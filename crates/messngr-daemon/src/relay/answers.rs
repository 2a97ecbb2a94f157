//! The directory's recent answers, kept for two uses that trust them
//! differently.
//!
//! Why apart: any lookup fills this (a send's, `messngr lookup`'s, and the
//! receiving side's, which a frame from any host on the bus can cause), and
//! every one of them may stand in for the directory while it does not
//! answer (`Relay::answered`). But only an answer that a *send* got, after
//! NetBIOS found nobody on this LAN, may send the next message to that
//! name straight to the relay without asking NetBIOS first: otherwise a
//! host on the bus could claim the name of a PC on this LAN, make this
//! host look it up (a frame "signed" there), and receive what is sent to
//! that PC for the next half minute.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Found, MAX_RECENT};

/// One answer: who holds the name, since when, and whether a send found
/// nobody on this LAN for it before asking.
struct Answer {
    found: Vec<Found>,
    at: Instant,
    routed: bool,
}

/// The answers, by upper-case name.
#[derive(Default)]
pub(super) struct Answers(Mutex<HashMap<String, Answer>>);

impl Answers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Answer>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps the directory's answer for `key`, not routed (whatever an
    /// earlier answer was).
    pub(super) fn keep(&self, key: String, found: &[Found]) {
        let mut map = self.lock();
        if map.len() >= MAX_RECENT && !map.contains_key(&key) {
            map.clear();
        }
        let answer = Answer {
            found: found.to_vec(),
            at: Instant::now(),
            routed: false,
        };
        map.insert(key, answer);
    }

    /// Forgets `key` (the directory said it is not there, or not to be
    /// believed).
    pub(super) fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Marks `key`'s answer as a send's, which asked NetBIOS first.
    pub(super) fn route(&self, key: &str) {
        if let Some(a) = self.lock().get_mut(key) {
            a.routed = true;
        }
    }

    /// `key`'s answer and its age, if younger than `max_age` (any
    /// lookup's).
    pub(super) fn answered(&self, key: &str, max_age: Duration) -> Option<(Vec<Found>, Duration)> {
        self.lock()
            .get(key)
            .map(|a| (a.found.clone(), a.at.elapsed()))
            .filter(|(_, age)| *age < max_age)
    }

    /// `key`'s answer if a send got it after NetBIOS found nobody, younger
    /// than `max_age`.
    pub(super) fn routed(&self, key: &str, max_age: Duration) -> Option<Vec<Found>> {
        self.lock()
            .get(key)
            .filter(|a| a.routed && a.at.elapsed() < max_age)
            .map(|a| a.found.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h2() -> Vec<Found> {
        vec![Found {
            host: "H2".into(),
            addresses: vec![std::net::Ipv4Addr::new(10, 0, 0, 2)],
            bundles: true,
        }]
    }

    #[test]
    fn only_a_sends_answer_skips_netbios_and_a_later_lookup_unmarks_it() {
        let a = Answers::default();
        let long = Duration::from_secs(30);
        // A lookup the receiving side made (a frame "signed" by BOB): it
        // may stand in for the directory, never route a send.
        a.keep("BOB".into(), &h2());
        assert!(a.answered("BOB", long).is_some());
        assert!(a.routed("BOB", long).is_none());
        // A send's own lookup, after NetBIOS found nobody.
        a.route("BOB");
        assert_eq!(a.routed("BOB", long).map(|f| f.len()), Some(1));
        // Another lookup's answer since: NetBIOS is asked again first.
        a.keep("BOB".into(), &h2());
        assert!(a.routed("BOB", long).is_none());
        // Too old, or forgotten.
        a.route("BOB");
        assert!(a.routed("BOB", Duration::ZERO).is_none());
        a.forget("BOB");
        assert!(a.answered("BOB", long).is_none());
        // Marking a name never looked up makes nothing up.
        a.route("ALICE");
        assert!(a.routed("ALICE", long).is_none());
    }
}
