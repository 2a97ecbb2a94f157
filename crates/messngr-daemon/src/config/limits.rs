//! The `[limits]` table: flood protection on UDP 138 and TCP 139.
//!
//! Why its own file: nine keys with their defaults and reasons would crowd
//! `config.rs`, which every part of the daemon edits. The limits themselves
//! are applied by `policy::limits`; this is only what the user wrote.

use serde::Deserialize;

use super::ConfigError;
use crate::policy::LimitRates;

/// Flood protection. Every rate is per second, with bursts of one second's
/// worth; 0 turns that limit off.
///
/// The defaults are ceilings against runaway or hostile hosts that leave a
/// busy LAN alone: `bench/messages.sh` pushes ~10 000 SMB messages/s (8
/// sessions) or ~6 200 fresh connections/s from one host, and passes under
/// them. What stops floods by default is the per-source session cap, the
/// fixed deadlines and the size caps; lower the rates for stricter control.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// UDP 138 datagrams/s from one address (default 1000).
    pub datagrams_per_source: Option<u32>,
    /// UDP 138 datagrams/s from everyone (default 20 000).
    pub datagrams_total: Option<u32>,
    /// Mailslot (WinPopup, `net send *`) messages/s from one address (default 20).
    pub mailslot_messages_per_source: Option<u32>,
    /// Mailslot messages/s from everyone (default 200).
    pub mailslot_messages_total: Option<u32>,
    /// New TCP 139 sessions/s from one address (default 10 000).
    pub new_sessions_per_source: Option<u32>,
    /// New TCP 139 sessions/s from everyone (default 20 000).
    pub new_sessions_total: Option<u32>,
    /// TCP 139 sessions one address may hold at once (default 16, of 256).
    pub sessions_per_source: Option<u32>,
    /// Messages/s over TCP 139 (SMB and messngr) from one address (default 20 000).
    pub session_messages_per_source: Option<u32>,
    /// Messages/s over TCP 139 from everyone (default 50 000).
    pub session_messages_total: Option<u32>,
}

/// TCP 139 sessions served at once in all (`sessions_per_source` may not
/// exceed it).
pub const MAX_SESSIONS: u32 = 256;

impl Limits {
    /// Concurrent TCP 139 sessions per source.
    pub fn sessions_per_source(&self) -> u32 {
        self.sessions_per_source
            .unwrap_or(LimitRates::DEFAULT.sessions_per_source)
    }

    /// The values in force.
    pub(crate) fn rates(&self) -> LimitRates {
        let d = LimitRates::DEFAULT;
        LimitRates {
            datagrams_per_source: self.datagrams_per_source.unwrap_or(d.datagrams_per_source),
            datagrams_total: self.datagrams_total.unwrap_or(d.datagrams_total),
            mailslot_messages_per_source: self
                .mailslot_messages_per_source
                .unwrap_or(d.mailslot_messages_per_source),
            mailslot_messages_total: self
                .mailslot_messages_total
                .unwrap_or(d.mailslot_messages_total),
            new_sessions_per_source: self
                .new_sessions_per_source
                .unwrap_or(d.new_sessions_per_source),
            new_sessions_total: self.new_sessions_total.unwrap_or(d.new_sessions_total),
            sessions_per_source: self.sessions_per_source.unwrap_or(d.sessions_per_source),
            session_messages_per_source: self
                .session_messages_per_source
                .unwrap_or(d.session_messages_per_source),
            session_messages_total: self
                .session_messages_total
                .unwrap_or(d.session_messages_total),
        }
    }

    /// Checks the values that can be wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.sessions_per_source() > MAX_SESSIONS {
            return Err(ConfigError::Invalid {
                key: "limits.sessions_per_source",
                message: format!(
                    "{} is more than the {MAX_SESSIONS} sessions served in all: use 1 to {MAX_SESSIONS}, or 0 for no per-source cap",
                    self.sessions_per_source()
                ),
            });
        }
        Ok(())
    }
}
