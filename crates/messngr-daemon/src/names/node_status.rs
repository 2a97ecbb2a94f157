//! The node status client (`messngr lookup -A IP`, like `nmblookup -A`): a
//! one-shot unicast exchange with retries, kept beside the name service
//! because it shares its socket (answers arrive on UDP 137), but not part of
//! the B-node's own state machine.

use std::net::SocketAddrV4;
use std::time::Instant;

use messngr_proto::wire::Emit;
use messngr_proto::wire::name::{EncodedName, NetbiosName};
use messngr_proto::wire::nbns::{RData, Repr as NbnsRepr};

use super::report::{NamesError, NodeName, NodeReport};
use super::{Driver, NODE_STATUS_TIMEOUT, NODE_STATUS_TRIES};

impl Driver {
    /// Sends due node status (re)tries, and fails the ones out of tries.
    pub(super) fn node_status_timeouts(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.node_status.len() {
            let q = &mut self.node_status[i];
            if q.deadline > now {
                i += 1;
                continue;
            }
            if q.tries >= NODE_STATUS_TRIES {
                let q = self.node_status.remove(i);
                let _ = q.reply.send(Err(NamesError::NotFound(format!(
                    "{} did not answer a node status query",
                    q.target.ip()
                ))));
                continue;
            }
            q.tries += 1;
            q.deadline = now + NODE_STATUS_TIMEOUT;
            let req = NbnsRepr::node_status_request(
                q.trn_id,
                EncodedName {
                    name: NetbiosName::WILDCARD,
                    scope: self.settings.scope(),
                },
                false,
            );
            if let Ok(bytes) = req.to_vec() {
                let target = q.target;
                let socket = &self.socket;
                // Non-blocking best effort; a full socket buffer means we retry on the next tick.
                match socket.try_send_to(&bytes, target.into()) {
                    Ok(_) => self.sent += 1,
                    Err(e) => tracing::debug!("nbns: node status to {target}: {e}"),
                }
            }
            i += 1;
        }
    }

    /// If `bytes` answers one of our node status queries, completes it.
    pub(super) fn node_status_answer(&mut self, from: SocketAddrV4, bytes: &[u8]) -> bool {
        if self.node_status.is_empty() {
            return false; // the common case: no parse for nothing
        }
        let Ok(repr) = NbnsRepr::parse(bytes) else {
            return false;
        };
        if !repr.flags.response {
            return false;
        }
        let Some(i) = self
            .node_status
            .iter()
            .position(|q| q.trn_id == repr.trn_id && q.target.ip() == from.ip())
        else {
            return false;
        };
        let Some(RData::NodeStatus(status)) = repr.answers.first().map(|rr| rr.rdata) else {
            return false;
        };
        let q = self.node_status.remove(i);
        let names = status
            .names
            .iter()
            .map(|n| NodeName {
                name: n.name,
                group: n.flags.group(),
                node_type: ["B", "P", "M", "H"][usize::from(n.flags.0 >> 13 & 3)],
                flags: node_flags(n.flags.0),
            })
            .collect();
        let _ = q.reply.send(Ok(NodeReport {
            address: *from.ip(),
            names,
            mac: status.unit_id().unwrap_or_default(),
        }));
        true
    }
}

fn node_flags(bits: u16) -> Vec<&'static str> {
    use messngr_proto::wire::nbns::NameFlags as F;
    [
        (F::GROUP, "GROUP"),
        (F::DEREGISTERING, "DEREGISTERING"),
        (F::CONFLICT, "CONFLICT"),
        (F::ACTIVE, "ACTIVE"),
        (F::PERMANENT, "PERMANENT"),
    ]
    .into_iter()
    .filter(|(b, _)| bits & b != 0)
    .map(|(_, s)| s)
    .collect()
}
