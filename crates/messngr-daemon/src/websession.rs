//! The web inbox's sessions and one-time login codes, kept in memory.
//!
//! Why a session per browser rather than the token in the browser: the
//! page never holds the token (a script could read it); it holds an
//! HttpOnly cookie naming a session, and the session names the token it was
//! opened with, so revoking that token ends it at the next request. Each
//! session has its own CSRF token, which every state-changing request must
//! carry. A login code (`messngr web`) is minted over the Unix socket,
//! whose caller the kernel names, is good once and for [`CODE_LIFETIME`].
//! Kept in memory: a restarted daemon signs everyone out, which is safe.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// How long a login code is good for.
pub(crate) const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// How long a session lasts, used or not.
pub(crate) const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at once; the oldest goes first.
pub(crate) const MAX_SESSIONS: usize = 256;
/// Codes not yet used, kept at once; the oldest goes first.
pub(crate) const MAX_CODES: usize = 32;

/// A browser signed in.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The token (its id in `tokens`) it was opened with.
    pub(crate) token_id: u32,
    /// The per-session CSRF token.
    pub(crate) csrf: String,
    /// The local account whose browser opened it (`None`: from the LAN);
    /// only that account's connections may use it (`http::peer`).
    pub(crate) opener: Option<u32>,
    opened: Instant,
}

/// Why a session or code could not be made.
#[derive(Debug, thiserror::Error)]
#[error("no random numbers for a web session: {0}")]
pub struct RandomError(String);

/// Sessions and codes in force, keyed by the SHA-256 of the secret (so a
/// lookup's timing says nothing about a secret).
#[derive(Debug, Default)]
pub(crate) struct WebSessions {
    sessions: Mutex<HashMap<[u8; 32], Session>>,
    /// Code → (token id, the uid that asked for it, when).
    codes: Mutex<HashMap<[u8; 32], (u32, u32, Instant)>>,
}

fn key(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// 32 random bytes, hex.
fn secret() -> Result<String, RandomError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| RandomError(e.to_string()))?;
    Ok(hex::encode(b))
}

/// Removes the oldest entry of `map` while it holds `max` or more.
fn make_room<V>(map: &mut HashMap<[u8; 32], V>, max: usize, at: impl Fn(&V) -> Instant) {
    while map.len() >= max {
        let Some(oldest) = map.iter().min_by_key(|(_, v)| at(v)).map(|(k, _)| *k) else {
            return;
        };
        map.remove(&oldest);
    }
}

/// Whether two secrets are equal, in time that does not depend on where
/// they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl WebSessions {
    /// A login code for the token `token_id`, asked for by `uid`: good
    /// only in a browser of that account.
    pub(crate) fn mint_code(&self, token_id: u32, uid: u32) -> Result<String, RandomError> {
        let code = secret()?;
        let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        codes.retain(|_, (_, _, at)| at.elapsed() < CODE_LIFETIME);
        make_room(&mut codes, MAX_CODES, |(_, _, at)| *at);
        codes.insert(key(&code), (token_id, uid, Instant::now()));
        Ok(code)
    }

    /// The token a code was minted for, once (the code is gone after), if
    /// `by` — the local account whose browser brings it — asked for it.
    pub(crate) fn redeem(&self, code: &str, by: Option<u32>) -> Option<u32> {
        let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        let (token_id, uid, at) = codes.remove(&key(code))?;
        (at.elapsed() < CODE_LIFETIME && by == Some(uid)).then_some(token_id)
    }

    /// Opens a session for the token `token_id`, bound to `opener` (the
    /// local uid of the browser's connection; `None`: the LAN).
    pub(crate) fn open(
        &self,
        token_id: u32,
        opener: Option<u32>,
    ) -> Result<(String, Session), RandomError> {
        let (id, csrf) = (secret()?, secret()?);
        let session = Session {
            token_id,
            csrf,
            opener,
            opened: Instant::now(),
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, s| s.opened.elapsed() < SESSION_LIFETIME);
        make_room(&mut sessions, MAX_SESSIONS, |s| s.opened);
        sessions.insert(key(&id), session.clone());
        Ok((id, session))
    }

    /// The session `id` names, if it is in force.
    pub(crate) fn get(&self, id: &str) -> Option<Session> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let k = key(id);
        match sessions.get(&k) {
            Some(s) if s.opened.elapsed() < SESSION_LIFETIME => Some(s.clone()),
            Some(_) => {
                sessions.remove(&k);
                None
            }
            None => None,
        }
    }

    /// Ends session `id` (signing out; a revoked token).
    pub(crate) fn close(&self, id: &str) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.remove(&key(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_works_once_and_a_session_until_closed() {
        let w = WebSessions::default();
        let code = w.mint_code(4, 1000).unwrap();
        assert_eq!(w.redeem("0".repeat(64).as_str(), Some(1000)), None);
        let other = w.mint_code(4, 1000).unwrap();
        assert_eq!(
            w.redeem(&other, Some(1001)),
            None,
            "another account's browser"
        );
        assert_eq!(w.redeem(&other, Some(1000)), None, "and then it is spent");
        assert_eq!(w.redeem(&code, None), None, "from the LAN");
        let code = w.mint_code(4, 1000).unwrap();
        assert_eq!(w.redeem(&code, Some(1000)), Some(4));
        assert_eq!(w.redeem(&code, Some(1000)), None, "single use");
        let (id, s) = w.open(4, Some(1000)).unwrap();
        assert_eq!(s.csrf.len(), 64);
        assert_eq!(w.get(&id).map(|s| s.token_id), Some(4));
        w.close(&id);
        assert!(w.get(&id).is_none());
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd") && !same_secret("abc", "ab"));
    }

    #[test]
    fn sessions_and_codes_are_bounded() {
        let w = WebSessions::default();
        let first = w.open(1, Some(1000)).unwrap().0;
        for _ in 0..MAX_SESSIONS {
            w.open(2, Some(1000)).unwrap();
        }
        assert!(w.get(&first).is_none(), "the oldest went first");
        let code = w.mint_code(1, 0).unwrap();
        for _ in 0..MAX_CODES {
            w.mint_code(2, 0).unwrap();
        }
        assert_eq!(w.redeem(&code, Some(0)), None);
    }
}
