//! NetBIOS names: the 16-byte name, its first-level encoding, scope, and
//! label compression (RFC 1001 §14, RFC 1002 §4.1, [MS-NBTE] §2.2.1).
//!
//! A [`NetbiosName`] is exactly 16 bytes: 15 bytes of name, space-padded,
//! then one suffix byte naming the service (`0x03` is the Messenger). On the
//! wire each byte becomes two letters `'A' + nibble` (first-level encoding),
//! the 32 letters form one DNS-style label, and the labels of the NetBIOS scope
//! follow, ended by a zero byte ([`EncodedName`]). Only NBNS may replace labels
//! by a compression pointer (`0xC0 | hi6, lo8`), which decoders follow
//! backwards only, with a hop limit.
//!
//! Names are compared byte-wise on the wire; Windows and Samba upper-case
//! before sending, and [`NetbiosName::new`] does the same. Receivers compare
//! with [`NetbiosName::eq_ignore_case`].

use core::fmt;
use core::str::FromStr;

use super::codec::Writer;
use super::{Error, Result};

/// Bytes in a NetBIOS name, suffix included.
pub const NAME_LEN: usize = 16;
/// Bytes of the name part (before the suffix).
pub const NAME_CHARS: usize = 15;
/// Bytes of a first-level encoded name.
pub const ENCODED_LEN: usize = 32;
/// Bytes of an encoded name with an empty scope: `0x20`, 32 letters, `0x00`.
pub const ENCODED_NAME_LEN: usize = 34;
/// Longest encoded name, scope included (the DNS limit RFC 1002 inherits).
pub const MAX_ENCODED_NAME_LEN: usize = 255;
/// Longest scope label.
pub const MAX_LABEL_LEN: usize = 63;
/// Compression pointers followed before a name is declared malformed.
pub const MAX_POINTER_HOPS: usize = 8;

/// Well-known 16th bytes ([MS-NBTE] endnote <2>, Samba's nmbd).
pub mod suffix {
    /// Workstation service (unique), or workgroup membership (group).
    pub const WORKSTATION: u8 = 0x00;
    /// The Messenger service: every name that accepts messages.
    pub const MESSENGER: u8 = 0x03;
    /// Server service (file sharing; smbd's name).
    pub const SERVER: u8 = 0x20;
    /// Domain master browser.
    pub const DOMAIN_MASTER_BROWSER: u8 = 0x1B;
    /// Domain controllers (group).
    pub const DOMAIN_CONTROLLERS: u8 = 0x1C;
    /// Local master browser of the subnet.
    pub const MASTER_BROWSER: u8 = 0x1D;
    /// Browser election participants (group).
    pub const BROWSER_ELECTION: u8 = 0x1E;
}

/// A 16-byte NetBIOS name: 15 bytes of space-padded name and a suffix byte.
///
/// The bytes are kept exactly as they are on the wire (they need not be text:
/// `\x01\x02__MSBROWSE__\x02<01>` is a valid name).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NetbiosName([u8; NAME_LEN]);

impl NetbiosName {
    /// The wildcard `*<00>`: `*` followed by fifteen **NUL** bytes, the question
    /// name of a node-status request.
    pub const WILDCARD: Self = {
        let mut b = [0u8; NAME_LEN];
        b[0] = b'*';
        Self(b)
    };

    /// A name from its 16 raw bytes, as found on the wire.
    pub const fn from_raw(bytes: [u8; NAME_LEN]) -> Self {
        Self(bytes)
    }

    /// A name from up to 15 bytes and a suffix. ASCII letters are
    /// upper-cased, the rest is padded with spaces.
    ///
    /// Fails on an empty name, one longer than 15 bytes, and one starting
    /// with `*` (only [`NetbiosName::WILDCARD`] may, [MS-NBTE] §2.2.1).
    pub fn new(name: &[u8], suffix: u8) -> Result<Self> {
        if name.is_empty() {
            return Err(Error::Malformed("empty NetBIOS name"));
        }
        if name.len() > NAME_CHARS {
            return Err(Error::TooLong("NetBIOS name (15 bytes at most)"));
        }
        if name[0] == b'*' {
            return Err(Error::Malformed("NetBIOS name starting with '*'"));
        }
        Ok(Self::truncated(name, suffix))
    }

    /// Like [`NetbiosName::new`], but cuts a long name to 15 bytes instead of
    /// failing, as [MS-MSRP] §3.1.4.6 does.
    pub fn truncated(name: &[u8], suffix: u8) -> Self {
        let mut b = [b' '; NAME_LEN];
        for (dst, src) in b[..NAME_CHARS].iter_mut().zip(name) {
            *dst = src.to_ascii_uppercase();
        }
        b[NAME_CHARS] = suffix;
        Self(b)
    }

    /// The 16 bytes as on the wire.
    pub const fn as_bytes(&self) -> &[u8; NAME_LEN] {
        &self.0
    }

    /// The 16th byte.
    pub const fn suffix(&self) -> u8 {
        self.0[NAME_CHARS]
    }

    /// The same name with another suffix.
    pub const fn with_suffix(mut self, suffix: u8) -> Self {
        self.0[NAME_CHARS] = suffix;
        self
    }

    /// The name part without its padding (trailing spaces, or the NULs of the
    /// wildcard).
    pub fn name(&self) -> &[u8] {
        let n = &self.0[..NAME_CHARS];
        let end = n
            .iter()
            .rposition(|&c| c != b' ' && c != 0)
            .map_or(0, |i| i + 1);
        &n[..end]
    }

    /// `true` for `*<00>` with NUL padding.
    pub fn is_wildcard(&self) -> bool {
        *self == Self::WILDCARD
    }

    /// Compares the first 15 bytes ASCII-case-insensitively and the suffix
    /// exactly: how a receiver matches a called name against its own.
    pub fn eq_ignore_case(&self, other: &Self) -> bool {
        self.0[..NAME_CHARS].eq_ignore_ascii_case(&other.0[..NAME_CHARS])
            && self.suffix() == other.suffix()
    }

    /// First-level encoding: each byte as two letters `'A' + nibble`.
    pub fn encode(&self) -> [u8; ENCODED_LEN] {
        let mut out = [0u8; ENCODED_LEN];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = b'A' + (b >> 4);
            out[2 * i + 1] = b'A' + (b & 0x0F);
        }
        out
    }

    /// Reverses [`NetbiosName::encode`]. Fails unless `label` is 32 bytes of
    /// `A`..=`P`.
    pub fn decode(label: &[u8]) -> Result<Self> {
        if label.len() != ENCODED_LEN {
            return Err(Error::Malformed("first-level name label is not 32 bytes"));
        }
        let mut b = [0u8; NAME_LEN];
        for (dst, pair) in b.iter_mut().zip(label.chunks_exact(2)) {
            let hi = pair[0].wrapping_sub(b'A');
            let lo = pair[1].wrapping_sub(b'A');
            if hi > 0x0F || lo > 0x0F {
                return Err(Error::Malformed("first-level name byte outside 'A'..='P'"));
            }
            *dst = (hi << 4) | lo;
        }
        Ok(Self(b))
    }
}

impl fmt::Display for NetbiosName {
    /// `NAME<xx>`, with non-printable bytes of the name as `\xNN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &c in self.name() {
            if c.is_ascii_graphic() || c == b' ' {
                write!(f, "{}", c as char)?;
            } else {
                write!(f, "\\x{c:02X}")?;
            }
        }
        write!(f, "<{:02X}>", self.suffix())
    }
}

impl fmt::Debug for NetbiosName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NetbiosName({self})")
    }
}

impl FromStr for NetbiosName {
    type Err = Error;

    /// Parses `NAME`, `NAME#xx` (as nmblookup writes it) or `NAME<xx>`, with
    /// `xx` in hex; without a suffix the suffix is `0x00`, as in nmblookup.
    /// `*` alone is the wildcard.
    fn from_str(s: &str) -> Result<Self> {
        let (name, sfx) = if let Some((n, x)) = s.rsplit_once('#') {
            (n, Some(x))
        } else if let Some(n) = s.strip_suffix('>') {
            match n.rsplit_once('<') {
                Some((n, x)) => (n, Some(x)),
                None => return Err(Error::Malformed("'>' without '<' in NetBIOS name")),
            }
        } else {
            (s, None)
        };
        let suffix = match sfx {
            Some(x) if !x.is_empty() && x.len() <= 2 => u8::from_str_radix(x, 16)
                .map_err(|_| Error::Malformed("NetBIOS suffix is not hex"))?,
            Some(_) => {
                return Err(Error::Malformed(
                    "NetBIOS suffix is not one or two hex digits",
                ));
            }
            None => suffix::WORKSTATION,
        };
        if name == "*" {
            return Ok(Self::WILDCARD.with_suffix(suffix));
        }
        Self::new(name.as_bytes(), suffix)
    }
}

/// A NetBIOS scope in wire form: length-prefixed labels, without the final
/// zero byte. Empty on almost every LAN.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scope<'a>(&'a [u8]);

impl<'a> Scope<'a> {
    /// No scope.
    pub const EMPTY: Scope<'static> = Scope(&[]);

    /// A scope from its wire labels (each `len` 1..=63 followed by the bytes).
    pub fn from_labels(labels: &'a [u8]) -> Result<Self> {
        let mut rest = labels;
        while let Some((&len, tail)) = rest.split_first() {
            let len = usize::from(len);
            if len == 0 || len > MAX_LABEL_LEN {
                return Err(Error::Malformed("scope label length outside 1..=63"));
            }
            rest = tail
                .get(len..)
                .ok_or(Error::Malformed("scope label runs past its end"))?;
        }
        if labels.len() > MAX_ENCODED_NAME_LEN - ENCODED_NAME_LEN {
            return Err(Error::TooLong("NetBIOS scope"));
        }
        Ok(Self(labels))
    }

    /// The labels in wire form.
    pub const fn as_wire(&self) -> &'a [u8] {
        self.0
    }

    /// `true` when there is no scope.
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the labels.
    pub fn labels(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut rest = self.0;
        core::iter::from_fn(move || {
            let (&len, tail) = rest.split_first()?;
            let (label, next) = tail.split_at_checked(usize::from(len))?;
            rest = next;
            Some(label)
        })
    }

    /// Whether two scopes are the same, comparing labels ASCII-case-insensitively
    /// (whether peers do so is open: interop note U1).
    pub fn eq_ignore_case(&self, other: &Scope<'_>) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl fmt::Display for Scope<'_> {
    /// The dotted form, e.g. `corp.example`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(&String::from_utf8_lossy(label))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Scope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({self})")
    }
}

/// Converts a dotted scope (`corp.example`) into wire labels for [`Scope::from_labels`].
pub fn scope_labels(dotted: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(dotted.len() + 1);
    if dotted.is_empty() {
        return Ok(out);
    }
    for label in dotted.split('.') {
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err(Error::Malformed("scope label length outside 1..=63"));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    Scope::from_labels(&out)?;
    Ok(out)
}

/// A name as carried on the wire: the NetBIOS name plus its scope.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct EncodedName<'a> {
    /// The 16-byte name.
    pub name: NetbiosName,
    /// The scope it lives in.
    pub scope: Scope<'a>,
}

impl<'a> EncodedName<'a> {
    /// A name in the empty scope.
    pub const fn new(name: NetbiosName) -> EncodedName<'static> {
        EncodedName {
            name,
            scope: Scope::EMPTY,
        }
    }

    /// Parses the encoded name that starts at `pos` in `packet`.
    ///
    /// With `allow_pointers` (NBNS only) compression pointers are followed;
    /// each must point before itself, at most [`MAX_POINTER_HOPS`] are
    /// followed, and a scope may not be split across a pointer. Returns the
    /// name and the offset just after it in the original position's stream
    /// (after the first pointer, if there was one).
    pub fn parse(packet: &'a [u8], pos: usize, allow_pointers: bool) -> Result<(Self, usize)> {
        let have = packet.len();
        let byte = |at: usize| {
            packet
                .get(at)
                .copied()
                .ok_or(Error::Truncated { need: at + 1, have })
        };
        let mut cur = pos;
        let mut end = None;
        let mut hops = 0;
        let mut name = None;
        let mut scope_start = 0;
        loop {
            let len = byte(cur)?;
            match len & 0xC0 {
                0xC0 => {
                    if !allow_pointers {
                        return Err(Error::Malformed("compression pointer outside NBNS"));
                    }
                    let target = usize::from(len & 0x3F) << 8 | usize::from(byte(cur + 1)?);
                    if target >= cur {
                        return Err(Error::Malformed(
                            "compression pointer does not point backwards",
                        ));
                    }
                    hops += 1;
                    if hops > MAX_POINTER_HOPS {
                        return Err(Error::Malformed("too many compression pointers"));
                    }
                    if name.is_some() && cur != scope_start {
                        return Err(Error::Unsupported("scope split by a compression pointer"));
                    }
                    end.get_or_insert(cur + 2);
                    cur = target;
                    scope_start = target;
                    continue;
                }
                0x40 | 0x80 => return Err(Error::Malformed("reserved label type")),
                _ => {}
            }
            if len == 0 {
                let name = name.ok_or(Error::Malformed("empty name (zero-length first label)"))?;
                let scope = Scope::from_labels(&packet[scope_start..cur])?;
                let end = end.unwrap_or(cur + 1);
                return Ok((EncodedName { name, scope }, end));
            }
            let len = usize::from(len);
            let label = packet.get(cur + 1..cur + 1 + len).ok_or(Error::Truncated {
                need: cur + 1 + len,
                have,
            })?;
            if name.is_none() {
                name = Some(NetbiosName::decode(label)?);
                scope_start = cur + 1 + len;
            } else if cur + 1 + len - scope_start > MAX_ENCODED_NAME_LEN - ENCODED_NAME_LEN {
                return Err(Error::TooLong("NetBIOS scope"));
            }
            cur += 1 + len;
        }
    }

    /// Parses a name that must sit at the start of `buf` without pointers
    /// (NBDGM, NBSS). Returns the name and its length in bytes.
    pub fn parse_plain(buf: &'a [u8]) -> Result<(Self, usize)> {
        Self::parse(buf, 0, false)
    }

    /// Bytes [`EncodedName::emit`] writes: `1 + 32 + scope + 1`.
    pub const fn buffer_len(&self) -> usize {
        1 + ENCODED_LEN + self.scope.0.len() + 1
    }

    /// Writes the full (uncompressed) name.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u8(ENCODED_LEN as u8)?;
        w.bytes(&self.name.encode())?;
        w.bytes(self.scope.0)?;
        w.u8(0)
    }
}

impl fmt::Display for EncodedName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scope.is_empty() {
            write!(f, "{}", self.name)
        } else {
            write!(f, "{}.{}", self.name, self.scope)
        }
    }
}

#[cfg(test)]
mod tests;
