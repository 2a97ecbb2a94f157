//! One stored message as a freedesktop desktop notification.
//!
//! Why a module of its own: what a pop-up says is the security boundary of
//! the agent. Remote text (sender name and message) reaches the
//! notification server only through `sanitize_for_display`, and, when the
//! server renders markup (`body-markup`), with `&`, `<` and `>` escaped so a
//! message cannot style itself or fake a link. Where the message came from
//! and whether that is verified (`MessageView::provenance`) leads the
//! summary, where no text can push it out of view; only a message that
//! interrupts (urgent from root or admin_group on this host) is sent as
//! critical, which desktops show through their own do-not-disturb.
//! The layout is a pure function
//! ([`Popup::of`]) so it is tested without a D-Bus session.

use messngr_api::{MessageView as Message, Priority};

/// The action key of "Reply".
pub const ACTION_REPLY: &str = "reply";
/// The action key of "Mark read".
pub const ACTION_MARK_READ: &str = "mark-read";

/// Longest text a pop-up shows (characters); the rest is one command away.
pub const MAX_POPUP_CHARS: usize = 1000;

/// What the notification shows, before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Popup {
    /// "[PROVENANCE] Message from SENDER".
    pub summary: String,
    /// The text, then a line with the time and the recipient.
    pub body: String,
    /// Urgent messages stay until dismissed.
    pub urgent: bool,
    /// Sent as critical (freedesktop urgency 2, which desktops show even in
    /// their do-not-disturb): only a message that interrupts.
    pub critical: bool,
    /// The sender's `--time SECS` (`msg.exe /TIME`): the pop-up closes
    /// itself after that long, urgent or not (the message stays unread in
    /// the inbox).
    pub close_after_secs: Option<u32>,
}

fn escape_markup(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Popup {
    /// The pop-up for `m`; `markup` when the server renders body markup.
    pub fn of(m: &Message, markup: bool) -> Self {
        let safe = |s: &str| messngr_proto::text::sanitize_for_display(s).into_owned();
        let one_line = |s: &str| messngr_proto::text::sanitize_line(s).into_owned();
        let from = one_line(&m.from);
        let mut text = safe(&m.text);
        if let Some((cut, _)) = text.char_indices().nth(MAX_POPUP_CHARS) {
            let rest = text[cut..].chars().count();
            text.truncate(cut);
            text.push_str(&format!(
                "… ({rest} more characters: messngr read {})",
                m.id
            ));
        }
        let when = crate::show::local(m.received_at_ms);
        let mut to = one_line(&m.to);
        if markup {
            text = escape_markup(&text);
            to = escape_markup(&to);
        }
        // A live notice: the author changed or withdrew it (the pop-up is
        // replaced in place, and says so).
        let (change, text) = match (m.retracted_at_ms, m.updated_at_ms) {
            (Some(_), _) => (" (withdrawn)", "withdrawn by its author".to_owned()),
            (None, Some(_)) => (" (updated)", text),
            (None, None) => ("", text),
        };
        // An alert says so where a message says "Message" (the summary is
        // never markup).
        let kind = m.alert_mark().unwrap_or_else(|| "Message".to_owned());
        let summary = format!("[{}] {kind} from {from}{change}", m.provenance());
        Self {
            summary,
            body: format!("{text}\n{when} · to {to}"),
            urgent: m.priority == Priority::Urgent,
            critical: m.interrupts(),
            close_after_secs: m.popup_secs,
        }
    }

    /// The freedesktop urgency: 1 normal, 2 critical (only a message that
    /// interrupts: an urgent one from the network must not pass the
    /// desktop's do-not-disturb).
    pub fn urgency(&self) -> u8 {
        if self.critical { 2 } else { 1 }
    }

    /// `expire_timeout` of `Notify` in milliseconds: the sender's time if
    /// it gave one, else never for urgent messages (they stay until
    /// dismissed), else -1 (the server's default).
    pub fn expire_timeout_ms(&self) -> i32 {
        match (self.close_after_secs, self.urgent) {
            (Some(secs), _) => i32::try_from(u64::from(secs) * 1000).unwrap_or(i32::MAX),
            (None, true) => 0,
            (None, false) => -1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str, priority: &str, transport: &str) -> Message {
        serde_json::from_value(serde_json::json!({
            "id": 3, "uuid": "00", "direction": "in", "from": "H2\u{1b}[31m", "to": "H1",
            "text": text, "received_at_ms": 1_795_000_000_000_i64, "transport": transport,
            "verified": false, "source_addr": null, "codepage": null, "lossy": false, "raw": "",
            "sender_key": null, "priority": priority, "expires_at_ms": null, "read_at_ms": null,
            "owner_user": null, "notice_id": null, "in_reply_to": null
        }))
        .unwrap()
    }

    #[test]
    fn an_alert_leads_the_summary_with_its_mark_and_count() {
        let mut m = message("disk full", "normal", "smb");
        (m.alert, m.title, m.repeats) = (true, Some("backup".into()), 1);
        assert_eq!(
            Popup::of(&m, true).summary,
            "[UNVERIFIED smb] ALERT: backup from H2^[[31m"
        );
        m.repeats = 4;
        m.updated_at_ms = Some(1);
        assert_eq!(
            Popup::of(&m, true).summary,
            "[UNVERIFIED smb] ALERT: backup (4 times) from H2^[[31m (updated)"
        );
    }

    #[test]
    fn the_senders_time_closes_the_pop_up_urgent_or_not() {
        for priority in ["normal", "urgent"] {
            let mut m = message("lunch?", priority, "messngr");
            m.popup_secs = Some(7);
            let p = Popup::of(&m, false);
            assert_eq!(p.expire_timeout_ms(), 7000, "{priority}");
        }
        let normal = Popup::of(&message("x", "normal", "smb"), false);
        assert_eq!((normal.expire_timeout_ms(), normal.urgency()), (-1, 1));
    }

    #[test]
    fn shows_sender_time_and_the_unverified_mark_without_escapes_or_markup() {
        let p = Popup::of(
            &message("hi <b>there</b>\u{1b}]0;owned\u{7}", "normal", "smb"),
            true,
        );
        assert_eq!(p.summary, "[UNVERIFIED smb] Message from H2^[[31m", "{p:?}");
        assert!(p.body.starts_with("hi &lt;b&gt;there&lt;/b&gt;"), "{p:?}");
        assert!(!p.body.contains('\u{1b}') && !p.body.contains('\u{7}'));
        let when = crate::show::local(1_795_000_000_000);
        assert!(p.body.ends_with(&format!("\n{when} · to H1")), "{p:?}");
        assert!(!p.urgent);
        let plain = Popup::of(&message("a<b", "normal", "smb"), false);
        assert!(plain.body.starts_with("a<b\n"));
    }

    #[test]
    fn a_megabyte_with_nuls_becomes_a_short_inert_pop_up() {
        let hostile = format!("{}\u{0}\u{9b}31m", "x\u{0}".repeat(500_000));
        let p = Popup::of(&message(&hostile, "normal", "mailslot"), true);
        assert!(p.body.len() < 4 * MAX_POPUP_CHARS, "{} bytes", p.body.len());
        assert!(
            p.body.contains("more characters: messngr read 3"),
            "{}",
            &p.body[p.body.len() - 200..]
        );
        assert!(!p.body.contains('\u{0}') && !p.body.contains('\u{9b}'));
        assert_eq!(p.summary, "[UNVERIFIED mailslot] Message from H2^[[31m");
    }

    #[test]
    fn urgent_messages_stay_but_only_local_authorised_ones_are_critical() {
        let p = Popup::of(&message("fire", "urgent", "smb"), false);
        assert!(p.urgent);
        assert_eq!((p.expire_timeout_ms(), p.urgency()), (0, 1));
        let mut local = message("fire", "urgent", "messngr");
        (local.verified, local.sender_uid) = (true, Some(0));
        let p = Popup::of(&local, false);
        assert_eq!((p.expire_timeout_ms(), p.urgency()), (0, 2));
        assert!(
            p.summary
                .starts_with("[verified: local uid 0] Message from ")
        );
    }

    #[test]
    fn a_name_never_spans_lines_and_bidi_cannot_reorder_the_summary() {
        let mut m = message("x", "normal", "smb");
        m.from = "root\n[verified: local uid 0]\u{202e}".into();
        let p = Popup::of(&m, false);
        assert_eq!(
            p.summary,
            "[UNVERIFIED smb] Message from root^J[verified: local uid 0]\u{FFFD}"
        );
    }
}
