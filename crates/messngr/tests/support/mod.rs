//! Helpers for the CLI and daemon tests: run `messngr` (and Samba) inside a
//! private namespace LAN, wait for conditions, read logs on failure.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use messngr_lan::Lan;
pub use messngr_lan::samba::{SmbConf, WORKGROUP};

mod users;
mod utmp;
#[allow(unused_imports)] // not every test binary uses them
pub use users::TestUser;
#[allow(unused_imports)]
pub use utmp::{logged_in, utmp_record, write_utmp};

/// The `messngr` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_messngr");

/// A messngr daemon running in one host of a LAN, with its own config,
/// state, socket and log in a temp dir. Stopped (SIGTERM) on drop.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub host: usize,
    pub ns: String,
    child: Option<Child>,
}

impl Daemon {
    /// Starts `messngr daemon` in host `i` with `netbios_name` and extra
    /// TOML lines, and waits until its API answers.
    pub fn start(lan: &Lan, i: usize, netbios_name: &str, extra: &str) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("messngr-test-")
            .tempdir()
            .unwrap();
        let config = format!(
            "netbios_name = \"{netbios_name}\"\nworkgroup = \"{WORKGROUP}\"\ninterface = \"eth0\"\n\
             {state}socket = \"{sock}\"\n{users}{terminals}{extra}\n",
            state = if extra.contains("state_dir") {
                String::new()
            } else {
                format!("state_dir = \"{}\"\n", dir.path().join("state").display())
            },
            sock = dir.path().join("api.sock").display(),
            users = if extra.contains("register_users") {
                ""
            } else {
                "register_users = false\n"
            },
            // Test messages must not reach the terminals of whoever is
            // logged in on the test machine.
            terminals = if extra.contains("terminals =") {
                ""
            } else {
                "terminals = false\n"
            },
        );
        std::fs::write(dir.path().join("messngr.toml"), config).unwrap();
        Self::launch(lan, i, dir)
    }

    fn launch(lan: &Lan, i: usize, dir: tempfile::TempDir) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("log"))
            .unwrap();
        let child = lan
            .command(i, BIN)
            .arg("daemon")
            .arg("--config")
            .arg(dir.path().join("messngr.toml"))
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let d = Daemon {
            dir,
            host: i,
            ns: lan.ns(i),
            child: Some(child),
        };
        let sock = d.socket();
        wait_for(Duration::from_secs(10), || sock.exists(), || d.log());
        d
    }

    /// Stops the daemon (SIGTERM) and starts it again on the same state
    /// directory and configuration.
    pub fn restart(mut self, lan: &Lan) -> Daemon {
        let mut child = self.child.take().unwrap();
        terminate(&self.ns);
        let status = wait_child(&mut child, Duration::from_secs(10));
        assert!(status.success(), "daemon exit: {status:?}\n{}", self.log());
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        Self::launch(lan, self.host, dir)
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("api.sock")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// Runs `messngr ARGS…` against this daemon's socket (from the root
    /// namespace: the API is a Unix socket, no network involved).
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("--socket")
            .arg(self.socket())
            .args(args)
            .output()
            .unwrap()
    }

    /// `messngr status --json`, parsed.
    pub fn status(&self) -> serde_json::Value {
        let out = self.cli(&["status", "--json"]);
        assert!(
            out.status.success(),
            "status failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The state of one of our names, e.g. `state_of("H1<03>")`.
    pub fn state_of(&self, name: &str) -> Option<String> {
        let s = self.status();
        s["names"]
            .as_array()?
            .iter()
            .find(|n| n["name"] == name)
            .and_then(|n| n["state"].as_str().map(str::to_owned))
    }

    /// Waits until every name is `registered` or `conflict`.
    pub fn wait_settled(&self) {
        wait_for(
            Duration::from_secs(10),
            || {
                self.status()["names"].as_array().is_some_and(|a| {
                    a.iter()
                        .all(|n| n["state"] == "registered" || n["state"] == "conflict")
                })
            },
            || self.log(),
        );
    }

    /// Sends SIGTERM and waits; returns the exit status and the log.
    pub fn stop(mut self) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        terminate(&self.ns);
        let status = wait_child(&mut child, Duration::from_secs(10));
        (status, self.log())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// SIGTERM to the messngr daemon in namespace `ns` (the direct child is
/// `ip netns exec`, which execs the binary, so its pid is the daemon's).
fn terminate(ns: &str) {
    let pids = Command::new("ip")
        .args(["netns", "pids", ns])
        .output()
        .unwrap();
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "messngr" {
            let _ = Command::new("kill").args(["-TERM", pid]).status();
        }
    }
}

fn wait_child(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(
            start.elapsed() < limit,
            "process did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `cond` every 100 ms up to `limit`; panics with `context()` if it never holds.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool, context: impl Fn() -> String) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
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
        let log = std::fs::File::create(dir.path().join("stdout")).unwrap();
        let child = lan
            .command(i, "nmbd")
            .args(["-F", "--debug-stdout", "-d", "2", "-s"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
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

/// A client-only smb.conf for nmblookup/smbclient in a test.
pub fn client_conf(dir: &Path) -> PathBuf {
    SmbConf::new("CLIENT")
        .broadcast_resolution()
        .write(dir)
        .unwrap()
}

/// Runs a program inside host `i` and returns its output.
pub fn run_in(lan: &Lan, i: usize, program: &str, args: &[&str]) -> Output {
    lan.command(i, program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A tshark capture running in one host (`tshark -i eth0 -w FILE`).
pub struct Capture {
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Capture {
    /// Starts capturing UDP/TCP NetBIOS ports in host `i`; returns once tshark captures.
    pub fn start(lan: &Lan, i: usize) -> Capture {
        let dir = tempfile::Builder::new()
            .prefix("messngr-cap-")
            .tempdir()
            .unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = lan
            .command(i, "tshark")
            .args([
                "-q",
                "-n",
                "-i",
                "eth0",
                "-f",
                "udp port 137 or udp port 138 or tcp port 139",
                "-w",
            ])
            .arg(dir.path().join("cap.pcapng"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let c = Capture { dir, child };
        let logpath = c.dir.path().join("log");
        wait_for(
            Duration::from_secs(10),
            || {
                std::fs::read_to_string(&logpath)
                    .unwrap_or_default()
                    .contains("Capturing on")
            },
            || std::fs::read_to_string(&logpath).unwrap_or_default(),
        );
        c
    }

    /// Stops the capture and asserts that it saw at least `min_frames`
    /// frames and that Wireshark objects to none of them.
    pub fn assert_clean(self, min_frames: usize) {
        let (frames, bad) = self.finish();
        assert!(frames >= min_frames, "the capture saw only {frames} frames");
        assert!(bad.is_empty(), "Wireshark objects to:\n{}", bad.join("\n"));
    }

    /// Stops the capture (SIGINT flushes the file) and judges every frame
    /// with Wireshark's dissectors: returns (frames, objections).
    pub fn finish(mut self) -> (usize, Vec<String>) {
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let out = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(self.dir.path().join("cap.pcapng"))
            .args([
                "-T",
                "fields",
                "-E",
                "separator=/t",
                "-E",
                "occurrence=a",
                "-E",
                "aggregator=|",
            ])
            .args([
                "-e",
                "frame.number",
                "-e",
                "_ws.col.Info",
                "-e",
                "_ws.expert.severity",
                "-e",
                "_ws.malformed",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut bad = Vec::new();
        let mut n = 0;
        for line in text.lines() {
            n += 1;
            let cols: Vec<&str> = line.split('\t').collect();
            let severe = cols.get(2).is_some_and(|s| {
                s.split('|')
                    .any(|v| v.parse::<u64>().is_ok_and(|v| v >= 0x0080_0000))
            });
            let malformed = cols.get(3).is_some_and(|s| !s.is_empty());
            if severe || malformed {
                bad.push(line.to_owned());
            }
        }
        (n, bad)
    }
}

impl Daemon {
    /// `messngr inbox --json`, parsed.
    pub fn inbox(&self) -> Vec<serde_json::Value> {
        let out = self.cli(&["inbox", "--json"]);
        assert!(
            out.status.success(),
            "inbox failed: {}\n{}",
            text(&out),
            self.log()
        );
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
    }

    /// Waits until the inbox holds `n` messages, and returns them.
    pub fn wait_inbox(&self, n: usize) -> Vec<serde_json::Value> {
        wait_for(
            Duration::from_secs(15),
            || self.inbox().len() >= n,
            || self.log(),
        );
        self.inbox()
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
        let conf = SmbConf::new(name)
            .message_command(&command)
            .write(dir.path())
            .unwrap();
        let mut children = Vec::new();
        for daemon in ["smbd", "nmbd"] {
            let log = std::fs::File::create(dir.path().join(format!("{daemon}.out"))).unwrap();
            children.push(
                lan.command(i, daemon)
                    .args(["-F", "--debug-stdout", "-d", "1", "-s"])
                    .arg(&conf)
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().unwrap())
                    .stderr(log)
                    .spawn()
                    .unwrap(),
            );
        }
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

/// Runs `smbclient -M TARGET` in host `i` with `message` on its stdin.
pub fn smbclient_m(
    lan: &Lan,
    i: usize,
    conf: &Path,
    target: &str,
    ip: Option<&str>,
    message: &[u8],
) -> Output {
    use std::io::Write;
    let mut c = lan.command(i, "smbclient");
    c.arg("-s")
        .arg(conf)
        .args(["-N", "-n", "SENDERBOX", "-U", "alice", "-M", target]);
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
