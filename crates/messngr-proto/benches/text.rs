//! Text: decoding and encoding a 128-byte block and a 1600-byte message
//! (smbclient's maximum), in CP850 and as raw UTF-8 (the detection path).
//!
//! Inputs come from the captured 0xD7 blocks (Data at offset 44 of each
//! NBSS frame, nbt-session-and-smb-messages.md §5.3), repeated to size.
use divan::{Bencher, black_box};
use messngr_proto::text::{
    CodePage, LineBreak, Transport, decode_blocks, decode_message, encode_message,
    encode_message_lossy,
};

const LONG: &str = include_str!("../tests/vectors/smbclient-M-long.hex");
const UTF8: &str = include_str!("../tests/vectors/smbclient-M-utf8.hex");
const BLOCK: usize = 128;
const MESSAGE: usize = 1600;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| s.get(2 * i..2 * i + 2))
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect()
}

/// The text of every 0xD7 frame of a vector, concatenated.
fn d7_text(hex: &str) -> Vec<u8> {
    hex.lines()
        .filter(|l| !l.starts_with('#'))
        .map(unhex)
        .filter(|f| f.get(8) == Some(&0xD7))
        .flat_map(|f| f.get(44..).unwrap_or_default().to_vec())
        .collect()
}

/// `unit` repeated, then ASCII padding, to exactly `len` bytes; whole
/// repetitions only, so UTF-8 stays valid.
fn fill(unit: &[u8], len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = unit
        .iter()
        .copied()
        .cycle()
        .take(len / unit.len() * unit.len())
        .collect();
    v.resize(len, b'.');
    v
}

fn cp850(len: usize) -> Vec<u8> {
    fill(&d7_text(LONG), len)
}

fn utf8(len: usize) -> Vec<u8> {
    fill(&d7_text(UTF8), len)
}

fn decode_in_blocks(b: Bencher, bytes: &[u8]) {
    b.bench(|| {
        decode_blocks(
            black_box(bytes).chunks(BLOCK),
            CodePage::Cp850,
            Transport::Smb,
        )
    });
}

#[divan::bench]
fn decode_block_cp850(b: Bencher) {
    let block = cp850(BLOCK);
    b.bench(|| decode_message(black_box(&block), CodePage::Cp850, Transport::Smb));
}

#[divan::bench]
fn decode_block_utf8(b: Bencher) {
    let block = utf8(BLOCK);
    b.bench(|| decode_message(black_box(&block), CodePage::Cp850, Transport::Smb));
}

#[divan::bench]
fn decode_message_cp850(b: Bencher) {
    decode_in_blocks(b, &cp850(MESSAGE));
}

#[divan::bench]
fn decode_message_utf8(b: Bencher) {
    // 128-byte blocks cut UTF-8 characters: the straddle path runs too.
    decode_in_blocks(b, &utf8(MESSAGE));
}

#[divan::bench]
fn encode_block_cp850(b: Bencher) {
    let text = decode_message(&cp850(BLOCK), CodePage::Cp850, Transport::Smb).text;
    b.bench(|| encode_message(black_box(&text), CodePage::Cp850, LineBreak::CrLf));
}

#[divan::bench]
fn encode_message_cp850(b: Bencher) {
    let text = decode_message(&cp850(MESSAGE), CodePage::Cp850, Transport::Smb).text;
    b.bench(|| encode_message(black_box(&text), CodePage::Cp850, LineBreak::CrLf));
}

#[divan::bench]
fn encode_message_unencodable(b: Bencher) {
    // "em dash — and Grüße" repeated: one `?` per repetition.
    let text = decode_message(&utf8(MESSAGE), CodePage::Cp850, Transport::Smb).text;
    b.bench(|| encode_message_lossy(black_box(&text), CodePage::Cp850, LineBreak::Dc4));
}
