//! Quotas: how many received messages the inbox holds, in all and per
//! owner, and the expiry of read messages.
//!
//! Why here and not in the daemon: the check must be in the same
//! transaction as the insert, or two batches could each see room for one
//! more message and both take it. The counts the store keeps by owner
//! (`message_owner_totals`, `derived.rs`) make the check a sum over a few
//! rows (owner × read state × priority), never a walk over the messages,
//! so a full inbox of a million costs the same as an empty one.
//!
//! What counts: received messages (`direction = 'in'`) only; the records of
//! messages sent from here are this host's own. A message belongs to its
//! `owner_user`, or, without one (to the host, the workgroup, an alias
//! without owner), to the "host" bucket; each bucket has the per-owner
//! limit, and every message counts against the total. Messages, not bytes:
//! a message is at most 64 KiB (the SMB and native limits), so a count
//! bounds the bytes too, and a full disk is refused on its own
//! ([`crate::StoreError::Full`]).

use std::collections::HashMap;

use rusqlite::Transaction;

use crate::error::{Result, StoreError};
use crate::message::{Direction, NewMessage};

/// The limits on received messages; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quota {
    /// Received messages the inbox holds at most, everyone's together.
    pub max_messages: Option<u64>,
    /// Received messages one owner (a local user, or the host bucket for
    /// messages that belong to nobody) holds at most.
    pub max_messages_per_owner: Option<u64>,
}

/// Whose limit a refused message hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaBucket {
    /// The whole inbox (`max_messages`).
    Total,
    /// The messages that belong to nobody: to the host, the workgroup.
    Host,
    /// One local user's messages.
    Owner(String),
}

impl std::fmt::Display for QuotaBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QuotaBucket::Total => f.write_str("all received messages"),
            QuotaBucket::Host => f.write_str("the host's messages"),
            QuotaBucket::Owner(u) => write!(f, "{u}'s messages"),
        }
    }
}

/// The quota check of one insert transaction: the counts read once per
/// bucket, plus what the transaction admitted so far.
pub(crate) struct Check {
    quota: Quota,
    total: Option<u64>,
    owners: HashMap<(bool, String), u64>,
}

impl Check {
    pub(crate) fn new(quota: Quota) -> Check {
        Check {
            quota,
            total: None,
            owners: HashMap::new(),
        }
    }

    /// Admits `m` (counting it) or refuses it with
    /// [`StoreError::QuotaFull`]; nothing is counted for a refusal.
    pub(crate) fn admit(&mut self, tx: &Transaction<'_>, m: &NewMessage) -> Result<()> {
        if m.direction != Direction::In {
            return Ok(());
        }
        let key = (
            m.owner_user.is_none(),
            m.owner_user.clone().unwrap_or_default(),
        );
        let total = match (self.quota.max_messages, self.total) {
            (None, _) => None,
            (Some(_), Some(n)) => Some(n),
            (Some(_), None) => Some(sum(tx, None)?),
        };
        let owner = match (self.quota.max_messages_per_owner, self.owners.get(&key)) {
            (None, _) => None,
            (Some(_), Some(n)) => Some(*n),
            (Some(_), None) => Some(sum(tx, Some(&key))?),
        };
        if let (Some(limit), Some(n)) = (self.quota.max_messages, total)
            && n >= limit
        {
            return Err(StoreError::QuotaFull {
                bucket: QuotaBucket::Total,
                limit,
            });
        }
        if let (Some(limit), Some(n)) = (self.quota.max_messages_per_owner, owner)
            && n >= limit
        {
            let bucket = match m.owner_user.clone() {
                Some(u) => QuotaBucket::Owner(u),
                None => QuotaBucket::Host,
            };
            return Err(StoreError::QuotaFull { bucket, limit });
        }
        if let Some(n) = total {
            self.total = Some(n + 1);
        }
        if let Some(n) = owner {
            self.owners.insert(key, n + 1);
        }
        Ok(())
    }
}

/// Received messages in all (`None`) or of one (host, owner) bucket, from
/// the kept counts.
fn sum(tx: &Transaction<'_>, bucket: Option<&(bool, String)>) -> Result<u64> {
    let n: i64 = match bucket {
        None => tx
            .prepare_cached(
                "SELECT coalesce(sum(n), 0) FROM message_owner_totals WHERE direction = 'in'",
            )?
            .query_row([], |r| r.get(0))?,
        Some((host, owner)) => tx
            .prepare_cached(
                "SELECT coalesce(sum(n), 0) FROM message_owner_totals \
                 WHERE direction = 'in' AND host = ?1 AND owner = ?2",
            )?
            .query_row(rusqlite::params![host, owner], |r| r.get(0))?,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Deletes up to `limit` received messages that were read and were
/// received before `before` (ms since the epoch), oldest first; returns how
/// many. The delete triggers keep the counts and the full-text index
/// exact, as for any delete. The walk is on the index by direction and
/// time, which holds the read state: no message row is read to decide.
pub(crate) fn expire_read(tx: &Transaction<'_>, before: i64, limit: u32) -> Result<usize> {
    Ok(tx
        .prepare_cached(
            "DELETE FROM messages WHERE id IN (SELECT id FROM messages \
             INDEXED BY messages_by_dir_time \
             WHERE direction = 'in' AND received_at < ?1 AND read_at IS NOT NULL \
             ORDER BY received_at LIMIT ?2)",
        )?
        .execute(rusqlite::params![before, limit])?)
}
