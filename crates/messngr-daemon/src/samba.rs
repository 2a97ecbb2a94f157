//! Messages Samba's smbd received and handed to `messngr deliver` (its
//! `message command`): what smbd did to them, undone where it can be.
//!
//! Why its own module: smbd converts every message from its `dos charset`
//! (CP850 by default) to its `unix charset` (UTF-8) before writing the file
//! and drops the CR of each CR LF. A Windows sender's CP850 text thus
//! arrives as proper UTF-8, but `smbclient -M` sends raw UTF-8, which smbd
//! converts a second time (`Grüße` becomes `Gr├╝├ƒe`). When encoding the
//! text back to the code page gives valid, non-ASCII UTF-8, that is what the
//! sender wrote — the same evidence the TCP 139 receiver uses per block.

use messngr_proto::text::{CodePage, MessageDecoder, Transport};

/// The text of a message file smbd wrote: `(text, lossy)`.
pub fn decode(codepage: CodePage, bytes: &[u8]) -> (String, bool) {
    let mut d = MessageDecoder::new(codepage, Transport::Smb);
    d.push_block(bytes);
    let decoded = d.finish();
    match undo_double_conversion(codepage, &decoded.text) {
        Some(text) => (text, false),
        None => (decoded.text, decoded.lossy),
    }
}

/// UTF-8 that smbd took for `codepage` and converted again, restored.
fn undo_double_conversion(codepage: CodePage, text: &str) -> Option<String> {
    if text.is_ascii() {
        return None;
    }
    let bytes = codepage.encode(text).ok()?;
    String::from_utf8(bytes).ok().filter(|s| !s.is_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_converted_twice_is_restored() {
        let cp = CodePage::default();
        let twice = "Gr├╝├ƒe aus h2 ÔÇö caf├®";
        assert_eq!(decode(cp, twice.as_bytes()).0, "Grüße aus h2 — café");
    }

    #[test]
    fn text_converted_once_stays() {
        let cp = CodePage::default();
        for t in ["Grüße — café", "plain", "two\nlines", "Ä ö ü ß é ñ"] {
            assert_eq!(decode(cp, t.as_bytes()), (t.to_owned(), false), "{t}");
        }
    }

    #[test]
    fn bytes_smbd_could_not_convert_are_read_as_the_code_page() {
        // smbd writes the DOS bytes unconverted when conversion fails.
        let (text, lossy) = decode(CodePage::default(), b"caf\x82");
        assert_eq!(text, "café");
        assert!(!lossy);
    }
}
