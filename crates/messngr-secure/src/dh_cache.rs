//! The static-static Diffie-Hellman of two hosts, computed once.
//!
//! Why: a sealed envelope (`sealed`, Noise X: `e, es, s, ss`) costs each
//! end two X25519 operations, and on a busy relay they are the largest
//! part of the daemons' CPU (README, Benchmarks). One of the two at each
//! end, `ss`, is the same for every envelope between the same two hosts:
//! DH(this host's key, the other host's key). It is remembered here, so a
//! stream of envelopes between two hosts costs one X25519 each instead of
//! two. The bytes on the wire are Noise X's, unchanged.
//!
//! Only the static key's operations with another *static* key are kept:
//! a key the Noise handshake sets from outside is the host's static key,
//! one it generates is an ephemeral (never kept), and the opener names the
//! envelope's ephemeral, which its static key meets in `es` (never kept
//! either). What is kept is a secret as good as the host key itself for
//! that pair, in the same process that holds the host key. The table is
//! bounded; when full it starts again, so an envelope flood with made-up
//! sender keys costs time, never memory.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use snow::params::{CipherChoice, DHChoice, HashChoice};
use snow::resolvers::{CryptoResolver, DefaultResolver};
use snow::types::{Cipher, Dh, Hash, Random};

/// Pairs remembered at most (32 bytes of key each way and 32 of secret).
const MAX_PAIRS: usize = 4096;

/// (our public key, theirs) → DH(ours, theirs).
type Table = HashMap<([u8; 32], [u8; 32]), [u8; 32]>;

fn table() -> &'static Mutex<Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE.get_or_init(Mutex::default)
}

/// snow's default primitives, with X25519 through [`CachedDh`].
pub(crate) struct Resolver {
    /// The ephemeral key of the envelope being opened (its static key's
    /// DH with it is never kept).
    skip: Option<[u8; 32]>,
}

impl Resolver {
    /// For sealing (no ephemeral of another to skip) or opening an
    /// envelope whose ephemeral key is `skip`.
    pub(crate) fn new(skip: Option<[u8; 32]>) -> Self {
        Resolver { skip }
    }
}

impl CryptoResolver for Resolver {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        DefaultResolver.resolve_rng()
    }

    fn resolve_dh(&self, choice: &DHChoice) -> Option<Box<dyn Dh>> {
        let inner = DefaultResolver.resolve_dh(choice)?;
        Some(match choice {
            DHChoice::Curve25519 => Box::new(CachedDh {
                inner,
                is_static: false,
                skip: self.skip,
            }),
            _ => inner,
        })
    }

    fn resolve_hash(&self, choice: &HashChoice) -> Option<Box<dyn Hash>> {
        DefaultResolver.resolve_hash(choice)
    }

    fn resolve_cipher(&self, choice: &CipherChoice) -> Option<Box<dyn Cipher>> {
        DefaultResolver.resolve_cipher(choice)
    }
}

/// snow's X25519, its static key's results with other static keys kept.
struct CachedDh {
    inner: Box<dyn Dh>,
    /// Set from outside (the host key), not generated (an ephemeral).
    is_static: bool,
    skip: Option<[u8; 32]>,
}

impl Dh for CachedDh {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn pub_len(&self) -> usize {
        self.inner.pub_len()
    }

    fn priv_len(&self) -> usize {
        self.inner.priv_len()
    }

    fn set(&mut self, privkey: &[u8]) {
        self.is_static = true;
        self.inner.set(privkey);
    }

    fn generate(&mut self, rng: &mut dyn Random) -> Result<(), snow::Error> {
        self.is_static = false;
        self.inner.generate(rng)
    }

    fn pubkey(&self) -> &[u8] {
        self.inner.pubkey()
    }

    fn privkey(&self) -> &[u8] {
        self.inner.privkey()
    }

    fn dh(&self, pubkey: &[u8], out: &mut [u8]) -> Result<(), snow::Error> {
        let pair = match (
            <[u8; 32]>::try_from(self.inner.pubkey()),
            pubkey.get(..32).map(<[u8; 32]>::try_from),
        ) {
            (Ok(ours), Some(Ok(theirs))) if self.is_static && self.skip != Some(theirs) => {
                Some((ours, theirs))
            }
            _ => None,
        };
        let Some(pair) = pair else {
            return self.inner.dh(pubkey, out);
        };
        let known = table()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&pair)
            .copied();
        if let (Some(secret), Some(out)) = (known, out.get_mut(..32)) {
            out.copy_from_slice(&secret);
            return Ok(());
        }
        self.inner.dh(pubkey, out)?;
        if let Some(Ok(secret)) = out.get(..32).map(<[u8; 32]>::try_from) {
            let mut t = table().lock().unwrap_or_else(|p| p.into_inner());
            if t.len() >= MAX_PAIRS {
                t.clear();
            }
            t.insert(pair, secret);
        }
        Ok(())
    }
}

/// Whether the pair (`ours`, `theirs`) is remembered (for tests).
#[cfg(test)]
pub(crate) fn remembered(ours: [u8; 32], theirs: [u8; 32]) -> bool {
    table()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains_key(&(ours, theirs))
}
