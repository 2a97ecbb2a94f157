//! The one writer of a private `smb.conf` for Samba run on a test LAN.
//!
//! Why this exists: the integration tests (nmbd, smbd, nmblookup and
//! smbclient as peers), `messngr demo` (smbclient -M) and the benchmarks in
//! `bench/` (nmbd, smbd, smbclient; through the `smb-conf` tool of
//! messngr-bench) all run Samba inside a namespace host, and each needs the
//! same guarantees: every lock, state, cache, pid and log file under one
//! private directory (so runs never share a name cache or touch the
//! machine's `/var/lib/samba`), only the LAN's `eth0`, no DNS proxy, a
//! password database of its own. They differ only in a few `[global]`
//! options, which [`SmbConf`]'s builder methods add.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let conf = messngr_lan::samba::SmbConf::new("H1")
//!     .message_command("/bin/mv %s /tmp/received/")
//!     .write(dir.path())
//!     .unwrap();
//! assert!(std::fs::read_to_string(conf).unwrap().contains("netbios name = H1"));
//! ```

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::Error;

/// The workgroup of every test LAN, the demo's and the benchmarks' (the
/// messngr daemons there are configured with it too).
pub const WORKGROUP: &str = "MLAN";

/// The subdirectories of the private directory that Samba writes into.
pub const STATE_DIRS: [&str; 7] = ["lock", "state", "cache", "private", "pid", "ncalrpc", "log"];

/// A private `smb.conf`: the `[global]` section of one Samba program on the
/// LAN. [`SmbConf::write`] puts it and Samba's state directories under one
/// directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmbConf {
    netbios_name: String,
    workgroup: String,
    options: Vec<(String, String)>,
}

impl SmbConf {
    /// A configuration for a host called `netbios_name` in [`WORKGROUP`],
    /// on the LAN's `eth0` only.
    pub fn new(netbios_name: &str) -> SmbConf {
        SmbConf {
            netbios_name: netbios_name.to_owned(),
            workgroup: WORKGROUP.to_owned(),
            options: Vec::new(),
        }
    }

    /// Another workgroup than [`WORKGROUP`].
    pub fn workgroup(mut self, workgroup: &str) -> SmbConf {
        workgroup.clone_into(&mut self.workgroup);
        self
    }

    /// `name resolve order = bcast`: clients (nmblookup, smbclient) find
    /// names by broadcast on the LAN only, never through the machine's
    /// hosts file, DNS or WINS settings.
    pub fn broadcast_resolution(self) -> SmbConf {
        self.set("name resolve order", "bcast")
    }

    /// smbd as a WinPopup receiver: it runs `command` for every message
    /// (`%s` the file, `%f` the sender, `%t`/`%L` the recipient). Also
    /// `server min protocol = NT1`: the message commands are SMB1.
    pub fn message_command(self, command: &str) -> SmbConf {
        self.set("server min protocol", "NT1")
            .set("message command", command)
    }

    /// nmbd as the LAN's WINS server.
    pub fn wins_support(self) -> SmbConf {
        self.set("wins support", "yes")
    }

    /// Register names at the WINS server `ip` (as well as by broadcast).
    pub fn wins_server(self, ip: Ipv4Addr) -> SmbConf {
        self.set("wins server", &ip.to_string())
    }

    /// Any other `[global]` parameter, e.g. `smb ports = 139`. Written in
    /// the order given, after the name and workgroup.
    pub fn set(mut self, key: &str, value: &str) -> SmbConf {
        self.options.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The text of the file, with every path under `dir`. Fails when `dir`
    /// is not UTF-8 or an option would not stay on its line.
    pub fn render(&self, dir: &Path) -> Result<String, Error> {
        let d = dir
            .to_str()
            .ok_or_else(|| Error(format!("{}: not a UTF-8 path", dir.display())))?;
        let mut lines: Vec<(&str, String)> = vec![
            ("netbios name", self.netbios_name.clone()),
            ("workgroup", self.workgroup.clone()),
        ];
        lines.extend(self.options.iter().map(|(k, v)| (k.as_str(), v.clone())));
        lines.extend([
            ("interfaces", "eth0".to_owned()),
            ("bind interfaces only", "yes".to_owned()),
            ("dns proxy", "no".to_owned()),
            ("lock directory", format!("{d}/lock")),
            ("state directory", format!("{d}/state")),
            ("cache directory", format!("{d}/cache")),
            ("private dir", format!("{d}/private")),
            ("pid directory", format!("{d}/pid")),
            ("ncalrpc dir", format!("{d}/ncalrpc")),
            // nmbd's packet-server socket, /run/samba/nmbd by default: one
            // path for every namespace, so a second nmbd running at the same
            // time failed to start ("address already in use").
            ("nmbd:socket dir", format!("{d}/nmbd")),
            ("log file", format!("{d}/log/log.%m")),
            ("passdb backend", format!("tdbsam:{d}/private/passdb.tdb")),
        ]);
        let mut text = String::from("[global]\n");
        for (key, value) in lines {
            let broken = |s: &str| s.contains(['\n', '\r']);
            if key.is_empty() || key.contains('=') || broken(key) || broken(&value) {
                return Err(Error(format!("smb.conf: bad option {key:?} = {value:?}")));
            }
            let _ = writeln!(text, "  {key} = {value}");
        }
        Ok(text)
    }

    /// Creates Samba's state directories under `dir` and writes
    /// `dir/smb.conf`; returns its path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, Error> {
        let text = self.render(dir)?;
        for sub in STATE_DIRS {
            let sub = dir.join(sub);
            std::fs::create_dir_all(&sub)
                .map_err(|e| Error(format!("creating {}: {e}", sub.display())))?;
        }
        let path = dir.join("smb.conf");
        std::fs::write(&path, text)
            .map_err(|e| Error(format!("writing {}: {e}", path.display())))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn lines(text: &str) -> Vec<&str> {
        text.lines().map(str::trim).collect()
    }

    #[test]
    fn every_file_samba_writes_is_under_the_directory() {
        let text = SmbConf::new("H1").render(Path::new("/x/y")).unwrap();
        let l = lines(&text);
        assert_eq!(
            l[..3],
            ["[global]", "netbios name = H1", "workgroup = MLAN"]
        );
        for want in [
            "interfaces = eth0",
            "bind interfaces only = yes",
            "dns proxy = no",
            "lock directory = /x/y/lock",
            "state directory = /x/y/state",
            "cache directory = /x/y/cache",
            "private dir = /x/y/private",
            "pid directory = /x/y/pid",
            "ncalrpc dir = /x/y/ncalrpc",
            "nmbd:socket dir = /x/y/nmbd",
            "log file = /x/y/log/log.%m",
            "passdb backend = tdbsam:/x/y/private/passdb.tdb",
        ] {
            assert!(l.contains(&want), "{want:?} missing:\n{text}");
        }
        // Nothing outside /x/y but the log file's %m.
        for line in &l[1..] {
            if let Some((_, v)) = line.split_once(" = ")
                && v.contains('/')
            {
                assert!(
                    v.trim_start_matches("tdbsam:").starts_with("/x/y/"),
                    "{line}"
                );
            }
        }
    }

    #[test]
    fn options_come_after_the_name_in_order() {
        let text = SmbConf::new("BENCHBOX")
            .workgroup("OTHER")
            .message_command("/bin/sh -c 'cat %s >> /r/all.txt; rm %s'")
            .set("smb ports", "139")
            .broadcast_resolution()
            .wins_server(Ipv4Addr::new(10, 77, 0, 2))
            .wins_support()
            .render(Path::new("/d"))
            .unwrap();
        assert_eq!(
            lines(&text)[..9],
            [
                "[global]",
                "netbios name = BENCHBOX",
                "workgroup = OTHER",
                "server min protocol = NT1",
                "message command = /bin/sh -c 'cat %s >> /r/all.txt; rm %s'",
                "smb ports = 139",
                "name resolve order = bcast",
                "wins server = 10.77.0.2",
                "wins support = yes",
            ]
        );
    }

    #[test]
    fn options_that_would_add_lines_are_refused() {
        let dir = Path::new("/d");
        assert!(SmbConf::new("H1\n[x]").render(dir).is_err());
        assert!(SmbConf::new("H1").set("a", "b\rc").render(dir).is_err());
        assert!(SmbConf::new("H1").set("a = b", "c").render(dir).is_err());
        assert!(SmbConf::new("H1").set("", "c").render(dir).is_err());
        assert!(SmbConf::new("H1").render(Path::new("/d\n")).is_err());
    }

    /// The file is written with its directories, and Samba's own parser
    /// (testparm, when installed) knows every parameter.
    #[test]
    fn samba_accepts_what_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = SmbConf::new("H1")
            .message_command("/bin/true %s")
            .wins_support()
            .write(dir.path())
            .unwrap();
        assert_eq!(path, dir.path().join("smb.conf"));
        for sub in STATE_DIRS {
            assert!(dir.path().join(sub).is_dir(), "{sub}");
        }
        let Ok(o) = Command::new("testparm")
            .args(["-s", "--suppress-prompt"])
            .arg(&path)
            .output()
        else {
            eprintln!("SKIPPED: testparm not installed (ci/install-deps)");
            return;
        };
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        assert!(!err.contains("Unknown parameter"), "{err}");
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("message command = /bin/true %s"), "{out}");
    }
}
