//! Tokens for the HTTP API: made by an account over the local socket, kept
//! hashed in `state_dir/tokens`, checked on every HTTP request.
//!
//! Why hashed and why SHA-256: the file must not hand out working tokens
//! to whoever reads a backup of it, and a token is 150 random bits, so a
//! fast hash is as good as a slow one (nothing to guess). The format is
//! ntfy's (`tk_` and 29 lowercase letters and digits), so that ntfy
//! clients' `--token` option takes it. A token acts as the account that
//! made it and sees what that account sees; revoking it takes effect at
//! the next request.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// File name of the tokens in the state directory.
pub(crate) const TOKENS_FILE: &str = "tokens";
/// How many tokens one account may hold.
pub(crate) const MAX_PER_ACCOUNT: usize = 32;
/// The longest label.
pub(crate) const MAX_LABEL: usize = 64;
/// The label of the token `messngr web` sessions act as.
pub(crate) const WEB_LABEL: &str = "messngr web";
const PREFIX: &str = "tk_";
const BODY_LEN: usize = 29;
const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// One token, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) id: u32,
    pub(crate) uid: u32,
    pub(crate) user: String,
    pub(crate) created_ms: i64,
    /// The token's first characters, to recognise it in a list.
    pub(crate) prefix: String,
    pub(crate) label: String,
    hash: [u8; 32],
}

/// Why a token could not be made, found or kept.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no random numbers for a token: {0}")]
    Random(String),
    #[error(
        "this account has {MAX_PER_ACCOUNT} tokens already: revoke one (`messngr token list`, `messngr token revoke ID`)"
    )]
    TooMany,
    #[error("the label is longer than {MAX_LABEL} characters or has control characters")]
    BadLabel,
    #[error("no token {0} of yours: `messngr token list` shows them")]
    NotFound(u32),
}

/// The tokens in force.
#[derive(Debug)]
pub(crate) struct Tokens {
    path: PathBuf,
    entries: Mutex<Inner>,
}

/// The tokens and the next number.
#[derive(Debug)]
struct Inner {
    entries: Vec<Entry>,
    next: u32,
}

/// The number the next token gets, kept in the file (`#next N`) so that a
/// revoked token's number never names a newer one.
const NEXT: &str = "#next ";

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

use messngr_store::clock::now_ms;

impl Tokens {
    /// Loads `state_dir/tokens` (none yet is an empty set).
    pub(crate) fn load(state_dir: &Path) -> Result<Tokens, TokenError> {
        let path = state_dir.join(TOKENS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(TokenError::Io { path, source }),
        };
        let mut entries = Vec::new();
        let mut next = 1;
        for (i, l) in text.lines().enumerate() {
            if let Some(n) = l.strip_prefix(NEXT) {
                next = n.trim().parse().unwrap_or(next);
                continue;
            }
            if l.trim().is_empty() || l.starts_with('#') {
                continue;
            }
            // One bad line costs that token, not the daemon.
            match parse_line(l) {
                Ok(e) => entries.push(e),
                Err(why) => tracing::warn!(
                    "{} line {}: {why}: that token is not in force (remove the line)",
                    path.display(),
                    i + 1
                ),
            }
        }
        let next = entries.iter().map(|e| e.id + 1).fold(next, u32::max);
        Ok(Tokens {
            path,
            entries: Mutex::new(Inner { entries, next }),
        })
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes a token for `uid` (`user`): its entry, and the token itself.
    pub(crate) fn create(
        &self,
        uid: u32,
        user: &str,
        label: Option<&str>,
    ) -> Result<(Entry, String), TokenError> {
        let label = label.unwrap_or("").trim();
        if label.chars().count() > MAX_LABEL || label.chars().any(char::is_control) {
            return Err(TokenError::BadLabel);
        }
        let token = new_token()?;
        let mut inner = self.entries();
        if inner.entries.iter().filter(|e| e.uid == uid).count() >= MAX_PER_ACCOUNT {
            return Err(TokenError::TooMany);
        }
        let entry = Entry {
            id: inner.next,
            uid,
            user: user.to_owned(),
            created_ms: now_ms(),
            prefix: token.chars().take(7).collect(),
            label: label.to_owned(),
            hash: hash(&token),
        };
        inner.entries.push(entry.clone());
        inner.next += 1;
        if let Err(e) = self.save(&inner) {
            inner.entries.pop();
            inner.next -= 1;
            return Err(e);
        }
        tracing::info!("HTTP token {} made for {user} (uid {uid})", entry.id);
        Ok((entry, token))
    }

    /// The tokens of `uid`, or every one for `all`.
    pub(crate) fn list(&self, uid: u32, all: bool) -> Vec<Entry> {
        self.entries()
            .entries
            .iter()
            .filter(|e| all || e.uid == uid)
            .cloned()
            .collect()
    }

    /// Revokes token `id` of `uid` (`any`: of anyone).
    pub(crate) fn revoke(&self, uid: u32, any: bool, id: u32) -> Result<Entry, TokenError> {
        let mut inner = self.entries();
        let at = inner
            .entries
            .iter()
            .position(|e| e.id == id && (any || e.uid == uid))
            .ok_or(TokenError::NotFound(id))?;
        let gone = inner.entries.remove(at);
        if let Err(e) = self.save(&inner) {
            inner.entries.insert(at, gone);
            return Err(e);
        }
        tracing::info!("HTTP token {id} of {} revoked", gone.user);
        Ok(gone)
    }

    /// The token `token` is, if it is one in force: its number and the
    /// account it acts as.
    pub(crate) fn check(&self, token: &str) -> Option<(u32, u32, String)> {
        if token.len() != PREFIX.len() + BODY_LEN || !token.starts_with(PREFIX) {
            return None;
        }
        let h = hash(token);
        self.entries()
            .entries
            .iter()
            .find(|e| e.hash == h)
            .map(|e| (e.id, e.uid, e.user.clone()))
    }

    /// Whether token `id` is still in force (open event streams ask).
    pub(crate) fn is_live(&self, id: u32) -> bool {
        self.entries().entries.iter().any(|e| e.id == id)
    }

    /// The account token `id` acts as, while it is in force (a web
    /// session asks at every request).
    pub(crate) fn by_id(&self, id: u32) -> Option<(u32, String)> {
        self.entries()
            .entries
            .iter()
            .find(|e| e.id == id)
            .map(|e| (e.uid, e.user.clone()))
    }

    /// The token `messngr web` sessions of `uid` act as: the one labelled
    /// [`WEB_LABEL`], made the first time (the token itself is never
    /// shown: only its sessions use it; revoking it ends them).
    pub(crate) fn web_token(&self, uid: u32, user: &str) -> Result<Entry, TokenError> {
        let found = self
            .entries()
            .entries
            .iter()
            .find(|e| e.uid == uid && e.label == WEB_LABEL)
            .cloned();
        match found {
            Some(e) => Ok(e),
            None => self.create(uid, user, Some(WEB_LABEL)).map(|(e, _)| e),
        }
    }

    fn save(&self, inner: &Inner) -> Result<(), TokenError> {
        let mut out = format!(
            "# messngr HTTP tokens (SHA-256 of each): ID UID USER CREATED_MS PREFIX HASH LABEL\n{NEXT}{}\n",
            inner.next
        );
        for e in &inner.entries {
            out.push_str(&format!(
                "{} {} {} {} {} {} {}\n",
                e.id,
                e.uid,
                e.user,
                e.created_ms,
                e.prefix,
                hex::encode(e.hash),
                e.label
            ));
        }
        crate::privs::write_atomically(&self.path, out.as_bytes(), 0o600).map_err(|source| {
            TokenError::Io {
                path: self.path.clone(),
                source,
            }
        })
    }
}

fn parse_line(l: &str) -> Result<Entry, &'static str> {
    let mut f = l.splitn(7, ' ');
    let mut next = |what| f.next().filter(|s| !s.is_empty()).ok_or(what);
    let id = next("no id")?.parse().map_err(|_| "bad id")?;
    let uid = next("no uid")?.parse().map_err(|_| "bad uid")?;
    let user = next("no user")?.to_owned();
    let created_ms = next("no time")?.parse().map_err(|_| "bad time")?;
    let prefix = next("no prefix")?.to_owned();
    let hash = hex::decode(next("no hash")?)
        .ok()
        .and_then(|h| <[u8; 32]>::try_from(h).ok())
        .ok_or("bad hash")?;
    let label = f.next().unwrap_or("").to_owned();
    Ok(Entry {
        id,
        uid,
        user,
        created_ms,
        prefix,
        label,
        hash,
    })
}

/// `tk_` and 29 characters of [a-z0-9], uniformly (rejection sampling).
fn new_token() -> Result<String, TokenError> {
    let mut out = String::from(PREFIX);
    let mut buf = [0u8; 64];
    while out.len() < PREFIX.len() + BODY_LEN {
        getrandom::fill(&mut buf).map_err(|e| TokenError::Random(e.to_string()))?;
        for b in buf {
            // 252 = 7 × 36: the bytes above it would favour some characters.
            if b < 252 && out.len() < PREFIX.len() + BODY_LEN {
                out.push(char::from(ALPHABET[usize::from(b % 36)]));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_kept_hashed_checked_and_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = Tokens::load(dir.path()).unwrap();
        let (e, token) = tokens.create(1000, "alice", Some("phone")).unwrap();
        assert!(token.starts_with("tk_") && token.len() == 32, "{token}");
        assert_eq!(tokens.check(&token), Some((e.id, 1000, "alice".into())));
        let file = std::fs::read_to_string(dir.path().join(TOKENS_FILE)).unwrap();
        assert!(!file.contains(&token), "the file holds only hashes");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(TOKENS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // Kept across a restart.
        let again = Tokens::load(dir.path()).unwrap();
        assert_eq!(again.check(&token), Some((e.id, 1000, "alice".into())));
        assert_eq!(again.list(1000, false)[0].label, "phone");
        // Only its owner (or root) revokes it.
        assert!(matches!(
            again.revoke(1001, false, e.id),
            Err(TokenError::NotFound(_))
        ));
        again.revoke(1000, false, e.id).unwrap();
        assert_eq!(again.check(&token), None);
        assert!(!again.is_live(e.id));
        let reloaded = Tokens::load(dir.path()).unwrap();
        assert_eq!(reloaded.check(&token), None);
        // A revoked token's number is never given again.
        let (newer, _) = reloaded.create(1000, "alice", None).unwrap();
        assert!(newer.id > e.id, "{} after {}", newer.id, e.id);
        // A bad line costs its token, not the rest.
        let file = dir.path().join(TOKENS_FILE);
        let mut text = std::fs::read_to_string(&file).unwrap();
        text.push_str("garbage line\n");
        std::fs::write(&file, text).unwrap();
        assert_eq!(Tokens::load(dir.path()).unwrap().list(1000, false).len(), 1);
        // Anything else is no token.
        assert_eq!(again.check("tk_"), None);
        assert_eq!(again.check(&token.replace("tk_", "tx_")), None);
    }

    #[test]
    fn an_account_holds_a_bounded_number_of_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = Tokens::load(dir.path()).unwrap();
        for _ in 0..MAX_PER_ACCOUNT {
            tokens.create(7, "bob", None).unwrap();
        }
        assert!(matches!(
            tokens.create(7, "bob", None),
            Err(TokenError::TooMany)
        ));
        assert!(tokens.create(8, "carol", None).is_ok());
        assert!(matches!(
            tokens.create(8, "carol", Some("a\nb")),
            Err(TokenError::BadLabel)
        ));
    }
}
