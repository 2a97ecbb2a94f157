//! Messages from a local account to a name this host holds (its NetBIOS
//! name, an alias, a logged-in user's `USER<03>`): stored here directly,
//! without a network round trip.
//!
//! Why this is worth a path of its own: it is the one case where the
//! sender is *known*. The kernel reported the caller's uid for the API
//! socket (`SO_PEERCRED`), so the message is stored verified, with that
//! uid — which is what lets root send an urgent message that reaches a
//! terminal set to `mesg n`, as `wall` does. A remote node could not check
//! a uid, so none is ever put on the wire.
//!
//! The sender's name is the caller's login name (`alice`, `root`), never
//! the host's: a verified message must say which person sent it, or any
//! user could pass for the system. `messngr reply` to such a message is
//! stored directly for that account (see `daemon::reply`), whether or not
//! its name is registered as a messenger name, so a reply never lands in
//! the host's shared inbox.

use messngr_proto::Transport;
use messngr_proto::text::sanitize_line;

use super::{Options, Outcome, SendContext, SendError, SendReport, record};
use crate::inbox::Local;

/// The name a local sender's messages carry: its login name (`uid1234`
/// for a uid without an account).
pub(crate) fn sender_name(uid: u32) -> String {
    crate::accounts::name_of(uid).unwrap_or_else(|| format!("uid{uid}"))
}

/// Stores the message in this host's inbox and reports it delivered;
/// `notice` links it to the sent message that tracks it (its uuid).
pub(super) async fn send(
    ctx: &SendContext,
    target: &str,
    text: &str,
    opts: Options<'_>,
    notice: Option<&str>,
) -> Result<SendReport, SendError> {
    fits(text)?;
    let from = sender_name(opts.uid);
    let local = message(&from, target, text, opts, notice);
    let stored = ctx.inbox.store_local(local).await;
    report(ctx, target, &from, opts.uid, stored)
}

/// [`send`], with the sender's copy `sent` (whose uuid the stored message
/// is linked to) in the same COMMIT: the report, and the copy's id.
pub(super) async fn send_with_copy(
    ctx: &SendContext,
    target: &str,
    text: &str,
    opts: Options<'_>,
    sent: record::Sent<'_>,
) -> (Result<SendReport, SendError>, Option<i64>) {
    if let Err(e) = fits(text) {
        return (Err(e), None);
    }
    let (from, uuid) = (sent.login, sent.uuid.clone());
    let copy = record::copy(ctx, sent);
    let local = message(from, target, text, opts, Some(&uuid));
    let (stored, kept) = ctx.inbox.store_local_with_copy(local, copy).await;
    (
        report(ctx, target, from, opts.uid, stored),
        record::kept(&uuid, kept),
    )
}

/// Whether `text` fits in a message.
fn fits(text: &str) -> Result<(), SendError> {
    let max = messngr_proto::wire::native::MAX_TEXT_LEN;
    if text.len() > max {
        return Err(SendError::TooLong(format!(
            "the message is longer than {max} bytes: shorten it"
        )));
    }
    Ok(())
}

/// The message from the local account `from` (`opts.uid`) to `target`.
fn message<'a>(
    from: &'a str,
    target: &'a str,
    text: &'a str,
    opts: Options<'a>,
    notice: Option<&'a str>,
) -> Local<'a> {
    Local {
        from,
        to: target,
        text,
        uid: opts.uid,
        priority: opts.priority.unwrap_or_default(),
        popup_secs: opts.popup_secs,
        expires_at: opts.expires_at,
        notice_id: notice,
        alert: opts.alert,
    }
}

/// The report of a message stored here (or not, logged).
fn report(
    ctx: &SendContext,
    target: &str,
    from: &str,
    uid: u32,
    stored: Result<crate::intake::Stored, crate::intake::NotStored>,
) -> Result<SendReport, SendError> {
    match stored {
        Ok(crate::intake::Stored(id, _)) => {
            tracing::info!(
                "message {id} from uid {uid} ({from}) to {} stored here",
                sanitize_line(target)
            );
            Ok(SendReport {
                target: target.to_owned(),
                transport: Transport::Messngr,
                address: ctx.settings.iface.address,
                outcome: Outcome::Delivered,
                replaced: 0,
                blocks: 0,
                native: true,
                secure: false,
                id: None,
                uuid: None,
                warning: None,
            })
        }
        Err(e) => {
            tracing::error!(
                "message from uid {uid} to {} NOT stored: {e}",
                sanitize_line(target)
            );
            Err(SendError::Refused(format!("not stored here: {e}")))
        }
    }
}
