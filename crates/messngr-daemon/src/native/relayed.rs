//! A message the relay brought for this host: opened, checked, stored.
//! (Here, beside the session's receiving half, and handed to the relay as
//! its [`Deliver`]: the relay knows nothing of native frames.)
//!
//! Why every check is here again, though the sender's host checked its
//! own: the relay is another party, and any daemon on the bus may publish
//! on any subject. So an envelope is only believed when it opens with this
//! host's key under the subject it came on, holds a frame signed by an
//! author whose host key is pinned (the directory may introduce it, never
//! replace it), and was sealed by that same host. Then it goes through
//! the very path a message from a secure session takes
//! (`native::accept`): the policy, our names, the store. Anything else is
//! dropped, counted and logged, and removed from the queue.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;

use messngr_proto::wire::native::{Reason, Repr};

use super::Origin;
use crate::intake::InboxSender;
use crate::policy::Policy;
use crate::registry::Registry;
use crate::relay::{Deliver, MAX_ENVELOPE, Relay, Settle, Taken};
use crate::secure::Secure;

/// What a message from the relay is checked and stored with.
pub(crate) struct Inbound {
    pub(crate) secure: Arc<Secure>,
    pub(crate) registry: Registry,
    pub(crate) policy: Arc<Policy>,
    pub(crate) inbox: InboxSender,
}

impl Deliver for Inbound {
    fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Checks and stores `taken`; what the stream should do with it.
    fn deliver<'a>(
        &'a self,
        relay: &'a Relay,
        taken: &'a Taken,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Settle> + Send + 'a>> {
        Box::pin(async move {
            match self.check_and_store(relay, taken).await {
                Ok(settle) => settle,
                Err(why) => {
                    relay.count_dropped();
                    tracing::warn!("relay: dropped a message on {}: {why}", taken.subject);
                    Settle::Drop
                }
            }
        })
    }
}

impl Inbound {
    async fn check_and_store(&self, relay: &Relay, taken: &Taken) -> Result<Settle, String> {
        if taken.payload.len() > MAX_ENVELOPE {
            return Err(format!("{} bytes, oversized", taken.payload.len()));
        }
        let (sealer, inner) =
            messngr_secure::open(self.secure.host(), taken.subject.as_bytes(), &taken.payload)
                .map_err(|e| e.to_string())?;
        let repr = Repr::parse(&inner).map_err(|e| format!("not a native frame: {e}"))?;
        let Repr::Message(m) = &repr else {
            return Err(format!("a {:?} frame, not a message", repr.kind()));
        };
        let signer_host = m
            .signer
            .as_ref()
            .map(|s| s.host.to_ascii_uppercase())
            .ok_or("the message is not signed")?;
        // The author's host, and where the directory says it is (the
        // address the policy judges, as for a session from it).
        let found = relay.lookup(&self.secure, &signer_host).await;
        let address = found
            .as_ref()
            .ok()
            .and_then(crate::relay::first_address)
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        let verified = self
            .secure
            .verify_cached(&repr, &mut None)
            .map_err(|e| match &found {
                Err(lookup) => format!("{e} ({lookup})"),
                Ok(_) => e.to_string(),
            })?;
        let pinned = self
            .secure
            .trust()
            .pinned(&verified.host)
            .ok_or("its author's host has no pin")?;
        if pinned.x25519() != sealer {
            return Err(format!(
                "sealed by another key than {}'s, which signed it",
                verified.host
            ));
        }
        let origin = Origin {
            verified,
            signed: inner.clone(),
        };
        let peer = SocketAddr::V4(SocketAddrV4::new(address, 0));
        let answer = super::accept(
            m,
            peer,
            &self.registry,
            &self.policy,
            &self.inbox,
            Some(origin),
        )
        .await;
        Ok(match Repr::parse(&answer.reply) {
            Ok(Repr::Accepted { .. }) => Settle::Done,
            // Full, or a name this host is claiming again: later (a
            // message keeps being offered for `mail::MAX_DELIVER` tries).
            Ok(Repr::Refused {
                reason: reason @ (Reason::NoRoom | Reason::NotHere),
                text,
                ..
            }) => {
                tracing::info!("relay: a message from {signer_host} waits ({reason:?}): {text}");
                Settle::Later
            }
            Ok(Repr::Refused { text, .. }) => {
                relay.count_dropped();
                tracing::warn!("relay: a message from {signer_host} refused: {text}");
                Settle::Drop
            }
            _ => Settle::Later,
        })
    }
}
