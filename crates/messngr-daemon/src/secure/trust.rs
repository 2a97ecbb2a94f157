//! The pins: which key each messngr host must show, and what happens when
//! one shows another.
//!
//! Why in the daemon and not in `messngr-secure`: the crate knows the
//! formats and the verdict; this file owns the state — the admin's trust
//! file (read at start, it wins), the daemon's own pins in
//! `state_dir/trust` (rewritten atomically on every change), trust on first
//! use or not, and the record of refused key changes that `messngr status`
//! shows until an admin acts.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use messngr_secure::{Pin, PinSource, Pins, PublicKey, Verdict};

use crate::config::TrustMode;

/// Why a host's key was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Untrusted {
    /// The host showed another key than its pin.
    #[error(
        "{name}'s key changed: pinned {pinned}, offered {offered}; if the change is expected, confirm the new fingerprint with {name}'s admin and run `messngr trust remove {name}` (or `messngr trust add {name} KEY`)"
    )]
    Changed {
        /// The host.
        name: String,
        /// The pin's fingerprint.
        pinned: String,
        /// The offered key's fingerprint.
        offered: String,
    },
    /// A peer named itself as this host (its name or an alias): no key
    /// from the network is ever pinned or believed under those.
    #[error("{name} is this host's own name: no other host may use it")]
    OurName {
        /// The name.
        name: String,
    },
    /// Trust on first use has pinned as many hosts as it may.
    #[error(
        "{max} hosts are pinned already: {name} is not pinned; `messngr trust list`, and remove stale pins"
    )]
    TooMany {
        /// The host.
        name: String,
        /// The cap.
        max: usize,
    },
    /// `trust = "file"` and the host has no pin.
    #[error(
        "{name} is not in the trust file (trust = \"file\"): its fingerprint is {offered}; to trust it run `messngr trust add {name} {key}`"
    )]
    Unknown {
        /// The host.
        name: String,
        /// The offered key's fingerprint.
        offered: String,
        /// The offered key.
        key: String,
    },
}

/// A refused key change, kept for `messngr status`.
#[derive(Debug, Clone)]
pub(crate) struct KeyChange {
    pub(crate) pinned: String,
    pub(crate) offered: String,
    pub(crate) address: String,
    pub(crate) count: u64,
    pub(crate) last_ms: i64,
}

/// The pins in force.
pub(crate) struct Trust {
    mode: TrustMode,
    admin: Pins,
    own: Mutex<Pins>,
    path: PathBuf,
    changes: Mutex<BTreeMap<String, KeyChange>>,
    /// This host's own names (upper case): never pinned, never believed.
    reserved: std::sync::RwLock<Vec<String>>,
}

/// The most hosts trust on first use pins (a pin is a line in a file and
/// an entry in memory; a host may name itself anything).
pub(crate) const MAX_TOFU_PINS: usize = 4096;

/// Why the pins could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TrustError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: messngr_secure::TrustError,
    },
}

use messngr_store::clock::now_ms;

fn read_optional(path: &Path) -> Result<Option<String>, TrustError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TrustError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

impl Trust {
    /// Loads the admin's `trust_file` (when it exists) and the daemon's own
    /// pins from `state_dir/trust`.
    pub(crate) fn load(
        mode: TrustMode,
        trust_file: &Path,
        state_dir: &Path,
    ) -> Result<Trust, TrustError> {
        type Parser = fn(&str) -> Result<Pins, messngr_secure::TrustError>;
        let parse = |path: &Path, text: Option<String>, f: Parser| match text {
            None => Ok(Pins::default()),
            Some(t) => f(&t).map_err(|source| TrustError::Parse {
                path: path.to_owned(),
                source,
            }),
        };
        let admin = parse(
            trust_file,
            read_optional(trust_file)?,
            Pins::parse_trust_file,
        )?;
        let path = state_dir.join("trust");
        let own = parse(&path, read_optional(&path)?, Pins::parse_state)?;
        Ok(Trust {
            mode,
            admin,
            own: Mutex::new(own),
            path,
            changes: Mutex::new(BTreeMap::new()),
            reserved: std::sync::RwLock::default(),
        })
    }

    /// These pins, refusing `names` (this host's own) from any peer.
    pub(crate) fn reserving(mut self, names: impl IntoIterator<Item = String>) -> Trust {
        self.reserved =
            std::sync::RwLock::new(names.into_iter().map(|n| n.to_ascii_uppercase()).collect());
        self
    }

    /// Reserves one more name of this host's (an alias claimed at run time:
    /// `messngr name add`, a reload). Never released before a restart: a
    /// peer may not take a name this host held a moment ago.
    pub(crate) fn reserve(&self, name: &str) {
        let name = name.trim().to_ascii_uppercase();
        if let Ok(mut r) = self.reserved.write()
            && !r.contains(&name)
        {
            r.push(name);
        }
    }

    /// Whether `name` is one of this host's own.
    pub(crate) fn is_ours(&self, name: &str) -> bool {
        let name = name.trim().to_ascii_uppercase();
        self.reserved.read().map_or(true, |r| r.contains(&name))
    }

    /// Accepts `key` for host `name` seen at `from`: pinned already, or
    /// pinned now (trust on first use); a changed or (with `trust =
    /// "file"`) unknown key is refused, logged and remembered.
    pub(crate) fn admit(
        &self,
        name: &str,
        key: &PublicKey,
        from: SocketAddr,
    ) -> Result<(), Untrusted> {
        let name = name.to_ascii_uppercase();
        if self.is_ours(&name) {
            tracing::warn!(
                "refused a host at {from} that calls itself {name}, this host's own name"
            );
            return Err(Untrusted::OurName { name });
        }
        let mut own = self.own.lock().unwrap_or_else(|p| p.into_inner());
        match messngr_secure::check(&self.admin, &own, &name, key) {
            Verdict::Pinned => Ok(()),
            Verdict::Unknown if self.mode == TrustMode::Tofu && own.len() >= MAX_TOFU_PINS => {
                let e = Untrusted::TooMany {
                    name,
                    max: MAX_TOFU_PINS,
                };
                tracing::warn!("refused a new host at {from}: {e}");
                Err(e)
            }
            Verdict::Unknown if self.mode == TrustMode::Tofu => {
                let Ok(pin) = Pin::new(&name, *key, PinSource::Tofu, now_ms()) else {
                    return Err(Untrusted::Unknown {
                        name: name.clone(),
                        offered: key.fingerprint().to_string(),
                        key: key.to_string(),
                    });
                };
                own.insert(pin);
                tracing::info!(
                    "pinned {name}'s key {} at first contact from {from} (trust on first use)",
                    key.fingerprint()
                );
                self.save(&own);
                Ok(())
            }
            Verdict::Unknown => {
                let e = Untrusted::Unknown {
                    name: name.clone(),
                    offered: key.fingerprint().to_string(),
                    key: key.to_string(),
                };
                tracing::warn!("refused {name} from {from}: {e}");
                Err(e)
            }
            Verdict::Changed { pinned } => {
                let e = Untrusted::Changed {
                    name: name.clone(),
                    pinned: pinned.fingerprint().to_string(),
                    offered: key.fingerprint().to_string(),
                };
                let mut changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
                let c = changes.entry(name.clone()).or_insert_with(|| KeyChange {
                    pinned: pinned.fingerprint().to_string(),
                    offered: String::new(),
                    address: String::new(),
                    count: 0,
                    last_ms: 0,
                });
                c.offered = key.fingerprint().to_string();
                c.address = from.to_string();
                c.count += 1;
                c.last_ms = now_ms();
                if c.count == 1 || c.count.is_power_of_two() {
                    tracing::error!("REFUSED {name} from {from} ({} times): {e}", c.count);
                }
                Err(e)
            }
        }
    }

    /// The key pinned for `name`, if any (the admin's first).
    pub(crate) fn pinned(&self, name: &str) -> Option<PublicKey> {
        let name = name.to_ascii_uppercase();
        if self.is_ours(&name) {
            return None;
        }
        self.admin.get(&name).map(|p| p.key).or_else(|| {
            self.own
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&name)
                .map(|p| p.key)
        })
    }

    /// Whether `name`'s pin was vetted by an admin (the trust file, or
    /// `messngr trust add`), not merely met first (trust on first use).
    pub(crate) fn vetted(&self, name: &str) -> bool {
        let name = name.to_ascii_uppercase();
        self.admin.get(&name).is_some()
            || self
                .own
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&name)
                .is_some_and(|p| p.source == PinSource::Manual)
    }

    /// Every pin: the admin's, then the daemon's own it does not override.
    pub(crate) fn list(&self) -> Vec<Pin> {
        let own = self.own.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<Pin> = self.admin.iter().cloned().collect();
        all.extend(
            own.iter()
                .filter(|p| self.admin.get(&p.name).is_none())
                .cloned(),
        );
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Pins `name` to `key` by hand, replacing the daemon's own pin (and
    /// forgetting a refused change of it).
    pub(crate) fn add(&self, name: &str, key: PublicKey) -> Pin {
        let name = name.to_ascii_uppercase();
        // The caller checked the name (messngr_secure::host_name).
        let pin = Pin {
            name: name.clone(),
            key,
            source: PinSource::Manual,
            first_seen_ms: now_ms(),
        };
        let mut own = self.own.lock().unwrap_or_else(|p| p.into_inner());
        own.insert(pin.clone());
        self.save(&own);
        self.changes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&name);
        tracing::info!("pinned {name}'s key {} by hand", key.fingerprint());
        pin
    }

    /// Forgets the daemon's own pin of `name`.
    pub(crate) fn remove(&self, name: &str) -> Option<Pin> {
        let name = name.to_ascii_uppercase();
        let mut own = self.own.lock().unwrap_or_else(|p| p.into_inner());
        let gone = own.remove(&name)?;
        self.save(&own);
        self.changes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&name);
        tracing::info!("forgot {name}'s key {}", gone.key.fingerprint());
        Some(gone)
    }

    /// Whether `name` is pinned by the admin's trust file (which only the
    /// admin can change).
    pub(crate) fn in_trust_file(&self, name: &str) -> bool {
        self.admin.get(&name.to_ascii_uppercase()).is_some()
    }

    /// The refused key changes, by host.
    pub(crate) fn changes(&self) -> BTreeMap<String, KeyChange> {
        self.changes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Every pin in the trust file format.
    pub(crate) fn export(&self) -> String {
        let mut all = Pins::default();
        for p in self.list() {
            all.insert(p);
        }
        all.export()
    }

    /// Writes the daemon's own pins: a temporary file, fsync, rename. A
    /// failure is logged; the pins in memory stay in force.
    fn save(&self, own: &Pins) {
        if let Err(e) = crate::privs::write_atomically(&self.path, own.to_state().as_bytes(), 0o644)
        {
            tracing::error!(
                "cannot save the pins to {}: {e}; they hold until the daemon stops",
                self.path.display()
            );
        }
    }
}
