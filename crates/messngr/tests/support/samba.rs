//! Samba as the tests' real peer: nmbd, smbd (a WinPopup receiver) and the
//! client tools nmblookup and smbclient, each with a private smb.conf
//! written by `messngr_lan::samba::SmbConf`.
//!
//! Why apart from the daemon helpers: every interop test needs some of it,
//! and the way a Samba program is started and configured on the LAN should
//! be written once.

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use super::{Lan, SmbConf, run_in, text, wait_for};

/// Starts Samba's `daemon` (nmbd, smbd) in host `i`, in the foreground with
/// config `conf` at debug `level`, its output in `dir/OUT`.
fn spawn(lan: &Lan, i: usize, daemon: &str, conf: &Path, level: &str, out: &Path) -> Child {
    let log = std::fs::File::create(out).unwrap();
    lan.command(i, daemon)
        .args(["-F", "--debug-stdout", "-d", level, "-s"])
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Samba's nmbd running in one host; killed with the LAN.
pub struct Nmbd {
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Nmbd {
    /// Starts nmbd in host `i` with the private smb.conf `conf`.
    pub fn start(lan: &Lan, i: usize, conf: SmbConf) -> Nmbd {
        let dir = tempfile::Builder::new()
            .prefix("messngr-nmbd-")
            .tempdir()
            .unwrap();
        let conf = conf.write(dir.path()).unwrap();
        let child = spawn(lan, i, "nmbd", &conf, "2", &dir.path().join("stdout"));
        Nmbd { dir, child }
    }

    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("smb.conf")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stdout")).unwrap_or_default()
    }
}

impl Drop for Nmbd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Samba's smbd (with nmbd for its names) as a WinPopup receiver: every
/// message it gets is moved into `received/` by its `message command`.
pub struct Smbd {
    pub dir: tempfile::TempDir,
    children: Vec<Child>,
}

impl Smbd {
    /// Starts smbd and nmbd in host `i` with `netbios name = name`.
    pub fn start(lan: &Lan, i: usize, name: &str) -> Smbd {
        Self::start_with(lan, i, name, None)
    }

    /// As [`Smbd::start`], with `message command = COMMAND` instead of the
    /// move into `received/` (e.g. `messngr deliver %s %f %t`).
    pub fn start_with(lan: &Lan, i: usize, name: &str, command: Option<&str>) -> Smbd {
        Self::start_conf(lan, i, name, command, |c| c)
    }

    /// As [`Smbd::start_with`], with more smb.conf settings (`conf`).
    pub fn start_conf(
        lan: &Lan,
        i: usize,
        name: &str,
        command: Option<&str>,
        conf: impl FnOnce(SmbConf) -> SmbConf,
    ) -> Smbd {
        let dir = tempfile::Builder::new()
            .prefix("messngr-smbd-")
            .tempdir()
            .unwrap();
        let received = dir.path().join("received");
        std::fs::create_dir_all(&received).unwrap();
        // smbd runs the message command as the guest user (nobody).
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&received, std::fs::Permissions::from_mode(0o777)).unwrap();
        let command = command.map_or_else(
            || format!("/bin/mv %s {}/", received.display()),
            str::to_owned,
        );
        let conf = conf(SmbConf::new(name).message_command(&command))
            .write(dir.path())
            .unwrap();
        let children = ["smbd", "nmbd"]
            .iter()
            .map(|d| spawn(lan, i, d, &conf, "1", &dir.path().join(format!("{d}.out"))))
            .collect();
        let s = Smbd { dir, children };
        wait_for(
            Duration::from_secs(15),
            || text(&run_in(lan, i, "ss", &["-H", "-ltn"])).contains(":139"),
            || s.log(),
        );
        s
    }

    /// The messages smbd handed to its message command, oldest first.
    pub fn received(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path().join("received"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .collect();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files.iter().map(|p| std::fs::read(p).unwrap()).collect()
    }

    pub fn log(&self) -> String {
        ["smbd.out", "nmbd.out"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Smbd {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Samba's client tools, nmblookup and smbclient, with a client-only
/// private smb.conf (netbios name CLIENT, names by broadcast).
pub struct SambaClient {
    _dir: tempfile::TempDir,
    conf: PathBuf,
}

impl SambaClient {
    pub fn new() -> SambaClient {
        let dir = tempfile::Builder::new()
            .prefix("messngr-client-")
            .tempdir()
            .unwrap();
        let conf = SmbConf::new("CLIENT")
            .broadcast_resolution()
            .write(dir.path())
            .unwrap();
        SambaClient { _dir: dir, conf }
    }

    /// Its smb.conf (for an smbclient command line of a test's own).
    pub fn conf(&self) -> &std::path::Path {
        &self.conf
    }

    /// `nmblookup ARGS…` in host `i`.
    pub fn nmblookup(&self, lan: &Lan, i: usize, args: &[&str]) -> Output {
        let conf = self.conf.to_str().unwrap();
        run_in(lan, i, "nmblookup", &[&["-s", conf], args].concat())
    }

    /// `smbclient -M TARGET` (as alice, from SENDERBOX) in host `i`, to
    /// address `ip` or, without one, by name; `message` on its stdin.
    pub fn message(
        &self,
        lan: &Lan,
        i: usize,
        target: &str,
        ip: Option<&str>,
        message: &[u8],
    ) -> Output {
        self.message_with(lan, i, target, ip, message, &[])
    }

    /// [`SambaClient::message`] with more smbclient options (`--option=…`).
    pub fn message_with(
        &self,
        lan: &Lan,
        i: usize,
        target: &str,
        ip: Option<&str>,
        message: &[u8],
        options: &[&str],
    ) -> Output {
        use std::io::Write;
        let mut c = lan.command(i, "smbclient");
        c.arg("-s")
            .arg(&self.conf)
            .args(["-N", "-n", "SENDERBOX", "-U", "alice", "-M", target])
            .args(options);
        if let Some(ip) = ip {
            c.args(["-I", ip]);
        }
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(message).unwrap();
        child.wait_with_output().unwrap()
    }

    /// As [`SambaClient::message`] from host 2 to `target` at 10.77.0.1 (H1),
    /// which must be acknowledged (else the test fails, showing `log()`).
    #[track_caller]
    pub fn message_to_h1(&self, lan: &Lan, target: &str, message: &[u8], log: impl Fn() -> String) {
        let o = self.message(lan, 2, target, Some("10.77.0.1"), message);
        assert!(
            acknowledged(&o),
            "smbclient -M {target}: {}\n{}",
            text(&o),
            log()
        );
    }
}

/// Whether `smbclient -M` was acknowledged: it exits 0 even when the
/// receiver refuses the message, reporting that on stderr as
/// "cli_message returned NT_STATUS_…".
pub fn acknowledged(o: &Output) -> bool {
    o.status.success() && !text(o).contains("cli_message returned")
}
