//! A receipt that the relay brought: about a message sent from here
//! (`messngr track`), or saying that its reader read a message this host
//! received at another of her hosts (read once, read everywhere).
//!
//! Why apart from `relayed`: a receipt changes a message that is here
//! already, so it is believed on other grounds than a message is (the
//! reader's host must hold the reader's name by its own directory entry),
//! and a group's messages are never marked read by one.

use messngr_proto::wire::native::{Reason, ReceiptState, Repr};

use super::relayed::{Inbound, stale};
use crate::relay::{Relay, Settle};

impl Inbound {
    /// A receipt through the relay: believed when signed by a host whose
    /// pinned key also sealed it. About a message sent from here, it is
    /// recorded as a receipt from a secure session is (`messngr track`);
    /// about a message this host received, it says that the same user read
    /// it at another of their hosts, which must hold the recipient name by
    /// its own directory entry: marked read here too.
    pub(super) async fn receipt(
        &self,
        relay: &Relay,
        r: messngr_proto::wire::native::Receipt<'_>,
        sealer: [u8; 32],
    ) -> Result<Settle, String> {
        let host = r.signer.host.to_ascii_uppercase();
        if let Some(why) = stale(Some(r.at)) {
            return Err(format!("a receipt from {host}: {why}"));
        }
        if !crate::send::reports_on(r.reader, &host) {
            return Err(format!(
                "{host} sent a receipt for {}, a recipient it does not hold",
                messngr_proto::text::sanitize_line(r.reader)
            ));
        }
        let uuid = hex::encode(r.uuid);
        let m = match self.receipts.find_by_uuid(uuid.clone()).await {
            Ok(Some(m)) => m,
            Ok(None) => return Err(format!("a receipt for message {uuid}, which is not here")),
            Err(e) => {
                tracing::info!("relay: a receipt for {uuid} waits: {e}");
                return Ok(Settle::Later);
            }
        };
        // Only now, for a message that is here, is the signer's key looked
        // up (a receipt about nothing costs no directory work).
        let sealed_by_signer = || {
            self.secure
                .trust()
                .pinned(&host)
                .is_some_and(|k| k.x25519() == sealer)
        };
        if !sealed_by_signer() {
            // Not pinned yet: the directory may introduce its key.
            if relay.host_entry(&self.secure, &host).await.is_err() || !sealed_by_signer() {
                return Err(format!(
                    "a receipt signed on {host} was sealed by another key"
                ));
            }
        }
        if m.direction == messngr_store::Direction::Out {
            let peer = crate::relay::relayed_source(self.address);
            let ctx = super::Ctx {
                names: &self.registry,
                policy: &self.policy,
                inbox: &self.inbox,
                secure: &self.secure,
                store: &self.receipts,
            };
            let answer = super::receipt::receive(r, &host, &mut None, peer, ctx).await;
            return match Repr::parse(&answer.reply) {
                // (A group's members each read for themselves.)
                Ok(Repr::Accepted { .. }) if !m.to.starts_with('/') => {
                    self.read_by_the_same(&uuid, r.reader, r.state, r.at).await;
                    Ok(Settle::Done)
                }
                Ok(Repr::Accepted { .. }) => Ok(Settle::Done),
                Ok(Repr::Refused {
                    reason: Reason::NoRoom,
                    ..
                }) => Ok(Settle::Later),
                Ok(Repr::Refused { text, .. }) => Err(text.to_owned()),
                _ => Ok(Settle::Later),
            };
        }
        // Read at another host of the same recipient: the reader's name is
        // this message's, and that host holds it by its signed entry.
        self.secure
            .verify_cached(&Repr::Receipt(r), &mut None)
            .map_err(|e| format!("a receipt from {host} refused: {e}"))?;
        let name = r.reader.rsplit_once('@').map_or(r.reader, |(n, _)| n);
        if !name.eq_ignore_ascii_case(m.to.trim()) || r.state != ReceiptState::Read {
            return Err(format!(
                "a receipt from {host} about message {}, which is not its reader's",
                m.id
            ));
        }
        // A group's members each read its message for themselves: a host
        // that claims the group's name (any may) reads it for no one else.
        let relay_group = crate::relay::is_relay_group(&m.to, &self.groups);
        let workgroup = self.policy.is_workgroup(m.to.as_bytes());
        if crate::relay::to_a_group(&m.to, relay_group, workgroup, &self.registry) {
            return Err(format!(
                "a receipt from {host} about message {}, a group's: each member reads it for themselves",
                m.id
            ));
        }
        // Her name, held here now (not a group's, which this host may
        // have left since: then no longer a group here, nor anyone's).
        if !crate::relay::held_here(&m.to, &self.registry) {
            return Err(format!(
                "a receipt from {host} about message {}, to a name this host does not hold now",
                m.id
            ));
        }
        // Read before the update shown here was made (a late receipt, or
        // one replayed): the update is not read yet. (Before the directory
        // is asked: a replay costs no lookup.)
        if m.updated_at
            .is_some_and(|u| r.at.min(messngr_store::clock::now_ms()) < u)
        {
            self.policy.refuse(
                crate::policy::Refusal::Superseded,
                crate::relay::relayed_source(self.address).ip(),
                format_args!(
                    "a read receipt from {host} for message {} is older than its update: left unread",
                    m.id
                ),
            );
            return Ok(Settle::Done);
        }
        match relay.lookup(&self.secure, name).await {
            Ok(holders) if holders.iter().any(|f| f.host == host) => {}
            Ok(_)
            | Err(crate::relay::LookupError::Absent(_) | crate::relay::LookupError::Ours(_)) => {
                return Err(format!(
                    "{host} reports {name} read, but the directory does not place {name} there"
                ));
            }
            Err(e) => {
                tracing::info!("relay: a read receipt from {host} waits: {e}");
                return Ok(Settle::Later);
            }
        }
        if m.read_at.is_none() {
            match self.receipts.mark_read(m.id).await {
                Ok(_) => tracing::info!(
                    "message {} was read at {host}, another host of {}: marked read here too",
                    m.id,
                    messngr_proto::text::sanitize_line(name)
                ),
                Err(e) => {
                    tracing::info!("relay: message {} not marked read yet: {e}", m.id);
                    return Ok(Settle::Later);
                }
            }
        }
        Ok(Settle::Done)
    }
}

impl Inbound {
    /// After `reader` (`ALICE@H2`) read sent message `uuid`: ALICE's other
    /// hosts (`ALICE@H3`) count as read too. One person at several sites
    /// reads a message once, and `track` and `send --wait` see that.
    async fn read_by_the_same(&self, uuid: &str, reader: &str, state: ReceiptState, at: i64) {
        let Some((name, _)) = reader.rsplit_once('@') else {
            return;
        };
        if state != ReceiptState::Read {
            return;
        }
        let Ok(rows) = self.receipts.receipts(uuid.to_owned()).await else {
            return;
        };
        let at = at.min(messngr_store::clock::now_ms());
        for row in rows {
            let same = row
                .recipient
                .rsplit_once('@')
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name));
            if same && row.recipient != reader && row.state != messngr_store::ReceiptState::Read {
                let (u, who) = (uuid.to_owned(), row.recipient.clone());
                if let Err(e) = self
                    .receipts
                    .record(u, who, messngr_store::ReceiptState::Read, at)
                    .await
                {
                    tracing::info!(
                        "relay: {} not marked read with {reader}: {e}",
                        row.recipient
                    );
                }
            }
        }
    }
}
