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

use async_nats::jetstream::stream::Config;

use super::error::RelayError;

/// Checks `found` (the stream's configuration on the cluster) against
/// `wanted` (what messngr makes); messages must be kept at least `min_age`
/// (or without limit).
pub(crate) fn check(found: &Config, wanted: &Config, min_age: Duration) -> Result<(), RelayError> {
    let mut differs = Vec::new();
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
    Err(RelayError::JetStream(format!(
        "the stream {name} on the cluster was not made by messngr as it makes it ({}): \
         check it (`nats stream info {name}`) and delete it (`nats stream rm {name}`); \
         messngr makes it again",
        differs.join(", "),
        name = found.name
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
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
        assert!(check(&mail(), &mail(), 7 * day).is_ok());
        let mut fewer = mail();
        fewer.num_replicas = 1;
        assert!(
            check(&fewer, &mail(), 7 * day).is_ok(),
            "replicas only warn"
        );

        let mut interest = mail();
        interest.retention = RetentionPolicy::Interest;
        interest.max_age = Duration::from_secs(1);
        let e = check(&interest, &mail(), 7 * day).unwrap_err().to_string();
        assert!(e.contains("(retention, max_age)"), "{e}");
        assert!(e.contains("nats stream rm MESSNGR_MAIL"), "{e}");

        let mut leaks = mail();
        leaks.republish = Some(Republish {
            source: ">".into(),
            destination: "_INBOX_4556494C.x".into(),
            headers_only: false,
        });
        leaks.max_messages = 10;
        let e = check(&leaks, &mail(), 7 * day).unwrap_err().to_string();
        assert!(
            e.contains("max_messages, republish, mirror or sources"),
            "{e}"
        );

        let mut narrow = mail();
        narrow.subjects = vec!["messngr.mail.4832.>".into()];
        narrow.storage = async_nats::jetstream::stream::StorageType::Memory;
        let e = check(&narrow, &mail(), 7 * day).unwrap_err().to_string();
        assert!(e.contains("(subjects, storage)"), "{e}");
    }
}
