//! The organisation-wide directory: which host holds a name, at which
//! addresses, with which host key. A JetStream key-value bucket
//! (`messngr_directory`) on the relay.
//!
//! Why these rules:
//!
//! * **Hosts leave by silence.** The bucket's streams keep an entry for the
//!   TTL (`directory_ttl_secs`) only; each host renews its own every third
//!   of it, so a host that stops is gone within one TTL, with nobody to
//!   clean up after it.
//! * **Entries are signed by their host key,** and a key read here is only
//!   ever *introduced*: it is checked with the pins of the secure channel
//!   (`Trust::admit`), so under `trust = "tofu"` an unknown host's key is
//!   pinned, and a key that differs from the pinned one is refused, logged
//!   and counted, never used. A hostile daemon on the bus cannot take a
//!   host whose key is pinned here; it can claim a name (or a host name)
//!   not pinned here yet, as on a LAN anyone can claim a NetBIOS name, and
//!   it can overwrite an entry so that lookups of it fail until its host
//!   renews it (docs/relay.md: give the NATS account to messngr hosts
//!   only).
//! * **Made by hand, not by `create_key_value`:** async-nats's KV create
//!   needs account fields that servers send only from 2.10.8 on; Debian 12
//!   has 2.9.10. The bucket's stream is created with what `create_key_value`
//!   would send (docs/relay-notes.md §3.6), then opened as a bucket.
//!
//! * **A name may have several holders:** a user logged on at two sites
//!   (or an alias given to hosts on each) is one identity, and a message to
//!   it goes to each of their hosts. So a `name.` key holds the set of its
//!   holders, each with the time it last said so, changed by compare and
//!   swap (the key's revision) so that two hosts renewing at once do not
//!   drop each other; a holder silent for a TTL is left out, and each host
//!   found is believed only through its own signed entry listing the name.
//!
//! Keys are `host.HEX` (a host's entry) and `name.HEX` (the hosts holding a
//! name), HEX being the upper-case NetBIOS name in hex: any NetBIOS name is
//! then a valid key.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use async_nats::jetstream::{self, kv, stream};
use messngr_secure::PublicKey;
use serde::{Deserialize, Serialize};

use super::error::{RelayError, nats};
use crate::config::Relay as RelayConfig;
use crate::secure::Secure;
use crate::settings::Settings;

/// The bucket.
pub(crate) const BUCKET: &str = "messngr_directory";
/// The largest value read or written.
const MAX_VALUE: usize = 16 * 1024;
/// Names one entry may carry.
const MAX_NAMES: usize = 256;
/// Holders one name keeps (the oldest dropped past it).
const MAX_HOLDERS: usize = 64;
/// Compare-and-swap tries for one name before its write is left to the
/// next renewal.
const CAS_TRIES: usize = 8;
/// What a signature covers, before the entry's JSON.
const SIGNED_AS: &[u8] = b"messngr directory entry v1\0";

/// One host's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// Its NetBIOS name (upper case).
    pub(crate) host: String,
    /// Where its messngr service listens (TCP 139).
    pub(crate) addresses: Vec<Ipv4Addr>,
    /// The unique messenger names it holds.
    pub(crate) names: Vec<String>,
    /// Its host key (`ed25519:HEX`).
    pub(crate) key: String,
    /// When it was written (Unix ms).
    pub(crate) at: i64,
}

/// An entry and its signature, as stored.
#[derive(Serialize, Deserialize)]
struct Signed {
    entry: String,
    sig: String,
}

impl Entry {
    /// This host's entry.
    pub(crate) fn ours(settings: &Settings, secure: &Secure, names: Vec<String>) -> Entry {
        Entry {
            host: settings.netbios_name.to_ascii_uppercase(),
            addresses: vec![settings.iface.address],
            names,
            key: secure.host().public().to_string(),
            at: super::now_ms(),
        }
    }
}

/// The hosts holding a name, as a `name.` key keeps them: each with when it
/// last wrote (Unix ms).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Holders {
    hosts: std::collections::BTreeMap<String, i64>,
}

impl Holders {
    /// The set in `value`: JSON, or (as the first version wrote) a bare
    /// host name.
    fn parse(value: &[u8]) -> Holders {
        if let Ok(h) = serde_json::from_slice::<Holders>(value) {
            return h;
        }
        let mut h = Holders::default();
        if value.len() <= 15 && !value.is_empty() {
            h.hosts
                .insert(String::from_utf8_lossy(value).to_ascii_uppercase(), 0);
        }
        h
    }

    /// With `host` written at `now`, and without holders silent since
    /// `stale` (Unix ms), nor more than [`MAX_HOLDERS`].
    fn with(mut self, host: &str, now: i64, stale: i64) -> Holders {
        self.hosts.retain(|_, at| *at >= stale);
        self.hosts.insert(host.to_owned(), now);
        while self.hosts.len() > MAX_HOLDERS {
            let oldest = self
                .hosts
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(h, _)| h.clone());
            if let Some(h) = oldest {
                self.hosts.remove(&h);
            }
        }
        self
    }
}

/// A host found in the directory, its key pinned (now, or before).
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// The host holding the name.
    pub(crate) host: String,
    /// Its addresses.
    pub(crate) addresses: Vec<Ipv4Addr>,
}

/// Why a lookup found nothing usable.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LookupError {
    /// The relay is down.
    #[error("the relay is not connected")]
    NotConnected,
    /// Connected, the directory not yet opened.
    #[error("the relay's directory is not ready yet")]
    NotReady,
    /// Nobody has it.
    #[error("{0} is not in the relay's directory")]
    Absent(String),
    /// This host holds it.
    #[error("{0} is this host's own name")]
    Ours(String),
    /// The entry is not acceptable (unsigned, forged, oversized, not
    /// listing the name, from a host this host is): dropped, counted.
    #[error("the relay's directory entry for {name} was refused: {why}")]
    Refused {
        /// The name looked up.
        name: String,
        /// Why.
        why: String,
    },
    /// The entry's key is not the one pinned for its host.
    #[error(
        "the relay's directory offers a key for {0} that is not the pinned one: refused (`messngr trust` to replace a host's key)"
    )]
    KeyChanged(String),
    /// The cluster did not answer.
    #[error("the relay's directory did not answer: {0}")]
    Io(String),
}

impl LookupError {
    /// Whether this is an entry refused (counted as dropped).
    pub(crate) fn is_refusal(&self) -> bool {
        matches!(
            self,
            LookupError::Refused { .. } | LookupError::KeyChanged(_)
        )
    }
}

/// The opened bucket.
pub(crate) struct Directory {
    kv: kv::Store,
    /// How long an entry lives unrenewed (`directory_ttl_secs`).
    ttl: std::time::Duration,
}

impl Directory {
    /// Creates the bucket's stream if missing, and opens the bucket.
    pub(crate) async fn open(
        js: &jetstream::Context,
        cfg: &RelayConfig,
    ) -> Result<Directory, RelayError> {
        js.get_or_create_stream(stream::Config {
            name: format!("KV_{BUCKET}"),
            description: Some(
                "messngr: the hosts of the organisation, their names and keys".into(),
            ),
            subjects: vec![format!("$KV.{BUCKET}.>")],
            max_messages_per_subject: 1,
            max_age: cfg.directory_ttl(),
            max_message_size: i32::try_from(MAX_VALUE).unwrap_or(i32::MAX),
            storage: stream::StorageType::File,
            num_replicas: cfg.replicas(),
            allow_rollup: true,
            deny_delete: true,
            deny_purge: false,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        })
        .await
        .map_err(nats)?;
        let kv = js.get_key_value(BUCKET).await.map_err(nats)?;
        Ok(Directory {
            kv,
            ttl: cfg.directory_ttl(),
        })
    }

    /// Writes `entry`, signed, and one `name.` key for each of its names
    /// (and its host name).
    pub(crate) async fn publish(&self, secure: &Secure, entry: &Entry) -> Result<(), RelayError> {
        let json = serde_json::to_string(entry)?;
        let mut signed_bytes = SIGNED_AS.to_vec();
        signed_bytes.extend_from_slice(json.as_bytes());
        let sig = hex::encode(secure.host().sign(&signed_bytes));
        let value = serde_json::to_vec(&Signed { entry: json, sig })?;
        if value.len() > MAX_VALUE {
            return Err(RelayError::TooLarge {
                len: value.len(),
                max: MAX_VALUE,
            });
        }
        self.kv
            .put(host_key(&entry.host), value.into())
            .await
            .map_err(nats)?;
        for name in std::iter::once(&entry.host).chain(&entry.names) {
            self.hold(name, &entry.host, entry.at).await?;
        }
        Ok(())
    }

    /// Adds (or renews) `host` among the holders of `name`: read, change,
    /// write if nobody wrote in between (the key's revision), else again.
    async fn hold(&self, name: &str, host: &str, now: i64) -> Result<(), RelayError> {
        let key = name_key(name);
        let stale = now.saturating_sub(i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX));
        for _ in 0..CAS_TRIES {
            let current = self.kv.entry(key.clone()).await.map_err(nats)?;
            let (holders, revision) = match &current {
                Some(e) if e.operation == kv::Operation::Put => {
                    (Holders::parse(&e.value), Some(e.revision))
                }
                Some(e) => (Holders::default(), Some(e.revision)),
                None => (Holders::default(), None),
            };
            let value: bytes::Bytes = serde_json::to_vec(&holders.with(host, now, stale))?.into();
            let written = match revision {
                Some(r) => self
                    .kv
                    .update(key.clone(), value, r)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                None => self
                    .kv
                    .create(key.clone(), value)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            };
            match written {
                Ok(()) => return Ok(()),
                Err(e) => tracing::debug!("relay: {key} changed while writing ({e}); again"),
            }
        }
        Err(RelayError::Contended(name.to_owned()))
    }

    /// The other hosts holding `name`, each through its own entry, its
    /// signature and its key checked; at least one. A holder whose entry
    /// fails is left out (and counted by the caller when none is left).
    pub(crate) async fn lookup(
        &self,
        secure: &Secure,
        name: &str,
    ) -> Result<Vec<Found>, LookupError> {
        let name = name.trim().to_ascii_uppercase();
        if name.len() > 15 {
            return Err(LookupError::Absent(name));
        }
        let holders = match self.kv.get(name_key(&name)).await {
            Ok(Some(v)) if v.len() <= MAX_VALUE => Holders::parse(&v),
            Ok(Some(_)) => return Err(refused(&name, "the name's holders are oversized")),
            Ok(None) => return Err(LookupError::Absent(name)),
            Err(e) => return Err(LookupError::Io(e.to_string())),
        };
        let stale =
            super::now_ms().saturating_sub(i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX));
        let mut found = Vec::new();
        let mut first_error = None;
        for (host, at) in holders.hosts.iter().take(MAX_HOLDERS) {
            // (0: written by the first version, which kept no time.)
            if *at != 0 && *at < stale {
                continue;
            }
            if secure.trust().is_ours(host) || secure.host_name().eq_ignore_ascii_case(host) {
                first_error.get_or_insert(LookupError::Ours(host.clone()));
                continue;
            }
            match self.holder(secure, &name, host).await {
                Ok(f) => found.push(f),
                Err(e @ LookupError::Io(_)) => return Err(e),
                Err(e) => {
                    tracing::info!("relay: {name}'s holder {host} left out: {e}");
                    if first_error
                        .as_ref()
                        .is_none_or(|f| matches!(f, LookupError::Ours(_)))
                    {
                        first_error = Some(e);
                    }
                }
            }
        }
        if found.is_empty() {
            return Err(first_error.unwrap_or(LookupError::Absent(name)));
        }
        Ok(found)
    }

    /// `host`, as its own entry says, if it lists `name` and its key is
    /// the pinned one (or is pinned now).
    async fn holder(&self, secure: &Secure, name: &str, host: &str) -> Result<Found, LookupError> {
        let host = host.to_ascii_uppercase();
        let name = name.to_owned();
        let value = match self.kv.get(host_key(&host)).await {
            Ok(Some(v)) => v,
            Ok(None) => return Err(LookupError::Absent(name)),
            Err(e) => return Err(LookupError::Io(e.to_string())),
        };
        let entry = verify(&name, &host, &value)?;
        let key: PublicKey = entry
            .key
            .parse()
            .map_err(|_| refused(&name, "its key does not parse"))?;
        let Some(first) = entry.addresses.first() else {
            return Err(refused(&name, "it lists no address"));
        };
        let from = SocketAddr::V4(SocketAddrV4::new(*first, 139));
        match secure.trust().admit(&host, &key, from) {
            Ok(()) => Ok(Found {
                host,
                addresses: entry.addresses,
            }),
            Err(crate::secure::Untrusted::Changed { .. }) => Err(LookupError::KeyChanged(host)),
            Err(e) => Err(refused(&name, &e.to_string())),
        }
    }
}

/// The entry in `value`, if it is signed by the key it carries, is the
/// entry of `host`, and lists `name`.
fn verify(name: &str, host: &str, value: &[u8]) -> Result<Entry, LookupError> {
    if value.len() > MAX_VALUE {
        return Err(refused(name, "the entry is oversized"));
    }
    let signed: Signed =
        serde_json::from_slice(value).map_err(|_| refused(name, "the entry is not signed"))?;
    let entry: Entry = serde_json::from_str(&signed.entry)
        .map_err(|e| refused(name, &format!("the entry does not parse: {e}")))?;
    let key: PublicKey = entry
        .key
        .parse()
        .map_err(|_| refused(name, "its key does not parse"))?;
    let mut sig = [0u8; 64];
    hex::decode_to_slice(&signed.sig, &mut sig)
        .map_err(|_| refused(name, "its signature does not parse"))?;
    let mut signed_bytes = SIGNED_AS.to_vec();
    signed_bytes.extend_from_slice(signed.entry.as_bytes());
    key.verify(&signed_bytes, &sig)
        .map_err(|_| refused(name, "its signature is not its key's"))?;
    if !entry.host.eq_ignore_ascii_case(host) {
        return Err(refused(name, "it is another host's entry"));
    }
    if entry.names.len() > MAX_NAMES {
        return Err(refused(name, "it lists too many names"));
    }
    if !name.eq_ignore_ascii_case(host) && !entry.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    {
        return Err(refused(name, "its host does not list the name"));
    }
    Ok(entry)
}

fn refused(name: &str, why: &str) -> LookupError {
    LookupError::Refused {
        name: name.to_owned(),
        why: why.to_owned(),
    }
}

fn host_key(host: &str) -> String {
    format!("host.{}", hex::encode_upper(host.to_ascii_uppercase()))
}

fn name_key(name: &str) -> String {
    format!("name.{}", hex::encode_upper(name.to_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use messngr_secure::Identity;

    fn signed(id: &Identity, entry: &Entry) -> Vec<u8> {
        let json = serde_json::to_string(entry).unwrap();
        let mut b = SIGNED_AS.to_vec();
        b.extend_from_slice(json.as_bytes());
        let sig = hex::encode(id.sign(&b));
        serde_json::to_vec(&Signed { entry: json, sig }).unwrap()
    }

    fn entry(id: &Identity) -> Entry {
        Entry {
            host: "H2".into(),
            addresses: vec![Ipv4Addr::new(10, 77, 1, 5)],
            names: vec!["H2".into(), "ALICE".into()],
            key: id.public().to_string(),
            at: 1,
        }
    }

    #[test]
    fn a_signed_entry_of_the_host_listing_the_name_is_accepted() {
        let id = Identity::generate().unwrap();
        let v = signed(&id, &entry(&id));
        assert_eq!(verify("ALICE", "H2", &v).unwrap(), entry(&id));
        assert!(verify("H2", "H2", &v).is_ok());
    }

    #[test]
    fn forged_unsigned_foreign_or_oversized_entries_are_refused() {
        let id = Identity::generate().unwrap();
        let other = Identity::generate().unwrap();
        // Signed by another key than the one it carries.
        let mut forged = entry(&id);
        forged.key = other.public().to_string();
        let mut v = signed(&id, &forged);
        assert!(verify("H2", "H2", &v).unwrap_err().is_refusal());
        // Changed after signing.
        v = signed(&id, &entry(&id));
        let text = String::from_utf8(v)
            .unwrap()
            .replace("10.77.1.5", "10.77.1.6");
        assert!(verify("H2", "H2", text.as_bytes()).is_err());
        // Unsigned.
        let plain = serde_json::to_vec(&entry(&id)).unwrap();
        assert!(verify("H2", "H2", &plain).is_err());
        // Another host's entry under this host's key, or a name it does
        // not list.
        let v = signed(&id, &entry(&id));
        assert!(verify("H3", "H3", &v).is_err());
        assert!(verify("BOB", "H2", &v).is_err());
        assert!(verify("H2", "H2", &vec![b' '; MAX_VALUE + 1]).is_err());
    }

    #[test]
    fn any_netbios_name_makes_a_valid_key() {
        assert_eq!(host_key("h2"), "host.4832");
        assert_eq!(name_key("A$B!"), "name.41244221");
    }
}
