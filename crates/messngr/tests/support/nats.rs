//! A real NATS JetStream cluster inside the test LAN: Debian's
//! `nats-server` (2.9.10), one node per host given, clustered over their
//! LAN addresses, each with its own store in a temp dir. Killed (SIGKILL)
//! on drop, so a failing test leaves no server behind.

use std::process::{Child, Stdio};
use std::time::Duration;

use messngr_lan::Lan;

/// Debian's server.
pub const NATS_SERVER: &str = "/usr/sbin/nats-server";

/// The client port inside each namespace.
pub const CLIENT_PORT: u16 = 4222;

/// A running cluster.
pub struct NatsCluster {
    /// `(host, server name, process)`, `None` once killed.
    nodes: Vec<(usize, String, Option<Child>)>,
    dir: tempfile::TempDir,
}

impl NatsCluster {
    /// Starts one node on each of `hosts` (named `n1`, `n2`, …), clustered,
    /// and waits until every node answers on its monitoring port with
    /// JetStream's meta leader known.
    pub fn start(lan: &Lan, hosts: &[usize]) -> NatsCluster {
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
                     cluster {{\n  name: relaytest\n  listen: 0.0.0.0:6222\n  routes: [\n    {}\n  ]\n}}\n",
                    store.display(),
                    routes.join("\n    ")
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join(format!("{name}.log"))).unwrap();
            let child = lan
                .command(h, NATS_SERVER)
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start nats-server (apt-get install nats-server)");
            nodes.push((h, name, Some(child)));
        }
        let cluster = NatsCluster { nodes, dir };
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
        let node = self
            .nodes
            .iter_mut()
            .find(|(_, n, _)| n == name)
            .unwrap_or_else(|| panic!("no node {name}"));
        if let Some(mut c) = node.2.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
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

impl Drop for NatsCluster {
    fn drop(&mut self) {
        self.kill_all();
    }
}
