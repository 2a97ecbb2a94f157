//! The messages `inbox-bench` stores: made up, but shaped like a real
//! office inbox, and the same on every run (a seeded generator), so that
//! two runs, or a fresh run and a `--reuse`d file, measure the same data.
//!
//! Each message has 100 to 300 characters of words from a fixed list, one
//! of several senders, an owner (a third each: alice, bob, the host), a
//! time spread over the past year in id order, mostly normal priority.
//! Exactly [`MARKERS`] messages (spread evenly) also hold the word
//! [`MARKER`], which no other message has: the search figure looks for it
//! and checks that every one is found.

use messngr_store::{NewMessage, Priority, Transport};

/// The rare word of the search figure.
pub const MARKER: &str = "zanzibar";
/// How many messages hold it (all messages if there are fewer).
pub const MARKERS: u64 = 100;
/// A word in about one message in ten (a common search).
pub const COMMON: &str = "meeting";

const WORDS: &[&str] = &[
    "the",
    "a",
    "to",
    "and",
    "of",
    "in",
    "is",
    "for",
    "on",
    "at",
    "please",
    "thanks",
    "today",
    "tomorrow",
    "morning",
    "afternoon",
    "lunch",
    "coffee",
    "printer",
    "server",
    "backup",
    "restart",
    "report",
    "deadline",
    "office",
    "network",
    "update",
    "password",
    "call",
    "me",
    "back",
    "when",
    "you",
    "can",
    "will",
    "be",
    "late",
    "early",
    "room",
    "floor",
    "building",
    "parking",
    "delivery",
    "package",
    "reception",
    "visitor",
    "client",
    "project",
    "budget",
    "invoice",
    "review",
    "draft",
    "final",
    "version",
    "share",
    "folder",
    "drive",
    "disk",
    "full",
    "space",
    "down",
    "up",
    "again",
    "soon",
    "now",
    "minutes",
    "hours",
    "week",
    "friday",
    "monday",
    "holiday",
    "schedule",
    "agenda",
    "notes",
    "slides",
    "print",
    "copies",
    "toner",
    "paper",
    "jam",
    "fixed",
    "broken",
    "ticket",
    "helpdesk",
    "login",
    "account",
    "locked",
    "reset",
    "mail",
    "phone",
    "extension",
    "desk",
    "chair",
    "kitchen",
    "fridge",
    "cake",
    "birthday",
    "team",
    "manager",
    "boss",
    "everyone",
    "nobody",
    "someone",
    "urgent",
    "important",
    "reminder",
    "cancelled",
    "moved",
    "postponed",
    "confirmed",
    "ready",
    "done",
    "waiting",
    "approved",
    "rejected",
    "signed",
    "sent",
    "received",
    "missing",
    "found",
    "lost",
    "keys",
    "badge",
    "door",
    "alarm",
    "fire",
    "drill",
    "test",
    "power",
    "outage",
    "maintenance",
    "window",
    "reboot",
    "patch",
    "install",
    "license",
    "expired",
    "renew",
    "quarter",
    "numbers",
    "sales",
    "target",
    "growth",
    "plan",
    "strategy",
    "training",
    "session",
    "course",
    "welcome",
    "goodbye",
    "farewell",
    "party",
    "pizza",
    "order",
];

/// Senders (the `from` names); the first is the one the `from` figure uses.
pub const SENDERS: &[&str] = &[
    "BOB", "ALICE", "CAROL", "DAVE", "ERIN", "PRINTSRV", "BACKUP01", "HELPDESK",
];

/// One year, the span of the messages' times.
pub const SPAN_MS: i64 = 365 * 24 * 3600 * 1000;

/// splitmix64: small, seeded, good enough to vary test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for message `i` of the run seeded `seed` (each message
    /// is made from its own stream, so any message can be made alone).
    pub fn for_message(seed: u64, i: u64) -> Rng {
        let mut r = Rng(seed ^ i.wrapping_mul(0xa076_1d64_78bd_642f));
        r.next();
        r
    }

    /// The next 64 bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Whether message `i` of `n` holds the marker word.
pub fn has_marker(i: u64, n: u64) -> bool {
    i.is_multiple_of((n / MARKERS).max(1)) && i / (n / MARKERS).max(1) < MARKERS
}

/// Message `i` of `n`, received at `start + i * SPAN_MS / n`.
pub fn message(seed: u64, i: u64, n: u64, start: i64) -> NewMessage {
    let mut rng = Rng::for_message(seed, i);
    let len = 100 + rng.below(201) as usize;
    let mut text = String::with_capacity(len + 16);
    if has_marker(i, n) {
        text.push_str(MARKER);
        text.push(' ');
    }
    // About one in ten says "meeting".
    if rng.below(10) == 0 {
        text.push_str(COMMON);
        text.push(' ');
    }
    while text.len() < len {
        text.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        text.push(' ');
    }
    text.pop();
    let from = SENDERS[rng.below(SENDERS.len() as u64) as usize];
    let mut m = NewMessage::received(Transport::Smb, from, "H1", &text, text.as_bytes());
    m.codepage = Some("cp850".to_owned());
    m.source_addr = Some(format!("192.0.2.{}:1040", 10 + rng.below(200)));
    let offset = i128::from(SPAN_MS) * i128::from(i) / i128::from(n.max(1));
    m.received_at = start + i64::try_from(offset).unwrap_or(SPAN_MS);
    m.owner_user = match rng.below(3) {
        0 => Some("alice".to_owned()),
        1 => Some("bob".to_owned()),
        _ => None,
    };
    m.priority = match rng.below(20) {
        0 => Priority::Urgent,
        1 => Priority::Low,
        _ => Priority::Normal,
    };
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_the_markers_hold_the_marker() {
        for n in [1, 99, 100, 101, 1000, 12_345, 1_000_000] {
            let count = (0..n).filter(|&i| has_marker(i, n)).count() as u64;
            assert_eq!(count, MARKERS.min(n), "{n}");
        }
        assert!(!WORDS.contains(&MARKER));
        let m = message(7, 0, 1000, 0);
        assert!(m.text.starts_with(MARKER));
        assert!(!message(7, 1, 1000, 0).text.contains(MARKER));
    }

    #[test]
    fn messages_are_sized_varied_and_repeatable() {
        assert_eq!(message(1, 5, 1000, 0), message(1, 5, 1000, 0));
        assert_ne!(message(1, 5, 1000, 0).text, message(2, 5, 1000, 0).text);
        for i in 0..500 {
            let m = message(1, i, 1000, 0);
            assert!((100..=330).contains(&m.text.len()), "{}", m.text.len());
        }
        let owners: std::collections::HashSet<_> = (0..100)
            .map(|i| message(1, i, 1000, 0).owner_user)
            .collect();
        assert_eq!(owners.len(), 3);
        assert!(message(1, 999, 1000, 0).received_at < SPAN_MS);
    }
}
