//! Live notices: a signed message that changes or withdraws an earlier one
//! of the same author, everywhere it was stored here.
//!
//! Why it goes through the inbox like a message: it arrives the same way
//! (a sealed Message, or a local account's `messngr update`), must be
//! answered only once it is on disk, and must reach the same people — so
//! the changed messages go to the same subscribers as new ones, where the
//! agent replaces the pop-up in place and terminals print one short line
//! (they tell a change from a new message by `updated_at`/`retracted_at`).
//! Who may change what is the store's rule: only messages whose `author`
//! is the notice's author (checked by signature before).

use std::sync::Arc;

use crate::intake::{Again, Incoming, NotStored, NotStoredKind, Stored};

use super::Inbox;

/// One change to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notice {
    /// The uuid the author's message was stored (or linked) under.
    pub(crate) uuid: String,
    /// `alice@H2`, verified.
    pub(crate) author: String,
    /// The new text; `None`: withdraw it.
    pub(crate) text: Option<String>,
    /// The notice's signed frame (remote authors).
    pub(crate) signed: Option<Vec<u8>>,
    /// A collapsed alert raised again: its count now.
    pub(crate) repeats: Option<u32>,
    /// When the author made it (Unix ms): a remote author's SENT_AT, so
    /// that an update that comes after a newer one, or again (a replay),
    /// changes nothing (one more than `intake::CLOCK_SKEW` ahead of this
    /// host is refused before: it would hold back the author's next
    /// updates); now, for a local author.
    pub(crate) at: i64,
}

impl Notice {
    /// The notice `m` carries, if it is one (a signed messngr message with
    /// REPLACES). An unsigned one never gets here: the receiver refuses it.
    pub(crate) fn of(m: &Incoming) -> Option<Notice> {
        let native = m.native.as_ref()?;
        let replaces = native.replaces?;
        let (author, _, signed) = native.origin.as_ref()?;
        Some(Notice {
            uuid: hex::encode(replaces),
            author: author.clone(),
            text: (!native.retract).then(|| String::from_utf8_lossy(&m.text).into_owned()),
            signed: Some(signed.clone()),
            repeats: native.alert.as_ref().map(|a| a.repeats).filter(|&n| n > 1),
            // (One from the future was refused before: `native::accept`.)
            at: native.sent_at.unwrap_or_else(messngr_store::clock::now_ms),
        })
    }
}

impl Inbox {
    /// Applies `change` and hands every changed message to the subscribers;
    /// `Stored` names the first, `NoSuchMessage` when none matched.
    pub(crate) fn notice(
        &self,
        change: Notice,
    ) -> impl std::future::Future<Output = Result<Stored, NotStored>> + Send + 'static {
        let store = self.store.clone();
        let subscribers = self.stored.clone();
        async move {
            let at = change.at;
            if let Some(n) = change.repeats
                && change.text.is_some()
            {
                // Counted first, so the updated rows handed on carry it.
                store
                    .set_repeats(change.uuid.clone(), change.author.clone(), n)
                    .await
                    .map_err(|e| NotStored::from_store(&e))?;
            }
            let changed = match change.text {
                Some(text) => {
                    store
                        .update_notice(
                            change.uuid.clone(),
                            change.author.clone(),
                            text,
                            change.signed,
                            at,
                        )
                        .await
                }
                None => {
                    store
                        .retract_notice(
                            change.uuid.clone(),
                            change.author.clone(),
                            change.signed,
                            at,
                        )
                        .await
                }
            }
            .map_err(|e| NotStored::from_store(&e))?;
            let Some(first) = changed.first().map(|m| m.id) else {
                return Err(NotStored {
                    kind: NotStoredKind::NoSuchMessage,
                    reason: format!(
                        "no message {} by {} here",
                        change.uuid,
                        messngr_proto::text::sanitize_line(&change.author)
                    ),
                });
            };
            for m in changed {
                tracing::info!(
                    "message {} {} by its author",
                    m.id,
                    if m.retracted_at.is_some() {
                        "withdrawn"
                    } else {
                        "updated"
                    }
                );
                let _ = subscribers.send(Arc::new(m));
            }
            Ok(Stored(first, Again::New))
        }
    }
}
