//! Do-not-disturb, per local user.
//!
//! Why it is in the store: quiet is one wish of a person that several
//! deliverers must honour — the daemon's terminal writer and each of that
//! user's desktop agents — and it should survive a reboot like the
//! messages it holds back. A quiet user's messages are stored as always
//! and wait, unread, in the inbox; only urgent ones are shown at once.

use rusqlite::{OptionalExtension, params};

use crate::error::Result;
use crate::store::Store;

impl Store {
    /// Turns do-not-disturb on or off for `user` (a login name); returns
    /// whether it changed. `at` (Unix ms) is kept as the start of quiet.
    pub fn set_quiet(&mut self, user: &str, on: bool, at: i64) -> Result<bool> {
        let conn = self.conn_ref();
        let changed = if on {
            conn.execute(
                "INSERT INTO quiet (user, since) VALUES (?1, ?2) ON CONFLICT (user) DO NOTHING",
                params![user, at],
            )?
        } else {
            conn.execute("DELETE FROM quiet WHERE user = ?1", params![user])?
        };
        Ok(changed > 0)
    }

    /// Since when `user` is quiet (Unix ms); `None`: not quiet.
    pub fn quiet_since(&self, user: &str) -> Result<Option<i64>> {
        Ok(self
            .conn_ref()
            .prepare_cached("SELECT since FROM quiet WHERE user = ?1")?
            .query_row(params![user], |r| r.get(0))
            .optional()?)
    }

    /// Every quiet user, sorted.
    pub fn quiet_users(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn_ref()
            .prepare_cached("SELECT user FROM quiet ORDER BY user")?;
        let users = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(users)
    }
}
