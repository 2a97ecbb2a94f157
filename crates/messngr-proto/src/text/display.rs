//! Making peer-supplied strings safe to show: on a terminal, in a desktop
//! pop-up, on the CLI's stdout and stderr, and in the daemon's log.
//!
//! Message text, sender and recipient names, source names and a remote
//! peer's refusal reasons come from anyone on the LAN and may hold
//! terminal escape sequences; written to a tty as they are, they can move
//! the cursor, rewrite the screen or fake a prompt (the `wall`
//! escape-sequence bug CVE-2024-28085 is of this class), reorder what a
//! reader sees (bidi controls, "Trojan Source") or hide characters
//! (zero-width spaces in a name that looks like another). Decoding keeps
//! every character, so that nothing is lost and the stored message is
//! exact; everything that displays a peer string runs it through
//! [`escape`] first (or its two names, [`sanitize_for_display`] for text
//! and [`sanitize_line`] for one-line fields).

use std::borrow::Cow;

/// How the escaped string will be laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Message text: LF and TAB are kept (a terminal writer prefixes each
    /// line); everything else below is escaped.
    Text,
    /// A one-line field (a name, a refusal reason, a log line): LF and TAB
    /// are escaped too (`^J`, `^I`), so it never spans lines.
    Line,
}

/// Bidirectional formatting characters, which can reorder what a reader
/// sees (ALM, LRM, RLM, LRE…RLO, LRI…PDI).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that take no room or look like nothing: zero-width space,
/// joiners, word joiner and invisible operators, the byte order mark,
/// soft hyphen, line and paragraph separators, Hangul fillers, the
/// Mongolian vowel separator, deprecated format characters, interlinear
/// annotation marks and the tag characters. A name holding one can look
/// like another name.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{2060}'..='\u{2065}'
            | '\u{206A}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

fn needs_escape(c: char, layout: Layout) -> bool {
    let kept = layout == Layout::Text && (c == '\n' || c == '\t');
    !kept && (c.is_control() || is_bidi_control(c) || is_invisible(c))
}

/// `text` with every character that could control a terminal, reorder
/// the text or hide itself made visible and inert.
///
/// * C0 controls and DEL become caret notation, as `cat -v` shows them:
///   ESC → `^[` (so an escape sequence is shown, never acted on), BEL →
///   `^G`, CR → `^M`, NUL → `^@`, DEL → `^?`; in [`Layout::Line`] also
///   LF → `^J` and TAB → `^I`.
/// * C1 controls (U+0080–U+009F, among them the 8-bit CSI U+009B), the
///   bidirectional formatting characters ([`is_bidi_control`]) and the
///   invisible ones ([`is_invisible`]) become U+FFFD, so the reader sees
///   that something was there.
///
/// Borrows when there is nothing to change.
pub fn escape(text: &str, layout: Layout) -> Cow<'_, str> {
    if !text.chars().any(|c| needs_escape(c, layout)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !needs_escape(c, layout) {
            out.push(c);
            continue;
        }
        match u8::try_from(c) {
            Ok(b @ (0x00..=0x1F | 0x7F)) => {
                out.push('^');
                out.push(char::from(b ^ 0x40));
            }
            _ => out.push('\u{FFFD}'),
        }
    }
    Cow::Owned(out)
}

/// Message text made safe to show: [`escape`] with [`Layout::Text`] (LF
/// and TAB kept).
pub fn sanitize_for_display(text: &str) -> Cow<'_, str> {
    escape(text, Layout::Text)
}

/// A one-line field (a name, a reason, a log line) made safe to show:
/// [`escape`] with [`Layout::Line`]; it never spans lines.
pub fn sanitize_line(text: &str) -> Cow<'_, str> {
    escape(text, Layout::Line)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn c0_del_and_escape_sequences_become_carets() {
        assert_eq!(sanitize_line("\x1b[2J\x07a\r\0\x7f"), "^[[2J^Ga^M^@^?");
        assert_eq!(sanitize_line("\x1b]0;title\x07"), "^[]0;title^G");
        assert_eq!(sanitize_for_display("\x1bP+q\x1b\\"), "^[P+q^[\\");
    }

    #[test]
    fn c1_controls_are_replaced() {
        for c in ['\u{80}', '\u{85}', '\u{9b}', '\u{9d}', '\u{9f}'] {
            assert_eq!(sanitize_line(&format!("a{c}b")), "a\u{FFFD}b", "{c:?}");
            assert_eq!(sanitize_for_display(&format!("a{c}b")), "a\u{FFFD}b");
        }
    }

    #[test]
    fn line_breaks_stay_in_text_and_never_in_a_line() {
        assert!(matches!(
            sanitize_for_display("line\n\ttab ü"),
            Cow::Borrowed(_)
        ));
        assert_eq!(sanitize_line("evil\r\nname\t"), "evil^M^Jname^I");
        assert_eq!(sanitize_line("a\u{2028}b\u{2029}c"), "a\u{FFFD}b\u{FFFD}c");
        assert_eq!(sanitize_for_display("a\u{2028}b"), "a\u{FFFD}b");
    }

    #[test]
    fn bidi_controls_are_replaced() {
        for c in [
            '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
            '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        ] {
            assert_eq!(sanitize_line(&format!("x{c}y")), "x\u{FFFD}y", "{c:?}");
            assert_eq!(sanitize_for_display(&format!("x{c}y")), "x\u{FFFD}y");
        }
    }

    #[test]
    fn invisible_characters_are_replaced() {
        for c in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{2064}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{180E}',
            '\u{3164}',
            '\u{115F}',
            '\u{E0041}',
            '\u{206F}',
            '\u{FFF9}',
        ] {
            assert_eq!(sanitize_line(&format!("ro{c}ot")), "ro\u{FFFD}ot", "{c:?}");
        }
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for s in ["ALICE", "Grüße, 東京", "price: 5 €", "emoji 🎉", ""] {
            assert!(
                matches!(sanitize_line(s), Cow::Borrowed(b) if b == s),
                "{s}"
            );
        }
    }

    fn dangerous(c: char) -> bool {
        c.is_control() || is_bidi_control(c) || is_invisible(c)
    }

    proptest! {
        #[test]
        fn a_line_holds_nothing_dangerous(s in any::<String>()) {
            let out = sanitize_line(&s);
            prop_assert!(!out.chars().any(dangerous), "{:?}", out);
            prop_assert_eq!(out.lines().count(), usize::from(!s.is_empty()));
        }

        #[test]
        fn text_keeps_only_lf_and_tab(s in any::<String>()) {
            let out = sanitize_for_display(&s);
            prop_assert!(!out.chars().any(|c| dangerous(c) && c != '\n' && c != '\t'));
            prop_assert_eq!(out.matches('\n').count(), s.matches('\n').count());
        }

        #[test]
        fn safe_characters_pass_through(s in "[a-zA-Z0-9 äöü€東京.,:;!?<>&'\"-]{0,40}") {
            prop_assert_eq!(sanitize_line(&s), s.as_str());
        }
    }
}
