//! The relay's streams as found on the cluster, checked against what
//! messngr makes before anything is put in them.
//!
//! Why: `get_or_create_stream` opens a stream of that name however it was
//! made, and any account allowed to make it could have made it first: as
//! an interest stream (a message gone when nobody listens), with messages
//! dropped after a second, or republished to a subject its maker can read.
//! A stream that differs in what keeps messages, where they go or what it
//! holds is refused, saying what differs, and the relay retries (the admin
//! deletes it; messngr makes it again). Replicas only warn: hosts may be
//! configured with different counts, and fewer copies lose nothing now.

use std::time::Duration;

use async_nats::jetstream::{self, stream::Config, stream::Stream};

use super::error::{RelayError, nats};

/// Opens the stream `wanted` describes (made when missing), checked as
/// [`check`] says.
pub(crate) async fn open(
    js: &jetstream::Context,
    wanted: Config,
    min_age: Duration,
) -> Result<Stream, RelayError> {
    let stream = js
        .get_or_create_stream(wanted.clone())
        .await
        .map_err(nats)?;
    let info: serde_json::Value = js
        .request(format!("STREAM.INFO.{}", wanted.name), &())
        .await
        .map_err(nats)?;
    check(
        &stream.cached_info().config,
        &info["config"],
        &wanted,
        min_age,
    )?;
    Ok(stream)
}

/// Configuration keys [`check`] reads, or that change nothing of who gets
/// a message or how long it is kept. Any other key the server reports with
/// a value other than its default (one this client's types do not know:
/// `subject_transform`, `consumer_limits`, a newer server's TTLs and
/// schedules) refuses the stream.
const KNOWN: &[&str] = &[
    "name",
    "description",
    "subjects",
    "retention",
    "max_consumers",
    "max_msgs",
    "max_bytes",
    "max_age",
    "max_msgs_per_subject",
    "max_msg_size",
    "discard",
    "discard_new_per_subject",
    "storage",
    "num_replicas",
    "duplicate_window",
    "placement",
    "mirror",
    "sources",
    "sealed",
    "deny_delete",
    "deny_purge",
    "allow_rollup_hdrs",
    "allow_direct",
    "mirror_direct",
    "republish",
    "no_ack",
    "compression",
    "first_seq",
    "metadata",
];

/// The keys of `raw` (a stream's configuration as the server sent it) that
/// [`KNOWN`] does not list, set to something other than a default.
pub(crate) fn unknown_keys(raw: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    let Some(config) = raw.as_object() else {
        return vec!["(no configuration)".into()];
    };
    config
        .iter()
        .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
        .filter(|(_, v)| match v {
            Value::Null | Value::Bool(false) => false,
            Value::Number(n) => n.as_f64() != Some(0.0),
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => o
                .values()
                .any(|v| !matches!(v, Value::Null | Value::Bool(false)) && v.as_f64() != Some(0.0)),
            Value::Bool(true) => true,
        })
        .map(|(k, _)| k.clone())
        .collect()
}

/// Checks `found` (the stream's configuration on the cluster, and `raw`,
/// the same as the server sent it) against `wanted` (what messngr makes);
/// messages must be kept at least `min_age` (or without limit).
pub(crate) fn check(
    found: &Config,
    raw: &serde_json::Value,
    wanted: &Config,
    min_age: Duration,
) -> Result<(), RelayError> {
    let mut differs = unknown_keys(raw);
    let mut says = |ok: bool, what: &str| {
        if !ok {
            differs.push(what.to_owned());
        }
    };
    says(found.retention == wanted.retention, "retention");
    says(found.subjects == wanted.subjects, "subjects");
    says(found.storage == wanted.storage, "storage");
    says(
        found.max_age.is_zero() || found.max_age >= min_age,
        "max_age",
    );
    says(
        found.max_messages_per_subject == wanted.max_messages_per_subject
            || (found.max_messages_per_subject <= 0 && wanted.max_messages_per_subject <= 0),
        "max_messages_per_subject",
    );
    says(found.max_messages <= 0, "max_messages");
    says(found.max_bytes <= 0, "max_bytes");
    says(found.max_consumers <= 0, "max_consumers");
    says(
        found.max_message_size <= 0 || found.max_message_size >= wanted.max_message_size,
        "max_message_size",
    );
    says(found.discard == wanted.discard, "discard");
    // A rollup or a purge through a subject any host may publish on would
    // empty the stream.
    says(!found.allow_rollup || wanted.allow_rollup, "allow_rollup");
    says(found.deny_purge || !wanted.deny_purge, "deny_purge");
    says(!found.no_ack && !found.sealed, "no_ack or sealed");
    says(
        found.republish.is_none()
            && found.mirror.is_none()
            && found.sources.as_ref().is_none_or(Vec::is_empty),
        "republish, mirror or sources",
    );
    if found.num_replicas < wanted.num_replicas {
        tracing::warn!(
            "relay: the stream {} keeps {} copies, fewer than [relay] replicas ({})",
            found.name,
            found.num_replicas,
            wanted.num_replicas
        );
    }
    if differs.is_empty() {
        return Ok(());
    }
    Err(RelayError::MadeOtherwise {
        found: wanted.name.clone(),
        why: format!(
            "the stream {name} on the cluster was not made by messngr as it makes it ({}): \
         check it (`nats stream info {name}`) and delete it (`nats stream rm {name}`); \
         messngr makes it again",
            differs.join(", "),
            name = wanted.name
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`check`] with the raw configuration the typed one makes.
    fn check_typed(found: &Config, wanted: &Config, min_age: Duration) -> Result<(), RelayError> {
        let raw = serde_json::to_value(found).unwrap();
        check(found, &raw, wanted, min_age)
    }

    #[test]
    fn keys_this_client_cannot_see_refuse_a_stream_unless_left_at_their_default() {
        let raw = serde_json::json!({
            "name": "MESSNGR_MAIL", "subjects": ["messngr.mail.>"], "retention": "workqueue",
            "metadata": {"_nats.req.level": "0"}, "consumer_limits": {},
            "allow_msg_ttl": false, "first_seq": 0,
        });
        assert!(unknown_keys(&raw).is_empty(), "{:?}", unknown_keys(&raw));
        let raw = serde_json::json!({
            "name": "MESSNGR_MAIL",
            "subject_transform": {"src": "messngr.mail.*.*", "dest": "messngr.mail.4556494C.{{wildcard(2)}}"},
            "consumer_limits": {"inactive_threshold": 1_000_000_000},
            "allow_msg_ttl": true,
        });
        assert_eq!(
            unknown_keys(&raw),
            ["allow_msg_ttl", "consumer_limits", "subject_transform"]
        );
    }
    use async_nats::jetstream::stream::{Republish, RetentionPolicy};

    fn mail() -> Config {
        Config {
            name: "MESSNGR_MAIL".into(),
            retention: RetentionPolicy::WorkQueue,
            subjects: vec!["messngr.mail.>".into()],
            max_age: Duration::from_secs(7 * 24 * 3600),
            storage: async_nats::jetstream::stream::StorageType::File,
            num_replicas: 3,
            ..Default::default()
        }
    }

    #[test]
    fn a_stream_as_messngr_makes_it_passes_and_one_made_otherwise_says_what_differs() {
        let day = Duration::from_secs(24 * 3600);
        assert!(check_typed(&mail(), &mail(), 7 * day).is_ok());
        let mut fewer = mail();
        fewer.num_replicas = 1;
        assert!(
            check_typed(&fewer, &mail(), 7 * day).is_ok(),
            "replicas only warn"
        );

        let mut interest = mail();
        interest.retention = RetentionPolicy::Interest;
        interest.max_age = Duration::from_secs(1);
        let e = check_typed(&interest, &mail(), 7 * day)
            .unwrap_err()
            .to_string();
        assert!(e.contains("(retention, max_age)"), "{e}");
        assert!(e.contains("nats stream rm MESSNGR_MAIL"), "{e}");

        let mut leaks = mail();
        leaks.republish = Some(Republish {
            source: ">".into(),
            destination: "_INBOX_4556494C.x".into(),
            headers_only: false,
        });
        leaks.max_messages = 10;
        let e = check_typed(&leaks, &mail(), 7 * day)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("max_messages, republish, mirror or sources"),
            "{e}"
        );

        let mut narrow = mail();
        narrow.subjects = vec!["messngr.mail.4832.>".into()];
        narrow.storage = async_nats::jetstream::stream::StorageType::Memory;
        let e = check_typed(&narrow, &mail(), 7 * day)
            .unwrap_err()
            .to_string();
        assert!(e.contains("(subjects, storage)"), "{e}");
    }
}
