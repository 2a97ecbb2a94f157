//! The text of a send as the legacy wire carries it: encoded in the
//! receiver's OEM code page with CR LF line breaks, and an alert's led by
//! its `ALERT` line. Apart from `send/mod.rs`, which decides where it goes.

use messngr_proto::text::{CodePage, LineBreak, encode_message_lossy};

use super::SendError;

/// What a legacy receiver gets: the text, or an alert's text with its line.
pub(super) enum LegacyText<'t> {
    Same(Text<'t>),
    Alert(messngr_proto::text::Encoded),
}

impl LegacyText<'_> {
    pub(super) fn oem(&self) -> &[u8] {
        match self {
            LegacyText::Same(t) => t.oem,
            LegacyText::Alert(e) => &e.bytes,
        }
    }
}

/// The text as typed, and as the legacy wire carries it (in `codepage`,
/// the receiver's: `code_page`, or its `[code_pages]` entry).
#[derive(Debug, Clone, Copy)]
pub(super) struct Text<'a> {
    pub(super) utf8: &'a str,
    pub(super) oem: &'a [u8],
    pub(super) replaced: usize,
    pub(super) codepage: CodePage,
}

/// `text` in the OEM code page with CR LF line breaks, as the legacy wire
/// carries it; an empty message is refused.
pub(super) fn encode(
    text: &str,
    codepage: CodePage,
) -> Result<messngr_proto::text::Encoded, SendError> {
    let encoded = encode_message_lossy(text, codepage, LineBreak::CrLf);
    if encoded.bytes.is_empty() {
        return Err(SendError::BadRequest(
            "the message is empty: give some text".into(),
        ));
    }
    Ok(encoded)
}
