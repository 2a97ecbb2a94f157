//! This host's keys and the checks that make a messngr message verified.
//!
//! Why one place: the host key (`state_dir/host.key`) is both the Noise
//! static key of every encrypted session and the key that certifies each
//! local sender's own key (`state_dir/users/UID.key`); the pins (`trust`)
//! decide which peer keys are accepted. Sessions (`native::channel`,
//! `send::secure`) and the receiver's signature check all go
//! through [`Secure`], so there is one rule for what "verified" means
//! (docs/native.md, "Secure sessions").

mod sign;
mod trust;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use messngr_proto::wire::Emit;
use messngr_proto::wire::native::Hello;
use messngr_secure::Identity;

pub(crate) use sign::{Certified, CertifiedAuthor, Forged, Signer, Verified};
pub(crate) use trust::{Trust, Untrusted};

use crate::settings::Settings;

/// Why the keys could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum SecureError {
    /// A key file.
    #[error("{0}")]
    Key(#[from] messngr_secure::KeyError),
    /// The pins.
    #[error("{0}")]
    Trust(String),
    /// A directory.
    #[error("{path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A local account without a name.
    #[error("uid {0} has no account name: it cannot sign messages")]
    NoAccount(u32),
}

/// This host's keys, the local senders' keys, and the pins.
pub(crate) struct Secure {
    host: Identity,
    host_name: String,
    hello: Vec<u8>,
    trust: Trust,
    users_dir: PathBuf,
    signers: Mutex<HashMap<u32, Arc<Signer>>>,
    require_secure: bool,
}

impl Secure {
    /// Loads (or makes, on first start) the host key and loads the pins.
    /// Runs as the daemon's user: the files are its own, mode 0600.
    pub(crate) fn open(settings: &Settings) -> Result<Secure, SecureError> {
        let host = Identity::load_or_create(&settings.state_dir.join("host.key"))?;
        let users_dir = settings.state_dir.join("users");
        make_private_dir(&users_dir)?;
        let trust = Trust::load(
            settings.secure.trust(),
            &settings.secure.trust_file(),
            &settings.state_dir,
        )
        .map_err(|e| SecureError::Trust(e.to_string()))?
        .reserving(
            std::iter::once(settings.netbios_name.clone()).chain(settings.aliases.iter().cloned()),
        );
        tracing::info!(
            "host key {} ({})",
            host.public().fingerprint(),
            settings.state_dir.join("host.key").display()
        );
        Ok(Self::new(
            host,
            settings.netbios_name.clone(),
            trust,
            users_dir,
            settings.secure.require_secure(),
        ))
    }

    fn new(
        host: Identity,
        host_name: String,
        trust: Trust,
        users_dir: PathBuf,
        require_secure: bool,
    ) -> Secure {
        let hello = Hello {
            host: &host_name,
            host_key: *host.public().as_bytes(),
        }
        .to_vec()
        .unwrap_or_default();
        Secure {
            host,
            host_name,
            hello,
            trust,
            users_dir,
            signers: Mutex::new(HashMap::new()),
            require_secure,
        }
    }

    /// The host key (the Noise static key, and the certifier of users').
    pub(crate) fn host(&self) -> &Identity {
        &self.host
    }

    /// This host's NetBIOS name.
    pub(crate) fn host_name(&self) -> &str {
        &self.host_name
    }

    /// The HELLO payload this host puts in its handshake messages.
    pub(crate) fn hello(&self) -> &[u8] {
        &self.hello
    }

    /// The pins.
    pub(crate) fn trust(&self) -> &Trust {
        &self.trust
    }

    /// Whether plain text is forbidden (`require_secure`).
    pub(crate) fn require_secure(&self) -> bool {
        self.require_secure
    }

    /// The signer for local account `uid`: its key, loaded or made on its
    /// first message, and certified by the host key.
    pub(crate) fn signer(&self, uid: u32) -> Result<Arc<Signer>, SecureError> {
        let mut signers = self.signers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = signers.get(&uid) {
            return Ok(s.clone());
        }
        let author = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(|u| u.name)
            .ok_or(SecureError::NoAccount(uid))?;
        let key = Identity::load_or_create(&self.users_dir.join(format!("{uid}.key")))?;
        let signer = Arc::new(Signer::new(&self.host, &self.host_name, author, key));
        signers.insert(uid, signer.clone());
        Ok(signer)
    }
}

fn make_private_dir(path: &std::path::Path) -> Result<(), SecureError> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(SecureError::Dir {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) mod testing {
    //! Keys for unit tests: a host with pins in a temporary directory.
    use super::*;

    /// A `Secure` for host `name` with a fresh key and no pins.
    pub(crate) fn secure(name: &str, dir: &std::path::Path) -> Secure {
        let trust = Trust::load(crate::config::TrustMode::Tofu, &dir.join("none"), dir)
            .unwrap_or_else(|e| panic!("{e}"));
        Secure::new(
            Identity::generate().unwrap_or_else(|e| panic!("{e}")),
            name.to_owned(),
            trust,
            dir.to_owned(),
            false,
        )
    }
}
