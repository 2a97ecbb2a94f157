//! The 8-bit code pages of the legacy wire, and table-level decoding and
//! encoding (one byte ⇄ one character, nothing else).
//!
//! Every string on the Messenger wires is 8-bit OEM text ([MS-MSRP] §3.2.4.1,
//! interop-notes.md §4). The tables come from maintained crates, never from
//! this file: `oem_cp` for the DOS/OEM pages (437, 850, 852, 866, …) and
//! `encoding_rs` for the Windows (ANSI) pages 1250–1252. Bytes 0x00–0x7F are
//! ASCII in every page, control bytes included.
//!
//! `encoding_rs` follows the WHATWG Encoding Standard, which maps the bytes
//! that Microsoft's tables leave undefined (in windows-1252: 0x81, 0x8D,
//! 0x8F, 0x90, 0x9D) to the C1 control of the same number. Here those bytes
//! are **undefined**: a byte that `encoding_rs` decodes to a C1 control (or
//! to U+FFFD) has no character, decodes to U+FFFD with the result marked
//! lossy, and no character encodes to it.

use core::fmt;
use core::str::FromStr;
use std::sync::OnceLock;

use oem_cp::OEMCPHashMap;
use oem_cp::code_table as oem;

/// An 8-bit code page for names and message text.
///
/// Parsed from configuration strings such as `CP850`, `cp437`, `850`,
/// `IBM866` or `windows-1252` ([`FromStr`]); displayed as `CP850` or
/// `windows-1252`. The default is [`CodePage::Cp850`], Samba's default
/// `dos charset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[non_exhaustive]
pub enum CodePage {
    /// CP437, the original IBM PC code page (US).
    Cp437,
    /// CP720, Arabic (DOS).
    Cp720,
    /// CP737, Greek (DOS).
    Cp737,
    /// CP775, Baltic (DOS).
    Cp775,
    /// CP850, Western Europe (DOS Latin-1); Samba's default `dos charset`.
    #[default]
    Cp850,
    /// CP852, Central Europe (DOS Latin-2).
    Cp852,
    /// CP855, Cyrillic (IBM).
    Cp855,
    /// CP857, Turkish (DOS); a few bytes are undefined.
    Cp857,
    /// CP858, CP850 with the euro sign at 0xD5.
    Cp858,
    /// CP860, Portuguese (DOS).
    Cp860,
    /// CP861, Icelandic (DOS).
    Cp861,
    /// CP862, Hebrew (DOS).
    Cp862,
    /// CP863, Canadian French (DOS).
    Cp863,
    /// CP864, Arabic (IBM); a few bytes are undefined.
    Cp864,
    /// CP865, Nordic (DOS).
    Cp865,
    /// CP866, Cyrillic (DOS, Russian).
    Cp866,
    /// CP869, modern Greek (IBM).
    Cp869,
    /// CP874, Thai (the Windows dialect); a few bytes are undefined.
    Cp874,
    /// windows-1250, Central Europe (ANSI); five bytes are undefined.
    Windows1250,
    /// windows-1251, Cyrillic (ANSI); 0x98 is undefined.
    Windows1251,
    /// windows-1252, Western Europe (ANSI); 0x81, 0x8D, 0x8F, 0x90 and 0x9D
    /// are undefined.
    Windows1252,
}

/// A configuration string that names no supported code page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown code page {0:?} (expected e.g. CP850, 437, IBM866 or windows-1252)")]
pub struct UnknownCodePage(pub String);

/// Where a code page's upper half (0x80–0xFF) comes from.
#[derive(Clone, Copy)]
enum Table {
    /// `oem_cp` table with a character for every byte.
    Complete(&'static [char; 128], &'static OEMCPHashMap<char, u8>),
    /// `oem_cp` table with undefined bytes.
    Incomplete(
        &'static [Option<char>; 128],
        &'static OEMCPHashMap<char, u8>,
    ),
    /// `encoding_rs` single-byte encoding, upper half derived once at first use.
    Windows(&'static [Option<char>; 128]),
}

/// The upper half of an `encoding_rs` single-byte encoding, with the WHATWG
/// C1 fill-ins (and anything `encoding_rs` rejects) left undefined.
fn windows_half(
    cell: &'static OnceLock<[Option<char>; 128]>,
    encoding: &'static encoding_rs::Encoding,
) -> &'static [Option<char>; 128] {
    cell.get_or_init(|| {
        let mut half = [None; 128];
        for (byte, slot) in (0x80u8..=0xFF).zip(half.iter_mut()) {
            let one = [byte];
            let (text, had_errors) = encoding.decode_without_bom_handling(&one);
            let mut chars = text.chars();
            if let (false, Some(c), None) = (had_errors, chars.next(), chars.next())
                && !('\u{80}'..='\u{9F}').contains(&c)
            {
                *slot = Some(c);
            }
        }
        half
    })
}

static WINDOWS_1250: OnceLock<[Option<char>; 128]> = OnceLock::new();
static WINDOWS_1251: OnceLock<[Option<char>; 128]> = OnceLock::new();
static WINDOWS_1252: OnceLock<[Option<char>; 128]> = OnceLock::new();

impl CodePage {
    /// Every supported code page, OEM pages first, in numeric order.
    pub const ALL: [CodePage; 21] = [
        CodePage::Cp437,
        CodePage::Cp720,
        CodePage::Cp737,
        CodePage::Cp775,
        CodePage::Cp850,
        CodePage::Cp852,
        CodePage::Cp855,
        CodePage::Cp857,
        CodePage::Cp858,
        CodePage::Cp860,
        CodePage::Cp861,
        CodePage::Cp862,
        CodePage::Cp863,
        CodePage::Cp864,
        CodePage::Cp865,
        CodePage::Cp866,
        CodePage::Cp869,
        CodePage::Cp874,
        CodePage::Windows1250,
        CodePage::Windows1251,
        CodePage::Windows1252,
    ];

    /// The code page number (850 for CP850, 1252 for windows-1252).
    pub const fn number(self) -> u16 {
        match self {
            CodePage::Cp437 => 437,
            CodePage::Cp720 => 720,
            CodePage::Cp737 => 737,
            CodePage::Cp775 => 775,
            CodePage::Cp850 => 850,
            CodePage::Cp852 => 852,
            CodePage::Cp855 => 855,
            CodePage::Cp857 => 857,
            CodePage::Cp858 => 858,
            CodePage::Cp860 => 860,
            CodePage::Cp861 => 861,
            CodePage::Cp862 => 862,
            CodePage::Cp863 => 863,
            CodePage::Cp864 => 864,
            CodePage::Cp865 => 865,
            CodePage::Cp866 => 866,
            CodePage::Cp869 => 869,
            CodePage::Cp874 => 874,
            CodePage::Windows1250 => 1250,
            CodePage::Windows1251 => 1251,
            CodePage::Windows1252 => 1252,
        }
    }

    /// The code page with this number, if supported.
    pub fn from_number(number: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|cp| cp.number() == number)
    }

    /// Whether this is a DOS/OEM code page (the kind the wire carries), as
    /// opposed to a Windows ANSI page.
    pub const fn is_oem(self) -> bool {
        !matches!(
            self,
            CodePage::Windows1250 | CodePage::Windows1251 | CodePage::Windows1252
        )
    }

    /// Whether every byte 0x00–0xFF has a character, so that decoding is
    /// never lossy and encoding the decoded text gives the bytes back.
    pub fn is_total(self) -> bool {
        match self.table() {
            Table::Complete(..) => true,
            Table::Incomplete(half, _) | Table::Windows(half) => half.iter().all(Option::is_some),
        }
    }

    fn table(self) -> Table {
        use Table::{Complete, Incomplete, Windows};
        match self {
            CodePage::Cp437 => Complete(&oem::DECODING_TABLE_CP437, &oem::ENCODING_TABLE_CP437),
            CodePage::Cp720 => Complete(&oem::DECODING_TABLE_CP720, &oem::ENCODING_TABLE_CP720),
            CodePage::Cp737 => Complete(&oem::DECODING_TABLE_CP737, &oem::ENCODING_TABLE_CP737),
            CodePage::Cp775 => Complete(&oem::DECODING_TABLE_CP775, &oem::ENCODING_TABLE_CP775),
            CodePage::Cp850 => Complete(&oem::DECODING_TABLE_CP850, &oem::ENCODING_TABLE_CP850),
            CodePage::Cp852 => Complete(&oem::DECODING_TABLE_CP852, &oem::ENCODING_TABLE_CP852),
            CodePage::Cp855 => Complete(&oem::DECODING_TABLE_CP855, &oem::ENCODING_TABLE_CP855),
            CodePage::Cp857 => Incomplete(&oem::DECODING_TABLE_CP857, &oem::ENCODING_TABLE_CP857),
            CodePage::Cp858 => Complete(&oem::DECODING_TABLE_CP858, &oem::ENCODING_TABLE_CP858),
            CodePage::Cp860 => Complete(&oem::DECODING_TABLE_CP860, &oem::ENCODING_TABLE_CP860),
            CodePage::Cp861 => Complete(&oem::DECODING_TABLE_CP861, &oem::ENCODING_TABLE_CP861),
            CodePage::Cp862 => Complete(&oem::DECODING_TABLE_CP862, &oem::ENCODING_TABLE_CP862),
            CodePage::Cp863 => Complete(&oem::DECODING_TABLE_CP863, &oem::ENCODING_TABLE_CP863),
            CodePage::Cp864 => Incomplete(&oem::DECODING_TABLE_CP864, &oem::ENCODING_TABLE_CP864),
            CodePage::Cp865 => Complete(&oem::DECODING_TABLE_CP865, &oem::ENCODING_TABLE_CP865),
            CodePage::Cp866 => Complete(&oem::DECODING_TABLE_CP866, &oem::ENCODING_TABLE_CP866),
            CodePage::Cp869 => Complete(&oem::DECODING_TABLE_CP869, &oem::ENCODING_TABLE_CP869),
            CodePage::Cp874 => Incomplete(&oem::DECODING_TABLE_CP874, &oem::ENCODING_TABLE_CP874),
            CodePage::Windows1250 => {
                Windows(windows_half(&WINDOWS_1250, encoding_rs::WINDOWS_1250))
            }
            CodePage::Windows1251 => {
                Windows(windows_half(&WINDOWS_1251, encoding_rs::WINDOWS_1251))
            }
            CodePage::Windows1252 => {
                Windows(windows_half(&WINDOWS_1252, encoding_rs::WINDOWS_1252))
            }
        }
    }

    /// A decoder for one byte at a time, with the table looked up once.
    pub(crate) fn byte_decoder(self) -> impl Fn(u8) -> Option<char> {
        let table = self.table();
        move |byte| {
            let Some(high) = byte.checked_sub(0x80) else {
                return Some(char::from(byte));
            };
            let i = usize::from(high);
            match table {
                Table::Complete(half, _) => half.get(i).copied(),
                Table::Incomplete(half, _) | Table::Windows(half) => half.get(i).copied().flatten(),
            }
        }
    }

    /// The character of one byte, or `None` where the code page leaves the
    /// byte undefined. Bytes below 0x80 are ASCII.
    pub fn decode_byte(self, byte: u8) -> Option<char> {
        self.byte_decoder()(byte)
    }

    /// The byte of one character, or `None` if the code page lacks it.
    pub fn encode_char(self, c: char) -> Option<u8> {
        if c.is_ascii() {
            return u8::try_from(c).ok();
        }
        match self.table() {
            Table::Complete(_, map) | Table::Incomplete(_, map) => {
                oem_cp::encode_char_checked(c, map)
            }
            Table::Windows(half) => half
                .iter()
                .position(|&d| d == Some(c))
                .and_then(|i| u8::try_from(i + 0x80).ok()),
        }
    }
}

impl fmt::Display for CodePage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_oem() {
            write!(f, "CP{}", self.number())
        } else {
            write!(f, "windows-{}", self.number())
        }
    }
}

impl FromStr for CodePage {
    type Err = UnknownCodePage;

    /// Accepts, ignoring case and surrounding blanks: a bare number (`850`),
    /// `CP850`, `CP-850`, `IBM850`, `IBM-850`, `DOS-850`, `OEM850` for OEM
    /// pages, and `windows-1252`, `CP1252` or `1252` for Windows pages.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownCodePage(s.to_owned());
        let lower = s.trim().to_ascii_lowercase();
        let prefixes: [(&str, Option<bool>); 9] = [
            ("windows-", Some(false)),
            ("windows", Some(false)),
            ("ibm-", Some(true)),
            ("ibm", Some(true)),
            ("dos-", Some(true)),
            ("oem-", Some(true)),
            ("oem", Some(true)),
            ("cp-", None),
            ("cp", None),
        ];
        let (digits, want_oem) = prefixes
            .iter()
            .find_map(|&(p, oem)| lower.strip_prefix(p).map(|rest| (rest, oem)))
            .unwrap_or((lower.as_str(), None));
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(unknown());
        }
        let cp = digits
            .parse()
            .ok()
            .and_then(CodePage::from_number)
            .ok_or_else(unknown)?;
        match want_oem {
            Some(oem) if oem != cp.is_oem() => Err(unknown()),
            _ => Ok(cp),
        }
    }
}
