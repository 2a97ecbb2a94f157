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
//!   it goes to each of their hosts. So each holder writes a claim of its
//!   own, `name.HEX.HOST` (`holders`), which only it may write when each
//!   host has its own account; a lookup lists the claims of a name (the
//!   stream's subjects), and believes each host only through its own
//!   signed entry listing the name, written within the TTL.
//!
//! * **Groups are holders too:** `group.HEX.HOST` claims a relay group
//!   (`[relay] groups`), and `group.2A.HOST` (`*`) the organisation. A
//!   host is believed in a group only if its own signed entry lists it
//!   (every entry counts for the organisation).
//!
//! Keys are `host.HEX` (a host's entry), `name.HEX.HOST` and
//! `group.HEX.HOST`, HEX and HOST being upper-case names in hex: any
//! NetBIOS name is then a valid key.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};

use async_nats::jetstream::{self, kv, stream};
use messngr_secure::PublicKey;

use super::entry::{Entry, MAX_VALUE, refused, verify};
use super::error::{LookupError, RelayError, nats};
use super::holders::{Held, claimants};
use crate::config::Relay as RelayConfig;
use crate::secure::Secure;

/// The bucket.
pub(crate) const BUCKET: &str = "messngr_directory";
/// The bucket's stream.
pub(crate) const STREAM: &str = "KV_messngr_directory";
/// How far ahead of this host's clock an entry's time may be.
const SKEW_MS: i64 = 600_000;
/// How long a lookup waits for the directory's stream to elect a leader.
const ELECTION_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// A host found in the directory, its key pinned (now, or before).
#[derive(Debug, Clone)]
pub(crate) struct Found {
    /// The host holding the name.
    pub(crate) host: String,
    /// Its addresses.
    pub(crate) addresses: Vec<Ipv4Addr>,
    /// It takes bundles of messages (its entry says so).
    pub(crate) bundles: bool,
}

/// The opened bucket.
pub(crate) struct Directory {
    kv: kv::Store,
    /// For the bucket's stream, whose subjects list a name's claims.
    js: jetstream::Context,
    /// How long an entry is believed after it was written, in ms: this
    /// host's `directory_ttl_secs`, or the stream's age if longer (a host
    /// with a longer TTL renews less often); read again when the stream
    /// is made again (another host may make it, with its own TTL).
    believed: AtomicU64,
    /// This host's `directory_ttl_secs`.
    ttl: std::time::Duration,
    /// How the bucket's stream is made, to make it again
    /// ([`Directory::reopen`]).
    wanted: stream::Config,
}

/// Entries live at least the shortest TTL a host may set; one shorter
/// than half this host's (renewed every third of it) has its entry gone
/// between renewals: said, not refused, since the first host made it with
/// its own TTL.
const SHORTEST: std::time::Duration = std::time::Duration::from_secs(30);

/// The longest an entry is believed, whatever the bucket's stream says
/// (anyone allowed to edit it could make it years, and old entries
/// replayed would then be believed).
const MAX_KEPT: std::time::Duration =
    std::time::Duration::from_secs(crate::config::MAX_DIRECTORY_TTL_SECS);

/// How long, in ms, an entry is believed: this host's `ttl`, or the
/// stream's age `kept` if longer, up to [`MAX_KEPT`].
fn believed_ms(ttl: std::time::Duration, kept: std::time::Duration) -> u64 {
    u64::try_from(ttl.max(kept.min(MAX_KEPT)).as_millis()).unwrap_or(u64::MAX)
}

impl Directory {
    /// Creates the bucket's stream if missing, and opens the bucket.
    pub(crate) async fn open(
        js: &jetstream::Context,
        cfg: &RelayConfig,
    ) -> Result<Directory, RelayError> {
        let wanted = stream::Config {
            name: STREAM.into(),
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
            // a host may write (its own claim) could empty the bucket.
            allow_rollup: false,
            deny_delete: true,
            deny_purge: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        };
        let made = super::streams::open(js, wanted.clone(), SHORTEST).await?;
        let kv = js.get_key_value(BUCKET).await.map_err(nats)?;
        let directory = Directory {
            kv,
            js: js.clone(),
            believed: AtomicU64::new(0),
            ttl: cfg.directory_ttl(),
            wanted,
        };
        directory.kept(&made);
        Ok(directory)
    }

    /// Notes how long the bucket's stream `made` keeps entries: they are
    /// believed that long if it is longer than this host's TTL (said if it
    /// is under half of it).
    fn kept(&self, made: &stream::Stream) {
        let kept = made.cached_info().config.max_age;
        let ms = believed_ms(self.ttl, kept);
        // Said when it changes, not at each check.
        if self.believed.swap(ms, Ordering::Relaxed) == ms {
            return;
        }
        if !kept.is_zero() && kept < self.ttl / 2 {
            tracing::warn!(
                "relay: the directory keeps entries {} s, under half this host's directory_ttl_secs ({}): set the same TTL on every host",
                kept.as_secs(),
                self.ttl.as_secs()
            );
        }
        if kept > MAX_KEPT {
            tracing::warn!(
                "relay: the directory keeps entries {} s, longer than any host's directory_ttl_secs may be: entries are believed {} s at most",
                kept.as_secs(),
                MAX_KEPT.as_secs()
            );
        }
    }

    /// Makes the bucket's stream again if it is gone (an admin deleted it,
    /// or the cluster came back with empty stores), checked as when opened
    /// (a caller refuses one made otherwise: `loops`). The bucket's handle
    /// keeps what it read at open (the stream's name, and direct reads,
    /// which `streams::open` makes), so it serves the new one.
    pub(crate) async fn reopen(&self) -> Result<(), RelayError> {
        let made = super::streams::open(&self.js, self.wanted.clone(), SHORTEST).await?;
        self.kept(&made);
        Ok(())
    }

    /// Writes `entry`, signed, and this host's claim of each of its names
    /// (and its host name) and groups.
    pub(crate) async fn publish(&self, secure: &Secure, entry: &Entry) -> Result<(), RelayError> {
        let value = entry.signed(secure)?;
        self.kv
            .put(host_key(&entry.host), value.into())
            .await
            .map_err(nats)?;
        // Every claim is written even if one fails; the first error is
        // reported (and all are tried again soon).
        let keys = std::iter::once(&entry.host)
            .chain(&entry.names)
            .map(|n| name_key(n))
            .chain(
                std::iter::once(ORGANISATION)
                    .chain(entry.groups.iter().map(String::as_str))
                    .map(group_key),
            );
        // A claim is only an index (its key says it all); when it was
        // written is the signed entry's `at`, which a lookup checks.
        let mut first = None;
        for key in keys {
            if let Err(e) = self
                .kv
                .put(claim_key(&key, &entry.host), bytes::Bytes::new())
                .await
            {
                first.get_or_insert(nats(e));
            }
        }
        first.map_or(Ok(()), Err)
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

    /// `host` by its own entry alone (the claims of its name by other
    /// hosts play no part): what a frame signed on `host` is checked with.
    pub(crate) async fn host_entry(
        &self,
        secure: &Secure,
        host: &str,
    ) -> Result<Found, LookupError> {
        let host = host.trim().to_ascii_uppercase();
        if host.len() > 15 {
            return Err(LookupError::Absent(host));
        }
        if secure.trust().is_ours(&host) || secure.host_name().eq_ignore_ascii_case(&host) {
            return Err(LookupError::Ours(host));
        }
        self.holder(secure, &Held::Name(host.clone()), &host).await
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
        // A host's own name is that host's alone, however many claim it:
        // one pinned here, or with an entry of its own in the directory
        // (never decided by the claims).
        let only = matches!(held, Held::Name(_))
            && (secure.trust().pinned(&name).is_some()
                || matches!(self.kv.get(host_key(&name)).await, Ok(Some(_))));
        let candidates = if only {
            vec![name.clone()]
        } else {
            let prefix = format!("$KV.{BUCKET}.{}.", held.key());
            let subjects = self.claims(&format!("{prefix}*")).await?;
            claimants(subjects, &prefix, |h| secure.trust().pinned(h).is_some())
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

    /// The claim keys' subjects matching `filter` (`$KV.….name.HEX.*`):
    /// one `STREAM.INFO` with a subject filter, its first page (the server
    /// sends 100 000 subjects at most; async-nats's own listing always
    /// asks for a second). Only the stream's leader answers it (a get is
    /// answered by any replica): while a new one is elected (its node
    /// gone), asked again for up to [`ELECTION_WAIT`].
    async fn claims(&self, filter: &str) -> Result<Vec<String>, LookupError> {
        let asked = std::time::Instant::now();
        let request = serde_json::json!({ "subjects_filter": filter });
        // A request to a leader that is gone waits out its timeout: short
        // ones, asked again, find the new leader sooner.
        let mut js = self.js.clone();
        js.set_timeout(std::time::Duration::from_secs(2));
        let info: serde_json::Value = loop {
            let answer = js
                .request(format!("STREAM.INFO.KV_{BUCKET}"), &request)
                .await
                .map_err(|e| e.to_string())
                .and_then(|info: serde_json::Value| match info.get("error") {
                    Some(e) => Err(format!("the directory's stream: {e}")),
                    None => Ok(info),
                });
            match answer {
                Ok(info) => break info,
                Err(e) if asked.elapsed() < ELECTION_WAIT => {
                    tracing::debug!("relay: listing claims failed ({e}); again");
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
                Err(e) => return Err(LookupError::Io(e)),
            }
        };
        Ok(info["state"]["subjects"]
            .as_object()
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default())
    }

    /// `host`, as its own entry says, if it lists `name`, was written
    /// within the TTL, and its key is the pinned one (or is pinned now).
    async fn holder(&self, secure: &Secure, held: &Held, host: &str) -> Result<Found, LookupError> {
        let host = host.to_ascii_uppercase();
        let name = held.name().to_owned();
        let value = match self.kv.get(host_key(&host)).await {
            Ok(Some(v)) => v,
            Ok(None) => return Err(LookupError::Absent(name)),
            Err(e) => return Err(LookupError::Io(e.to_string())),
        };
        let entry = verify(held, &host, &value)?;
        // A host renews its entry every third of its TTL: one older than
        // the longest TTL (and clocks' skew) is a host that stopped, and
        // one ahead of that skew is not believed either.
        let now = super::now_ms();
        let window = i64::try_from(self.believed.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        let stale = now.saturating_sub(window).saturating_sub(SKEW_MS);
        if entry.at < stale || entry.at > now.saturating_add(SKEW_MS) {
            return Err(LookupError::Absent(name));
        }
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
                bundles: entry.bundles,
            }),
            Err(crate::secure::Untrusted::Changed { .. }) => Err(LookupError::KeyChanged(host)),
            Err(e) => Err(refused(&name, &e.to_string())),
        }
    }
}

/// The organisation's group: every host.
pub(crate) const ORGANISATION: &str = "*";

/// Whether `to` names a relay group this host is in: the organisation
/// (`*`) or one of `groups` (upper case, `[relay] groups`).
pub(crate) fn is_relay_group(to: &str, groups: &[String]) -> bool {
    let to = to.trim().to_ascii_uppercase();
    to == ORGANISATION || groups.contains(&to)
}

/// Whether a message to `to` is a group's (stored as the group's copy;
/// each member reads it for themselves): a relay group's, the
/// workgroup's, or a NetBIOS group name's this host holds.
pub(crate) fn to_a_group(
    to: &str,
    relay_group: bool,
    workgroup: bool,
    names: &crate::registry::Registry,
) -> bool {
    relay_group
        || workgroup
        || crate::config::netbios_name("to", to.trim()).is_ok_and(|n| names.is_group(&n))
}

/// Whether `to` is a person's name here: one this host holds now (a
/// unique messenger name: `names`, aliases, gateway names, who is logged
/// on), or an account's (held only while she is logged on, with
/// `register_users`; her message is still hers while she is away). Only a
/// message to one is read at her other hosts too. A group this host has
/// left since its message came is no longer a group here, but neither is
/// it a person's: no host that claims its name reads it for this one.
pub(crate) fn held_here(to: &str, names: &crate::registry::Registry) -> bool {
    names
        .messenger_names()
        .iter()
        .any(|n| n.eq_ignore_ascii_case(to.trim()))
        || crate::settings::is_account(to)
}

pub(super) fn host_key(host: &str) -> String {
    format!("host.{}", super::hex_name(host))
}

pub(super) fn name_key(name: &str) -> String {
    format!("name.{}", super::hex_name(name))
}

pub(super) fn group_key(group: &str) -> String {
    format!("group.{}", super::hex_name(group))
}

/// `host`'s claim of the name or group whose key is `key`: only `host`
/// may write it (`permissions`).
pub(super) fn claim_key(key: &str, host: &str) -> String {
    format!("{key}.{}", super::hex_name(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_believed_this_hosts_ttl_or_the_streams_up_to_a_day() {
        let s = std::time::Duration::from_secs;
        assert_eq!(believed_ms(s(300), s(0)), 300_000);
        assert_eq!(believed_ms(s(300), s(60)), 300_000);
        assert_eq!(believed_ms(s(300), s(3_600)), 3_600_000);
        // A stream edited to keep entries for years: a day at most.
        assert_eq!(believed_ms(s(300), s(3_600 * 24 * 365 * 300)), 86_400_000);
    }

    #[test]
    fn any_netbios_name_makes_a_valid_key() {
        assert_eq!(host_key("h2"), "host.4832");
        assert_eq!(name_key("A$B!"), "name.41244221");
        assert_eq!(group_key(ORGANISATION), "group.2A");
        assert_eq!(claim_key(&name_key("ops2"), " h2"), "name.4F505332.4832");
    }
}
