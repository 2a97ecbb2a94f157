//! The demo's three hosts: a daemon per network namespace, each with its own
//! config, state, API socket and log under the demo's temp dir.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use messngr_api::{ClientError, InboxList, Status, StatusView};

use super::teardown::Shared;

/// The demo's workgroup: the one every private LAN uses.
pub use messngr_lan::samba::WORKGROUP;

/// One host of the demo LAN.
pub struct Host {
    /// Its NetBIOS name: H1, H2, H3.
    pub name: String,
    /// Its network namespace.
    pub ns: String,
    /// Its address on the LAN.
    pub ip: std::net::Ipv4Addr,
    /// Its files: messngr.toml, state/, api.sock, log.
    pub dir: PathBuf,
}

impl Host {
    /// The daemon's API socket (a file, so reachable from any namespace).
    pub fn socket(&self) -> PathBuf {
        self.dir.join("api.sock")
    }

    /// The daemon's log.
    pub fn log(&self) -> PathBuf {
        self.dir.join("log")
    }

    /// A command running `program` inside this host's namespace, in a
    /// process group of its own so a Ctrl-C at the terminal reaches only the
    /// demo, which then stops everything in order.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        use std::os::unix::process::CommandExt;
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns]).arg(program);
        c.process_group(0);
        c
    }

    /// Writes the config and starts `exe daemon` in the namespace; the child
    /// is registered in `shared` under the lock, so a Ctrl-C cannot miss it.
    pub fn start_daemon(&self, exe: &Path, shared: &Shared) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let config = format!(
            "# messngr demo: host {name}\nnetbios_name = \"{name}\"\nworkgroup = \"{WORKGROUP}\"\n\
             interface = \"eth0\"\nstate_dir = {state}\nsocket = {socket}\nregister_users = false\n\
             # the demo's messages stay in its inboxes, off this machine's terminals\n\
             terminals = false\n",
            name = self.name,
            state = toml_string(&self.dir.join("state"))?,
            socket = toml_string(&self.socket())?,
        );
        let config_path = self.dir.join("messngr.toml");
        std::fs::write(&config_path, config)
            .with_context(|| format!("writing {}", config_path.display()))?;
        let log = std::fs::File::create(self.log())
            .with_context(|| format!("creating {}", self.log().display()))?;
        let log2 = log.try_clone().context("opening the daemon log")?;
        let mut resources = shared.lock();
        let child = self
            .command(exe)
            .arg("daemon")
            .arg("--config")
            .arg(&config_path)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "debug".into()),
            )
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .with_context(|| format!("starting {}'s daemon", self.name))?;
        resources.daemons.push(child);
        Ok(())
    }

    /// The daemon's status, or `None` while its API socket is not up yet.
    fn status(&self) -> anyhow::Result<Option<StatusView>> {
        match messngr_api::call(&self.socket(), Status {}) {
            Ok(s) => Ok(Some(s)),
            Err(ClientError::Connect { .. }) => Ok(None),
            Err(e) => Err(e).context(format!("asking {}'s daemon", self.name)),
        }
    }

    /// The texts of every message in this host's inbox.
    pub fn inbox_texts(&self) -> anyhow::Result<Vec<String>> {
        let page = messngr_api::call(&self.socket(), InboxList::default())
            .with_context(|| format!("reading {}'s inbox", self.name))?;
        Ok(page.messages.into_iter().map(|m| m.text).collect())
    }
}

/// Waits until every host's names are registered; returns one line per host
/// (`H1<00> H1<03> … registered`). Fails, naming the log, when a daemon
/// exits, a name is in conflict, or `limit` passes.
pub fn wait_registered(
    hosts: &[Host],
    shared: &Shared,
    limit: Duration,
) -> anyhow::Result<Vec<String>> {
    let start = Instant::now();
    let mut lines = vec![None; hosts.len()];
    loop {
        for (i, h) in hosts.iter().enumerate() {
            if lines[i].is_some() {
                continue;
            }
            if let Some(exit) = shared
                .lock()
                .daemons
                .get_mut(i)
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!(
                    "{}'s daemon stopped ({exit}); its log: {}{}",
                    h.name,
                    h.log().display(),
                    log_tail(&h.log())
                );
            }
            let Some(st) = h.status()? else { continue };
            if let Some(n) = st.names.iter().find(|n| n.state == "conflict") {
                bail!(
                    "{} could not claim {}: another host holds it (log: {})",
                    h.name,
                    n.name,
                    h.log().display()
                );
            }
            if !st.names.is_empty() && st.names.iter().all(|n| n.state == "registered") {
                let names: Vec<String> = st
                    .names
                    .iter()
                    .map(|n| {
                        if n.group {
                            format!("{} (group)", n.name)
                        } else {
                            n.name.clone()
                        }
                    })
                    .collect();
                lines[i] = Some(format!("{}: {} registered", h.name, names.join(" ")));
            }
        }
        if lines.iter().all(Option::is_some) {
            return Ok(lines.into_iter().flatten().collect());
        }
        if start.elapsed() > limit {
            let slow: Vec<String> = hosts
                .iter()
                .zip(&lines)
                .filter(|(_, l)| l.is_none())
                .map(|(h, _)| format!("{} (log: {})", h.name, h.log().display()))
                .collect();
            bail!("names not registered within {limit:?}: {}", slow.join(", "));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last lines of a log, indented, for an error message.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(8)..];
    tail.iter().map(|l| format!("\n    {l}")).collect()
}

/// A path as a TOML basic string (quoted, `\` and `"` escaped); refuses
/// paths TOML cannot hold as text (control characters, not UTF-8).
fn toml_string(p: &Path) -> anyhow::Result<String> {
    let s = p
        .to_str()
        .filter(|s| !s.chars().any(char::is_control))
        .with_context(|| format!("{} cannot be written in a config file", p.display()))?;
    Ok(format!(
        "\"{}\"",
        s.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}
