//! Making received text safe to show.
//!
//! Message text comes from anyone on the LAN and may hold terminal escape
//! sequences; written to a tty as it is, it can move the cursor, rewrite the
//! screen or fake a prompt (the `wall` escape-sequence bug CVE-2024-28085 is
//! of this class). Decoding keeps control characters, so that nothing is
//! lost and the stored message is exact; everything that displays text runs
//! it through [`sanitize_for_display`] first.

use std::borrow::Cow;

/// Bidirectional formatting characters, which can reorder what a reader
/// sees (ALM, LRM, RLM, LRE…RLO, LRI…PDI).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)
}

/// The text with every character that could control a terminal made
/// visible and inert; LF and TAB are kept.
///
/// * C0 controls and DEL become caret notation, as `cat -v` shows them:
///   ESC → `^[`, BEL → `^G`, CR → `^M`, NUL → `^@`, DEL → `^?`.
/// * C1 controls (U+0080–U+009F, among them the 8-bit CSI U+009B) and the
///   bidirectional formatting characters become U+FFFD.
///
/// Borrows when there is nothing to change.
pub fn sanitize_for_display(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match u8::try_from(c) {
            Ok(b @ (0x00..=0x1F | 0x7F)) if c != '\n' && c != '\t' => {
                out.push('^');
                out.push(char::from(b ^ 0x40));
            }
            _ if needs_escape(c) => out.push('\u{FFFD}'),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}
