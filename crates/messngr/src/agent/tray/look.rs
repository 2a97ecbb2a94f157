//! What the tray icon says for a count: pure functions, tested without a
//! D-Bus session (the bus side is in the parent module).
//!
//! The count is of received messages nobody has read; what we sent is
//! never "unread". Nothing unread: `Passive` (most trays hide the icon);
//! some: `Active`; an urgent one among them: `NeedsAttention`.

/// The received messages nobody has read yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unread {
    /// How many.
    pub count: usize,
    /// Whether one of them is urgent.
    pub urgent: bool,
}

impl From<messngr_api::UnreadView> for Unread {
    /// The daemon's count (`Request::Unread`).
    fn from(v: messngr_api::UnreadView) -> Self {
        Self {
            count: usize::try_from(v.count).unwrap_or(usize::MAX),
            urgent: v.urgent > 0,
        }
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

    #[test]
    fn the_daemons_count_becomes_the_trays() {
        let v = |count, urgent| messngr_api::UnreadView { count, urgent };
        assert_eq!(Unread::from(v(0, 0)), Unread::default());
        assert_eq!(
            Unread::from(v(2, 0)),
            Unread {
                count: 2,
                urgent: false
            }
        );
        assert_eq!(
            Unread::from(v(3, 1)),
            Unread {
                count: 3,
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
