//! What the tray icon says for a count: pure functions, tested without a
//! D-Bus session (the bus side is in the parent module).
//!
//! The count is of received messages nobody has read; what we sent is
//! never "unread". Nothing unread: `Passive` (most trays hide the icon);
//! some: `Active`; an urgent one among them: `NeedsAttention`.

use messngr_store::{Direction, Message, Priority};

/// The received messages nobody has read yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unread {
    /// How many.
    pub count: usize,
    /// Whether one of them is urgent.
    pub urgent: bool,
}

impl Unread {
    /// Counts the received (direction In), unread ones of `messages`; what
    /// we sent is never "unread" for the tray.
    pub fn of(messages: &[Message]) -> Self {
        let mut u = Self::default();
        for m in messages
            .iter()
            .filter(|m| m.direction == Direction::In && m.is_unread())
        {
            u.count += 1;
            u.urgent |= m.priority == Priority::Urgent;
        }
        u
    }
}

/// What the item shows for an [`Unread`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Look {
    /// `Passive` (nothing unread), `Active`, or `NeedsAttention` (urgent).
    pub status: &'static str,
    /// A freedesktop icon name.
    pub icon: &'static str,
    /// "messngr: N unread".
    pub title: String,
    /// "N unread messages".
    pub tooltip: String,
}

impl Look {
    /// The look of `u`.
    pub fn of(u: Unread) -> Self {
        let status = match (u.count, u.urgent) {
            (0, _) => "Passive",
            (_, false) => "Active",
            (_, true) => "NeedsAttention",
        };
        let icon = if u.count == 0 {
            "mail-read"
        } else {
            "mail-unread"
        };
        let noun = if u.count == 1 { "message" } else { "messages" };
        Self {
            status,
            icon,
            title: format!("messngr: {} unread", u.count),
            tooltip: format!("{} unread {noun}", u.count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: i64, direction: &str, read: bool, priority: &str) -> Message {
        serde_json::from_value(serde_json::json!({
            "id": id, "uuid": "00", "direction": direction, "from": "H2", "to": "H1",
            "text": "hi", "received_at_ms": 1_795_000_000_000_i64, "transport": "smb",
            "verified": false, "source_addr": null, "codepage": null, "lossy": false, "raw": "",
            "sender_key": null, "priority": priority, "expires_at_ms": null,
            "read_at_ms": if read { serde_json::json!(1_795_000_000_001_i64) } else { serde_json::Value::Null },
            "owner_user": null, "notice_id": null, "in_reply_to": null
        }))
        .unwrap()
    }

    #[test]
    fn counts_received_unread_messages_only() {
        assert_eq!(Unread::of(&[]), Unread::default());
        let inbox = [
            message(1, "in", false, "normal"),
            message(2, "in", true, "urgent"),
            message(3, "out", false, "urgent"),
            message(4, "in", false, "low"),
        ];
        assert_eq!(
            Unread::of(&inbox),
            Unread {
                count: 2,
                urgent: false
            }
        );
        let urgent = [message(5, "in", false, "urgent")];
        assert_eq!(
            Unread::of(&urgent),
            Unread {
                count: 1,
                urgent: true
            }
        );
    }

    #[test]
    fn the_look_follows_the_count() {
        let none = Look::of(Unread::default());
        assert_eq!(none.status, "Passive");
        assert_eq!(none.icon, "mail-read");
        assert_eq!(none.title, "messngr: 0 unread");
        assert_eq!(none.tooltip, "0 unread messages");
        let one = Look::of(Unread {
            count: 1,
            urgent: false,
        });
        assert_eq!(
            (one.status, one.icon, one.tooltip.as_str()),
            ("Active", "mail-unread", "1 unread message")
        );
        let fire = Look::of(Unread {
            count: 3,
            urgent: true,
        });
        assert_eq!(fire.status, "NeedsAttention");
        assert_eq!(fire.title, "messngr: 3 unread");
    }
}
