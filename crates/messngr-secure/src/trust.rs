//! Trust pins: which Ed25519 key each host name is known by, and their text formats.
//!
//! Two sets of pins decide whether a peer's key is accepted (docs/native.md, "Trust"): the
//! daemon's own (`state_dir/trust`, learnt on first use or added by hand) and the admin's
//! read-only trust file, which wins. This module is pure data and text; the daemon reads and
//! writes the files.

use std::collections::BTreeMap;
use std::fmt;

use crate::keys::PublicKey;

/// A pins text could not be read; says which line and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error("line {line}: {what}")]
    Line { line: usize, what: String },
    #[error(
        "{0:?} is not a host name: a NetBIOS name is 1 to 15 printable ASCII characters without spaces (and not starting with #)"
    )]
    BadName(String),
}

/// How a pin was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinSource {
    /// Learnt at first contact (trust on first use).
    Tofu,
    /// Added by `messngr trust add`.
    Manual,
    /// From the admin's trust file.
    File,
}

impl PinSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PinSource::Tofu => "tofu",
            PinSource::Manual => "manual",
            PinSource::File => "file",
        }
    }
}

impl fmt::Display for PinSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PinSource {
    type Err = String;

    fn from_str(s: &str) -> Result<PinSource, String> {
        match s {
            "tofu" => Ok(PinSource::Tofu),
            "manual" => Ok(PinSource::Manual),
            "file" => Ok(PinSource::File),
            _ => Err(format!("{s:?} is not a pin source (tofu, manual or file)")),
        }
    }
}

/// One host's pinned key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The host's NetBIOS name, upper case (see [`Pin::new`]).
    pub name: String,
    pub key: PublicKey,
    pub source: PinSource,
    /// When the key was first seen or added (Unix milliseconds; 0 for trust-file pins).
    pub first_seen_ms: i64,
}

impl Pin {
    /// A pin with a checked, upper-cased name.
    pub fn new(
        name: &str,
        key: PublicKey,
        source: PinSource,
        first_seen_ms: i64,
    ) -> Result<Pin, TrustError> {
        Ok(Pin {
            name: host_name(name)?,
            key,
            source,
            first_seen_ms,
        })
    }
}

/// The pin key for a host name: checked (1-15 bytes of printable ASCII, no spaces, not
/// starting with `#`) and upper-cased.
pub fn host_name(name: &str) -> Result<String, TrustError> {
    let ok = (1..=15).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_graphic())
        && !name.starts_with('#');
    if ok {
        Ok(name.to_ascii_uppercase())
    } else {
        Err(TrustError::BadName(name.to_string()))
    }
}

/// Pins by host name (upper case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pins {
    by_name: BTreeMap<String, Pin>,
}

fn line_err(line: usize, what: impl Into<String>) -> TrustError {
    TrustError::Line {
        line,
        what: what.into(),
    }
}

/// Splits a line into fields; `None` for blank and comment lines. A field starting with `#`
/// after the first starts a comment.
fn fields(line: &str) -> Option<Vec<&str>> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    Some(
        trimmed
            .split_whitespace()
            .take_while(|f| !f.starts_with('#'))
            .collect(),
    )
}

fn parse_name_key(no: usize, name: &str, key: &str) -> Result<(String, PublicKey), TrustError> {
    let name = host_name(name).map_err(|e| line_err(no, e.to_string()))?;
    let key = key
        .parse::<PublicKey>()
        .map_err(|e| line_err(no, e.to_string()))?;
    Ok((name, key))
}

impl Pins {
    pub fn new() -> Pins {
        Pins::default()
    }

    /// The daemon's own pins: lines `NAME ed25519:HEX SOURCE FIRST_SEEN_MS`.
    pub fn parse_state(text: &str) -> Result<Pins, TrustError> {
        let mut pins = Pins::new();
        for (i, line) in text.lines().enumerate() {
            let no = i + 1;
            let Some(f) = fields(line) else { continue };
            let [name, key, source, ms] = f[..] else {
                return Err(line_err(
                    no,
                    format!(
                        "expected `NAME ed25519:HEX SOURCE FIRST_SEEN_MS`, found {} fields; fix or remove the line",
                        f.len()
                    ),
                ));
            };
            let (name, key) = parse_name_key(no, name, key)?;
            let source = source.parse::<PinSource>().map_err(|e| line_err(no, e))?;
            let first_seen_ms = ms.parse::<i64>().map_err(|_| {
                line_err(
                    no,
                    format!("{ms:?} is not a time in milliseconds; fix or remove the line"),
                )
            })?;
            pins.add_unique(
                no,
                Pin {
                    name,
                    key,
                    source,
                    first_seen_ms,
                },
            )?;
        }
        Ok(pins)
    }

    /// The text `parse_state` reads, one line per pin, sorted by name.
    pub fn to_state(&self) -> String {
        let mut out = String::new();
        for pin in self.iter() {
            out.push_str(&format!(
                "{} {} {} {}\n",
                pin.name, pin.key, pin.source, pin.first_seen_ms
            ));
        }
        out
    }

    /// The admin's trust file: lines `NAME ed25519:HEX`, `#` comments.
    pub fn parse_trust_file(text: &str) -> Result<Pins, TrustError> {
        let mut pins = Pins::new();
        for (i, line) in text.lines().enumerate() {
            let no = i + 1;
            let Some(f) = fields(line) else { continue };
            let [name, key] = f[..] else {
                return Err(line_err(
                    no,
                    format!(
                        "expected `NAME ed25519:HEX` (and maybe a # comment), found {} fields; fix the line or make it a comment",
                        f.len()
                    ),
                ));
            };
            let (name, key) = parse_name_key(no, name, key)?;
            pins.add_unique(
                no,
                Pin {
                    name,
                    key,
                    source: PinSource::File,
                    first_seen_ms: 0,
                },
            )?;
        }
        Ok(pins)
    }

    /// The trust-file format, a comment line with each pin's fingerprint above it.
    pub fn export(&self) -> String {
        let mut out = String::from("# messngr trust file: NAME ed25519:KEY, one host per line\n");
        for pin in self.iter() {
            out.push_str(&format!(
                "# {} fingerprint {} ({})\n{} {}\n",
                pin.name,
                pin.key.fingerprint(),
                pin.source,
                pin.name,
                pin.key
            ));
        }
        out
    }

    /// A name listed twice with the same key is harmless; with two keys it is an error.
    fn add_unique(&mut self, no: usize, pin: Pin) -> Result<(), TrustError> {
        if let Some(old) = self.by_name.get(&pin.name) {
            if old.key != pin.key {
                return Err(line_err(
                    no,
                    format!(
                        "{} is pinned a second time with another key ({} earlier, {} here); keep one of the lines",
                        pin.name,
                        old.key.fingerprint(),
                        pin.key.fingerprint()
                    ),
                ));
            }
            return Ok(());
        }
        self.by_name.insert(pin.name.clone(), pin);
        Ok(())
    }

    /// The pin for `name` (any case).
    pub fn get(&self, name: &str) -> Option<&Pin> {
        self.by_name.get(&name.to_ascii_uppercase())
    }

    /// Adds or replaces a pin (its name upper-cased); returns the one it replaced. Make pins
    /// with [`Pin::new`] so the name is a valid one and the text formats round-trip.
    pub fn insert(&mut self, mut pin: Pin) -> Option<Pin> {
        pin.name.make_ascii_uppercase();
        self.by_name.insert(pin.name.clone(), pin)
    }

    pub fn remove(&mut self, name: &str) -> Option<Pin> {
        self.by_name.remove(&name.to_ascii_uppercase())
    }

    /// The pins in name order.
    pub fn iter(&self) -> impl Iterator<Item = &Pin> {
        self.by_name.values()
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// What the pins say about a host presenting a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The key is the pinned one.
    Pinned,
    /// No pin for this host (pin it under TOFU, refuse under `trust = "file"`).
    Unknown,
    /// Another key is pinned: refuse (REASON 6).
    Changed { pinned: PublicKey },
}

/// Checks `key` for host `name` against the admin's pins, then the daemon's own; the admin's
/// pin wins when both have one.
pub fn check(admin: &Pins, own: &Pins, name: &str, key: &PublicKey) -> Verdict {
    match admin.get(name).or_else(|| own.get(name)) {
        None => Verdict::Unknown,
        Some(pin) if pin.key == *key => Verdict::Pinned,
        Some(pin) => Verdict::Changed { pinned: pin.key },
    }
}

#[cfg(test)]
mod tests;
