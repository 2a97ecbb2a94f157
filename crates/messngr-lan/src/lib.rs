//! Private LANs made of network namespaces, for the integration tests and
//! `messngr demo`: real sockets on UDP 137/138 and TCP 139, sealed off.
//!
//! Why this exists: NetBIOS broadcasts and name registrations must never reach
//! the machine's real network. Every test that needs a network, and the demo,
//! builds its own LAN here — a switch namespace holding a bridge with no
//! uplink, and host namespaces `PREFIX-h1..hN` with `eth0 = 10.77.0.i/24`, no
//! default route and IPv6 off — and [`Lan`]'s `Drop` kills every process
//! inside and deletes the namespaces, also when a test panics. Prefixes are
//! `STEM<pid>x<n>` (tests: [`PREFIX_STEM`], the demo: [`DEMO_STEM`]), unique
//! per process and per LAN, so LANs never meet and `ci/test` can reap those
//! whose process died. Nothing is created in the root namespace: each veth is
//! created inside the switch namespace with its peer born directly in the host
//! namespace.
//!
//! Needs root (`ip netns`). [`Lan::up`] (for tests) returns `Ok(None)` when not
//! root so a test can skip with a message — except under `CI=true`, where it
//! fails; [`Lan::build`] (for the demo) just fails, and [`is_root`] lets the
//! caller explain first.
//!
//! [`samba`] writes the private `smb.conf` of every Samba program run on
//! such a LAN.

pub mod samba;

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// First three octets of every test LAN (each LAN is sealed off, so they may repeat).
pub const NET: [u8; 3] = [10, 77, 0];
/// Namespace prefix every test LAN starts with; `ci/test` removes stale ones.
pub const PREFIX_STEM: &str = "mt";
/// Namespace prefix of `messngr demo`'s LAN (`ci/test` reaps stale ones too).
pub const DEMO_STEM: &str = "md";

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Why a LAN could not be built.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// A LAN of `hosts` namespaces joined by a bridge. Removed on drop.
#[derive(Debug)]
pub struct Lan {
    prefix: String,
    hosts: usize,
    /// False after [`Lan::leave_up`]: drop then leaves the namespaces alone.
    remove_on_drop: bool,
}

impl Lan {
    /// Builds a test LAN of `hosts` hosts (1..=250), prefix [`PREFIX_STEM`].
    ///
    /// `Ok(None)` when not running as root (and `CI` is not `true`): the caller
    /// should print that it skipped and return.
    pub fn up(hosts: usize) -> Result<Option<Lan>, Error> {
        if !root_or_skip()? {
            return Ok(None);
        }
        Self::build(PREFIX_STEM, hosts).map(Some)
    }

    /// Builds a LAN of `hosts` hosts (1..=250) whose namespaces are named
    /// `STEM<pid>x<n>-…`. Fails when not root (check [`is_root`] first to
    /// say something friendlier); whatever was made is removed on error.
    pub fn build(stem: &str, hosts: usize) -> Result<Lan, Error> {
        assert!((1..=250).contains(&hosts), "a LAN has 1..=250 hosts");
        let prefix = format!(
            "{stem}{}x{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let lan = Lan {
            prefix,
            hosts,
            remove_on_drop: true,
        };
        lan.make()?; // on error, Drop removes what was made
        Ok(lan)
    }

    /// Disarms the cleanup: the namespaces (and whatever runs in them) stay
    /// after this value is gone. Returns their names, so the caller can tell
    /// the user how to remove them ([`remove_ns`] each).
    pub fn leave_up(mut self) -> Vec<String> {
        self.remove_on_drop = false;
        self.namespaces()
    }

    fn make(&self) -> Result<(), Error> {
        let sw = self.switch_ns();
        ip(&["netns", "add", &sw])?;
        for i in 1..=self.hosts {
            ip(&["netns", "add", &self.ns(i)])?;
        }
        let nov6 = [
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ];
        run(Command::new("ip")
            .args(["netns", "exec", &sw, "sysctl", "-qw"])
            .args(nov6))?;
        let mut batch = String::from("link set lo up\n");
        batch += "link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0\n";
        batch += "link set br0 up\n";
        for i in 1..=self.hosts {
            run(Command::new("ip")
                .args(["netns", "exec", &self.ns(i), "sysctl", "-qw"])
                .args(nov6))?;
            batch += &format!(
                "link add p{i} type veth peer name eth0 netns {}\n",
                self.ns(i)
            );
            batch += &format!("link set p{i} master br0 up\n");
        }
        ip_batch(Some(&sw), &batch)?;
        for i in 1..=self.hosts {
            let batch = format!(
                "link set lo up\nlink set eth0 address 02:77:00:00:{:02x}:{:02x}\n\
                 addr add {}/24 brd {} dev eth0\nlink set eth0 up\n",
                i / 256,
                i % 256,
                self.ip(i),
                self.broadcast()
            );
            ip_batch(Some(&self.ns(i)), &batch)?;
        }
        Ok(())
    }

    /// The unique prefix of this LAN's namespaces.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Number of hosts.
    pub fn hosts(&self) -> usize {
        self.hosts
    }

    /// Namespace name of host `i` (1-based).
    pub fn ns(&self, i: usize) -> String {
        format!("{}-h{i}", self.prefix)
    }

    fn switch_ns(&self) -> String {
        format!("{}-sw", self.prefix)
    }

    /// Address of host `i`.
    pub fn ip(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(NET[0], NET[1], NET[2], i as u8)
    }

    /// The LAN's broadcast address.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::new(NET[0], NET[1], NET[2], 255)
    }

    /// A command that runs `program` inside host `i`.
    pub fn command(&self, i: usize, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns(i), program]);
        c
    }

    /// Every namespace of this LAN: the hosts, then the switch.
    pub fn namespaces(&self) -> Vec<String> {
        let mut v: Vec<String> = (1..=self.hosts).map(|i| self.ns(i)).collect();
        v.push(self.switch_ns());
        v
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        if !self.remove_on_drop {
            return;
        }
        for ns in self.namespaces() {
            remove_ns(&ns);
        }
    }
}

/// Kills every process in namespace `ns` and deletes it. Errors are ignored:
/// this is cleanup, and a namespace that is already gone is fine.
pub fn remove_ns(ns: &str) {
    for signal in ["TERM", "KILL"] {
        let pids = Command::new("ip").args(["netns", "pids", ns]).output();
        let Ok(out) = pids else { break };
        let pids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if pids.is_empty() {
            break;
        }
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .args(&pids)
            .status();
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = Command::new("ip")
        .args(["netns", "delete", ns])
        .stderr(Stdio::null())
        .status();
}

/// The tests' convention for needing root: `Ok(true)` as root; `Ok(false)`
/// after printing `SKIPPED: …` when not root, so the test can return; an
/// error when not root under `CI=true`, where skipping would hide a gap.
pub fn root_or_skip() -> Result<bool, Error> {
    if is_root() {
        return Ok(true);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        return Err(Error(
            "network-namespace tests need root under CI=true".into(),
        ));
    }
    eprintln!("SKIPPED: network-namespace test needs root");
    Ok(false)
}

/// Whether this process runs as root (uid 0), which `ip netns` needs.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn ip(args: &[&str]) -> Result<(), Error> {
    run(Command::new("ip").args(args))
}

fn ip_batch(ns: Option<&str>, batch: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut c = Command::new("ip");
    if let Some(ns) = ns {
        c.args(["-n", ns]);
    }
    let mut child = c
        .args(["-batch", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error(format!("ip -batch: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(batch.as_bytes())
            .map_err(|e| Error(format!("ip -batch: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error(format!("ip -batch: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error(format!(
            "ip -batch failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

fn run(c: &mut Command) -> Result<(), Error> {
    let out = c.output().map_err(|e| Error(format!("{c:?}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error(format!(
            "{c:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A LAN really is a broadcast domain of its own, and is gone after drop.
    #[test]
    fn hosts_reach_each_other_and_nothing_is_left_behind() {
        let Some(lan) = Lan::up(2).unwrap() else {
            return;
        };
        let out = lan
            .command(1, "ping")
            .args(["-c", "1", "-W", "2", &lan.ip(2).to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let route = lan
            .command(1, "ip")
            .args(["route", "get", "192.0.2.1"])
            .output()
            .unwrap();
        assert!(!route.status.success(), "host 1 must have no default route");
        let names = lan.namespaces();
        drop(lan);
        let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
        let list = String::from_utf8_lossy(&list.stdout);
        for ns in names {
            assert!(
                !list.split_whitespace().any(|w| w == ns),
                "{ns} left behind"
            );
        }
    }
}
