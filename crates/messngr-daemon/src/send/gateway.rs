//! The secure gateway: a legacy message (SMB, mailslot, RPC) received here
//! for a name in `[relay] gateway` goes on, through the relay, to that
//! name's holders on other sites.
//!
//! Why it stays unverified: a legacy message says nothing true about its
//! sender; NetBIOS names and source addresses are anyone's to claim on a
//! LAN. So the forward is signed by this host, the gateway, as what it is
//! (a VOUCHED frame: "this came to me by SMB from 10.0.0.7", FROM as the
//! legacy sender wrote it), and the receiver stores it unverified with the
//! gateway beside it. The message is on this host's disk before anything
//! is forwarded (the legacy sender's acknowledgement promised that); a
//! forward the relay cannot take now is kept in the outbox as any send.

use std::sync::Arc;

use messngr_store::{Direction, Message, Transport};
use tokio::sync::broadcast::{Receiver, error::RecvError};
use tokio_util::sync::CancellationToken;

use super::{Options, SendContext, Vouched, relay};
use crate::relay::LookupError;

/// Forwards, until `stop`, each legacy message stored for one of `names`.
pub(crate) async fn run(
    ctx: SendContext,
    names: Vec<String>,
    mut stored: Receiver<Arc<Message>>,
    stop: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            () = stop.cancelled() => return,
            next = stored.recv() => next,
        };
        match next {
            Ok(m) if forwards(&names, &m) => forward(&ctx, &m).await,
            Ok(_) => {}
            Err(RecvError::Lagged(n)) => tracing::warn!(
                "gateway: fell behind, {n} messages not looked at (not forwarded; they are in this inbox)"
            ),
            Err(RecvError::Closed) => return,
        }
    }
}

/// Whether `m` is a legacy message for one of the gateway's `names`.
fn forwards(names: &[String], m: &Message) -> bool {
    m.direction == Direction::In
        && !m.verified
        && matches!(
            m.transport,
            Transport::Smb | Transport::Mailslot | Transport::Rpc
        )
        && names.iter().any(|n| n.eq_ignore_ascii_case(m.to.trim()))
}

/// Signs `m` as the gateway's forward and hands it to the relay.
async fn forward(ctx: &SendContext, m: &Message) {
    let Some(r) = &ctx.relay else {
        return;
    };
    let name = m.to.trim().to_ascii_uppercase();
    let address = m
        .source_addr
        .as_deref()
        .map_or("?", |a| a.rsplit_once(':').map_or(a, |(h, _)| h));
    let origin = format!("{} from {address}", m.transport.as_str());
    // Root's: a gateway name is owned by root here (`settings::access`).
    let opts = Options {
        secure: true,
        vouched: Some(Vouched {
            from: m.from.trim(),
            origin: &origin,
        }),
        ..Options::by(0)
    };
    let sent = match r.lookup(&ctx.secure, &name).await {
        Ok(found) => relay::send(ctx, &name, &found, &m.text, opts).await,
        // The relay down, or her hosts not in the directory now (asleep):
        // kept in the outbox, which tries again (for an hour when nobody
        // holds the name).
        Err(
            e @ (LookupError::NotConnected
            | LookupError::NotReady
            | LookupError::Io(_)
            | LookupError::Absent(_)),
        ) => relay::keep(ctx, &name, &m.text, opts, &e.to_string()).await,
        Err(e) => {
            tracing::warn!("gateway: message {} for {name} stays here only: {e}", m.id);
            return;
        }
    };
    match sent {
        Ok(report) => tracing::info!(
            "gateway: message {} for {name} ({origin}) forwarded: {:?}",
            m.id,
            report.outcome
        ),
        Err(e) => tracing::warn!("gateway: message {} for {name} not forwarded: {e}", m.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_legacy_messages_for_the_gateways_names_go_on() {
        let names = vec!["ALICE".to_owned()];
        let mut m = crate::testing::message(1, "WINPC", "alice", "hi");
        m.transport = Transport::Smb;
        assert!(forwards(&names, &m));
        let mut signed = m.clone();
        signed.verified = true;
        assert!(!forwards(&names, &signed), "a verified one is not legacy");
        let mut native = m.clone();
        native.transport = Transport::Messngr;
        assert!(!forwards(&names, &native), "a messngr one came its own way");
        let mut other = m.clone();
        other.to = "BOB".into();
        assert!(!forwards(&names, &other));
        let mut sent = m;
        sent.direction = Direction::Out;
        assert!(!forwards(&names, &sent));
    }
}
