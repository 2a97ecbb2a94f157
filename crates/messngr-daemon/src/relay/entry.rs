//! A host's entry in the directory: what it says (its names, addresses,
//! groups and key) and its signature by the host key it carries.
//!
//! Why apart from the bucket (`directory`): this is the part a hostile
//! host writes, so it is checked here, in one place, as bytes, and
//! unit-tested without a cluster. An entry is believed only if it is
//! signed by the key it carries, is the entry of the host it is read
//! for, lists the name (or group) it was read for, and is not oversized;
//! whether that key is the one pinned is the caller's (`Trust::admit`).

use std::net::Ipv4Addr;

use messngr_secure::PublicKey;
use serde::{Deserialize, Serialize};

use super::error::{LookupError, RelayError};
use super::holders::Held;
use crate::secure::Secure;
use crate::settings::Settings;

/// The largest value read or written.
pub(super) const MAX_VALUE: usize = 16 * 1024;
/// Names one entry may carry.
const MAX_NAMES: usize = 256;
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
    /// The relay groups it is in (`[relay] groups`).
    #[serde(default)]
    pub(crate) groups: Vec<String>,
    /// When it was written (Unix ms).
    pub(crate) at: i64,
    /// It takes messages bundled (native KIND 7, `relay::lanes`); hosts
    /// before stop 25 leave it out, and are sent one message at a time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) bundles: bool,
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
            groups: settings.relay.groups_upper(),
            at: super::now_ms(),
            bundles: true,
        }
    }
    /// The entry as stored: its JSON and this host's signature of it.
    pub(super) fn signed(&self, secure: &Secure) -> Result<Vec<u8>, RelayError> {
        let json = serde_json::to_string(self)?;
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
        Ok(value)
    }
}

/// The entry in `value`, if it is signed by the key it carries, is the
/// entry of `host`, and lists `held`.
pub(super) fn verify(held: &Held, host: &str, value: &[u8]) -> Result<Entry, LookupError> {
    let name = held.name();
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
    if entry.names.len() > MAX_NAMES || entry.groups.len() > MAX_NAMES {
        return Err(refused(name, "it lists too many names"));
    }
    if !held.listed_in(&entry, host) {
        return Err(refused(name, "its host does not list the name"));
    }
    Ok(entry)
}

pub(super) fn refused(name: &str, why: &str) -> LookupError {
    LookupError::Refused {
        name: name.to_owned(),
        why: why.to_owned(),
    }
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
            groups: vec!["OPS".into()],
            at: 1,
            bundles: true,
        }
    }

    #[test]
    fn an_entry_of_a_host_before_bundles_says_it_takes_none() {
        let id = Identity::generate().unwrap();
        // What a host of stop 24 signed: no `bundles`.
        let mut old = serde_json::to_value(entry(&id)).unwrap();
        old.as_object_mut().unwrap().remove("bundles");
        let json = old.to_string();
        let mut signed_bytes = SIGNED_AS.to_vec();
        signed_bytes.extend_from_slice(json.as_bytes());
        let sig = hex::encode(id.sign(&signed_bytes));
        let v = serde_json::to_vec(&Signed { entry: json, sig }).unwrap();
        let read = verify(&Held::Name("H2".into()), "H2", &v).unwrap();
        assert!(!read.bundles);
        assert!(
            verify(&Held::Name("H2".into()), "H2", &signed(&id, &entry(&id)))
                .unwrap()
                .bundles
        );
    }

    #[test]
    fn a_signed_entry_of_the_host_listing_the_name_is_accepted() {
        let id = Identity::generate().unwrap();
        let v = signed(&id, &entry(&id));
        assert_eq!(
            verify(&Held::Name("ALICE".into()), "H2", &v).unwrap(),
            entry(&id)
        );
        assert!(verify(&Held::Name("H2".into()), "H2", &v).is_ok());
    }

    #[test]
    fn forged_unsigned_foreign_or_oversized_entries_are_refused() {
        let id = Identity::generate().unwrap();
        let other = Identity::generate().unwrap();
        // Signed by another key than the one it carries.
        let mut forged = entry(&id);
        forged.key = other.public().to_string();
        let mut v = signed(&id, &forged);
        assert!(
            verify(&Held::Name("H2".into()), "H2", &v)
                .unwrap_err()
                .is_refusal()
        );
        // Changed after signing.
        v = signed(&id, &entry(&id));
        let text = String::from_utf8(v)
            .unwrap()
            .replace("10.77.1.5", "10.77.1.6");
        assert!(verify(&Held::Name("H2".into()), "H2", text.as_bytes()).is_err());
        // Unsigned.
        let plain = serde_json::to_vec(&entry(&id)).unwrap();
        assert!(verify(&Held::Name("H2".into()), "H2", &plain).is_err());
        // Another host's entry under this host's key, or a name it does
        // not list.
        let v = signed(&id, &entry(&id));
        assert!(verify(&Held::Name("H3".into()), "H3", &v).is_err());
        assert!(verify(&Held::Name("BOB".into()), "H2", &v).is_err());
        assert!(verify(&Held::Name("H2".into()), "H2", &vec![b' '; MAX_VALUE + 1]).is_err());
    }

    #[test]
    fn a_group_is_believed_only_from_an_entry_listing_it() {
        let id = Identity::generate().unwrap();
        let v = signed(&id, &entry(&id));
        assert!(verify(&Held::Group("OPS".into()), "H2", &v).is_ok());
        assert!(verify(&Held::Group(super::super::ORGANISATION.into()), "H2", &v).is_ok());
        assert!(verify(&Held::Group("ADMINS".into()), "H2", &v).is_err());
        // A group name is not a messenger name, nor the other way round.
        assert!(verify(&Held::Name("OPS".into()), "H2", &v).is_err());
        assert!(verify(&Held::Group("ALICE".into()), "H2", &v).is_err());
    }
}
