//! Receiving: legacy bytes → UTF-8 text, with per-block UTF-8 detection,
//! line-break folding and the transport's NUL rule.

use std::borrow::Cow;

use super::CodePage;
use super::breaks::BreakFolder;
use super::display::sanitize_for_display;
use crate::Transport;

/// U+FFFD, put where a byte has no character in the code page.
const REPLACEMENT: char = '\u{FFFD}';

/// Text decoded from the wire, with everything a caller needs to know about
/// how faithful it is. The caller keeps the original bytes if it needs them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decoded {
    /// The text, line breaks as LF. It may hold control characters
    /// (including ESC): show it through [`Decoded::display`].
    pub text: String,
    /// Some bytes had no character in the code page and became U+FFFD.
    /// Never set for a code page where [`CodePage::is_total`] holds.
    pub lossy: bool,
    /// How many U+FFFD were put in for undefined bytes.
    pub replaced: usize,
    /// Blocks in which UTF-8 multi-byte characters were found and decoded
    /// as UTF-8 (smbclient's raw-UTF-8 fallback) instead of the code page.
    pub utf8_blocks: usize,
    /// Control characters left in `text` (C0 except LF and TAB, DEL, C1).
    pub controls: usize,
    /// A terminating NUL was found and removed.
    pub nul_terminated: bool,
    /// Bytes after the terminating NUL that were not decoded
    /// ([`Transport::Mailslot`] only).
    pub after_nul: usize,
}

impl Decoded {
    /// The text made safe for a terminal or a log: see
    /// [`sanitize_for_display`].
    pub fn display(&self) -> Cow<'_, str> {
        sanitize_for_display(&self.text)
    }
}

/// Decodes a message that arrives in blocks (0xD7 TEXT blocks), one block
/// at a time.
///
/// Per block, as nbt-session-and-smb-messages.md §7 recommends: a block
/// that holds bytes ≥ 0x80 and is valid UTF-8 is decoded as UTF-8 (smbclient
/// sends a block it cannot convert to its `dos charset` as raw UTF-8);
/// otherwise the block is decoded with the code page. A block may end in the
/// middle of a UTF-8 sequence (open point U14: smbclient cuts its input every
/// 127 bytes, before conversion). Such an incomplete tail is held back and
/// decided with the next block: if the next block's first bytes complete the
/// character, it is UTF-8; otherwise (or at the end of the message) the held
/// bytes are decoded with the code page. The decision is thus per block, not
/// per message, with only the straddling character looking across the edge.
#[derive(Debug, Clone)]
pub struct MessageDecoder {
    cp: CodePage,
    transport: Transport,
    detect_utf8: bool,
    out: String,
    breaks: BreakFolder,
    /// Incomplete UTF-8 sequence at the end of the last block.
    carry: [u8; 4],
    carry_len: usize,
    last_byte: Option<u8>,
    replaced: usize,
    utf8_blocks: usize,
    /// UTF-8 was already counted for the block being decoded.
    utf8_counted: bool,
    ended: bool,
    after_nul: usize,
}

impl MessageDecoder {
    /// A decoder for text in `cp` from `transport`, with UTF-8 detection on.
    pub fn new(cp: CodePage, transport: Transport) -> Self {
        Self {
            cp,
            transport,
            detect_utf8: true,
            out: String::new(),
            breaks: BreakFolder::default(),
            carry: [0; 4],
            carry_len: 0,
            last_byte: None,
            replaced: 0,
            utf8_blocks: 0,
            utf8_counted: false,
            ended: false,
            after_nul: 0,
        }
    }

    /// Turns UTF-8 detection on (the default) or off. Off, every byte is
    /// decoded with the code page; useful when a code page's ordinary text
    /// often looks like UTF-8 (e.g. CP866 Cyrillic).
    pub fn with_utf8_detection(mut self, on: bool) -> Self {
        self.detect_utf8 = on;
        self
    }

    /// Decodes the next block.
    pub fn push_block(&mut self, block: &[u8]) {
        let mut block = block;
        if self.transport.text_ends_at_nul() {
            if self.ended {
                self.after_nul += block.len();
                return;
            }
            if let Some(nul) = block.iter().position(|&b| b == 0) {
                self.ended = true;
                let (text, rest) = block.split_at(nul);
                self.after_nul += rest.len().saturating_sub(1);
                block = text;
            }
        }
        let Some(&last) = block.last() else {
            return;
        };
        self.last_byte = Some(last);
        self.utf8_counted = false;
        let rest = self.resolve_carry(block);
        if !self.detect_utf8 || rest.is_ascii() {
            self.push_oem(rest);
            return;
        }
        match core::str::from_utf8(rest) {
            Ok(s) if plausible_utf8(s) => self.push_utf8(s),
            Err(e) if e.error_len().is_none() => {
                let (valid, tail) = rest.split_at(e.valid_up_to());
                match core::str::from_utf8(valid) {
                    Ok(s) if plausible_utf8(s) => {
                        self.push_utf8(s);
                        self.set_carry(tail);
                    }
                    _ => self.push_oem(rest),
                }
            }
            _ => self.push_oem(rest),
        }
    }

    /// Ends the message and returns the text.
    pub fn finish(mut self) -> Decoded {
        let (held, held_len) = self.take_carry();
        self.push_oem(held.get(..held_len).unwrap_or_default());
        let mut nul_terminated = self.ended;
        if !self.transport.text_ends_at_nul()
            && self.last_byte == Some(0)
            && self.out.ends_with('\0')
        {
            self.out.pop();
            nul_terminated = true;
        }
        let out = &mut self.out;
        self.breaks.flush(|t| out.push(t.unwrap_or('\n')));
        let controls = self
            .out
            .chars()
            .filter(|&c| c.is_control() && c != '\n' && c != '\t')
            .count();
        Decoded {
            text: self.out,
            lossy: self.replaced > 0,
            replaced: self.replaced,
            utf8_blocks: self.utf8_blocks,
            controls,
            nul_terminated,
            after_nul: self.after_nul,
        }
    }

    fn take_carry(&mut self) -> ([u8; 4], usize) {
        let held = (self.carry, self.carry_len.min(4));
        self.carry_len = 0;
        held
    }

    fn set_carry(&mut self, tail: &[u8]) {
        // from_utf8 only reports an incomplete (not invalid) tail of at most
        // three bytes, so this always fits; anything else goes to the table.
        match self.carry.get_mut(..tail.len()) {
            Some(dst) if tail.len() < 4 => {
                dst.copy_from_slice(tail);
                self.carry_len = tail.len();
            }
            _ => self.push_oem(tail),
        }
    }

    /// Completes a held sequence with the first bytes of `block` if they
    /// fit; returns the part of `block` still to decode.
    fn resolve_carry<'b>(&mut self, block: &'b [u8]) -> &'b [u8] {
        let (held, held_len) = self.take_carry();
        let Some(&lead) = held.get(..held_len).and_then(<[u8]>::first) else {
            return block;
        };
        let need: usize = match lead {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            _ => 4,
        };
        let take = need.saturating_sub(held_len).min(block.len());
        let mut buf = held;
        let joined = held_len + take;
        if let (Some(dst), Some(src)) = (buf.get_mut(held_len..joined), block.get(..take)) {
            dst.copy_from_slice(src);
        }
        let candidate = buf.get(..joined).unwrap_or_default();
        match core::str::from_utf8(candidate) {
            Ok(s) if plausible_utf8(s) => {
                self.push_utf8(s);
                block.get(take..).unwrap_or_default()
            }
            Err(e) if e.error_len().is_none() && joined < need => {
                // Still incomplete: the block was shorter than the sequence.
                self.set_carry(candidate);
                &[]
            }
            _ => {
                self.push_oem(held.get(..held_len).unwrap_or_default());
                block
            }
        }
    }

    fn push_utf8(&mut self, s: &str) {
        if !s.is_ascii() && !self.utf8_counted {
            self.utf8_counted = true;
            self.utf8_blocks += 1;
        }
        let out = &mut self.out;
        for c in s.chars() {
            self.breaks.feed(c, |t| out.push(t.unwrap_or('\n')));
        }
    }

    fn push_oem(&mut self, bytes: &[u8]) {
        let decode = self.cp.byte_decoder();
        let out = &mut self.out;
        for &b in bytes {
            let c = decode(b).unwrap_or_else(|| {
                self.replaced += 1;
                REPLACEMENT
            });
            self.breaks.feed(c, |t| out.push(t.unwrap_or('\n')));
        }
    }
}

/// Decodes a message that arrived as one piece (0xD0 data, a mailslot Text,
/// an RPC string): [`MessageDecoder`] with a single block.
pub fn decode_message(bytes: &[u8], cp: CodePage, transport: Transport) -> Decoded {
    let mut d = MessageDecoder::new(cp, transport);
    d.push_block(bytes);
    d.finish()
}

/// Decodes a message from its blocks in order (the data of each 0xD7 TEXT
/// request); the blocks' edges matter for UTF-8 detection, so receivers
/// keep them.
pub fn decode_blocks<'a>(
    blocks: impl IntoIterator<Item = &'a [u8]>,
    cp: CodePage,
    transport: Transport,
) -> Decoded {
    let mut d = MessageDecoder::new(cp, transport);
    for block in blocks {
        d.push_block(block);
    }
    d.finish()
}

impl CodePage {
    /// Decodes bytes with the table alone: no UTF-8 detection, no line-break
    /// folding, no NUL rule. Every byte gives exactly one character (U+FFFD
    /// for undefined bytes, counted in [`Decoded::replaced`]). For names and
    /// for callers that want the raw mapping.
    pub fn decode(self, bytes: &[u8]) -> Decoded {
        let decode = self.byte_decoder();
        let mut replaced = 0;
        let text: String = bytes
            .iter()
            .map(|&b| {
                decode(b).unwrap_or_else(|| {
                    replaced += 1;
                    REPLACEMENT
                })
            })
            .collect();
        let controls = text
            .chars()
            .filter(|&c| c.is_control() && c != '\n' && c != '\t')
            .count();
        Decoded {
            text,
            lossy: replaced > 0,
            replaced,
            controls,
            ..Decoded::default()
        }
    }
}

/// Whether valid UTF-8 is also plausible text: C1 control characters
/// (U+0080–U+009F) never occur in real messages, while OEM text easily
/// produces them when read as UTF-8 (CP850 `┬Ç` is `C2 80`, i.e. U+0080).
fn plausible_utf8(s: &str) -> bool {
    !s.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c))
}
