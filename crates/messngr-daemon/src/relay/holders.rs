//! The holders of a name or group: each host that claims it writes a key
//! of its own, `name.HEX.HOST` (or `group.HEX.HOST`), and a lookup lists
//! those keys.
//!
//! Why a key per holder and not one shared set: with one account per host
//! (`permissions`), a host may then write its own claims and nobody
//! else's, so a hostile host on the bus can add itself to a name (and is
//! left out unless an admin vetted it, `directory`), but can neither
//! remove another host's claim nor crowd it out of a set. A claim is only
//! an index: each holder is believed through its own signed entry, which
//! must list the name.

use super::directory::{ORGANISATION, group_key, name_key};
use super::entry::Entry;

/// Holders one lookup checks at most (the pinned first).
pub(crate) const MAX_HOLDERS: usize = 400;

/// A holder's name must be a host's NetBIOS name: 1 to 15 printable
/// ASCII characters.
fn is_host(h: &str) -> bool {
    (1..=15).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_graphic())
}

/// The hosts whose claim keys (`subjects`, each `prefix` then the host in
/// hex) are listed: host names only, upper case, the ones `known` says
/// this host knows (pinned) first, then by name, at most [`MAX_HOLDERS`].
pub(crate) fn claimants(
    subjects: impl IntoIterator<Item = String>,
    prefix: &str,
    known: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut hosts: Vec<String> = subjects
        .into_iter()
        .filter_map(|s| {
            let hex = s.strip_prefix(prefix)?;
            let host = String::from_utf8(hex::decode(hex).ok()?).ok()?;
            is_host(&host).then(|| host.to_ascii_uppercase())
        })
        .collect();
    hosts.sort_by_cached_key(|h| (!known(h), h.clone()));
    hosts.dedup();
    hosts.truncate(MAX_HOLDERS);
    hosts
}

/// What a `name.` or `group.` key is about.
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

    /// Its key (`name.HEX`); each holder's claim is this, a dot, and the
    /// holder in hex.
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
    fn claimants_are_host_names_the_pinned_first_and_bounded() {
        let p = "$KV.messngr_directory.name.414C494345.";
        let subject = |h: &str| format!("{p}{}", hex::encode_upper(h));
        let listed = vec![
            subject("H3"),
            subject("H2"),
            // Not a host name, not hex, another name's, too long: left out.
            subject("A HOST"),
            format!("{p}ZZ"),
            "$KV.messngr_directory.name.424F42.4832".into(),
            subject("SIXTEEN_CHARS_XX"),
        ];
        assert_eq!(claimants(listed.clone(), p, |_| false), ["H2", "H3"]);
        assert_eq!(claimants(listed, p, |h| h == "H3"), ["H3", "H2"]);
        // However many crowd in, a pinned holder is checked.
        let mut crowd: Vec<String> = (0..MAX_HOLDERS + 5)
            .map(|i| subject(&format!("X{i}")))
            .collect();
        crowd.push(subject("ZREAL"));
        let c = claimants(crowd, p, |h| h == "ZREAL");
        assert_eq!((c.len(), c[0].as_str()), (MAX_HOLDERS, "ZREAL"));
    }
}
