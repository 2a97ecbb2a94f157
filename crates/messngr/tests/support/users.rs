//! Throwaway local accounts, so that per-user tests run the CLI under real,
//! distinct uids against one daemon, as users of a shared machine would.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::{BIN, text};

/// A throwaway local account for per-user tests (`useradd --system`, no
/// home, no password; shell /bin/sh so that it counts as a person, not a
/// service account), deleted on drop. Names are unique per test process.
pub struct TestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl TestUser {
    /// Creates user `mu<pid><tag>`.
    pub fn create(tag: &str) -> TestUser {
        let name = format!("mu{}{tag}", std::process::id());
        let _ = Command::new("userdel").arg(&name).output();
        let o = Command::new("useradd")
            .args(["--system", "--no-create-home", "--user-group"])
            .args(["--shell", "/bin/sh", &name])
            .output()
            .unwrap();
        assert!(o.status.success(), "useradd {name}: {}", text(&o));
        let id = |flag: &str| -> u32 {
            let o = Command::new("id").args([flag, &name]).output().unwrap();
            String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
        };
        let (uid, gid) = (id("-u"), id("-g"));
        TestUser { name, uid, gid }
    }

    /// Runs `messngr --socket SOCKET ARGS…` as this user (setpriv: its uid
    /// and gid, no supplementary groups).
    pub fn cli(&self, socket: &Path, args: &[&str]) -> Output {
        Command::new("setpriv")
            .arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--clear-groups")
            .arg(BIN)
            .arg("--socket")
            .arg(socket)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).output();
    }
}
