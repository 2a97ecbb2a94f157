//! A sent message kept on this host while the relay was away, changed or
//! withdrawn before it left.
//!
//! Why here and not as a notice: the kept frame is the message itself,
//! signed with its text when it was sent, and it reached nobody yet. A
//! notice sent after it would reach nobody either. So a withdrawal removes
//! it from the outbox (it never leaves), and new text (`messngr update`,
//! an alert raised again or RESOLVED by the Alerter) signs it again, the
//! same uuid to the same name, with the new text and a new time, in its
//! place: it leaves as it is now. What one of its holders has already (the
//! outbox went on to another, who was away) gets the notice too, as any.
//!
//! The outbox marks a message as leaving before it reads it again to send
//! it, and a change here is made before it asks whether the message is
//! leaving, so one of the two always sees the other: while it is leaving,
//! the caller is told to try again (the old text or the new may be going).
//! A change replaces only the frame it read, so two at once (the Alerter's
//! and an account's) do not leave one text kept and the other shown.

use messngr_api::NoticeView;
use messngr_proto::wire::Emit;
use messngr_proto::wire::native::{Alert, Repr};
use messngr_store::Message;

use super::notice::Change;
use super::{SendContext, SendError};

/// `sent` (a message sent from here) if it is kept for the relay: `Some`
/// when `change` is done with it (withdrawn or changed before it left, it
/// reached nobody), `None` when the notice must still go (it is not kept,
/// or some holders have it already), refused when it cannot be changed so.
pub(super) async fn changed(
    ctx: &SendContext,
    sent: &Message,
    change: &Change,
) -> Result<Option<NoticeView>, SendError> {
    let Some(relay) = &ctx.relay else {
        return Ok(None);
    };
    let (id, store) = (sent.id, ctx.inbox.handle());
    let failed = |e: messngr_store::StoreError| {
        SendError::Network(format!(
            "the relay's outbox failed for message {id} (it is as it was): {e}"
        ))
    };
    let u = sent.uuid.clone();
    let (text, alert) = match change {
        Change::Retract => (None, None),
        Change::Update(t) => (Some(t.as_str()), None),
        Change::Alert {
            text,
            title,
            repeats,
        } => (
            Some(text.as_str()),
            Some(Alert {
                title,
                repeats: *repeats,
            }),
        ),
        Change::Remind => {
            return match store.read(move |s| s.outbox_holds(&u)).await {
                Ok(false) => Ok(None),
                Ok(true) => Err(SendError::BadRequest(format!(
                    "message {id} is kept on this host until the relay takes it (for some or all of its recipients): remind them once it has left (`messngr track {id}` shows who has it)"
                ))),
                Err(e) => Err(failed(e)),
            };
        }
    };
    let done = match text {
        // Forgotten first, then asked whether the outbox is sending it.
        None => store
            .run(move |s| s.outbox_forget(&u))
            .await
            .map_err(failed)?,
        Some(text) => {
            // Over the frame read, so that two changes at once (the
            // Alerter's and an account's) do not mix: the later one reads
            // the earlier's, and signs its text again.
            let mut tries = 0;
            loop {
                let u = sent.uuid.clone();
                let Some(was) = store
                    .read(move |s| s.outbox_frame(&u))
                    .await
                    .map_err(failed)?
                else {
                    return Ok(None);
                };
                let uid = sent.sender_uid.unwrap_or(0);
                let again = sign_again(ctx, uid, &was, text, alert)?;
                let u = sent.uuid.clone();
                if store
                    .run(move |s| s.outbox_replace(&u, &was, &again))
                    .await
                    .map_err(failed)?
                {
                    break true;
                }
                tries += 1;
                if tries == 3 {
                    return Err(SendError::Network(format!(
                        "message {id}, kept for the relay, is being changed by another at the same time: try again"
                    )));
                }
            }
        }
    };
    if relay.is_leaving(&sent.uuid) {
        let (what, went) = match text {
            Some(_) => ("update", "with the old text or the new"),
            None => ("retract", "or not"),
        };
        return Err(SendError::Network(format!(
            "message {id} is being sent right now (the relay is back), {went}: `messngr {what} {id}` again in a few seconds reaches where it went"
        )));
    }
    if !done {
        return Ok(None);
    }
    let reached = store.receipts(sent.uuid.clone()).await.map_err(|e| {
        SendError::Network(format!("cannot read the recipients of message {id}: {e}"))
    })?;
    if !reached.is_empty() {
        // Those that have it get the notice as any (which changes the
        // sender's copy too).
        return Ok(None);
    }
    super::notice::follow(ctx, sent, change, text.unwrap_or_default()).await;
    tracing::info!(
        "sent message {id}, kept here for the relay, {} before it left",
        if text.is_some() {
            "changed"
        } else {
            "withdrawn"
        }
    );
    Ok(Some(NoticeView {
        id,
        uuid: sent.uuid.clone(),
        reached: Vec::new(),
        failed: Vec::new(),
        withdrawn_unsent: text.is_none(),
        changed_unsent: text.is_some(),
    }))
}

/// `frame` (a message signed here, kept for the relay) signed again by
/// `uid`'s key with `text`, and `alert` when given, stamped now: the same
/// uuid to the same name, with what else it had.
fn sign_again(
    ctx: &SendContext,
    uid: u32,
    frame: &[u8],
    text: &str,
    alert: Option<Alert<'_>>,
) -> Result<Vec<u8>, SendError> {
    let bad = |e: messngr_proto::wire::Error| match e {
        messngr_proto::wire::Error::TooLong(_) => SendError::TooLong(format!(
            "the new text is longer than {} bytes of UTF-8: shorten it",
            messngr_proto::wire::native::MAX_TEXT_LEN
        )),
        e => SendError::BadRequest(format!("cannot change this message: {e}")),
    };
    // (A gateway's forward says what a legacy sender wrote: not this
    // host's to change.)
    let m = match Repr::parse(frame) {
        Ok(Repr::Message(m)) if m.vouched.is_none() => Some(m),
        _ => None,
    };
    let Some(mut m) = m else {
        return Err(SendError::BadRequest(
            "the message kept for the relay is not one that can be changed: `messngr retract` it and send the new text".into(),
        ));
    };
    let signer = ctx
        .secure
        .signer(uid)
        .map_err(|e| SendError::Network(format!("cannot sign: {e}")))?;
    m.text = text;
    if alert.is_some() {
        m.alert = alert;
    }
    m.sent_at = Some(super::sent_at::next());
    m.signer = Some(signer.fields());
    m.signature = None;
    m.signature = Some(signer.sign(&Repr::Message(m)).map_err(bad)?);
    Repr::Message(m).to_vec().map_err(bad)
}
