//! Helpers for the CLI and daemon tests: run `messngr` (and Samba) inside a
//! private namespace LAN, wait for conditions, read logs on failure.
#![allow(dead_code)]
// Not every test binary uses every helper.
#![allow(unused_imports)]

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use messngr_lan::Lan;
pub use messngr_lan::samba::{SmbConf, WORKGROUP};

mod capture;
mod cdp;
mod disk;
pub mod http;
mod nats;
mod samba;
mod smb_sender;
mod users;
mod utmp;
pub use capture::Capture;
pub use cdp::{Chromium, artifacts};
pub use disk::SmallDisk;
pub use nats::{CURRENT_NATS_SERVER, NATS_SERVER, NatsCluster, block_on_in, spawn_in};
pub use samba::{Nmbd, SambaClient, Smbd, acknowledged};
pub use smb_sender::{SmbSession, enter_netns};
pub use users::TestUser;
pub use utmp::{logged_in, utmp_record, write_utmp};

/// A test LAN of `hosts` hosts; `None` (the test returns) when not root
/// outside CI.
pub fn lan(hosts: usize) -> Option<Lan> {
    Lan::up(hosts).expect("build the test LAN")
}

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
        Self::launch(lan, i, Self::config_dir(netbios_name, extra))
    }

    /// [`Daemon::start`] with more environment variables (`NOTIFY_SOCKET`).
    pub fn start_env(
        lan: &Lan,
        i: usize,
        netbios_name: &str,
        extra: &str,
        env: &[(&str, &str)],
    ) -> Daemon {
        let mut command = lan.command(i, BIN);
        command.envs(env.iter().copied());
        Self::launch_with(command, i, lan.ns(i), Self::config_dir(netbios_name, extra))
    }

    /// The daemon's configuration file (rewrite it, then [`Daemon::hup`]).
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("messngr.toml")
    }

    /// SIGHUP, as `systemctl reload messngr` sends it.
    pub fn hup(&self) {
        let pid = self.pid().to_string();
        let st = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
        assert!(st.success(), "kill -HUP {pid}");
    }

    /// [`Daemon::start`] in the router of a routed LAN (host 0 here), the
    /// one host with two interfaces; `extra` should say `interface = [..]`.
    pub fn start_in_router(lan: &Lan, netbios_name: &str, extra: &str) -> Daemon {
        let dir = Self::config_dir(netbios_name, extra);
        Self::launch_with(lan.router_command(BIN), 0, lan.router_namespace(), dir)
    }

    /// A temp dir with the daemon's config: `netbios_name`, the test
    /// defaults (eth0, state and socket in the dir, no users, no
    /// terminals) unless `extra` sets them, and `extra`.
    fn config_dir(netbios_name: &str, extra: &str) -> tempfile::TempDir {
        let dir = tempfile::Builder::new()
            .prefix("messngr-test-")
            .tempdir()
            .unwrap();
        // The daemon drops root once bound: its user must reach state/.
        open_dir(dir.path());
        let config = format!(
            "netbios_name = \"{netbios_name}\"\nworkgroup = \"{WORKGROUP}\"\n{iface}\
             {state}socket = \"{sock}\"\n{users}{terminals}{extra}\n",
            iface = if extra.contains("interface") {
                ""
            } else {
                "interface = \"eth0\"\n"
            },
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
        dir
    }

    fn launch(lan: &Lan, i: usize, dir: tempfile::TempDir) -> Daemon {
        Self::launch_with(lan.command(i, BIN), i, lan.ns(i), dir)
    }

    fn launch_with(mut command: Command, i: usize, ns: String, dir: tempfile::TempDir) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("log"))
            .unwrap();
        let child = command
            .arg("daemon")
            .arg("--config")
            .arg(dir.path().join("messngr.toml"))
            .env("RUST_LOG", daemon_log_level())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let d = Daemon {
            dir,
            host: i,
            ns,
            child: Some(child),
        };
        let sock = d.socket();
        wait_for(Duration::from_secs(10), || sock.exists(), || d.log());
        d
    }

    /// Stops the daemon (SIGTERM) and starts it again on the same state
    /// directory and configuration.
    pub fn restart(mut self, lan: &Lan) -> Daemon {
        let dir = self.stop_keeping_dir();
        Self::launch(lan, self.host, dir)
    }

    /// Stops the daemon (SIGTERM), keeping its configuration and state for
    /// [`Stopped::start`]: a host that is down for a while.
    pub fn stop_for_now(mut self) -> Stopped {
        let dir = self.stop_keeping_dir();
        Stopped {
            host: self.host,
            dir,
        }
    }

    /// Stops the daemon (SIGTERM; it must exit cleanly) and hands over its
    /// directory (configuration and state).
    fn stop_keeping_dir(&mut self) -> tempfile::TempDir {
        let mut child = self.child.take().unwrap();
        terminate(&self.ns);
        let status = wait_child(&mut child, Duration::from_secs(10));
        assert!(status.success(), "daemon exit: {status:?}\n{}", self.log());
        // The daemon, no longer root, cannot unlink its socket in this
        // root-owned directory: remove it, or a wait for it would see it.
        let _ = std::fs::remove_file(self.socket());
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// Kills the daemon with SIGKILL (no shutdown at all, as a crash
    /// would) and starts it again on the same state and configuration.
    pub fn crash_and_restart(mut self, lan: &Lan) -> Daemon {
        let mut child = self.child.take().unwrap();
        let _ = child.kill(); // `ip netns exec` exec'd the daemon: its pid
        let _ = child.wait();
        let _ = std::fs::remove_file(self.socket()); // left behind
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

    /// [`Daemon::cli`], which must succeed (else the test fails, showing
    /// what it printed and this daemon's log).
    #[track_caller]
    pub fn cli_ok(&self, args: &[&str]) -> Output {
        let o = self.cli(args);
        assert!(
            o.status.success(),
            "messngr {args:?}: {}\n{}",
            text(&o),
            self.log()
        );
        o
    }

    /// Pins `peer`'s host key under `name` by hand (`messngr trust add`), as
    /// an admin who compared fingerprints would: a vetted pin, which
    /// urgent messages from that host need.
    #[allow(dead_code)]
    pub fn vet(&self, peer: &Daemon, name: &str) {
        let o = peer.cli_ok(&["trust", "show", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let key = v["key"].as_str().unwrap().to_owned();
        self.cli_ok(&["trust", "add", name, &key]);
    }

    /// Lets other users reach the API socket (0666 itself) through this
    /// daemon's directory, as they would reach /run/messngr.
    pub fn open_to_users(&self) {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o755);
        std::fs::set_permissions(self.dir.path(), mode).unwrap();
    }

    /// Waits up to 10 s until this daemon's log contains `needle`.
    pub fn wait_log(&self, needle: &str) {
        wait_for(
            Duration::from_secs(10),
            || self.log().contains(needle),
            || self.log(),
        );
    }

    /// The daemon's pid (`ip netns exec` becomes the daemon), checked to be
    /// a messngr process.
    pub fn pid(&self) -> u32 {
        let pid = self
            .child
            .as_ref()
            .map(Child::id)
            .expect("a running daemon");
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        assert_eq!(comm.trim(), "messngr", "pid {pid}\n{}", self.log());
        pid
    }

    /// Whether the daemon process started is still running (not exited,
    /// not restarted).
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// How many refusals `messngr status` counts for `reason` (0 if none).
    pub fn refused(&self, reason: &str) -> u64 {
        self.status()["refused"][reason].as_u64().unwrap_or(0)
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

/// A daemon stopped by [`Daemon::stop_for_now`].
pub struct Stopped {
    host: usize,
    dir: tempfile::TempDir,
}

impl Stopped {
    /// Starts it again, on the same configuration and state.
    pub fn start(self, lan: &Lan) -> Daemon {
        Daemon::launch(lan, self.host, self.dir)
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

/// Lets every user enter (not write) `dir`, as /var/lib and /run are: the
/// daemon under test drops root and must reach its files below it.
pub fn open_dir(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `messngr --config FILE ARGS…` with a config file holding `toml` (for
/// the CLI's answer to a bad configuration): its output.
pub fn cli_with_config(toml: &str, args: &[&str]) -> Output {
    let dir = tempdir();
    let conf = dir.path().join("messngr.toml");
    std::fs::write(&conf, toml).unwrap();
    Command::new(BIN)
        .arg("--config")
        .arg(&conf)
        .args(args)
        .output()
        .unwrap()
}

/// `systemd-analyze verify UNIT` as it runs where the package is installed:
/// the units' `Documentation=man:messngr-…(1)` pages (which verify looks up
/// with `man`) generated from the binary under test into a MANPATH of
/// their own. Returns its output; asserts it succeeded and said nothing.
pub fn verify_unit(unit: &std::path::Path) -> String {
    let man = tempdir();
    let o = Command::new(BIN)
        .args(["generate", "man", "--dir"])
        .arg(man.path().join("man1"))
        .output()
        .unwrap();
    assert!(o.status.success(), "generate man: {}", text(&o));
    let o = Command::new("systemd-analyze")
        .arg("verify")
        .arg(unit)
        .env("MANPATH", man.path())
        .output()
        .unwrap_or_else(|e| panic!("systemd-analyze: {e} (install systemd: ci/install-deps)"));
    let out = text(&o);
    assert!(
        o.status.success() && out.trim().is_empty(),
        "verify {}: {out}",
        unit.display()
    );
    out
}

/// The test daemons' `RUST_LOG`: debug, so that a failing test's log shows
/// every packet; a benchmark runs them as deployed, at info
/// (bench/relay.sh sets `MESSNGR_TEST_RUST_LOG`).
pub fn daemon_log_level() -> String {
    std::env::var("MESSNGR_TEST_RUST_LOG").unwrap_or_else(|_| "debug".into())
}

/// A temp dir every user can enter (see [`open_dir`]).
pub fn tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    open_dir(dir.path());
    dir
}

/// The `tty` group's gid (terminals are `USER:tty`, mode 0620 with `mesg y`).
pub fn tty_gid() -> u32 {
    let o = Command::new("getent")
        .args(["group", "tty"])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&o.stdout).into_owned();
    line.split(':')
        .nth(2)
        .and_then(|g| g.trim().parse().ok())
        .unwrap_or_else(|| panic!("no tty group: {line:?}"))
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

/// Runs a program inside host `i` and returns its output.
pub fn run_in(lan: &Lan, i: usize, program: &str, args: &[&str]) -> Output {
    lan.command(i, program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A captured vector of messngr-proto/tests/vectors, as bytes (`#` lines
/// are comments).
pub fn vector(name: &str) -> Vec<u8> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../messngr-proto/tests/vectors"
    );
    let t = std::fs::read_to_string(std::path::Path::new(dir).join(name)).unwrap();
    let hex: String = t
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split_whitespace())
        .collect();
    hex::decode(hex).unwrap()
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

impl Daemon {
    /// `messngr inbox --json --limit 1000` (every message a test makes), parsed.
    pub fn inbox(&self) -> Vec<serde_json::Value> {
        let out = self.cli(&["inbox", "--json", "--limit", "1000"]);
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
