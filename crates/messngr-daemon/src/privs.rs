//! Privileges: started as root, the daemon gives root up for good once its
//! ports are bound.
//!
//! Why it exists: the daemon parses hostile network input for its whole
//! life, and only binding UDP 137/138 and TCP 139 needs privilege. So
//! `daemon::run` binds the ports and the API socket as root, makes the state
//! directory and the socket's directory the daemon user's (as systemd's
//! `StateDirectory=`/`RuntimeDirectory=` would), then [`drop_to`] that user:
//! `setgroups([tty])` → `setresgid` → `setresuid`, and [`verify`] that root
//! cannot be regained and that no capability is left. The user is the
//! config's `user` (default `messngr`), or `nobody` when that account does
//! not exist; the one supplementary group kept is `tty`, since terminals are
//! `crw--w---- USER:tty` and terminal delivery writes them through it.
//! There is no way to stay root. Started without root (e.g. by systemd with
//! `User=messngr` and `AmbientCapabilities=CAP_NET_BIND_SERVICE`), the daemon
//! runs as it is and only clears its capabilities after binding.
//!
//! Directories are made safely: the last component is created with `mkdir`
//! (which never follows a symlink), then opened `O_DIRECTORY | O_NOFOLLOW`
//! and changed through that descriptor; every parent must be traversable by
//! the user, or the start fails naming the directory.

use std::fs::{DirBuilder, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Group, Uid, User};

/// The account used when the configured one does not exist.
pub(crate) const FALLBACK_USER: &str = "nobody";
/// The group terminals belong to.
const TTY_GROUP: &str = "tty";
/// The daemon's own files in `state_dir` (the inbox and SQLite's companions).
const STATE_FILES: [&str; 4] = [
    "inbox.sqlite",
    "inbox.sqlite-wal",
    "inbox.sqlite-shm",
    "inbox.sqlite-journal",
];

/// Why privileges could not be given up (the daemon does not start).
#[derive(Debug, thiserror::Error)]
pub enum PrivsError {
    /// Neither the configured account nor `nobody` exists.
    #[error(
        "user: no account {0:?} and no account nobody to run as (create one: useradd --system --no-create-home --shell /usr/sbin/nologin messngr)"
    )]
    NoAccount(String),
    /// The configured account is root (uid 0) or in group root (gid 0).
    #[error(
        "user: {0:?} has uid 0 or primary group 0 (root); the daemon never runs as root (name an unprivileged account, default messngr)"
    )]
    Root(String),
    /// A directory cannot be made the user's.
    #[error("{path}: {why}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// What is wrong and what to do.
        why: String,
    },
    /// A system call of the drop failed.
    #[error("cannot drop privileges to {user}: {step} failed: {source}")]
    Drop {
        /// The account.
        user: String,
        /// Which call.
        step: &'static str,
        /// Why.
        source: nix::Error,
    },
    /// After the drop, something privileged is still there.
    #[error("privileges were not dropped completely: {0}")]
    Still(String),
}

/// Who the daemon becomes.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The account name.
    pub(crate) name: String,
    /// Its uid.
    pub(crate) uid: Uid,
    /// Its primary group.
    pub(crate) gid: Gid,
    /// The `tty` group, kept as the one supplementary group (if it exists).
    pub(crate) tty: Option<Gid>,
    /// The configured account did not exist; this is `nobody`.
    pub(crate) fallback: Option<String>,
}

impl Target {
    /// The account to drop to: `configured`, else `nobody`. Root is refused.
    pub(crate) fn resolve(configured: &str) -> Result<Target, PrivsError> {
        let lookup = |name: &str| User::from_name(name).ok().flatten();
        let (user, fallback) = match lookup(configured) {
            Some(u) => (u, None),
            None => (
                lookup(FALLBACK_USER).ok_or_else(|| PrivsError::NoAccount(configured.into()))?,
                Some(configured.to_owned()),
            ),
        };
        // Group root opens what root's group may: as bad as the uid.
        if user.uid.is_root() || user.gid.as_raw() == 0 {
            return Err(PrivsError::Root(user.name));
        }
        let tty = Group::from_name(TTY_GROUP).ok().flatten().map(|g| g.gid);
        Ok(Target {
            name: user.name,
            uid: user.uid,
            gid: user.gid,
            tty,
            fallback,
        })
    }

    /// Whether this user may pass through `meta`, a directory.
    fn may_traverse(&self, meta: &std::fs::Metadata) -> bool {
        let mode = meta.permissions().mode();
        if meta.uid() == self.uid.as_raw() {
            mode & 0o100 != 0
        } else if meta.gid() == self.gid.as_raw() || Some(Gid::from_raw(meta.gid())) == self.tty {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        }
    }
}

/// Makes `dir` the user's directory with `mode` (created if missing, with
/// missing parents root's 0755). An existing one that is not the user's is
/// taken over only if root owns it and it holds nothing but the daemon's
/// own files (which are handed over too); otherwise the start fails.
pub(crate) fn own_dir(dir: &Path, target: &Target, mode: u32) -> Result<(), PrivsError> {
    make_dir(dir, target, mode, true)
}

/// The socket's directory: created (0755, the user's) if missing; an
/// existing one is left as it is (the socket is bound in it before the drop).
pub(crate) fn socket_dir(dir: &Path, target: &Target) -> Result<(), PrivsError> {
    make_dir(dir, target, 0o755, false)
}

fn make_dir(dir: &Path, target: &Target, mode: u32, take: bool) -> Result<(), PrivsError> {
    let fail = |why: String| PrivsError::Dir {
        path: dir.to_owned(),
        why,
    };
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent)
            .map_err(|e| fail(format!("cannot create its parent: {e}")))?;
        traversable(parent, target)?;
    }
    let created = match DirBuilder::new().mode(mode).create(dir) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(fail(format!("cannot create it: {e}"))),
    };
    let handle = open_dir(dir).map_err(|e| {
        fail(format!(
            "cannot open it as a directory without following symlinks: {e} (make it a real directory)"
        ))
    })?;
    let meta = handle
        .metadata()
        .map_err(|e| fail(format!("cannot stat it: {e}")))?;
    if created {
        // The mode asked of mkdir is cut by the umask.
        handle
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| fail(format!("cannot set its mode: {e}")))?;
    } else if take && meta.uid() != target.uid.as_raw() {
        take_over(dir, &meta, target).map_err(fail)?;
    } else {
        return Ok(());
    }
    std::os::unix::fs::fchown(
        &handle,
        Some(target.uid.as_raw()),
        Some(target.gid.as_raw()),
    )
    .map_err(|e| fail(format!("cannot give it to {}: {e}", target.name)))
}

/// Hands the daemon's files in an existing root-owned `dir` to the user.
fn take_over(dir: &Path, meta: &std::fs::Metadata, target: &Target) -> Result<(), String> {
    let what_to_do = format!(
        "give it to the daemon's user yourself (chown -R {} {}) or point the setting at a directory of its own",
        target.name,
        dir.display()
    );
    if meta.uid() != 0 || meta.permissions().mode() & 0o022 != 0 {
        return Err(format!(
            "owned by uid {} (mode {:o}), not by {}: {what_to_do}",
            meta.uid(),
            meta.permissions().mode() & 0o7777,
            target.name
        ));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list it: {e}"))?;
    let mut ours = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list it: {e}"))?;
        let name = entry.file_name();
        match name.to_str().filter(|n| STATE_FILES.contains(n)) {
            Some(_) => ours.push(entry.path()),
            None => {
                return Err(format!(
                    "owned by root and holds {name:?}, which is not messngr's: {what_to_do}"
                ));
            }
        }
    }
    for file in ours {
        // lchown: a symlink is changed itself, never what it points to.
        std::os::unix::fs::lchown(&file, Some(target.uid.as_raw()), Some(target.gid.as_raw()))
            .map_err(|e| format!("cannot give {} to {}: {e}", file.display(), target.name))?;
    }
    Ok(())
}

/// Checks that `target` can reach `dir` (every directory from `/` down).
fn traversable(dir: &Path, target: &Target) -> Result<(), PrivsError> {
    let dir = std::fs::canonicalize(dir).map_err(|e| PrivsError::Dir {
        path: dir.to_owned(),
        why: format!("cannot resolve it: {e}"),
    })?;
    for d in dir.ancestors() {
        let meta = std::fs::metadata(d).map_err(|e| PrivsError::Dir {
            path: d.to_owned(),
            why: format!("cannot stat it: {e}"),
        })?;
        if !target.may_traverse(&meta) {
            return Err(PrivsError::Dir {
                path: d.to_owned(),
                why: format!(
                    "the daemon's user {} cannot enter it (mode {:o}, owner uid {}): allow it (chmod o+x {}) or choose a path under directories it can enter",
                    target.name,
                    meta.permissions().mode() & 0o7777,
                    meta.uid(),
                    d.display()
                ),
            });
        }
    }
    Ok(())
}

fn open_dir(dir: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_DIRECTORY | nix::libc::O_NOFOLLOW)
        .open(dir)
}

/// Gives root up for good: `setgroups([tty])`, `setresgid`, `setresuid`.
pub(crate) fn drop_to(target: &Target) -> Result<(), PrivsError> {
    let err = |step| {
        let user = target.name.clone();
        move |source| PrivsError::Drop { user, step, source }
    };
    let groups: Vec<Gid> = target.tty.into_iter().collect();
    nix::unistd::setgroups(&groups).map_err(err("setgroups"))?;
    nix::unistd::setresgid(target.gid, target.gid, target.gid).map_err(err("setresgid"))?;
    nix::unistd::setresuid(target.uid, target.uid, target.uid).map_err(err("setresuid"))?;
    Ok(())
}

/// Checks that no thread can regain root or holds a capability, and that
/// every thread runs as `uid`.
pub(crate) fn verify(uid: Uid) -> Result<(), PrivsError> {
    if nix::unistd::setuid(Uid::from_raw(0)).is_ok()
        || nix::unistd::setgid(Gid::from_raw(0)).is_ok()
    {
        return Err(PrivsError::Still("setuid(0) or setgid(0) succeeded".into()));
    }
    let tasks = std::fs::read_dir("/proc/self/task")
        .map_err(|e| PrivsError::Still(format!("cannot read /proc/self/task: {e}")))?;
    for task in tasks {
        let path = task
            .map_err(|e| PrivsError::Still(format!("cannot read /proc/self/task: {e}")))?
            .path()
            .join("status");
        let status = std::fs::read_to_string(&path)
            .map_err(|e| PrivsError::Still(format!("cannot read {}: {e}", path.display())))?;
        check_status(&status, uid)
            .map_err(|why| PrivsError::Still(format!("{}: {why}", path.display())))?;
    }
    Ok(())
}

/// Checks one `/proc/…/status`: every uid is `uid`, no capability is
/// effective, permitted or ambient.
pub(crate) fn check_status(status: &str, uid: Uid) -> Result<(), String> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .ok_or_else(|| format!("no {name} line"))
    };
    let uids = field("Uid:")?;
    if uids.split_whitespace().any(|u| u != uid.to_string()) {
        return Err(format!("Uid is {uids:?}, not {uid}"));
    }
    for cap in ["CapEff:", "CapPrm:", "CapAmb:"] {
        let v = field(cap)?;
        if u64::from_str_radix(v, 16) != Ok(0) {
            return Err(format!("{cap} {v}"));
        }
    }
    Ok(())
}

/// Started without root: clears the capabilities the daemon was given to
/// bind its ports (systemd's `AmbientCapabilities=CAP_NET_BIND_SERVICE`).
pub(crate) fn clear_capabilities() -> Result<(), PrivsError> {
    for set in [
        caps::CapSet::Ambient,
        caps::CapSet::Effective,
        caps::CapSet::Permitted,
    ] {
        caps::clear(None, set).map_err(|e| {
            PrivsError::Still(format!("cannot clear the {set:?} capabilities: {e}"))
        })?;
    }
    Ok(())
}

/// Replaces `path` with `bytes` (mode `mode`): a new file beside it (never
/// through a symlink), fsync, rename, fsync of the directory. A reader sees
/// the old file or the new one, never half of one.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("new");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nobody() -> Target {
        Target::resolve(FALLBACK_USER).unwrap()
    }

    #[test]
    fn a_missing_account_falls_back_to_nobody_and_root_is_refused() {
        let t = Target::resolve("no-such-messngr-user").unwrap();
        assert_eq!(t.name, FALLBACK_USER);
        assert_eq!(t.fallback.as_deref(), Some("no-such-messngr-user"));
        assert!(!t.uid.is_root());
        let err = Target::resolve("root").unwrap_err().to_string();
        assert!(err.contains("never runs as root"), "{err}");
    }

    /// An account whose primary group is root is refused like root
    /// (made with useradd for the test, removed after).
    #[test]
    fn an_account_in_group_root_is_refused() {
        if !nix::unistd::geteuid().is_root() {
            return; // useradd needs root; CI runs as root
        }
        let name = format!("mngr-g0-{}", std::process::id() % 100_000);
        let add = std::process::Command::new("useradd")
            .args(["--system", "--no-create-home", "--gid", "0", "--shell"])
            .args(["/usr/sbin/nologin", &name])
            .status()
            .unwrap();
        assert!(add.success(), "useradd {name}");
        let err = Target::resolve(&name).map(|t| t.name);
        let _ = std::process::Command::new("userdel").arg(&name).status();
        let err = err.unwrap_err().to_string();
        assert!(err.contains("primary group 0"), "{err}");
    }

    #[test]
    fn status_lines_are_checked() {
        let ok = "Name:\tx\nUid:\t65534\t65534\t65534\t65534\nCapPrm:\t0000000000000000\n\
                  CapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n";
        let u = Uid::from_raw(65534);
        assert_eq!(check_status(ok, u), Ok(()));
        assert!(check_status(&ok.replace("\t65534\t65534\n", "\t0\t65534\n"), u).is_err());
        let cap = ok.replace("CapEff:\t0000000000000000", "CapEff:\t0000000000000400");
        assert!(check_status(&cap, u).unwrap_err().contains("CapEff"));
        assert!(check_status("Uid:\t1\t1\t1\t1\n", Uid::from_raw(1)).is_err());
    }

    #[test]
    fn directories_are_made_the_users_and_refusals_say_what_to_do() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: not root");
            return;
        }
        let t = nobody();
        let top = tempfile::tempdir().unwrap();
        std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        // Created: the user's, 0700, with its missing parent root's 0755.
        let state = top.path().join("lib/state");
        own_dir(&state, &t, 0o700).unwrap();
        let m = std::fs::symlink_metadata(&state).unwrap();
        assert_eq!(
            (m.uid(), m.permissions().mode() & 0o7777),
            (t.uid.as_raw(), 0o700)
        );
        let p = std::fs::metadata(top.path().join("lib")).unwrap();
        assert_eq!((p.uid(), p.permissions().mode() & 0o777), (0, 0o755));
        // An old root-owned state dir with the inbox in it is handed over.
        let old = top.path().join("old");
        std::fs::create_dir(&old).unwrap();
        std::fs::write(old.join("inbox.sqlite"), b"").unwrap();
        own_dir(&old, &t, 0o700).unwrap();
        assert_eq!(
            std::fs::metadata(old.join("inbox.sqlite")).unwrap().uid(),
            t.uid.as_raw()
        );
        // A root-owned directory holding other files is not.
        let shared = top.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::write(shared.join("passwd"), b"").unwrap();
        let err = own_dir(&shared, &t, 0o700).unwrap_err().to_string();
        assert!(
            err.contains("not messngr's") && err.contains("chown -R"),
            "{err}"
        );
        assert_eq!(std::fs::metadata(&shared).unwrap().uid(), 0);
        // A symlink is never followed.
        let link = top.path().join("link");
        std::os::unix::fs::symlink(&shared, &link).unwrap();
        let err = own_dir(&link, &t, 0o700).unwrap_err().to_string();
        assert!(err.contains("symlink"), "{err}");
        assert_eq!(std::fs::metadata(&shared).unwrap().uid(), 0);
        // A parent the user cannot enter is named.
        let closed = top.path().join("closed");
        std::fs::create_dir(&closed).unwrap();
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
        let err = own_dir(&closed.join("state"), &t, 0o700)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!(
                "{}: the daemon's user nobody cannot enter it",
                closed.display()
            )),
            "{err}"
        );
    }
}
