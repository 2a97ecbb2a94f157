//! How many API connections each uid may hold at once.
//!
//! Why: the socket is open to every local user (mode 0666). Without a
//! per-uid bound, one user could hold every connection the daemon serves
//! and lock the others — their agents and commands — out. A connection
//! over the bound is answered with a `denied` line and closed; the refusal
//! is logged at most once a minute per uid.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Connections one uid may hold at once (an agent holds one or two; a
/// script a few).
pub(crate) const PER_UID: usize = 32;
/// How often one uid's refusals are logged at most.
const LOG_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct State {
    open: HashMap<u32, usize>,
    logged: HashMap<u32, Instant>,
}

/// The open connections per uid.
#[derive(Debug, Clone, Default)]
pub(crate) struct Slots(Arc<Mutex<State>>);

/// One connection's place; given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    slots: Slots,
    uid: u32,
}

impl Slots {
    /// A place for one more connection of `uid`, or `None` when it holds
    /// [`PER_UID`] already (logged at most once a minute).
    pub(crate) fn take(&self, uid: u32) -> Option<Slot> {
        let mut s = self.0.lock().ok()?;
        let open = s.open.entry(uid).or_default();
        if *open >= PER_UID {
            let now = Instant::now();
            let due = s
                .logged
                .get(&uid)
                .is_none_or(|t| now.duration_since(*t) >= LOG_EVERY);
            if due {
                s.logged.insert(uid, now);
                tracing::warn!(
                    "api: uid {uid} holds {PER_UID} connections; further ones are refused"
                );
            }
            return None;
        }
        *open += 1;
        Some(Slot {
            slots: self.clone(),
            uid,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut s) = self.slots.0.lock()
            && let Some(open) = s.open.get_mut(&self.uid)
        {
            *open = open.saturating_sub(1);
            if *open == 0 {
                s.open.remove(&self.uid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_uid_has_its_own_bound_and_gets_places_back() {
        let slots = Slots::default();
        let held: Vec<Slot> = (0..PER_UID).map(|_| slots.take(1000).unwrap()).collect();
        assert!(slots.take(1000).is_none());
        assert!(slots.take(1001).is_some(), "another user is not affected");
        drop(held);
        assert!(slots.take(1000).is_some());
        assert!(
            slots
                .0
                .lock()
                .unwrap()
                .open
                .get(&1000)
                .is_none_or(|n| *n <= 1)
        );
    }
}
