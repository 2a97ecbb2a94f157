//! Terminal delivery, like `write(1)`: each message is written on the
//! terminals of the user it is addressed to, found in utmp.
//!
//! Why it exists: a user logged in on a text console or over ssh sees a
//! `net send` there, as with `write` and `wall`. Why it is careful: remote
//! text on a tty can rewrite the screen, set the title or fake a prompt
//! (CVE-2024-28085, `wall`), so the sender, the recipient and the text all
//! pass through [`super::clean`] (messngr-proto's `text::escape`); the daemon
//! writes nothing else but its own banner, the [`TEXT_PREFIX`] that starts
//! every text line (so no line of text can pass for a banner or a prompt)
//! and CR LF line ends. The banner starts with where the message came from
//! and whether that is verified (`[UNVERIFIED smb from 10.0.0.7:1040]`).
//!
//! Who gets it: a message with an `owner_user` goes to that user; one to
//! `USER<03>` to the sessions whose login name equals `USER` ignoring case;
//! one to the host name, an alias or the workgroup to every logged-in user
//! when `terminal_host_messages` is on. A terminal without the group-write
//! bit (`mesg n`) is skipped, whoever sent the message: the daemon has
//! dropped root ([`crate::privs`]) and writes terminals only through the
//! `tty` group, as `write` does (an urgent message from root no longer
//! overrides `mesg n` as `wall` from root would; it waits in the inbox). A
//! user in do-not-disturb ([`crate::quiet`]) gets only messages that
//! interrupt: urgent and sent by root or an `admin_group` member on this
//! host (`MessageView::interrupts`); an urgent message from the network
//! never does. When quiet ends, one line tells their terminals how many
//! messages waited ([`quiet_ended`]).
//!
//! A tty is opened `O_WRONLY | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW` and must
//! be a character device, a terminal, and owned by the session's user (a
//! stale utmp entry must not put alice's message on the terminal bob has
//! now): a full, dead or foreign terminal fails that one write only.

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;

use messngr_store::Message;

use super::{clean, clean_line, cut};
use crate::settings::Settings;
use crate::users::Session;

/// At most this many bytes of text are written on a terminal; the rest is
/// in the inbox (`messngr read ID`).
pub const MAX_TERMINAL_TEXT: usize = 4096;

/// Why one terminal did not get a message.
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    /// The utmp line cannot name a terminal under /dev.
    #[error("utmp line {0:?} is not a terminal name")]
    BadLine(String),
    /// Not a character device, not a tty, or it cannot be opened or written.
    #[error("{path}: {why}")]
    Device {
        /// The device.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
}

/// What happened on one terminal.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    /// The message is on the screen.
    Shown,
    /// The user said `mesg n`.
    Refused,
}

/// Writes `m` on its recipients' terminals (blocking work on the blocking
/// pool), except those of the `quiet` users when `m` does not interrupt.
pub(crate) async fn deliver(
    settings: Arc<Settings>,
    aliases: Arc<Vec<String>>,
    m: Arc<Message>,
    quiet: Vec<String>,
    delivered: Arc<super::Delivered>,
) {
    let id = m.id;
    let job = move || deliver_now(&settings, &aliases, &m, &quiet, &delivered);
    if let Err(e) = tokio::task::spawn_blocking(job).await {
        tracing::warn!("terminal delivery of message {id} failed: {e}");
    }
}

/// Tells `user`'s terminals that `waiting` messages arrived while they
/// were quiet (nothing when none did).
pub async fn quiet_ended(settings: Arc<Settings>, user: String, waiting: u64) {
    if waiting == 0 {
        return;
    }
    let job = move || {
        let sessions = match crate::users::sessions(&settings.utmp) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot read {}: {e}", settings.utmp.display());
                return;
            }
        };
        let line = format!(
            "\r\nmessngr: {waiting} message{} arrived while you were quiet; `messngr inbox --unread` lists them\r\n",
            if waiting == 1 { "" } else { "s" }
        );
        let mut seen: Vec<&str> = Vec::new();
        for s in sessions.iter().filter(|s| s.user == user) {
            if seen.contains(&s.line.as_str()) {
                continue;
            }
            seen.push(&s.line);
            match write_line(&s.line, line.as_bytes(), &s.user) {
                Ok(Written::Shown) => {
                    tracing::info!("told {} on {}: {waiting} waited", s.user, s.line)
                }
                Ok(Written::Refused) => {}
                Err(e) => tracing::warn!("cannot tell {user} that messages waited: {e}"),
            }
        }
    };
    if let Err(e) = tokio::task::spawn_blocking(job).await {
        tracing::warn!("telling terminals that quiet ended failed: {e}");
    }
}

fn deliver_now(
    settings: &Settings,
    aliases: &[String],
    m: &Message,
    quiet: &[String],
    delivered: &super::Delivered,
) {
    let sessions = match crate::users::sessions(&settings.utmp) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(
                "cannot read {}: {e}; message {} is not written on terminals",
                settings.utmp.display(),
                m.id
            );
            return;
        }
    };
    let targets = recipients(settings, aliases, m, &sessions);
    if targets.is_empty() {
        tracing::debug!("message {} to {:?}: nobody's terminal", m.id, m.to);
        return;
    }
    let text = render(&settings.netbios_name, m, &jiff::tz::TimeZone::system());
    let interrupts = crate::view::message(m).interrupts();
    for s in targets {
        if quiet.contains(&s.user) && !messngr_api::shows_now(true, interrupts) {
            tracing::info!(
                "message {} not written on {}: {} is quiet (it waits in the inbox)",
                m.id,
                s.line,
                s.user
            );
            continue;
        }
        match write_line(&s.line, text.as_bytes(), &s.user) {
            Ok(Written::Shown) => {
                delivered.add(super::Sink::Terminal);
                tracing::info!("message {} written on {} ({})", m.id, s.line, s.user);
            }
            Ok(Written::Refused) => tracing::info!(
                "message {} not written on {} ({}): mesg n",
                m.id,
                s.line,
                s.user
            ),
            Err(e) => tracing::warn!("message {} not written on a terminal: {e}", m.id),
        }
    }
}

/// The sessions `m` is written on, each line once (`aliases`: the
/// configured ones, as of the last reload).
pub fn recipients<'a>(
    settings: &Settings,
    aliases: &[String],
    m: &Message,
    sessions: &'a [Session],
) -> Vec<&'a Session> {
    let to = m.to.trim();
    let ours = |n: &str| n.eq_ignore_ascii_case(to);
    let everyone = settings.terminal_host_messages
        && (ours(&settings.netbios_name)
            || ours(&settings.workgroup)
            || aliases.iter().any(|a| ours(a)));
    let mut out: Vec<&Session> = Vec::new();
    for s in sessions {
        let wanted = match &m.owner_user {
            Some(owner) => s.user == *owner,
            None => everyone || s.user.eq_ignore_ascii_case(to),
        };
        if wanted && !out.iter().any(|o| o.line == s.line) {
            out.push(s);
        }
    }
    out
}

/// Every line of text on a terminal starts with this, so a message cannot
/// draw a line that looks like the daemon's banner or a shell prompt.
pub const TEXT_PREFIX: &str = "| ";
/// Display columns of text per terminal line (after [`TEXT_PREFIX`]): a
/// longer line is broken here by the daemon, each piece prefixed, so the
/// terminal's own wrapping cannot start an unprefixed line on an 80-column
/// screen.
pub const TEXT_COLUMNS: usize = 76;
/// A name in the banner is cut to this many characters.
const MAX_BANNER_NAME: usize = 64;
/// Bytes of an updated message's text on its one short line.
const NOTICE_TEXT: usize = 60;

/// The bytes written on a terminal: a blank line, the banner (where it
/// came from and whether that is verified first, where nothing can push it
/// out of view), then the text, each line after [`TEXT_PREFIX`] and at most
/// [`TEXT_COLUMNS`] wide, every line ending in CR LF.
pub fn render(host: &str, m: &Message, tz: &jiff::tz::TimeZone) -> String {
    let time = messngr_api::time::local_in(m.received_at, tz);
    let name = |s: &str| {
        let clean = clean_line(s);
        match clean.char_indices().nth(MAX_BANNER_NAME) {
            Some((end, _)) => format!("{}…", &clean[..end]),
            None => clean,
        }
    };
    let view = crate::view::message(m);
    // An alert says so where a message says "Message" (`ALERT: TITLE`).
    let kind = view.alert_mark().unwrap_or_else(|| "Message".to_owned());
    // A live notice changed a message shown before: one short line.
    if m.retracted_at.is_some() || m.updated_at.is_some() {
        let what = if m.retracted_at.is_some() {
            "withdrawn by its author".to_owned()
        } else {
            let first = clean_line(m.text.lines().next().unwrap_or_default());
            let (shown, was_cut) = cut(&first, NOTICE_TEXT);
            format!("now: {shown}{}", if was_cut { "…" } else { "" })
        };
        return format!(
            "\r\n[{}] {kind} {} from {} {what} (messngr read {})\r\n",
            view.provenance(),
            m.id,
            name(&m.from),
            m.id
        );
    }
    let mut out = format!(
        "\r\n[{}] {kind} from {} to {} on {} at {}\r\n",
        view.provenance(),
        name(&m.from),
        name(m.to.trim()),
        name(host),
        time
    );
    let text = clean(&m.text);
    let (shown, was_cut) = cut(&text, MAX_TERMINAL_TEXT);
    for line in shown.lines() {
        let line = expand_tabs(line);
        for piece in wrap(&line, TEXT_COLUMNS) {
            out.push_str(TEXT_PREFIX);
            out.push_str(piece);
            out.push_str("\r\n");
        }
    }
    if was_cut {
        out.push_str(&format!(
            "[… {} more bytes: messngr read {}]\r\n",
            text.len() - shown.len(),
            m.id
        ));
    }
    out
}

/// Tab stops in text, every this many columns.
const TAB_STOP: usize = 8;

/// `line` with each TAB replaced by the blanks to the next tab stop: a tab
/// on the terminal would take up to eight columns that [`wrap`] cannot
/// count (and stop at the last one, where the next character wraps onto a
/// line without the prefix).
fn expand_tabs(line: &str) -> std::borrow::Cow<'_, str> {
    use unicode_width::UnicodeWidthChar;
    if !line.contains('\t') {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + TAB_STOP);
    let mut col = 0;
    for c in line.chars() {
        if c == '\t' {
            let next = (col / TAB_STOP + 1) * TAB_STOP;
            out.extend(std::iter::repeat_n(' ', next - col));
            col = next;
        } else {
            out.push(c);
            col += c.width_cjk().unwrap_or(0);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `line` in pieces of at most `columns` display columns (a wide
/// character counts two, and so does an East Asian ambiguous one, as a
/// CJK locale's terminal shows it; an empty line is one empty piece).
fn wrap(line: &str, columns: usize) -> Vec<&str> {
    use unicode_width::UnicodeWidthChar;
    let mut pieces = Vec::new();
    let (mut start, mut width) = (0, 0);
    for (i, c) in line.char_indices() {
        let w = c.width_cjk().unwrap_or(0);
        if width + w > columns && i > start {
            pieces.push(&line[start..i]);
            (start, width) = (i, 0);
        }
        width += w;
    }
    pieces.push(&line[start..]);
    pieces
}

/// Writes `bytes` on `/dev/LINE` if it is `user`'s terminal, unless they
/// said `mesg n` (checked before opening: the daemon, in group `tty`,
/// could not open such a terminal anyway).
pub fn write_line(line: &str, bytes: &[u8], user: &str) -> Result<Written, TerminalError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '.');
    if line.is_empty()
        || line.starts_with('/')
        || line
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        || !line.chars().all(ok_char)
    {
        return Err(TerminalError::BadLine(line.to_owned()));
    }
    let path = PathBuf::from("/dev").join(line);
    let fail = |why: String| TerminalError::Device {
        path: path.clone(),
        why,
    };
    let before = std::fs::symlink_metadata(&path).map_err(|e| fail(e.to_string()))?;
    if !before.file_type().is_char_device() {
        return Err(fail("not a character device".into()));
    }
    if before.permissions().mode() & 0o020 == 0 {
        return Ok(Written::Refused);
    }
    let mut tty = OpenOptions::new()
        .write(true)
        .custom_flags(nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK | nix::libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| fail(format!("cannot open: {e}")))?;
    if !tty.is_terminal() {
        return Err(fail("not a terminal".into()));
    }
    let meta = tty.metadata().map_err(|e| fail(e.to_string()))?;
    let account = nix::unistd::User::from_name(user)
        .ok()
        .flatten()
        .ok_or_else(|| fail(format!("utmp names {user:?}, who has no account here")))?;
    if meta.uid() != account.uid.as_raw() {
        return Err(fail(format!(
            "owned by uid {}, not by {user} (uid {}): a stale utmp entry?",
            meta.uid(),
            account.uid
        )));
    }
    if meta.permissions().mode() & 0o020 == 0 {
        return Ok(Written::Refused);
    }
    tty.write_all(bytes)
        .map_err(|e| fail(format!("cannot write: {e}")))?;
    Ok(Written::Shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(from: &str, to: &str, text: &str) -> Message {
        let mut m = crate::testing::message(7, from, to, text);
        m.raw = Vec::new();
        m.source_addr = Some("10.77.0.2:1040".into());
        m
    }

    fn session(user: &str, line: &str) -> Session {
        Session {
            user: user.into(),
            line: line.into(),
        }
    }

    #[test]
    fn the_banner_and_text_are_inert() {
        let out = render(
            "H1",
            &message(
                "ev\x1b[2Jil\n",
                "ALICE",
                "hi\x1b]2;pwned\x07\nthere\r\x1b[2J",
            ),
            &jiff::tz::TimeZone::fixed(jiff::tz::offset(1)),
        );
        assert_eq!(
            out,
            "\r\n[UNVERIFIED smb from 10.77.0.2:1040] \
             Message from ev^[[2Jil^J to ALICE on H1 at 2026-11-27 13:00:00 +01\r\n\
             | hi^[]2;pwned^G\r\n| there^M^[[2J\r\n"
        );
        assert!(!out.bytes().any(|b| b == 0x1b || b == 0x07));
    }

    /// The columns `line` takes on a terminal with tab stops every 8
    /// columns, ambiguous-width characters counted wide (a CJK locale).
    fn screen_columns(line: &str) -> usize {
        use unicode_width::UnicodeWidthChar;
        line.chars().fold(0, |col, c| match c {
            '\t' => (col / 8 + 1) * 8,
            c => col + c.width_cjk().unwrap_or(0),
        })
    }

    /// Every line the daemon writes is its banner or starts with the text
    /// prefix: a message cannot draw a banner or a prompt of its own, not
    /// with CR LF, a lone CR, a line separator, nor by filling a line so
    /// the terminal wraps it.
    #[test]
    fn no_text_line_can_pass_for_a_banner() {
        let fake = "Message from root on H1 at 2026-11-27 13:00:00 +01";
        let padded = format!("{}{fake}", " ".repeat(78));
        let wide = format!("{}{fake}", "東".repeat(38));
        for text in [
            format!("hi\r\n{fake}\r\nroot@h1:~# "),
            format!("hi\n\n[verified: local uid 0] {fake}"),
            format!("hi\r{fake}"),
            format!("hi\u{2028}{fake}"),
            format!("hi\u{85}{fake}"),
            padded,
            wide,
            // Tabs take up to 8 columns on the screen, and stop at the
            // last column: ten of them and one more character there.
            format!("{}X{fake}", "\t".repeat(10)),
            // East Asian ambiguous characters take two columns in a CJK
            // locale's terminal.
            format!("{}{fake}", "\u{2460}".repeat(39)),
        ] {
            let out = render(
                "H1",
                &message("H2", "ALICE", &text),
                &jiff::tz::TimeZone::UTC,
            );
            let lines: Vec<&str> = out.split("\r\n").collect();
            assert_eq!(lines[0], "", "{out:?}");
            assert!(lines[1].starts_with("[UNVERIFIED smb from "), "{out:?}");
            assert_eq!(lines.last(), Some(&""), "{out:?}");
            for l in &lines[2..lines.len() - 1] {
                assert!(l.starts_with("| "), "{l:?} in {out:?}");
                assert!(!l.contains('\r') && !l.contains('\n'), "{l:?}");
                let cols = screen_columns(l);
                assert!(cols <= TEXT_PREFIX.len() + TEXT_COLUMNS, "{cols}: {l:?}");
            }
        }
    }

    /// A live notice is one short line: the provenance first, the new
    /// text's first line cut and inert, or that it was withdrawn.
    #[test]
    fn a_changed_message_is_one_short_line() {
        let mut m = message("H2", "BOB", "reboot in 5 minutes\x1b[2J\nsecond line");
        (m.verified, m.author) = (true, Some("root@H2".into()));
        m.transport = messngr_proto::Transport::Messngr;
        m.updated_at = Some(1);
        let out = render("H1", &m, &jiff::tz::TimeZone::UTC);
        assert_eq!(
            out,
            "\r\n[verified root@H2] Message 7 from H2 now: reboot in 5 minutes^[[2J (messngr read 7)\r\n"
        );
        m.text = "x".repeat(500);
        let out = render("H1", &m, &jiff::tz::TimeZone::UTC);
        assert_eq!(out.lines().count(), 2, "{out:?}");
        assert!(
            out.contains(&format!("{}…", "x".repeat(NOTICE_TEXT))),
            "{out:?}"
        );
        (m.retracted_at, m.text) = (Some(2), String::new());
        let out = render("H1", &m, &jiff::tz::TimeZone::UTC);
        assert_eq!(
            out,
            "\r\n[verified root@H2] Message 7 from H2 withdrawn by its author (messngr read 7)\r\n"
        );
    }

    #[test]
    fn a_local_senders_message_is_marked_verified_in_the_banner() {
        let mut m = message("alice", "BOB", "hi");
        (m.verified, m.sender_uid, m.source_addr) = (true, Some(1000), None);
        m.transport = messngr_proto::Transport::Messngr;
        let out = render("H1", &m, &jiff::tz::TimeZone::UTC);
        assert!(
            out.starts_with("\r\n[verified: local uid 1000] Message from alice to BOB on H1 at "),
            "{out:?}"
        );
    }

    #[test]
    fn an_alert_says_so_in_the_banner_and_its_count_in_the_notice_line() {
        let mut m = message("H2", "BOB", "disk full");
        m.alert = Some(messngr_store::AlertMark {
            title: Some("backup\x1b[2J".into()),
            repeats: 1,
        });
        let out = render("H1", &m, &jiff::tz::TimeZone::UTC);
        assert!(
            out.starts_with(
                "\r\n[UNVERIFIED smb from 10.77.0.2:1040] ALERT: backup^[[2J from H2 to BOB on H1 at "
            ),
            "{out:?}"
        );
        (m.updated_at, m.text) = (Some(1), "disk full\n(3 times)".into());
        m.alert = Some(messngr_store::AlertMark {
            title: None,
            repeats: 3,
        });
        let out = render("H1", &m, &jiff::tz::TimeZone::UTC);
        assert!(
            out.contains("] ALERT (3 times) 7 from H2 now: disk full (messngr read 7)"),
            "{out:?}"
        );
    }

    #[test]
    fn long_text_is_cut_with_a_pointer_to_the_inbox() {
        let out = render(
            "H1",
            &message("a", "B", &"x".repeat(10_000)),
            &jiff::tz::TimeZone::UTC,
        );
        assert!(out.len() < MAX_TERMINAL_TEXT + 400);
        assert!(
            out.ends_with("[… 5904 more bytes: messngr read 7]\r\n"),
            "{out}"
        );
    }

    #[test]
    fn recipients_by_user_host_and_owner() {
        let sessions = [
            session("alice", "pts/1"),
            session("bob", "pts/2"),
            session("alice", "pts/1"),
            session("alice", "tty3"),
        ];
        let s = Settings::example();
        let lines = |m: &Message, s: &Settings| -> Vec<String> {
            recipients(s, &s.aliases, m, &sessions)
                .iter()
                .map(|s| s.line.clone())
                .collect()
        };
        assert_eq!(lines(&message("x", "ALICE", ""), &s), ["pts/1", "tty3"]);
        assert_eq!(lines(&message("x", "carol", ""), &s), Vec::<String>::new());
        assert_eq!(
            lines(&message("x", "h1", ""), &s),
            ["pts/1", "pts/2", "tty3"]
        );
        assert_eq!(lines(&message("x", "helpdesk", ""), &s).len(), 3);
        let mut owned = message("x", "H1", "");
        owned.owner_user = Some("bob".into());
        assert_eq!(lines(&owned, &s), ["pts/2"]);
        let quiet = Settings {
            terminal_host_messages: false,
            ..s.clone()
        };
        assert!(lines(&message("x", "H1", ""), &quiet).is_empty());
        assert_eq!(lines(&message("x", "alice", ""), &quiet).len(), 2);
    }

    #[test]
    fn odd_utmp_lines_are_refused() {
        for line in ["", "/etc/passwd", "../sda", "pts/../../sda", ":0", "pts//1"] {
            assert!(
                matches!(
                    write_line(line, b"x", "root"),
                    Err(TerminalError::BadLine(_))
                ),
                "{line:?}"
            );
        }
        assert!(matches!(
            write_line("null", b"x", "root"),
            Err(TerminalError::Device { .. })
        ));
    }
}
