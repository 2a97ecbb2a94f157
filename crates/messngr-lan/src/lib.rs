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
//! [`Lan::up_routed`] adds a second subnet ([`REMOTE_NET`]) behind a router
//! namespace (`PREFIX-rt`, the only one with IP forwarding on), for tests of
//! what an off-LAN sender may do; its hosts continue the numbering.
//!
//! [`samba`] writes the private `smb.conf` of every Samba program run on
//! such a LAN.

pub mod samba;

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// First three octets of every test LAN (each LAN is sealed off, so they may repeat).
pub const NET: [u8; 3] = [10, 77, 0];
/// First three octets of the second subnet of [`Lan::up_routed`].
pub const REMOTE_NET: [u8; 3] = [10, 77, 1];
/// The router's host number on both subnets.
pub const ROUTER: u8 = 254;
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
    /// Hosts on the second subnet, behind the router (0: no router).
    remote: usize,
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

    /// A test LAN of `hosts` hosts (10.77.0.i) and `remote` more
    /// (`hosts+1 ..= hosts+remote`, at 10.77.1.i) on a second subnet behind a
    /// router at .254 on both; each side has a route to the other and no
    /// default route. `Ok(None)` when not root, as [`Lan::up`].
    pub fn up_routed(hosts: usize, remote: usize) -> Result<Option<Lan>, Error> {
        if !root_or_skip()? {
            return Ok(None);
        }
        assert!(remote >= 1, "a routed LAN has remote hosts");
        Self::make_lan(PREFIX_STEM, hosts, remote).map(Some)
    }

    /// Builds a LAN of `hosts` hosts (1..=250) whose namespaces are named
    /// `STEM<pid>x<n>-…`. Fails when not root (check [`is_root`] first to
    /// say something friendlier); whatever was made is removed on error.
    pub fn build(stem: &str, hosts: usize) -> Result<Lan, Error> {
        Self::make_lan(stem, hosts, 0)
    }

    fn make_lan(stem: &str, hosts: usize, remote: usize) -> Result<Lan, Error> {
        assert!(
            (1..=250).contains(&(hosts + remote)) && hosts >= 1,
            "a LAN has 1..=250 hosts"
        );
        let prefix = format!(
            "{stem}{}x{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let lan = Lan {
            prefix,
            hosts,
            remote,
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
        let nov6 = [
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ];
        let sysctl = |ns: &str, args: &[&str]| {
            run(Command::new("ip")
                .args(["netns", "exec", ns, "sysctl", "-qw"])
                .args(args))
        };
        let mut switches = vec![(self.switch_ns(), 1..=self.hosts)];
        if self.remote > 0 {
            switches.push((
                self.remote_switch_ns(),
                self.hosts + 1..=self.hosts + self.remote,
            ));
        }
        for (sw, members) in &switches {
            ip(&["netns", "add", sw])?;
            for i in members.clone() {
                ip(&["netns", "add", &self.ns(i)])?;
            }
        }
        for (sw, members) in &switches {
            sysctl(sw, &nov6)?;
            let mut batch = String::from("link set lo up\n");
            batch += "link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0\n";
            batch += "link set br0 up\n";
            for i in members.clone() {
                sysctl(&self.ns(i), &nov6)?;
                batch += &format!(
                    "link add p{i} type veth peer name eth0 netns {}\n",
                    self.ns(i)
                );
                batch += &format!("link set p{i} master br0 up\n");
            }
            ip_batch(Some(sw), &batch)?;
        }
        for i in 1..=self.hosts + self.remote {
            let mut batch = format!(
                "link set lo up\nlink set eth0 address 02:77:00:00:{:02x}:{:02x}\n\
                 addr add {}/24 brd {} dev eth0\nlink set eth0 up\n",
                i / 256,
                i % 256,
                self.ip(i),
                self.broadcast_of(i)
            );
            if self.remote > 0 {
                let (other, via) = if self.is_remote(i) {
                    (NET, REMOTE_NET)
                } else {
                    (REMOTE_NET, NET)
                };
                batch += &format!(
                    "route add {}.{}.{}.0/24 via {}.{}.{}.{ROUTER}\n",
                    other[0], other[1], other[2], via[0], via[1], via[2]
                );
            }
            ip_batch(Some(&self.ns(i)), &batch)?;
        }
        if self.remote > 0 {
            self.make_router(&nov6)?;
        }
        Ok(())
    }

    /// The router: one leg on each switch, forwarding on (in its own
    /// namespace only), no default route.
    fn make_router(&self, nov6: &[&str]) -> Result<(), Error> {
        let rt = self.router_ns();
        ip(&["netns", "add", &rt])?;
        run(Command::new("ip")
            .args(["netns", "exec", &rt, "sysctl", "-qw"])
            .args(nov6)
            .arg("net.ipv4.ip_forward=1"))?;
        for (leg, sw) in [(0, self.switch_ns()), (1, self.remote_switch_ns())] {
            let batch = format!(
                "link add r{leg} type veth peer name eth{leg} netns {rt}\n\
                 link set r{leg} master br0 up\n"
            );
            ip_batch(Some(&sw), &batch)?;
        }
        let batch = format!(
            "link set lo up\n\
             link set eth0 address 02:77:00:fe:00:00\n\
             addr add {n0}.{n1}.{n2}.{ROUTER}/24 dev eth0\nlink set eth0 up\n\
             link set eth1 address 02:77:00:fe:00:01\n\
             addr add {r0}.{r1}.{r2}.{ROUTER}/24 dev eth1\nlink set eth1 up\n",
            n0 = NET[0],
            n1 = NET[1],
            n2 = NET[2],
            r0 = REMOTE_NET[0],
            r1 = REMOTE_NET[1],
            r2 = REMOTE_NET[2],
        );
        ip_batch(Some(&rt), &batch)
    }

    /// The unique prefix of this LAN's namespaces.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Number of hosts on the LAN (without those behind the router).
    pub fn hosts(&self) -> usize {
        self.hosts
    }

    /// Whether host `i` is on the second subnet, behind the router.
    pub fn is_remote(&self, i: usize) -> bool {
        i > self.hosts
    }

    /// Namespace name of host `i` (1-based).
    pub fn ns(&self, i: usize) -> String {
        format!("{}-h{i}", self.prefix)
    }

    fn switch_ns(&self) -> String {
        format!("{}-sw", self.prefix)
    }

    fn remote_switch_ns(&self) -> String {
        format!("{}-sw2", self.prefix)
    }

    fn router_ns(&self) -> String {
        format!("{}-rt", self.prefix)
    }

    fn net_of(&self, i: usize) -> [u8; 3] {
        if self.is_remote(i) { REMOTE_NET } else { NET }
    }

    /// Address of host `i` (10.77.1.i behind the router).
    pub fn ip(&self, i: usize) -> Ipv4Addr {
        let n = self.net_of(i);
        Ipv4Addr::new(n[0], n[1], n[2], i as u8)
    }

    /// The broadcast address of host `i`'s subnet.
    pub fn broadcast_of(&self, i: usize) -> Ipv4Addr {
        let n = self.net_of(i);
        Ipv4Addr::new(n[0], n[1], n[2], 255)
    }

    /// The LAN's broadcast address.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::new(NET[0], NET[1], NET[2], 255)
    }

    /// A command that runs `program` inside host `i`.
    /// `program` in the router's namespace (a routed LAN only): a host
    /// with two interfaces, `eth0` (10.77.0.254) and `eth1` (10.77.1.254).
    pub fn router_command(&self, program: &str) -> Command {
        assert!(self.remote > 0, "only a routed LAN has a router");
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.router_ns(), program]);
        c
    }

    /// The router's namespace (a routed LAN only).
    pub fn router_namespace(&self) -> String {
        self.router_ns()
    }

    pub fn command(&self, i: usize, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns(i), program]);
        c
    }

    /// Every namespace of this LAN: the hosts, then the router and switches.
    pub fn namespaces(&self) -> Vec<String> {
        let mut v: Vec<String> = (1..=self.hosts + self.remote).map(|i| self.ns(i)).collect();
        if self.remote > 0 {
            v.push(self.router_ns());
            v.push(self.remote_switch_ns());
        }
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

    /// Host `from` pings host `to` once; fails the test if no answer.
    fn ping(lan: &Lan, from: usize, to: usize) {
        let out = lan
            .command(from, "ping")
            .args(["-c", "1", "-W", "2", &lan.ip(to).to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    /// A LAN really is a broadcast domain of its own, and is gone after drop.
    #[test]
    fn hosts_reach_each_other_and_nothing_is_left_behind() {
        let Some(lan) = Lan::up(2).unwrap() else {
            return;
        };
        ping(&lan, 1, 2);
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

    /// A host behind the router reaches the LAN through it, and the router
    /// leaves no route, namespace or forwarding behind.
    #[test]
    fn a_routed_subnet_reaches_the_lan_and_goes_away() {
        let Some(lan) = Lan::up_routed(1, 1).unwrap() else {
            return;
        };
        assert!(lan.is_remote(2) && !lan.is_remote(1));
        assert_eq!(lan.ip(2), Ipv4Addr::new(10, 77, 1, 2));
        ping(&lan, 2, 1);
        let fwd = |ns: &str| {
            let o = Command::new("ip")
                .args(["netns", "exec", ns, "sysctl", "-n", "net.ipv4.ip_forward"])
                .output()
                .unwrap();
            String::from_utf8_lossy(&o.stdout).trim().to_owned()
        };
        assert_eq!(fwd(&lan.router_ns()), "1");
        assert_eq!(fwd(&lan.ns(1)), "0", "hosts do not forward");
        for i in 1..=2 {
            let route = lan
                .command(i, "ip")
                .args(["route", "get", "192.0.2.1"])
                .output()
                .unwrap();
            assert!(!route.status.success(), "host {i} has no default route");
        }
        let names = lan.namespaces();
        assert_eq!(names.len(), 5, "{names:?}");
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
