//! A broadcast's signed copy and its datagram, stored once.
//!
//! Why: a messngr sender gives each messngr host it knows a signed copy
//! of a `*` or `/domain` message, and only then broadcasts the legacy
//! datagram (`send::broadcast`); a host that stored the copy receives the
//! same text once more, unsigned. The copy is what counts — verified,
//! tracked, changeable by its author — so the datagram that repeats it is
//! dropped: the same source address, the same sender name, the same text
//! as the legacy wire encodes it, within [`WINDOW`] of the copy. A
//! datagram that differs in any of these is a message of its own, and
//! only the host that signed a copy can have it dropped (its copy had to
//! come over its own secure session first).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use messngr_proto::Transport;
use messngr_proto::text::{CodePage, LineBreak, encode_message_lossy};

use crate::intake::Incoming;

/// How long after its copy a datagram counts as a repeat.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// The most copies remembered (the oldest go first).
const MAX_REMEMBERED: usize = 64;

/// A stored broadcast copy, as its datagram would look.
#[derive(Debug, Clone)]
pub(crate) struct Copy {
    ip: IpAddr,
    /// The group, upper case.
    to: Vec<u8>,
    /// The sender's name, upper case.
    from: Vec<u8>,
    /// The text as the datagram carries it (OEM code page, CR LF).
    text: Vec<u8>,
}

/// The broadcast copies stored lately.
#[derive(Debug)]
pub(crate) struct Copies {
    workgroup: String,
    codepage: CodePage,
    recent: Mutex<VecDeque<(Copy, i64, Instant)>>,
}

fn upper(name: &[u8]) -> Vec<u8> {
    name.trim_ascii().to_ascii_uppercase()
}

impl Copies {
    /// For a host in `workgroup` whose datagrams use `codepage`.
    pub(crate) fn new(workgroup: &str, codepage: CodePage) -> Self {
        Copies {
            workgroup: workgroup.trim().to_ascii_uppercase(),
            codepage,
            recent: Mutex::new(VecDeque::new()),
        }
    }

    /// `m` as a copy to remember once stored: a signed messngr message to
    /// the workgroup or a group this host joined (not a notice).
    pub(crate) fn of(&self, m: &Incoming) -> Option<Copy> {
        let native = m.native.as_ref()?;
        if native.origin.is_none() || native.replaces.is_some() {
            return None;
        }
        if !native.to_group && upper(&m.to) != self.workgroup.as_bytes() {
            return None;
        }
        let mut text = String::from_utf8_lossy(&m.text).into_owned();
        if let Some(a) = &native.alert {
            // Its datagram led the text with the alert line (legacy
            // receivers have no other mark).
            let title = a.title.as_deref().unwrap_or_default();
            text = messngr_proto::wire::native::alert_legacy_text(title, &text);
        }
        Some(Copy {
            ip: m.source.ip(),
            to: upper(&m.to),
            from: upper(&m.from),
            text: encode_message_lossy(&text, self.codepage, LineBreak::CrLf).bytes,
        })
    }

    /// Remembers `copy`, stored as message `id`.
    pub(crate) fn remember(&self, copy: Copy, id: i64, now: Instant) {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.retain(|(_, _, at)| now.duration_since(*at) < WINDOW);
        if recent.len() >= MAX_REMEMBERED {
            recent.pop_front();
        }
        recent.push_back((copy, id, now));
    }

    /// The id of the copy that the datagram `m` repeats, if it does; each
    /// copy stands for one datagram.
    pub(crate) fn repeated(&self, m: &Incoming, now: Instant) -> Option<i64> {
        if m.transport != Transport::Mailslot || m.native.is_some() {
            return None;
        }
        let (ip, from, to) = (m.source.ip(), upper(&m.from), upper(&m.to));
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let at = recent.iter().rposition(|(c, _, at)| {
            now.duration_since(*at) < WINDOW
                && c.ip == ip
                && c.from == from
                && c.to == to
                && c.text == m.text
        })?;
        recent.remove(at).map(|(_, id, _)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::Native;

    fn incoming(transport: Transport, from: &str, to: &str, text: &[u8]) -> Incoming {
        Incoming {
            transport,
            source: "10.0.0.1:138".parse().unwrap(),
            from: from.as_bytes().to_vec(),
            to: to.as_bytes().to_vec(),
            text: text.to_vec(),
            block_ends: vec![text.len()],
            received_at: std::time::SystemTime::now(),
            native: None,
        }
    }

    fn signed(to: &str, text: &str) -> Incoming {
        let mut m = incoming(Transport::Messngr, "H1", to, text.as_bytes());
        m.source = "10.0.0.1:40000".parse().unwrap();
        m.native = Some(Native {
            uuid: [7; 16],
            priority: messngr_store::Priority::Normal,
            popup_secs: None,
            origin: Some(("root@H1".into(), "fp".into(), vec![])),
            replaces: None,
            retract: false,
            alert: None,
            to_group: to.eq_ignore_ascii_case("workgroup"),
            expires_at: None,
            sent_at: None,
            gateway: None,
        });
        m
    }

    #[test]
    fn only_the_datagram_that_repeats_a_signed_copy_is_dropped() {
        let copies = Copies::new("workgroup", CodePage::default());
        let now = Instant::now();
        let copy = copies
            .of(&signed("WORKGROUP", "Lunch is ready\nin the hall"))
            .unwrap();
        copies.remember(copy, 42, now);
        let same = incoming(
            Transport::Mailslot,
            "h1",
            "WORKGROUP",
            b"Lunch is ready\r\nin the hall",
        );
        // Another text, sender, group or source is a message of its own.
        let group = incoming(
            Transport::Mailslot,
            "H1",
            "OTHER",
            b"Lunch is ready\r\nin the hall",
        );
        assert_eq!(copies.repeated(&group, now), None);
        let other = incoming(Transport::Mailslot, "H1", "WORKGROUP", b"Lunch is cold");
        assert_eq!(copies.repeated(&other, now), None);
        let name = incoming(
            Transport::Mailslot,
            "H3",
            "WORKGROUP",
            b"Lunch is ready\r\nin the hall",
        );
        assert_eq!(copies.repeated(&name, now), None);
        let mut moved = same.clone();
        moved.source = "10.0.0.9:138".parse().unwrap();
        assert_eq!(copies.repeated(&moved, now), None);
        // Nor after the window.
        assert_eq!(copies.repeated(&same, now + WINDOW), None);
        // Once, for one datagram.
        assert_eq!(copies.repeated(&same, now), Some(42));
        assert_eq!(copies.repeated(&same, now), None);
    }

    #[test]
    fn only_signed_messages_to_the_workgroup_are_copies() {
        let copies = Copies::new("WORKGROUP", CodePage::default());
        assert!(copies.of(&signed("H2", "hi")).is_none());
        let mut unsigned = signed("WORKGROUP", "hi");
        if let Some(n) = unsigned.native.as_mut() {
            n.origin = None;
        }
        assert!(copies.of(&unsigned).is_none());
        let mut notice = signed("WORKGROUP", "hi");
        if let Some(n) = notice.native.as_mut() {
            n.replaces = Some([1; 16]);
        }
        assert!(copies.of(&notice).is_none());
    }
}
