//! Key files: `state_dir/host.key` and `state_dir/users/UID.key`, each the 32-byte seed.
//!
//! A key file is the host's (or an account's) identity, so it is made once, atomically, and
//! never readable by anyone but the daemon's user. Loading refuses anything that could mean
//! the key leaked or was swapped (a symlink, a non-file, group/other permissions) instead
//! of quietly using or replacing it.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use nix::fcntl::OFlag;

use crate::keys::{Identity, KeyError};

const SEED_LEN: u64 = 32;

fn io_err(path: &Path, source: std::io::Error) -> KeyError {
    KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Identity {
    /// Reads the key at `path`, or makes a new one there if there is none.
    ///
    /// A new key is written to a temporary file in the same directory (created exclusively,
    /// not following links, mode 0600), synced, renamed into place and the directory synced,
    /// so a crash leaves either no key or a whole one. The directory must exist.
    pub fn load_or_create(path: &Path) -> Result<Identity, KeyError> {
        match fs::symlink_metadata(path) {
            Ok(_) => load(path),
            Err(e) if e.kind() == ErrorKind::NotFound => create(path),
            Err(e) => Err(io_err(path, e)),
        }
    }
}

fn load(path: &Path) -> Result<Identity, KeyError> {
    let shown = || path.display().to_string();
    let meta = fs::symlink_metadata(path).map_err(|e| io_err(path, e))?;
    if meta.file_type().is_symlink() {
        return Err(KeyError::Symlink { path: shown() });
    }
    // Open without following links, then check what was opened (not what the name meant a
    // moment ago).
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_NOFOLLOW.bits() | OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(code) if code == nix::libc::ELOOP => KeyError::Symlink { path: shown() },
            _ => io_err(path, e),
        })?;
    let meta = file.metadata().map_err(|e| io_err(path, e))?;
    let kind = meta.file_type();
    if !kind.is_file() {
        return Err(KeyError::NotRegular { path: shown() });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: shown(),
            mode,
        });
    }
    if meta.len() != SEED_LEN {
        return Err(KeyError::WrongLength {
            path: shown(),
            len: meta.len(),
        });
    }
    let mut seed = [0u8; 32];
    file.read_exact(&mut seed).map_err(|e| io_err(path, e))?;
    // A file that grew after the check is not a key file either.
    let mut extra = [0u8; 1];
    if file.read(&mut extra).map_err(|e| io_err(path, e))? != 0 {
        return Err(KeyError::WrongLength {
            path: shown(),
            len: SEED_LEN + 1,
        });
    }
    Ok(Identity::from_seed(seed))
}

fn create(path: &Path) -> Result<Identity, KeyError> {
    let identity = Identity::generate()?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag).map_err(|e| KeyError::Random(e.to_string()))?;
    let tmp = dir.join(format!(".{name}.{}.tmp", hex::encode(tag)));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true) // O_CREAT | O_EXCL
            .mode(0o600)
            .custom_flags(OFlag::O_NOFOLLOW.bits())
            .open(&tmp)?;
        file.write_all(&identity.seed())?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(path, e));
    }
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn created_0600_and_reloaded_equal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.key");
        let made = Identity::load_or_create(&path).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        assert_eq!(meta.len(), 32);
        let again = Identity::load_or_create(&path).unwrap();
        assert_eq!(again.public(), made.public());
        assert_eq!(again.seed(), made.seed());
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("host.key")]);
    }

    #[test]
    fn refuses_a_key_others_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.key");
        let made = Identity::load_or_create(&path).unwrap();
        for mode in [0o644, 0o640, 0o604] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let err = Identity::load_or_create(&path).unwrap_err();
            assert!(matches!(err, KeyError::Permissions { .. }), "{err}");
            assert!(err.to_string().contains("chmod 600"), "{err}");
        }
        // Nothing was replaced: fixing the mode gives the same key back.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            Identity::load_or_create(&path).unwrap().public(),
            made.public()
        );
    }

    #[test]
    fn refuses_a_symlink_even_to_a_good_key() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.key");
        let made = Identity::load_or_create(&real).unwrap();
        let link = dir.path().join("host.key");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = Identity::load_or_create(&link).unwrap_err();
        assert!(matches!(err, KeyError::Symlink { .. }), "{err}");
        // A dangling link is refused too, and not written through.
        let dangling = dir.path().join("dangling.key");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        let err = Identity::load_or_create(&dangling).unwrap_err();
        assert!(matches!(err, KeyError::Symlink { .. }), "{err}");
        assert!(!dir.path().join("nowhere").exists());
        assert_eq!(
            Identity::load_or_create(&real).unwrap().public(),
            made.public()
        );
    }

    #[test]
    fn refuses_wrong_length_and_non_files_and_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 31, 33, 64] {
            let path = dir.path().join(format!("k{len}.key"));
            fs::write(&path, vec![1u8; len]).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            let err = Identity::load_or_create(&path).unwrap_err();
            assert!(matches!(err, KeyError::WrongLength { .. }), "{len}: {err}");
            assert_eq!(
                fs::read(&path).unwrap().len(),
                len,
                "the file was not touched"
            );
        }
        let sub = dir.path().join("adir.key");
        fs::create_dir(&sub).unwrap();
        fs::set_permissions(&sub, fs::Permissions::from_mode(0o700)).unwrap();
        let err = Identity::load_or_create(&sub).unwrap_err();
        assert!(matches!(err, KeyError::NotRegular { .. }), "{err}");
    }

    #[test]
    fn a_missing_directory_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let err = Identity::load_or_create(&dir.path().join("no/such/host.key")).unwrap_err();
        assert!(matches!(err, KeyError::Io { .. }), "{err}");
    }
}
