//! Text decoding: arbitrary bytes in a code page chosen by the first byte,
//! as one piece and cut into blocks (size from the second byte). Decoding
//! must not panic; for code pages that define every byte it is never lossy,
//! the table alone maps the text back to the same bytes, and with UTF-8
//! detection off the message text encodes back to the input with only the
//! documented normalisation: 0x14, CR LF, LF CR and lone CR become LF, one
//! trailing NUL is dropped (nbt-session-and-smb-messages.md §7).
#![no_main]
use libfuzzer_sys::fuzz_target;
use messngr_proto::text::{
    CodePage, LineBreak, MessageDecoder, Transport, decode_blocks, decode_message,
    encode_message_lossy, sanitize_for_display,
};

/// The receiver's byte rule, written out independently of the crate.
fn fold_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let next = bytes.get(i + 1).copied();
        match (b, next) {
            (b'\r', Some(b'\n')) | (b'\n', Some(b'\r')) => {
                out.push(b'\n');
                i += 2;
            }
            (b'\r' | b'\n' | 0x14, _) => {
                out.push(b'\n');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    if out.last() == Some(&0) {
        out.pop();
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let cp = CodePage::ALL[usize::from(sel) % CodePage::ALL.len()];
    let block = usize::from(rest.first().copied().unwrap_or(0)) % 130 + 1;

    let whole = decode_message(rest, cp, Transport::Smb);
    let _ = sanitize_for_display(&whole.text);
    let _ = encode_message_lossy(&whole.text, cp, LineBreak::Dc4);
    let blocks = decode_blocks(rest.chunks(block), cp, Transport::Smb);
    let mailslot = decode_blocks(rest.chunks(block), cp, Transport::Mailslot);
    if let Some(nul) = rest.iter().position(|&b| b == 0) {
        assert_eq!(mailslot.after_nul, rest.len() - nul - 1);
    }
    let raw = cp.decode(rest);
    assert_eq!(raw.text.chars().count(), rest.len());
    assert_eq!(raw.lossy, raw.replaced > 0);

    let mut plain = MessageDecoder::new(cp, Transport::Smb).with_utf8_detection(false);
    for chunk in rest.chunks(block) {
        plain.push_block(chunk);
    }
    let plain = plain.finish();
    if rest.is_ascii() {
        assert_eq!(whole.text, plain.text);
        assert_eq!(blocks.text, plain.text);
    }

    if cp.is_total() {
        assert!(!whole.lossy && !blocks.lossy && !mailslot.lossy && !raw.lossy && !plain.lossy);
        assert_eq!(cp.encode(&raw.text).expect("total page"), rest);
        assert_eq!(
            cp.encode(&plain.text).expect("total page"),
            fold_bytes(rest)
        );
    }
});
