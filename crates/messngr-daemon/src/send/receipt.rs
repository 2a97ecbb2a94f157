//! Read receipts, the reader's side: when a person first reads a tracked
//! message, its sender learns it.
//!
//! Why in sending: a receipt for a message from another host is a signed
//! frame sent over the same pooled secure session as a message (the
//! author's host checks the signature, so a host cannot claim that someone
//! read what they did not); one from this host is a row in this store.
//! Either way the reader is never kept waiting: the work runs in a task of
//! its own, and a failure is only logged (docs/native.md, "Receipts").

use std::net::{Ipv4Addr, SocketAddr};

use messngr_proto::text::sanitize_line;
use messngr_proto::wire::name::{NetbiosName, suffix};
use messngr_store::{Direction, Message, ReceiptState};

use super::{SendContext, record, secure};

/// After message `m` was first read by the account `uid`: records its read
/// receipt here (a message sent from this host) or sends a signed one to
/// the host of its author, in the background. Messages nobody tracks
/// (unsigned, legacy, sent without a uuid to track) are left alone.
pub(crate) fn on_read(ctx: &SendContext, uid: u32, m: &Message) {
    let (Some(notice), true, Some(author), Direction::In) =
        (&m.notice_id, m.verified, &m.author, m.direction)
    else {
        return;
    };
    let Some((_, author_host)) = author.rsplit_once('@') else {
        return;
    };
    let here = &ctx.settings.netbios_name;
    // A broadcast's copy (to our workgroup) is tracked per host.
    let reader = if m.to.trim().eq_ignore_ascii_case(&ctx.settings.workgroup) {
        record::recipient(here, here)
    } else {
        record::recipient(&m.to, here)
    };
    let at = now_ms();
    let (id, notice) = (m.id, notice.clone());
    if author_host.eq_ignore_ascii_case(here) {
        let store = ctx.inbox.receipts().clone();
        tokio::spawn(async move {
            if let Err(e) = store.record(notice, reader, ReceiptState::Read, at).await {
                tracing::debug!("message {id} read; its sender's copy is gone: {e}");
            }
        });
        return;
    }
    if let Some(relay) = &ctx.relay
        && m.source_addr
            .as_deref()
            .is_some_and(crate::relay::is_relayed_source)
    {
        let Some(uuid) = hex::decode(&notice)
            .ok()
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
        else {
            return;
        };
        let (ctx, relay) = (ctx.clone(), relay.clone());
        // A group's message is read by each member for themselves: no
        // other host marks it read.
        let to = m.to.trim().to_ascii_uppercase();
        let relay_group = crate::relay::is_relay_group(&to, &ctx.settings.relay.groups_upper());
        let workgroup = to.eq_ignore_ascii_case(&ctx.settings.workgroup);
        let group = crate::relay::to_a_group(&to, relay_group, workgroup, &ctx.registry);
        let (author_host, to) = (author_host.to_owned(), (!group).then_some(to));
        tokio::spawn(async move {
            by_relay(&ctx, &relay, uid, uuid, &reader, at, &author_host, to, id).await;
        });
        return;
    }
    let Some(ip) = m.source_addr.as_deref().and_then(source_ip) else {
        tracing::debug!("message {id} read; no address to send its receipt to");
        return;
    };
    let Ok(to) = NetbiosName::new(author_host.as_bytes(), suffix::MESSENGER) else {
        tracing::debug!("message {id} read; its author's host is not a NetBIOS name");
        return;
    };
    let Some(uuid) = hex::decode(&notice)
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
    else {
        return;
    };
    let ctx = ctx.clone();
    let host = sanitize_line(author_host).into_owned();
    tokio::spawn(async move {
        match secure::receipt(&ctx, to, ip, uid, uuid, &reader, at).await {
            Ok(()) => tracing::info!("read receipt for message {id} accepted by {host} at {ip}"),
            Err(e) => tracing::warn!("read receipt for message {id} not sent to {host}: {e}"),
        }
    });
}

/// The read receipt of a message the relay brought, sent back through it:
/// to its author's host (`messngr track` there), and to the other hosts
/// holding the name it was sent to (the same user, logged on at another
/// site: it shows as read there too).
#[allow(clippy::too_many_arguments)]
async fn by_relay(
    ctx: &SendContext,
    relay: &std::sync::Arc<crate::relay::Relay>,
    uid: u32,
    uuid: [u8; 16],
    reader: &str,
    at: i64,
    author_host: &str,
    to: Option<String>,
    id: i64,
) {
    let frame = match secure::receipt_frame(ctx, uid, uuid, reader, at) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!("read receipt for message {id} not made: {e}");
            return;
        }
    };
    let mut sent_to = Vec::new();
    // Her other hosts only if this host's admin vetted each (as a name
    // held at several sites is): any host on the bus may claim her name,
    // and would learn what she read, and when.
    let others = to
        .as_deref()
        .map(|to| (to, "the recipient's other hosts", true));
    for (name, why, vetted_only) in
        std::iter::once((author_host, "its author", false)).chain(others)
    {
        let hosts = match relay.lookup(&ctx.secure, name).await {
            Ok(found) => found,
            Err(crate::relay::LookupError::Ours(_)) => continue,
            Err(e) => {
                tracing::info!("read receipt for message {id} not sent to {why}: {e}");
                continue;
            }
        };
        for f in hosts {
            if sent_to.contains(&f.host) {
                continue;
            }
            if vetted_only && !ctx.secure.trust().vetted(&f.host) {
                tracing::info!(
                    "read receipt for message {id} not sent to {}, which claims {} but is not vetted here (`messngr trust add` vets a host)",
                    f.host,
                    sanitize_line(name)
                );
                continue;
            }
            match relay.post(&ctx.secure, &f.host, name, &frame).await {
                Ok(_) => {
                    tracing::info!(
                        "read receipt for message {id} queued for {} ({why})",
                        f.host
                    );
                    sent_to.push(f.host);
                }
                Err(e) => tracing::warn!(
                    "read receipt for message {id} not queued for {}: {e}",
                    f.host
                ),
            }
        }
    }
}

/// The IPv4 address in a stored `source_addr` (`10.0.0.2:139` or `10.0.0.2`).
fn source_ip(s: &str) -> Option<Ipv4Addr> {
    match s.parse::<SocketAddr>() {
        Ok(SocketAddr::V4(a)) => Some(*a.ip()),
        Ok(SocketAddr::V6(_)) => None,
        Err(_) => s.parse().ok(),
    }
}

use messngr_store::clock::now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_source_gives_its_address() {
        assert_eq!(
            source_ip("10.0.0.2:40000"),
            Some(Ipv4Addr::new(10, 0, 0, 2))
        );
        assert_eq!(source_ip("10.0.0.2"), Some(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(source_ip("[::1]:139"), None);
        assert_eq!(source_ip("nonsense"), None);
    }
}
