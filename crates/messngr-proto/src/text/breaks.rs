//! Line breaks of the legacy wire: 0x14, CR LF, LF CR, lone CR and LF.
//!
//! Windows senders turn each of CR, LF, CR LF and LF CR into one byte 0x14
//! ([MS-MSRP] §2.2.3.1.1, endnotes <4>, <7>); smbclient turns LF into CR LF.
//! Receivers fold all of these into one LF (nbt-session-and-smb-messages.md
//! §7, mailslot-datagrams.md §5). The doc applies the rule to the raw bytes
//! before decoding; folding the decoded characters instead is the same thing,
//! because 0x0A, 0x0D and 0x14 decode to U+000A, U+000D and U+0014 in every
//! supported code page and in UTF-8, and never occur inside a multi-byte
//! UTF-8 sequence.

use std::borrow::Cow;

/// How [`encode_message`](super::encode_message) writes a line break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LineBreak {
    /// One byte 0x14 (ASCII DC4), as Windows sends it ([MS-MSRP] §2.2.3.1.1).
    /// The default, per nbt-session-and-smb-messages.md §7.
    #[default]
    Dc4,
    /// CR LF, as smbclient sends it; for smbd, which strips the CR and
    /// leaves 0x14 as it is (`message.c` `msg_deliver`).
    CrLf,
}

impl LineBreak {
    /// The bytes of one line break.
    pub const fn bytes(self) -> &'static [u8] {
        match self {
            LineBreak::Dc4 => &[0x14],
            LineBreak::CrLf => b"\r\n",
        }
    }
}

/// Folds CR LF, LF CR, lone CR, lone LF and U+0014 into single breaks, one
/// character at a time, across block edges.
///
/// `emit(None)` is a line break, `emit(Some(c))` any other character. Pairs
/// are taken greedily from the left: `\r\n\r\n` is two breaks, `\n\r` one.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BreakFolder {
    /// A CR or LF that may still pair with the next character.
    pending: Option<char>,
}

impl BreakFolder {
    /// Feeds one character.
    pub(crate) fn feed(&mut self, c: char, mut emit: impl FnMut(Option<char>)) {
        match c {
            '\r' | '\n' => match self.pending.take() {
                Some(p) if p != c => emit(None),
                Some(_) => {
                    emit(None);
                    self.pending = Some(c);
                }
                None => self.pending = Some(c),
            },
            '\u{14}' => {
                self.flush(&mut emit);
                emit(None);
            }
            _ => {
                self.flush(&mut emit);
                emit(Some(c));
            }
        }
    }

    /// Ends the text: a pending CR or LF is a break of its own.
    pub(crate) fn flush(&mut self, mut emit: impl FnMut(Option<char>)) {
        if self.pending.take().is_some() {
            emit(None);
        }
    }
}

/// The text with every line break (CR LF, LF CR, lone CR, lone LF, U+0014)
/// as one LF: what a receiver makes of any line-break convention.
///
/// Borrows when there is nothing to change.
pub fn normalize_line_breaks(text: &str) -> Cow<'_, str> {
    if !text.contains(['\r', '\u{14}']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut folder = BreakFolder::default();
    let mut push = |t: Option<char>| out.push(t.unwrap_or('\n'));
    for c in text.chars() {
        folder.feed(c, &mut push);
    }
    folder.flush(&mut push);
    Cow::Owned(out)
}
