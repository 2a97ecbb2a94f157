//! Sending: UTF-8 text → code-page bytes, with the chosen line break.
//!
//! A character the code page lacks is never dropped silently: the strict
//! functions fail with [`Unencodable`] (naming the first such character and
//! counting them all); the lossy ones put `?` in its place, as
//! nbt-session-and-smb-messages.md §7 tells senders to, and say how many.

use super::CodePage;
use super::breaks::{BreakFolder, LineBreak};

/// Text that cannot be encoded in the code page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{ch:?} ({}) at byte {offset} cannot be encoded in {cp} ({count} such character(s) in all)",
    .ch.escape_unicode()
)]
pub struct Unencodable {
    /// The code page asked for.
    pub cp: CodePage,
    /// The first character it lacks.
    pub ch: char,
    /// Byte offset of that character in the input text.
    pub offset: usize,
    /// How many characters of the input it lacks in all.
    pub count: usize,
}

/// Bytes encoded with `?` in place of what the code page lacks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Encoded {
    /// The encoded bytes.
    pub bytes: Vec<u8>,
    /// How many characters were replaced by `?`.
    pub replaced: usize,
    /// The first replaced character and its byte offset in the input.
    pub first: Option<(usize, char)>,
}

impl Encoded {
    /// The strict result: the bytes, or [`Unencodable`] if anything was
    /// replaced.
    pub fn into_result(self, cp: CodePage) -> Result<Vec<u8>, Unencodable> {
        match self.first {
            None => Ok(self.bytes),
            Some((offset, ch)) => Err(Unencodable {
                cp,
                ch,
                offset,
                count: self.replaced,
            }),
        }
    }
}

/// Encodes `text` for sending, with every line break (LF, CR LF, LF CR, CR,
/// U+0014) written as `breaks`; fails on characters `cp` lacks.
///
/// Other control characters pass unchanged; a sender that takes text from
/// untrusted input should refuse or sanitise them itself.
pub fn encode_message(text: &str, cp: CodePage, breaks: LineBreak) -> Result<Vec<u8>, Unencodable> {
    encode_message_lossy(text, cp, breaks).into_result(cp)
}

/// As [`encode_message`], but characters `cp` lacks become `?` and are
/// counted in [`Encoded::replaced`].
pub fn encode_message_lossy(text: &str, cp: CodePage, breaks: LineBreak) -> Encoded {
    let mut enc = Encoded {
        bytes: Vec::with_capacity(text.len() + 8),
        ..Encoded::default()
    };
    let mut folder = BreakFolder::default();
    for (offset, c) in text.char_indices() {
        folder.feed(c, |t| push(&mut enc, cp, breaks, offset, t));
    }
    folder.flush(|t| push(&mut enc, cp, breaks, text.len(), t));
    enc
}

fn push(enc: &mut Encoded, cp: CodePage, breaks: LineBreak, offset: usize, t: Option<char>) {
    match t {
        None => enc.bytes.extend_from_slice(breaks.bytes()),
        Some(c) => push_char(enc, cp, offset, c),
    }
}

fn push_char(enc: &mut Encoded, cp: CodePage, offset: usize, c: char) {
    match cp.encode_char(c) {
        Some(b) => enc.bytes.push(b),
        None => {
            enc.bytes.push(b'?');
            enc.replaced += 1;
            enc.first.get_or_insert((offset, c));
        }
    }
}

impl CodePage {
    /// Encodes with the table alone (no line-break handling): one byte per
    /// character; fails on characters this code page lacks.
    pub fn encode(self, text: &str) -> Result<Vec<u8>, Unencodable> {
        self.encode_lossy(text).into_result(self)
    }

    /// As [`CodePage::encode`], with `?` for characters this code page lacks.
    pub fn encode_lossy(self, text: &str) -> Encoded {
        let mut enc = Encoded {
            bytes: Vec::with_capacity(text.len()),
            ..Encoded::default()
        };
        for (offset, c) in text.char_indices() {
            push_char(&mut enc, self, offset, c);
        }
        enc
    }
}
