//! A message to a name on another site: signed as any messngr message,
//! sealed to its host's key and handed to the relay, which holds it until
//! that host has it (`crate::relay`).
//!
//! Why "queued" and not "delivered": the relay's acknowledgement means the
//! cluster stored it (on every replica), not that the host did; that host
//! may be down for days. The sender's copy is kept as for any messngr
//! message, so `messngr inbox --sent` shows it.

use super::secure::{Failure, Link, sign};
use std::net::Ipv4Addr;

use super::{Options, Outcome, SendContext, SendError, SendReport, record};
use crate::relay::{Found, LookupError, ORGANISATION};
use messngr_proto::Transport;

/// Where a name is: an address on this LAN (NetBIOS), or a host on
/// another site (the relay's directory).
pub(crate) enum Resolved {
    Lan(Ipv4Addr),
    /// The hosts holding it (a user logged on at several sites: each).
    Relay(Vec<crate::relay::Found>),
    /// Not on this LAN, and the relay is down (why): kept here for it.
    Later(String),
}

/// Where `target` is: NetBIOS on this LAN first, then the relay's
/// directory (a host on another site, its key checked against the pins).
pub(crate) async fn resolve_anywhere(
    ctx: &SendContext,
    target: &str,
) -> Result<Resolved, SendError> {
    if let Some(found) = ctx.relay.as_ref().and_then(|r| r.routed(target)) {
        return Ok(Resolved::Relay(found));
    }
    let not_here = match super::smb::resolve(&ctx.names, target).await {
        Err(SendError::NotFound(why)) => why,
        other => return other.map(Resolved::Lan),
    };
    let Some(relay) = &ctx.relay else {
        return Err(SendError::NotFound(not_here));
    };
    match relay.lookup_to_send(&ctx.secure, target).await {
        Ok(found) => {
            tracing::info!(
                "{} is held by {} on another site, by the relay's directory",
                target.to_ascii_uppercase(),
                hosts(&found)
            );
            Ok(Resolved::Relay(found))
        }
        // The relay down or slow is not "no such name": kept for it.
        Err(e) if e.is_transient() => Ok(Resolved::Later(e.to_string())),
        Err(e) => Err(SendError::NotFound(format!("{not_here}; {e}"))),
    }
}

/// The hosts of `found`, for people: `H2, H3`.
pub(crate) fn hosts(found: &[Found]) -> String {
    found
        .iter()
        .map(|f| f.host.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Queues `text` for `target`, held by each of `found` on other sites: one
/// signed message (one uuid, so every host of a user shows the same one),
/// sealed to each host's key.
pub(super) async fn send(
    ctx: &SendContext,
    target: &str,
    found: &[Found],
    text: &str,
    opts: Options<'_>,
) -> Result<SendReport, SendError> {
    to_holders(ctx, target, found, text, opts, None).await
}

/// Whether `target` is one of `[relay] gateway`'s names.
pub(super) fn is_gateway_name(settings: &crate::settings::Settings, target: &str) -> bool {
    settings
        .relay
        .gateway
        .iter()
        .any(|g| g.trim().eq_ignore_ascii_case(target.trim()))
}

/// `target`, a `[relay] gateway` name this host answers for on its LAN
/// for its holder on another site: found in the relay's directory only
/// (NetBIOS would find this host), and sent there; kept here while the
/// relay is away or nobody holds it now (the outbox tries again). A
/// legacy message the gateway forwards goes so, and so does a local
/// account's send to that name on the gateway host (stored here, it would
/// be the gateway's copy, root's, and never reach her).
pub(super) async fn past_the_gateway(
    ctx: &SendContext,
    target: &str,
    text: &str,
    opts: Options<'_>,
) -> Result<SendReport, SendError> {
    let Some(relay) = &ctx.relay else {
        return Err(SendError::NotFound(format!(
            "{target} is on another site and this host has no relay"
        )));
    };
    match relay.lookup(&ctx.secure, target).await {
        Ok(found) => send(ctx, target, &found, text, opts).await,
        // Her hosts asleep (not in the directory now), or the relay away.
        Err(e) if e.is_transient() || matches!(e, LookupError::Absent(_)) => {
            keep(ctx, target, text, opts, &e.to_string()).await
        }
        Err(e) => Err(SendError::NotFound(e.to_string())),
    }
}

/// `/org` (`group` [`ORGANISATION`]) or `/group:NAME`: the message, signed
/// to the group's name, sealed to each other host in it on every site.
pub(super) async fn send_group(
    ctx: &SendContext,
    group: &str,
    text: &str,
    opts: Options<'_>,
) -> Result<SendReport, SendError> {
    let shown = if group == ORGANISATION {
        "/org".to_owned()
    } else {
        format!("/group:{group}")
    };
    let Some(relay) = &ctx.relay else {
        return Err(SendError::BadRequest(format!(
            "{shown} goes through the relay, and this host has none: set [relay] servers in the config"
        )));
    };
    if group == ORGANISATION && opts.alert.is_none() {
        may_send_org(ctx, opts.uid)?;
    }
    let found = match relay.lookup_group(&ctx.secure, group).await {
        Ok(found) => found,
        Err(LookupError::Absent(_) | LookupError::Ours(_)) => {
            return Err(SendError::NotFound(format!(
                "no other host is in {shown} (a host joins a group with [relay] groups)"
            )));
        }
        Err(e) => return Err(SendError::Network(format!("{shown}: {e}"))),
    };
    to_holders(ctx, group, &found, text, opts, Some(&shown)).await
}

/// Whether account `uid` may send (or change what it sent) to `/org`:
/// root, the daemon's user, `admin_group` and `[relay] org_senders` (as
/// last reloaded). An alert is exempt: it goes where the admin's
/// `[alerter]` routing says.
pub(super) fn may_send_org(ctx: &SendContext, uid: u32) -> Result<(), SendError> {
    let access = &ctx.settings.access;
    let caller = access.caller(uid);
    if access.listed(&caller, &ctx.live.org_senders()) {
        return Ok(());
    }
    Err(SendError::Denied(format!(
        "{} may not send to /org (every host of the organisation): ask the admin to add the account to [relay] org_senders",
        caller.user.unwrap_or_else(|| format!("uid {uid}"))
    )))
}

/// [`send`] and [`send_group`]: signed once, sealed to each of `found`.
async fn to_holders(
    ctx: &SendContext,
    target: &str,
    found: &[Found],
    text: &str,
    opts: Options<'_>,
    group: Option<&str>,
) -> Result<SendReport, SendError> {
    let Some(relay) = &ctx.relay else {
        return Err(SendError::NotFound(format!(
            "{target} is on another site and this host has no relay"
        )));
    };
    let (uuid, frame) = sign(ctx, target, text, opts, Link::default()).map_err(|f| match f {
        Failure::Final(e) => e,
        Failure::NotMessngr(why) => SendError::Network(why),
    })?;
    let mut queued = Vec::new();
    let mut failed = Vec::new();
    let mut away = None;
    for f in found {
        match relay.post(&ctx.secure, &f.host, target, &frame).await {
            Err(e) if e.is_away() => {
                away.get_or_insert(e.to_string());
                failed.push(format!("{}: {e}", f.host));
            }
            Ok(seq) => {
                tracing::info!(
                    "message {} to {} ({}) queued at the relay (stream sequence {seq})",
                    hex::encode(uuid),
                    target.to_ascii_uppercase(),
                    f.host
                );
                queued.push(f);
            }
            Err(e) => failed.push(format!("{}: {e}", f.host)),
        }
    }
    let Some(first) = queued.first() else {
        // A name is looked up again when the relay is back; a group's
        // members are who they are now, so a group message is not kept.
        if let Some(why) = away.filter(|_| group.is_none()) {
            return keep_signed(ctx, target, text, opts, uuid, frame, &why).await;
        }
        return Err(SendError::Network(format!(
            "the relay did not take it: {}",
            failed.join("; ")
        )));
    };
    let warning = (!failed.is_empty()).then(|| {
        format!(
            "queued for {} only; not for {}",
            hosts(&queued.iter().map(|f| (*f).clone()).collect::<Vec<_>>()),
            failed.join("; ")
        )
    });
    let login = super::local::sender_name(opts.uid);
    let kept = record::Sent {
        uuid: hex::encode(uuid),
        uid: opts.uid,
        login: &login,
        // A group's copy is addressed as written (`/group:OPS`, `/org`):
        // its notices and receipts then know it went to a group.
        target: group.unwrap_or(target),
        text,
        recipients: queued
            .iter()
            .map(|f| record::recipient(target, &f.host))
            .collect(),
        signed: Some(frame),
        alert: opts.alert,
    };
    let id = record::keep(ctx, kept).await;
    Ok(report(
        target,
        crate::relay::first_address(first).unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
        Outcome::Queued,
        id,
        uuid,
        warning,
    ))
}

/// Keeps `text` for `target` on this host while the relay is down (`why`):
/// signed now, handed to the relay when it is back (`relay::outbox`).
pub(super) async fn keep(
    ctx: &SendContext,
    target: &str,
    text: &str,
    opts: Options<'_>,
    why: &str,
) -> Result<SendReport, SendError> {
    let (uuid, frame) = sign(ctx, target, text, opts, Link::default()).map_err(|f| match f {
        Failure::Final(e) => e,
        Failure::NotMessngr(why) => SendError::Network(why),
    })?;
    keep_signed(ctx, target, text, opts, uuid, frame, why).await
}

/// [`keep`], once signed.
async fn keep_signed(
    ctx: &SendContext,
    target: &str,
    text: &str,
    opts: Options<'_>,
    uuid: [u8; 16],
    frame: Vec<u8>,
    why: &str,
) -> Result<SendReport, SendError> {
    let Some(relay) = &ctx.relay else {
        return Err(SendError::Network(why.to_owned()));
    };
    // No room: nothing written (a gateway tries its forward again).
    let counted_as = queue_uid(&opts);
    let room = ctx
        .inbox
        .handle()
        .read(move |s| s.outbox_room(counted_as))
        .await;
    if let Err(e) = room {
        return Err(SendError::NotKept(format!(
            "{why}, and it could not be kept here: {e}"
        )));
    }
    let login = super::local::sender_name(opts.uid);
    let kept = record::Sent {
        uuid: hex::encode(uuid),
        uid: opts.uid,
        login: &login,
        target,
        text,
        // Its recipients are known once the relay says who holds the name.
        recipients: Vec::new(),
        signed: Some(frame.clone()),
        alert: opts.alert,
    };
    // The sender's copy first: the outbox's sender adds its recipients.
    let id = record::keep(ctx, kept).await;
    let (name, uuid_hex, kept_frame) =
        (target.trim().to_ascii_uppercase(), hex::encode(uuid), frame);
    let at = messngr_store::clock::now_ms();
    let pushed = ctx
        .inbox
        .handle()
        .run(move |s| s.outbox_push(&name, &uuid_hex, &kept_frame, at, counted_as))
        .await;
    if let Err(e) = pushed {
        // Not kept: no sender's copy of what never went (a gateway's
        // forward is tried again later, signed anew).
        if let Some(id) = id
            && let Err(gone) = ctx.inbox.handle().delete(id).await
        {
            tracing::warn!("sent message {id} not kept, its copy stays: {gone}");
        }
        return Err(SendError::NotKept(format!(
            "{why}, and it could not be kept here: {e}"
        )));
    }
    relay.count_kept();
    tracing::info!(
        "message {} to {} kept here until the relay is back ({why})",
        hex::encode(uuid),
        target.to_ascii_uppercase()
    );
    Ok(report(
        target,
        std::net::Ipv4Addr::UNSPECIFIED,
        Outcome::Kept,
        id,
        uuid,
        None,
    ))
}

/// Whom a message kept for the relay counts against in the outbox's
/// per-account limit: its sender, or for a gateway's forward (root's,
/// which root's own sends are not limited by) the gateway as an account
/// of its own, [`GATEWAY_QUEUE_UID`]; so that a flood of legacy messages
/// for a gateway name while the relay is down cannot fill the outbox for
/// the local users.
fn queue_uid(opts: &Options<'_>) -> u32 {
    if opts.vouched.is_some() {
        GATEWAY_QUEUE_UID
    } else {
        opts.uid
    }
}

/// The gateway's "account" in the outbox: (uid_t)-1, which no account has.
const GATEWAY_QUEUE_UID: u32 = u32::MAX;

/// The relay group `/org` (every host: [`crate::relay::ORGANISATION`]) or
/// `/group:NAME` means.
pub(super) fn relay_group(target: &str) -> Result<Option<String>, SendError> {
    if target.eq_ignore_ascii_case("/org") {
        return Ok(Some(crate::relay::ORGANISATION.to_owned()));
    }
    let Some(rest) = target
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("/group"))
        .map(|_| &target[6..])
    else {
        return Ok(None);
    };
    let bad = || {
        SendError::BadRequest(format!(
            "{target:?}: write /group:NAME (a relay group: 1 to 15 letters, digits or - _ . $) or /org"
        ))
    };
    // Trimmed and checked here, as everything after it trims: `/group: *`
    // is `/org`, and must meet its rule (`org_senders`).
    let g = rest.strip_prefix(':').map(str::trim).ok_or_else(bad)?;
    if g == ORGANISATION {
        return Ok(Some(ORGANISATION.to_owned()));
    }
    if !crate::config::is_group_name(g) {
        return Err(bad());
    }
    Ok(Some(g.to_ascii_uppercase()))
}

/// A live notice (`update`, `retract`, an alert again) of a message that
/// went through the relay: signed with its REPLACES, sealed to the host of
/// `label` (`OPS2@H2`), only if `found` still places the name there (a
/// notice goes only where the message went).
pub(super) async fn notice(
    ctx: &SendContext,
    label: &str,
    name: &str,
    found: &[Found],
    text: &str,
    opts: Options<'_>,
    link: Link<'_>,
) -> Result<(), SendError> {
    let host = label
        .rsplit_once('@')
        .map_or(label, |(_, h)| h)
        .to_ascii_uppercase();
    let (Some(relay), Some(f)) = (&ctx.relay, found.iter().find(|f| f.host == host)) else {
        return Err(SendError::Untrusted(format!(
            "{name} is no longer held by {host} on the relay: the notice was not sent"
        )));
    };
    let (uuid, frame) = sign(ctx, name, text, opts, link).map_err(|f| match f {
        Failure::Final(e) => e,
        Failure::NotMessngr(why) => SendError::Network(why),
    })?;
    relay
        .post(&ctx.secure, &f.host, name, &frame)
        .await
        .map_err(|e| SendError::Network(format!("the relay did not take the notice: {e}")))?;
    tracing::info!(
        "notice {} for {label} queued at the relay",
        hex::encode(uuid)
    );
    Ok(())
}

/// The report of a message handed to the relay (or kept for it): messngr,
/// signed and sealed, no SMB blocks.
fn report(
    target: &str,
    address: std::net::Ipv4Addr,
    outcome: Outcome,
    id: Option<i64>,
    uuid: [u8; 16],
    warning: Option<String>,
) -> SendReport {
    SendReport {
        target: target.to_owned(),
        transport: Transport::Messngr,
        address,
        outcome,
        replaced: 0,
        blocks: 0,
        native: true,
        secure: true,
        id,
        uuid: Some(hex::encode(uuid)),
        warning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_named_once_whatever_the_spaces_and_the_org_needs_its_rule() {
        let org = Some(ORGANISATION.to_owned());
        for t in [
            "/org",
            "/ORG",
            "/group:*",
            "/group: *",
            "/group:* ",
            "/GROUP:\t*",
        ] {
            assert_eq!(relay_group(t).ok().flatten(), org, "{t:?}");
        }
        assert_eq!(
            relay_group("/group: ops ").ok().flatten().as_deref(),
            Some("OPS")
        );
        for t in [
            "/group:",
            "/group:  ",
            "/group:a?b",
            "/group:0123456789abcdef",
            "/groupops",
        ] {
            assert!(relay_group(t).is_err(), "{t:?}");
        }
        assert_eq!(relay_group("OPS2").ok().flatten(), None);
    }

    #[test]
    fn a_gateways_forwards_count_against_a_limit_of_their_own() {
        let vouched = super::super::Vouched {
            from: "WINPC",
            origin: "smb from 10.0.0.7",
        };
        let forward = Options {
            vouched: Some(vouched),
            ..Options::by(0)
        };
        assert_eq!(queue_uid(&forward), GATEWAY_QUEUE_UID);
        // Root's own sends stay unlimited (uid 0), anyone else's their own.
        assert_eq!(queue_uid(&Options::by(0)), 0);
        assert_eq!(queue_uid(&Options::by(1000)), 1000);
    }
}
