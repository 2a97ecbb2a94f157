//! The holders of a name or group, as a directory key keeps them: each
//! host with the time it last said so.
//!
//! Why so careful with a set anyone on the bus may write: a holder that is
//! not a host name, or claims a time in the future (to never go stale),
//! or crowds out the others, must not stop a lookup or the writer's own
//! claim. So holders are checked one by one, the newest are kept, and the
//! writer is always among them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::directory::{ORGANISATION, group_key, name_key};
use super::entry::Entry;

/// Holders one name or group keeps (the oldest dropped past it): what fits
/// in one directory value (about 32 bytes each). The organisation's group
/// is the largest; past this many hosts it needs keys of its own per host.
pub(crate) const MAX_HOLDERS: usize = 400;
/// How far in the future a holder's time may be (clocks differ).
const SKEW_MS: i64 = 600_000;

/// The hosts holding a name, each with when it last wrote (Unix ms).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Holders {
    pub(crate) hosts: BTreeMap<String, i64>,
}

/// A holder's name must be a host's NetBIOS name: 1 to 15 printable
/// ASCII characters.
fn is_host(h: &str) -> bool {
    (1..=15).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_graphic())
}

impl Holders {
    /// The set in `value`: JSON, or (as the first version wrote) a bare
    /// host name; holders that are not host names are left out.
    pub(crate) fn parse(value: &[u8]) -> Holders {
        let mut h = serde_json::from_slice::<Holders>(value).unwrap_or_else(|_| {
            let mut h = Holders::default();
            h.hosts
                .insert(String::from_utf8_lossy(value).to_ascii_uppercase(), 0);
            h
        });
        h.hosts.retain(|host, _| is_host(host));
        h
    }

    /// With `host` written at `now`, and without holders silent since
    /// `stale` or claiming a time past `now` (Unix ms), nor more than
    /// [`MAX_HOLDERS`] (the oldest go; never `host`).
    pub(crate) fn with(mut self, host: &str, now: i64, stale: i64) -> Holders {
        self.hosts
            .retain(|_, at| *at >= stale && *at <= now.saturating_add(SKEW_MS));
        self.hosts.insert(host.to_owned(), now);
        while self.hosts.len() > MAX_HOLDERS {
            let oldest = self
                .hosts
                .iter()
                .filter(|(h, _)| h.as_str() != host)
                .min_by_key(|(_, at)| **at)
                .map(|(h, _)| h.clone());
            match oldest {
                Some(h) => self.hosts.remove(&h),
                None => break,
            };
        }
        self
    }

    /// The holders to believe now: not stale (a time of 0 is the first
    /// version's, kept), not from the future, at most [`MAX_HOLDERS`]; the
    /// ones `known` says this host knows (pinned) first, then the newest.
    pub(crate) fn current(
        &self,
        now: i64,
        stale: i64,
        known: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let mut v: Vec<(&String, i64)> = self
            .hosts
            .iter()
            .map(|(h, at)| (h, *at))
            .filter(|(_, at)| (*at == 0 || *at >= stale) && *at <= now.saturating_add(SKEW_MS))
            .collect();
        // Newest first, a time ahead of ours counted as now (so a claim
        // "from the future" gains no place in front).
        v.sort_by_key(|(h, at)| std::cmp::Reverse((known(h), (*at).min(now))));
        v.into_iter()
            .take(MAX_HOLDERS)
            .map(|(h, _)| h.to_ascii_uppercase())
            .collect()
    }
}

/// What a `name.` or `group.` key keeps the holders of.
pub(crate) enum Held {
    /// A messenger name (a host's, a user's, an alias).
    Name(String),
    /// A relay group, or [`ORGANISATION`].
    Group(String),
}

impl Held {
    pub(crate) fn name(&self) -> &str {
        match self {
            Held::Name(n) | Held::Group(n) => n,
        }
    }

    pub(crate) fn key(&self) -> String {
        match self {
            Held::Name(n) => name_key(n),
            Held::Group(g) => group_key(g),
        }
    }

    /// Whether `entry` says its host holds this.
    pub(crate) fn listed_in(&self, entry: &Entry, host: &str) -> bool {
        match self {
            Held::Name(n) => {
                n.eq_ignore_ascii_case(host)
                    || entry.names.iter().any(|x| x.eq_ignore_ascii_case(n))
            }
            Held::Group(g) => {
                g == ORGANISATION || entry.groups.iter().any(|x| x.eq_ignore_ascii_case(g))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_are_renewed_pruned_and_bounded() {
        let h = Holders::parse(b"H2").with("H3", 100, 50);
        // The first version's bare host (time 0) is older than any TTL.
        assert_eq!(h.hosts.keys().collect::<Vec<_>>(), ["H3"]);
        let h = Holders::parse(br#"{"hosts":{"H2":90,"H3":40}}"#).with("H4", 100, 50);
        assert_eq!(h.hosts.keys().collect::<Vec<_>>(), ["H2", "H4"]);
        let mut many = Holders::default();
        for i in 0..(MAX_HOLDERS as i64 + 5) {
            many = many.with(&format!("H{i}"), 1000 + i, 0);
        }
        assert_eq!(many.hosts.len(), MAX_HOLDERS);
        assert!(!many.hosts.contains_key("H0"), "the oldest went");
        assert!(
            Holders::parse(b"not json and far too long for a host")
                .hosts
                .is_empty()
        );
    }

    #[test]
    fn a_hostile_set_cannot_hide_or_crowd_out_real_holders() {
        let now = 1_000_000_000;
        // Not host names (empty, a space, too long): left out at parse.
        let h =
            Holders::parse(br#"{"hosts":{"":1,"A HOST":1,"SIXTEEN_CHARS_XX":1,"H2":999999000}}"#);
        assert_eq!(h.hosts.keys().collect::<Vec<_>>(), ["H2"]);
        // Times far in the future never count, and never stay.
        let mut bad = BTreeMap::new();
        for i in 0..MAX_HOLDERS {
            bad.insert(format!("0{i}"), i64::MAX);
        }
        bad.insert("H2".into(), now - 1_000);
        let h = Holders { hosts: bad };
        assert_eq!(h.current(now, now - 300_000, |_| false), ["H2"]);
        let h = h.with("H3", now, now - 300_000);
        assert_eq!(h.hosts.keys().collect::<Vec<_>>(), ["H2", "H3"]);
        // Many current ones: the writer is never the one dropped.
        let mut full = Holders::default();
        for i in 0..MAX_HOLDERS {
            full.hosts.insert(format!("X{i}"), now);
        }
        // Pinned holders come first, however many others crowd the set.
        let mut crowd = full.clone();
        crowd.hosts.insert("ZREAL".into(), now - 60_000);
        assert_eq!(crowd.current(now, 0, |h| h == "ZREAL")[0], "ZREAL");
        let h = full.with("H9", now - 1, 0);
        assert!(h.hosts.contains_key("H9"));
        assert_eq!(h.hosts.len(), MAX_HOLDERS);
    }
}
