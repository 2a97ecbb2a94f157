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
use crate::relay::Found;
use messngr_proto::Transport;

/// Where a name is: an address on this LAN (NetBIOS), or a host on
/// another site (the relay's directory).
pub(crate) enum Resolved {
    Lan(Ipv4Addr),
    Relay(crate::relay::Found),
}

/// Where `target` is: NetBIOS on this LAN first, then the relay's
/// directory (a host on another site, its key checked against the pins).
pub(crate) async fn resolve_anywhere(
    ctx: &SendContext,
    target: &str,
) -> Result<Resolved, SendError> {
    if let Some(found) = ctx.relay.as_ref().and_then(|r| r.recent(target)) {
        return Ok(Resolved::Relay(found));
    }
    let not_here = match super::smb::resolve(&ctx.names, target).await {
        Err(SendError::NotFound(why)) => why,
        other => return other.map(Resolved::Lan),
    };
    let Some(relay) = &ctx.relay else {
        return Err(SendError::NotFound(not_here));
    };
    match relay.lookup(&ctx.secure, target).await {
        Ok(found) => {
            tracing::info!(
                "{} is held by {} on another site, by the relay's directory",
                target.to_ascii_uppercase(),
                found.host
            );
            Ok(Resolved::Relay(found))
        }
        // The relay down or slow is not "no such name": try again later.
        Err(
            e @ (crate::relay::LookupError::NotConnected
            | crate::relay::LookupError::NotReady
            | crate::relay::LookupError::Io(_)),
        ) => Err(SendError::Network(format!("{not_here}; {e}"))),
        Err(e) => Err(SendError::NotFound(format!("{not_here}; {e}"))),
    }
}

/// Queues `text` for `target`, held by `found` on another site.
pub(super) async fn send(
    ctx: &SendContext,
    target: &str,
    found: &Found,
    text: &str,
    opts: Options<'_>,
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
    let seq = relay
        .post(&ctx.secure, &found.host, target, uuid, &frame)
        .await
        .map_err(|e| SendError::Network(format!("the relay did not take it: {e}")))?;
    tracing::info!(
        "message {} to {} ({}) queued at the relay (stream sequence {seq})",
        hex::encode(uuid),
        target.to_ascii_uppercase(),
        found.host
    );
    let login = super::local::sender_name(opts.uid);
    let kept = record::Sent {
        uuid: hex::encode(uuid),
        uid: opts.uid,
        login: &login,
        target,
        text,
        recipients: vec![record::recipient(target, &found.host)],
        signed: Some(frame),
        alert: opts.alert,
    };
    let id = record::keep(ctx, kept).await;
    Ok(SendReport {
        target: target.to_owned(),
        transport: Transport::Messngr,
        address: crate::relay::first_address(found).unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
        outcome: Outcome::Queued,
        replaced: 0,
        blocks: 0,
        native: true,
        secure: true,
        id,
        uuid: Some(hex::encode(uuid)),
        warning: None,
    })
}
