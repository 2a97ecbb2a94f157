//! Receipts of sent messages: who got a message, who read it.
//!
//! A sent message (stored with [`crate::Direction::Out`]) gets one row per
//! recipient: `sent` when it leaves, then `delivered` and `read` as peers
//! report them. States only move forward, so a late `delivered` cannot undo
//! a `read`. A broadcast's "32 of 40 read" is [`ReceiptSummary`].
//!
//! The recipients known when a message leaves are recorded with
//! [`Store::add_recipients`]; a broadcast's are not known in advance, so a
//! receipt from a recipient without a row adds one ([`Store::set_receipt`]
//! inserts): they appear as they answer.

use rusqlite::{TransactionBehavior, params};

use crate::error::{Result, StoreError};
use crate::store::Store;

/// How far a message got with one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReceiptState {
    /// Sent, nothing heard back.
    Sent,
    /// The recipient's node stored it.
    Delivered,
    /// A person read it.
    Read,
}

impl ReceiptState {
    fn as_str(self) -> &'static str {
        match self {
            ReceiptState::Sent => "sent",
            ReceiptState::Delivered => "delivered",
            ReceiptState::Read => "read",
        }
    }

    fn from_name(s: &str) -> ReceiptState {
        match s {
            "read" => ReceiptState::Read,
            "delivered" => ReceiptState::Delivered,
            _ => ReceiptState::Sent,
        }
    }
}

/// One recipient's receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Who.
    pub recipient: String,
    /// How far.
    pub state: ReceiptState,
    /// When that state was reached (Unix ms).
    pub at: i64,
}

/// Counts over a sent message's recipients ("32 of 40 read").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiptSummary {
    /// Recipients recorded.
    pub total: u64,
    /// Of those, delivered or read.
    pub delivered: u64,
    /// Of those, read.
    pub read: u64,
}

/// Records `recipients` of the message `uuid` as delivered at `at`, inside
/// the transaction that stores it (see `NewMessage::delivered_to`).
pub(crate) fn record_delivered(
    tx: &rusqlite::Transaction<'_>,
    uuid: &str,
    recipients: &[String],
    at: i64,
) -> Result<()> {
    if recipients.is_empty() {
        return Ok(());
    }
    let mut add = tx.prepare_cached(
        "INSERT INTO receipts (message_uuid, recipient, state, at) \
         VALUES (?1, ?2, 'delivered', ?3) ON CONFLICT (message_uuid, recipient) DO NOTHING",
    )?;
    for r in recipients {
        add.execute(params![uuid, r, at])?;
    }
    Ok(())
}

impl Store {
    /// Records that `recipient` reached `state` for the message `uuid` at
    /// `at`; an earlier state never replaces a later one. A recipient with
    /// no row yet gets one (a broadcast's recipients appear as they
    /// answer). An unknown `uuid` is [`StoreError::Invalid`]. Returns
    /// whether anything changed (`false`: a state not later than the one
    /// recorded, which is nothing to tell anyone).
    pub fn set_receipt(
        &mut self,
        uuid: &str,
        recipient: &str,
        state: ReceiptState,
        at: i64,
    ) -> Result<bool> {
        known(self.conn_ref(), uuid)?;
        let changed = self.conn_ref().execute(
            "INSERT INTO receipts (message_uuid, recipient, state, at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (message_uuid, recipient) DO UPDATE SET state = excluded.state, \
             at = excluded.at \
             WHERE (CASE excluded.state WHEN 'read' THEN 2 WHEN 'delivered' THEN 1 ELSE 0 END) \
                 > (CASE receipts.state WHEN 'read' THEN 2 WHEN 'delivered' THEN 1 ELSE 0 END)",
            params![uuid, recipient, state.as_str(), at],
        )?;
        Ok(changed > 0)
    }

    /// Records the recipients a message was sent to, each `sent` at `at`,
    /// in one transaction; a recipient already recorded keeps its row (so
    /// calling again, or after a receipt came, changes nothing). Returns
    /// how many rows were added. An unknown `uuid` or an empty recipient
    /// is [`StoreError::Invalid`] and records nothing.
    pub fn add_recipients(&mut self, uuid: &str, recipients: &[String], at: i64) -> Result<usize> {
        if recipients.iter().any(String::is_empty) {
            return Err(StoreError::Invalid(
                "an empty recipient name: give each recipient's name".to_owned(),
            ));
        }
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        known(&tx, uuid)?;
        let mut added = 0;
        {
            let mut add = tx.prepare_cached(
                "INSERT INTO receipts (message_uuid, recipient, state, at) \
                 VALUES (?1, ?2, 'sent', ?3) ON CONFLICT (message_uuid, recipient) DO NOTHING",
            )?;
            for r in recipients {
                added += add.execute(params![uuid, r, at])?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// The recipients of the message `uuid` that have not read it (state
    /// `sent` or `delivered`), by name.
    pub fn unread_recipients(&self, uuid: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn_ref().prepare_cached(
            "SELECT recipient FROM receipts WHERE message_uuid = ? \
             AND state IN ('sent', 'delivered') ORDER BY recipient",
        )?;
        let rows = stmt.query_map([uuid], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Every recipient's receipt for the message `uuid`, by recipient.
    pub fn receipts(&self, uuid: &str) -> Result<Vec<Receipt>> {
        let mut stmt = self.conn_ref().prepare_cached(
            "SELECT recipient, state, at FROM receipts WHERE message_uuid = ? ORDER BY recipient",
        )?;
        let rows = stmt.query_map([uuid], |r| {
            let state: String = r.get(1)?;
            Ok(Receipt {
                recipient: r.get(0)?,
                state: ReceiptState::from_name(&state),
                at: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The counts for the message `uuid`.
    pub fn receipt_summary(&self, uuid: &str) -> Result<ReceiptSummary> {
        Ok(self.conn_ref().query_row(
            "SELECT count(*), \
             count(*) FILTER (WHERE state IN ('delivered', 'read')), \
             count(*) FILTER (WHERE state = 'read') \
             FROM receipts WHERE message_uuid = ?",
            [uuid],
            |r| {
                let n = |i| r.get::<_, i64>(i).map(|v| u64::try_from(v).unwrap_or(0));
                Ok(ReceiptSummary {
                    total: n(0)?,
                    delivered: n(1)?,
                    read: n(2)?,
                })
            },
        )?)
    }
}

/// Refuses a receipt for a message that is not stored.
fn known(conn: &rusqlite::Connection, uuid: &str) -> Result<()> {
    let known: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM messages WHERE uuid = ?)",
        [uuid],
        |r| r.get(0),
    )?;
    if !known {
        return Err(StoreError::Invalid(format!(
            "receipt for unknown message {uuid}"
        )));
    }
    Ok(())
}
