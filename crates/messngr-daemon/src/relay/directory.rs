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
//! * **Groups are holders too:** `group.HEX` keeps the hosts in a relay
//!   group (`[relay] groups`), and `group.2A` (`*`) every host: the
//!   organisation. A host is believed in a group only if its own signed
//!   entry lists it (every entry counts for the organisation).
//!
//! Keys are `host.HEX` (a host's entry), `name.HEX` (the hosts holding a
//! name) and `group.HEX`, HEX being the upper-case name in hex: any
//! NetBIOS name is then a valid key.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use async_nats::jetstream::{self, kv, stream};
use messngr_secure::PublicKey;

use super::entry::{Entry, MAX_VALUE, refused, verify};
use super::error::{LookupError, RelayError, nats};
use super::holders::{Held, Holders};
use crate::config::Relay as RelayConfig;
use crate::secure::Secure;

/// The bucket.
pub(crate) const BUCKET: &str = "messngr_directory";
/// Compare-and-swap tries for one name before its write is left to the
/// next renewal.
const CAS_TRIES: usize = 8;

/// A host found in the directory, its key pinned (now, or before).
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// The host holding the name.
    pub(crate) host: String,
    /// Its addresses.
    pub(crate) addresses: Vec<Ipv4Addr>,
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
        let wanted = stream::Config {
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
            // No rollups and no purges: with either, one publish to a key
            // any host may write (a `name.` set) could empty the bucket.
            allow_rollup: false,
            deny_delete: true,
            deny_purge: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        };
        // Entries live at least the shortest TTL a host may set; one
        // shorter than half this host's (renewed every third of it) has
        // its entry gone between renewals: said, not refused, since the
        // first host made it with its own TTL.
        let shortest = std::time::Duration::from_secs(30);
        let made = super::streams::open(js, wanted, shortest).await?;
        let kept = made.cached_info().config.max_age;
        if !kept.is_zero() && kept < cfg.directory_ttl() / 2 {
            tracing::warn!(
                "relay: the directory keeps entries {} s, under half this host's directory_ttl_secs ({}): set the same TTL on every host",
                kept.as_secs(),
                cfg.directory_ttl().as_secs()
            );
        }
        let kv = js.get_key_value(BUCKET).await.map_err(nats)?;
        Ok(Directory {
            kv,
            ttl: cfg.directory_ttl(),
        })
    }

    /// Writes `entry`, signed, and one `name.` key for each of its names
    /// (and its host name).
    pub(crate) async fn publish(&self, secure: &Secure, entry: &Entry) -> Result<(), RelayError> {
        let value = entry.signed(secure)?;
        self.kv
            .put(host_key(&entry.host), value.into())
            .await
            .map_err(nats)?;
        // Every name and group is written even if one fails; the first
        // error is reported (and all are tried again soon).
        let keys = std::iter::once(&entry.host)
            .chain(&entry.names)
            .map(|n| name_key(n))
            .chain(
                std::iter::once(ORGANISATION)
                    .chain(entry.groups.iter().map(String::as_str))
                    .map(group_key),
            );
        let mut first = None;
        for key in keys {
            if let Err(e) = self.hold(&key, &entry.host, entry.at).await {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Adds (or renews) `host` among the holders kept in `key`: read,
    /// change, write if nobody wrote in between (the key's revision), else
    /// again.
    async fn hold(&self, key: &str, host: &str, now: i64) -> Result<(), RelayError> {
        let key = key.to_owned();
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
            // Only "someone wrote in between" is tried again; anything else
            // (no permission, a timeout) is this write's error.
            let raced = match revision {
                Some(r) => match self.kv.update(key.clone(), value, r).await {
                    Ok(_) => return Ok(()),
                    Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => e.to_string(),
                    Err(e) => return Err(nats(e)),
                },
                None => match self.kv.create(key.clone(), value).await {
                    Ok(_) => return Ok(()),
                    Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => e.to_string(),
                    Err(e) => return Err(nats(e)),
                },
            };
            tracing::debug!("relay: {key} changed while writing ({raced}); again");
        }
        Err(RelayError::Contended(key))
    }

    /// The other hosts holding `name`, each through its own entry, its
    /// signature and its key checked; at least one. A holder whose entry
    /// fails is left out (and counted by the caller when none is left).
    pub(crate) async fn lookup(
        &self,
        secure: &Secure,
        name: &str,
    ) -> Result<Vec<Found>, LookupError> {
        self.holders(secure, Held::Name(name.trim().to_ascii_uppercase()))
            .await
    }

    /// The other hosts in relay group `group` (`*`: the organisation), each
    /// through its own signed entry listing the group.
    pub(crate) async fn lookup_group(
        &self,
        secure: &Secure,
        group: &str,
    ) -> Result<Vec<Found>, LookupError> {
        self.holders(secure, Held::Group(group.trim().to_ascii_uppercase()))
            .await
    }

    /// The other hosts holding `held`, each checked.
    async fn holders(&self, secure: &Secure, held: Held) -> Result<Vec<Found>, LookupError> {
        let name = held.name().to_owned();
        if name.len() > 15 {
            return Err(LookupError::Absent(name));
        }
        let holders = match self.kv.get(held.key()).await {
            Ok(Some(v)) if v.len() <= MAX_VALUE => Holders::parse(&v),
            Ok(Some(_)) => return Err(refused(&name, "the name's holders are oversized")),
            Ok(None) => return Err(LookupError::Absent(name)),
            Err(e) => return Err(LookupError::Io(e.to_string())),
        };
        let now = super::now_ms();
        let stale = now.saturating_sub(i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX));
        // A host's own name is that host's alone, however many claim it:
        // one pinned here, or with an entry of its own in the directory
        // (never decided by the set, which anyone may write).
        let only = matches!(held, Held::Name(_))
            && (secure.trust().pinned(&name).is_some()
                || matches!(self.kv.get(host_key(&name)).await, Ok(Some(_))));
        let candidates = if only {
            vec![name.clone()]
        } else {
            holders.current(now, stale, |h| secure.trust().pinned(h).is_some())
        };
        let mut found = Vec::new();
        let mut first_error = None;
        for host in candidates {
            if secure.trust().is_ours(&host) || secure.host_name().eq_ignore_ascii_case(&host) {
                first_error.get_or_insert(LookupError::Ours(host.clone()));
                continue;
            }
            match self.holder(secure, &held, &host).await {
                Ok(f) => found.push(f),
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
        // A name held at several sites reaches each only if an admin
        // vetted every one (`messngr trust add`, the trust file): on trust
        // on first use, any host on the bus could add itself to a name and
        // read its messages. Groups are open, as NetBIOS group names are.
        if matches!(held, Held::Name(_)) && found.len() > 1 {
            let (vetted, not): (Vec<Found>, Vec<Found>) = found
                .into_iter()
                .partition(|f| secure.trust().vetted(&f.host));
            if !not.is_empty() {
                let hosts: Vec<&str> = not.iter().map(|f| f.host.as_str()).collect();
                tracing::warn!(
                    "relay: {name} is claimed at several sites; {} not vetted by an admin: left out (`messngr trust add` vets a host)",
                    hosts.join(", ")
                );
            }
            if vetted.is_empty() {
                let all: Vec<String> = not.into_iter().map(|f| f.host).collect();
                return Err(LookupError::Conflict {
                    name,
                    hosts: all.join(", "),
                });
            }
            found = vetted;
        }
        if found.is_empty() {
            return Err(first_error.unwrap_or(LookupError::Absent(name)));
        }
        Ok(found)
    }

    /// `host`, as its own entry says, if it lists `name` and its key is
    /// the pinned one (or is pinned now).
    async fn holder(&self, secure: &Secure, held: &Held, host: &str) -> Result<Found, LookupError> {
        let host = host.to_ascii_uppercase();
        let name = held.name().to_owned();
        let value = match self.kv.get(host_key(&host)).await {
            Ok(Some(v)) => v,
            Ok(None) => return Err(LookupError::Absent(name)),
            Err(e) => return Err(LookupError::Io(e.to_string())),
        };
        let entry = verify(held, &host, &value)?;
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

/// The organisation's group: every host.
pub(crate) const ORGANISATION: &str = "*";

pub(super) fn host_key(host: &str) -> String {
    format!("host.{}", hex::encode_upper(host.to_ascii_uppercase()))
}

pub(super) fn name_key(name: &str) -> String {
    format!("name.{}", hex::encode_upper(name.to_ascii_uppercase()))
}

pub(super) fn group_key(group: &str) -> String {
    format!("group.{}", hex::encode_upper(group.to_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_netbios_name_makes_a_valid_key() {
        assert_eq!(host_key("h2"), "host.4832");
        assert_eq!(name_key("A$B!"), "name.41244221");
        assert_eq!(group_key(ORGANISATION), "group.2A");
    }
}
