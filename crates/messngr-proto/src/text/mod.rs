//! Text on the legacy wire: OEM code pages ⇄ UTF-8, line breaks, NULs, and
//! making received text safe to show.
//!
//! Names, From/To and message text travel as 8-bit OEM text on every
//! Messenger transport ([MS-MSRP] §3.2.4.1; nbt-session-and-smb-messages.md
//! §7, mailslot-datagrams.md §5, interop-notes.md §4). Which code page a peer
//! uses depends on its locale, so it is configured ([`CodePage`], default
//! CP850 as Samba's `dos charset`). The tables come from `oem_cp` and
//! `encoding_rs`.
//!
//! # Receiving
//!
//! [`decode_message`] (one piece: 0xD0 data, a mailslot Text, an RPC
//! string) and [`decode_blocks`] / [`MessageDecoder`] (0xD7 TEXT blocks)
//! apply the receiver rules of nbt-session-and-smb-messages.md §7:
//!
//! 1. **UTF-8 detection per block.** smbclient converts each 127-byte block
//!    of its UTF-8 input to its `dos charset` and sends a block that does not
//!    convert as raw UTF-8 (vector `smbclient-M-utf8.hex`). A block with
//!    bytes ≥ 0x80 that is valid UTF-8 is therefore decoded as UTF-8, any
//!    other block with the code page. A character cut by a block edge
//!    (open point U14) is decided with the next block; see [`MessageDecoder`].
//! 2. **Line breaks.** 0x14 (Windows), CR LF (smbclient), LF CR and lone CR
//!    all become LF, also across block edges ([`normalize_line_breaks`]).
//! 3. **NUL.** SMB and RPC: one trailing NUL is stripped; mailslot: the text
//!    ends at the first NUL ([`Transport`]).
//! 4. **Nothing is lost silently.** A byte the code page leaves undefined
//!    becomes U+FFFD and sets [`Decoded::lossy`]; for code pages that define
//!    every byte ([`CodePage::is_total`]: 437, 850, 852, 866 and most other
//!    OEM pages) decoding is never lossy and the table maps the text back to
//!    the same bytes. Control characters are kept (and counted in
//!    [`Decoded::controls`]); display goes through [`sanitize_for_display`].
//!
//! # Sending
//!
//! [`encode_message`] encodes in the code page and writes each line break as
//! 0x14 (default, [MS-MSRP]) or CR LF ([`LineBreak`]); a character the code
//! page lacks is an [`Unencodable`] error naming it, and
//! [`encode_message_lossy`] substitutes `?` and counts the substitutions.
//! Unlike smbclient, messngr never falls back to sending raw UTF-8.

mod breaks;
mod codepage;
mod decode;
mod display;
mod encode;

pub use crate::Transport;
pub use breaks::{LineBreak, normalize_line_breaks};
pub use codepage::{CodePage, UnknownCodePage};
pub use decode::{Decoded, MessageDecoder, decode_blocks, decode_message};
pub use display::{
    Layout, escape, is_bidi_control, is_invisible, sanitize_for_display, sanitize_line,
};
pub use encode::{Encoded, Unencodable, encode_message, encode_message_lossy};

#[cfg(test)]
mod tests;
