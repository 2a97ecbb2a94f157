//! The alerts raised lately, by key: what collapses a repeat into the
//! first one's message and lets a resolved alert find what it resolves.
//!
//! Why in memory: the window is minutes long and an alert raised again
//! after a restart is worth sending again. It holds at most
//! [`MAX_KEYS`] keys; when full, the oldest key of the raiser holding the
//! most goes (keys are `UID/KEY`), so that one raiser flooding distinct
//! keys pushes out its own, never root's or Alertmanager's.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Alert;

/// The most alerts remembered.
const MAX_KEYS: usize = 1024;
/// How long a sent alert can still be resolved (at least the collapse
/// window).
const RESOLVABLE_FOR: Duration = Duration::from_secs(24 * 3600);

/// A key's default: the alert's title, text and priority, hashed.
pub(super) fn key_of(alert: &Alert) -> String {
    let mut h = DefaultHasher::new();
    (
        alert.priority.as_str(),
        alert.title.as_deref().unwrap_or_default(),
        &alert.text,
    )
        .hash(&mut h);
    format!("{:016x}", h.finish())
}

/// An alert sent earlier, as a repeat or resolution finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Earlier {
    /// The sent messages it is tracked by (messngr receivers, names here).
    pub ids: Vec<i64>,
    /// Its text as first sent.
    pub text: String,
    /// Who raised it first (the notices are theirs).
    pub uid: u32,
    /// Times raised, this one included.
    pub repeats: u32,
    /// The messages this key sent in earlier windows and that were never
    /// resolved (raiser's uid, id): a resolution updates them too, so that
    /// no message of a long-lived alert (an Alertmanager group notified
    /// again after the window) is left saying it still fires.
    pub stale: Vec<(u32, i64)>,
}

impl Earlier {
    /// The messages sent in this window: (raiser's uid, id).
    pub(super) fn current(&self) -> Vec<(u32, i64)> {
        self.ids.iter().map(|&id| (self.uid, id)).collect()
    }

    /// Those, and the earlier windows' never resolved.
    pub(super) fn unresolved(&self) -> Vec<(u32, i64)> {
        let mut all = self.stale.clone();
        all.extend(self.current());
        all
    }
}

/// What raising a key finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seen {
    /// Nothing within the window: send it.
    New,
    /// Raised within the window: count it on this one.
    Repeat(Earlier),
    /// A resolution of this one (then forgotten).
    Resolves(Earlier),
}

struct Entry {
    first: Instant,
    earlier: Earlier,
}

/// The alerts raised lately.
pub(super) struct Window {
    collapse: Duration,
    keys: Mutex<HashMap<String, Entry>>,
}

impl Window {
    /// Identical alerts within `collapse` of the first are one.
    pub(super) fn new(collapse: Duration) -> Self {
        Window {
            collapse,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Raising `key` now: a repeat within the window, a resolution of a
    /// sent alert, or new (then taken, so that a repeat raised while it is
    /// being sent counts on it).
    pub(super) fn see(&self, key: &str, resolved: bool) -> Seen {
        self.see_at(key, resolved, Instant::now())
    }

    fn see_at(&self, key: &str, resolved: bool, now: Instant) -> Seen {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let keep = self.collapse.max(RESOLVABLE_FOR);
        keys.retain(|_, e| now.duration_since(e.first) < keep);
        if resolved {
            return match keys.remove(key) {
                Some(e) if !e.earlier.unresolved().is_empty() => Seen::Resolves(e.earlier),
                _ => Seen::New,
            };
        }
        if let Some(e) = keys.get_mut(key)
            && now.duration_since(e.first) < self.collapse
        {
            e.earlier.repeats = e.earlier.repeats.saturating_add(1);
            return Seen::Repeat(e.earlier.clone());
        }
        // Past the window: sent anew, the earlier messages kept to resolve.
        let stale = keys
            .remove(key)
            .map(|e| e.earlier.unresolved())
            .unwrap_or_default();
        if keys.len() >= MAX_KEYS
            && let Some(oldest) = heaviest_raisers_oldest(&keys)
        {
            keys.remove(&oldest);
        }
        keys.insert(
            key.to_owned(),
            Entry {
                first: now,
                earlier: Earlier {
                    ids: Vec::new(),
                    text: String::new(),
                    uid: 0,
                    repeats: 1,
                    stale,
                },
            },
        );
        Seen::New
    }

    /// The new alert `key` was sent as `ids`, with `text`, by `uid`.
    pub(super) fn sent(&self, key: &str, ids: Vec<i64>, text: &str, uid: u32) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = keys.get_mut(key) {
            e.earlier.ids = ids;
            e.earlier.text = text.to_owned();
            e.earlier.uid = uid;
        }
    }

    /// The new alert `key` was not sent: the next one is new again.
    pub(super) fn forget(&self, key: &str) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.remove(key);
    }
}

/// The oldest key of the raiser (the `UID/` part) holding the most keys.
fn heaviest_raisers_oldest(keys: &HashMap<String, Entry>) -> Option<String> {
    let raiser = |k: &str| k.split_once('/').map_or("", |(uid, _)| uid).to_owned();
    let mut held: HashMap<String, usize> = HashMap::new();
    for k in keys.keys() {
        *held.entry(raiser(k)).or_default() += 1;
    }
    let heaviest = held.into_iter().max_by_key(|(_, n)| *n)?.0;
    keys.iter()
        .filter(|(k, _)| raiser(k) == heaviest)
        .min_by_key(|(_, e)| e.first)
        .map(|(k, _)| k.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raiser_flooding_keys_pushes_out_its_own_not_others() {
        let w = Window::new(Duration::from_secs(300));
        let t0 = Instant::now();
        assert_eq!(w.see_at("0/root-alert", false, t0), Seen::New);
        w.sent("0/root-alert", vec![1], "root's", 0);
        for i in 0..2 * MAX_KEYS {
            let at = t0 + Duration::from_millis(i as u64 + 1);
            assert_eq!(w.see_at(&format!("1000/k{i}"), false, at), Seen::New);
        }
        let later = t0 + Duration::from_secs(10);
        assert!(
            matches!(w.see_at("0/root-alert", false, later), Seen::Repeat(_)),
            "root's alert was pushed out by another raiser's flood"
        );
    }

    #[test]
    fn repeats_within_the_window_collapse_and_a_resolution_ends_them() {
        let w = Window::new(Duration::from_secs(300));
        let t0 = Instant::now();
        assert_eq!(w.see_at("k", false, t0), Seen::New);
        w.sent("k", vec![7], "disk full", 0);
        let Seen::Repeat(e) = w.see_at("k", false, t0 + Duration::from_secs(10)) else {
            panic!("a repeat")
        };
        assert_eq!((e.ids.as_slice(), e.repeats), ([7].as_slice(), 2));
        let Seen::Repeat(e) = w.see_at("k", false, t0 + Duration::from_secs(20)) else {
            panic!("a repeat")
        };
        assert_eq!(e.repeats, 3);
        // Another key is its own alert.
        assert_eq!(w.see_at("other", false, t0), Seen::New);
        // Past the window (from the first) it is new again.
        assert_eq!(
            w.see_at("k", false, t0 + Duration::from_secs(301)),
            Seen::New
        );
        w.sent("k", vec![9], "disk full", 0);
        let Seen::Resolves(e) = w.see_at("k", true, t0 + Duration::from_secs(302)) else {
            panic!("resolves")
        };
        assert_eq!(e.ids, [9]);
        assert_eq!(
            w.see_at("k", true, t0 + Duration::from_secs(303)),
            Seen::New
        );
    }

    #[test]
    fn a_resolution_ends_the_messages_of_earlier_windows_too() {
        let w = Window::new(Duration::from_secs(300));
        let t0 = Instant::now();
        assert_eq!(w.see_at("g", false, t0), Seen::New);
        w.sent("g", vec![7], "2 alerts", 0);
        // Notified again past the window: a new message; the first is kept.
        assert_eq!(
            w.see_at("g", false, t0 + Duration::from_secs(400)),
            Seen::New
        );
        w.sent("g", vec![9], "3 alerts", 0);
        let Seen::Repeat(e) = w.see_at("g", false, t0 + Duration::from_secs(410)) else {
            panic!("a repeat")
        };
        assert_eq!(
            e.current(),
            [(0, 9)],
            "a repeat counts on this window's only"
        );
        let Seen::Resolves(e) = w.see_at("g", true, t0 + Duration::from_secs(420)) else {
            panic!("resolves")
        };
        assert_eq!(e.unresolved(), [(0, 7), (0, 9)]);
    }

    #[test]
    fn no_window_never_collapses() {
        let w = Window::new(Duration::ZERO);
        let t0 = Instant::now();
        assert_eq!(w.see_at("k", false, t0), Seen::New);
        assert_eq!(w.see_at("k", false, t0), Seen::New);
    }
}
