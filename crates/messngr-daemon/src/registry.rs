//! Which names this host answers for right now, shared between the name
//! service (which changes it) and the message receivers (which read it).
//!
//! Why: an NBT session request or a mailslot datagram must be accepted only
//! for a name we actually hold — not for one still being claimed, lost in a
//! conflict, or released. The name service is the only writer; it updates
//! the set on every claim, conflict and release event.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use messngr_proto::wire::name::{NetbiosName, Scope, suffix};

/// The registered names, cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    names: Arc<RwLock<HashSet<NetbiosName>>>,
    /// Those of them that are group names (the workgroup, `groups`,
    /// `name add --group`).
    groups: Arc<RwLock<HashSet<NetbiosName>>>,
    /// The NetBIOS scope they live in (wire labels; empty for none).
    scope: Arc<[u8]>,
}

impl Registry {
    /// An empty registry for names in the scope `labels` (wire form, as
    /// `scope_labels` makes it; empty for none).
    pub fn in_scope(labels: &[u8]) -> Registry {
        Registry {
            scope: labels.into(),
            ..Registry::default()
        }
    }

    /// Whether `scope` (of a name a peer addressed) is ours: a name in
    /// another scope is another name, never one this host answers for.
    pub fn is_our_scope(&self, scope: &Scope<'_>) -> bool {
        Scope::from_labels(&self.scope).is_ok_and(|ours| ours.eq_ignore_case(scope))
    }
    /// Records `name` as held.
    pub fn insert(&self, name: NetbiosName) {
        if let Ok(mut n) = self.names.write() {
            n.insert(name);
        }
    }

    /// Records `name` as held, a group name.
    pub fn insert_group(&self, name: NetbiosName) {
        self.insert(name);
        if let Ok(mut g) = self.groups.write() {
            g.insert(name);
        }
    }

    /// Records `name` as no longer held.
    pub fn remove(&self, name: &NetbiosName) {
        if let Ok(mut n) = self.names.write() {
            n.remove(name);
        }
        if let Ok(mut g) = self.groups.write() {
            g.remove(name);
        }
    }

    /// Whether `name` is a group this host is a member of (as a `<03>`
    /// name, compared as [`Registry::accepts_messages_for`] does).
    pub fn is_group(&self, name: &NetbiosName) -> bool {
        let wanted = name.with_suffix(suffix::MESSENGER);
        self.groups
            .read()
            .is_ok_and(|g| g.iter().any(|ours| ours.eq_ignore_case(&wanted)))
    }

    /// The unique `<03>` names held (groups left out), trimmed, upper
    /// case, sorted: what the relay's directory says this host holds.
    pub fn messenger_names(&self) -> Vec<String> {
        let groups = self.groups.read().map(|g| g.clone()).unwrap_or_default();
        let mut out: Vec<String> = self
            .names
            .read()
            .map(|n| {
                n.iter()
                    .filter(|n| n.suffix() == suffix::MESSENGER && !groups.contains(n))
                    .map(|n| {
                        String::from_utf8_lossy(n.name())
                            .trim_end()
                            .to_ascii_uppercase()
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out.dedup();
        out
    }

    /// Whether messages to `name` are ours: it must be one of our `<03>`
    /// names, compared on its first 15 bytes, case-insensitively
    /// (nbt-session-and-smb-messages.md §2 step 4).
    pub fn accepts_messages_for(&self, name: &NetbiosName) -> bool {
        let wanted = name.with_suffix(suffix::MESSENGER);
        self.names
            .read()
            .is_ok_and(|n| n.iter().any(|ours| ours.eq_ignore_case(&wanted)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_held_messenger_names_accept_messages() {
        let r = Registry::default();
        let h1: NetbiosName = "H1#03".parse().unwrap();
        assert!(!r.accepts_messages_for(&h1));
        r.insert(h1);
        r.insert("H2#20".parse().unwrap());
        assert!(r.accepts_messages_for(&NetbiosName::from_raw(*b"h1             \x00")));
        assert!(!r.accepts_messages_for(&"H2#03".parse().unwrap()));
        r.remove(&h1);
        assert!(!r.accepts_messages_for(&h1));
    }
}
