//! Live notices from the sending side: `messngr update ID TEXT`, `retract
//! ID`, `remind ID` — a sent message changed, withdrawn or alerted again at
//! each of its recipients.
//!
//! Why through the same paths as a send: a remote recipient gets a new
//! signed message whose REPLACES names the original's uuid (so only its
//! author can change it: the receiver checks the signature and the store
//! the author), over the reused secure session; recipients on this host
//! are changed in the inbox directly, as a local send is stored directly.
//! Each recipient's result is reported, like a send's.

use messngr_api::{NoticeFailure, NoticeView};

use super::secure::{self, Failure, Link};
use super::{Options, SendContext, SendError, local};
use crate::inbox::notice::Notice;

/// What to do to the sent message.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    /// New text everywhere.
    Update(String),
    /// Withdraw it everywhere.
    Retract,
    /// Its own text again, to the recipients who have not read it.
    Remind,
    /// An alert raised again or resolved (by the Alerter): new text
    /// with the alert's mark and count, everywhere it went (the pop-up is
    /// replaced in place), the count kept in each store.
    Alert {
        /// The new text (`… (3 times)`, `RESOLVED …`).
        text: String,
        /// The alert's title (empty: none).
        title: String,
        /// Times raised.
        repeats: u32,
    },
}

/// Applies `change` to sent message `id` of the caller `uid`.
pub(crate) async fn apply(
    ctx: &SendContext,
    uid: u32,
    id: i64,
    change: Change,
) -> Result<NoticeView, SendError> {
    let store = ctx.inbox.handle();
    let sent = store
        .get(id)
        .await
        .ok()
        .filter(|m| m.direction == messngr_store::Direction::Out)
        .filter(|m| uid == 0 || m.sender_uid == Some(uid))
        .ok_or_else(|| {
            SendError::NotFound(format!(
                "no sent message {id} of yours: `messngr send` prints the id of what it sent to messngr receivers"
            ))
        })?;
    if sent.retracted_at.is_some() {
        return Err(SendError::BadRequest(format!(
            "message {id} was withdrawn already"
        )));
    }
    // New text for every host of the organisation is a message to /org
    // (withdrawing one is not).
    if matches!(change, Change::Update(_) | Change::Remind)
        && super::relay::relay_group(&sent.to)
            .ok()
            .flatten()
            .as_deref()
            == Some(crate::relay::ORGANISATION)
    {
        super::relay::may_send_org(ctx, uid)?;
    }
    let text = match &change {
        Change::Update(t) if t.trim().is_empty() => {
            return Err(SendError::BadRequest(
                "the new text is empty: give some, or use `messngr retract ID`".into(),
            ));
        }
        Change::Update(t) | Change::Alert { text: t, .. } => t.clone(),
        Change::Retract => String::new(),
        Change::Remind => sent.text.clone(),
    };
    // Kept for the relay: changed or withdrawn where it waits.
    if let Some(view) = super::kept::changed(ctx, &sent, &change).await? {
        return Ok(view);
    }
    let recipients = match change {
        Change::Remind => store.unread_recipients(sent.uuid.clone()).await,
        _ => store
            .receipts(sent.uuid.clone())
            .await
            .map(|r| r.into_iter().map(|r| r.recipient).collect()),
    }
    .map_err(|e| SendError::Network(format!("cannot read the recipients of message {id}: {e}")))?;
    let uuid: [u8; 16] = hex::decode(&sent.uuid)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| SendError::NotFound(format!("message {id} has no messngr uuid")))?;
    let retract = matches!(change, Change::Retract);
    let mut view = NoticeView {
        id,
        uuid: sent.uuid.clone(),
        reached: Vec::new(),
        failed: Vec::new(),
        withdrawn_unsent: false,
        changed_unsent: false,
    };
    let here = ctx.settings.netbios_name.to_ascii_uppercase();
    let (local_ones, remote): (Vec<String>, Vec<String>) =
        recipients.into_iter().partition(|r| host_of(r) == here);
    if !local_ones.is_empty() {
        let login = local::sender_name(uid);
        let notice = Notice {
            uuid: sent.uuid.clone(),
            author: sent
                .author
                .clone()
                .unwrap_or_else(|| format!("{login}@{here}")),
            text: (!retract).then(|| text.clone()),
            signed: None,
            repeats: match &change {
                Change::Alert { repeats, .. } => Some(*repeats),
                _ => None,
            },
            at: messngr_store::clock::now_ms(),
        };
        match ctx.inbox.notice(notice).await {
            Ok(_) => view.reached.extend(local_ones),
            Err(e) => view
                .failed
                .extend(local_ones.into_iter().map(|r| NoticeFailure {
                    recipient: r,
                    error: e.to_string(),
                })),
        }
    }
    // Signed by the message's author (root acting on another's message
    // signs with that account's key: receivers apply only the author's).
    let opts = Options {
        secure: true,
        alert: match &change {
            Change::Alert { title, repeats, .. } => Some(messngr_proto::wire::native::Alert {
                title,
                repeats: *repeats,
            }),
            _ => None,
        },
        ..Options::by(sent.sender_uid.unwrap_or(uid))
    };
    // A relay group's message (its copy says `/group:OPS` or `/org`) changes
    // through the relay at the members it went to, looked up once.
    let members = match super::relay::relay_group(&sent.to).ok().flatten() {
        Some(group) if !remote.is_empty() => match &ctx.relay {
            Some(relay) => Some(
                relay
                    .lookup_group(&ctx.secure, &group)
                    .await
                    .unwrap_or_default(),
            ),
            None => Some(Vec::new()),
        },
        _ => None,
    };
    for r in remote {
        let host = host_of(&r);
        let link = Link {
            replaces: Some(uuid),
            retract,
            host: Some(&host),
        };
        let sent = match &members {
            Some(members) => {
                super::relay::notice(ctx, &r, name_of(&r), members, &text, opts, link).await
            }
            None => to_one(ctx, &r, &text, opts, link).await,
        };
        match sent {
            Ok(()) => view.reached.push(r),
            Err(e) => view.failed.push(NoticeFailure {
                recipient: r,
                error: e.to_string(),
            }),
        }
    }
    follow(ctx, &sent, &change, &text).await;
    tracing::info!(
        "notice on sent message {id}: {} reached, {} not",
        view.reached.len(),
        view.failed.len()
    );
    Ok(view)
}

/// The sender's copy of `sent` follows `change` (new `text`, withdrawn,
/// an alert's count): `track` and `remind` show what is current.
pub(super) async fn follow(
    ctx: &SendContext,
    sent: &messngr_store::Message,
    change: &Change,
    text: &str,
) {
    let (id, store) = (sent.id, ctx.inbox.handle());
    if let (Change::Alert { repeats, .. }, Some(author)) = (change, &sent.author)
        && let Err(e) = store
            .set_repeats(sent.uuid.clone(), author.clone(), *repeats)
            .await
    {
        tracing::warn!("sent alert {id}: the sender's count not kept: {e}");
    }
    let own = match change {
        Change::Update(_) | Change::Alert { .. } => Some(Some(text.to_owned())),
        Change::Retract => Some(None),
        Change::Remind => None,
    };
    if let Some(text) = own
        && let Err(e) = store
            .change_sent(id, text, messngr_store::clock::now_ms())
            .await
    {
        tracing::warn!("sent message {id}: the sender's copy not changed: {e}");
    }
}

/// The host a recipient label names (`ALICE@H2` → `H2`, `H2` → `H2`).
fn host_of(label: &str) -> String {
    label
        .rsplit_once('@')
        .map_or(label, |(_, h)| h)
        .to_ascii_uppercase()
}

/// The name a recipient label was addressed as (`ALICE@H2` → `ALICE`).
fn name_of(label: &str) -> &str {
    label.rsplit_once('@').map_or(label, |(n, _)| n)
}

/// Sends the notice to one remote recipient, signed and sealed.
async fn to_one(
    ctx: &SendContext,
    label: &str,
    text: &str,
    opts: Options<'_>,
    link: Link<'_>,
) -> Result<(), SendError> {
    let name = name_of(label);
    let to = crate::config::netbios_name("recipient", name)
        .map_err(|e| SendError::BadName(e.to_string()))?;
    let ip = match super::resolve_anywhere(ctx, name).await? {
        super::Resolved::Lan(ip) => ip,
        super::Resolved::Later(why) => {
            return Err(SendError::Network(format!(
                "{name} is not on this LAN and {why}: a change or withdrawal is not kept for later"
            )));
        }
        super::Resolved::Relay(found) => {
            return super::relay::notice(ctx, label, name, &found, text, opts, link).await;
        }
    };
    match secure::attempt(ctx, to, ip, name, text, opts, link).await {
        Ok(sent) if host_of(label) == sent.host => Ok(()),
        Ok(sent) => Err(SendError::Untrusted(format!(
            "{name} is now held by {}, not {}: the notice went there, and changes nothing",
            sent.host,
            host_of(label)
        ))),
        Err(Failure::Final(e)) => Err(e),
        Err(Failure::NotMessngr(why)) => Err(SendError::Network(format!(
            "{name} no longer speaks messngr ({why})"
        ))),
    }
}
