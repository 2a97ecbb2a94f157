//! The checks that ask the running daemon: is it reachable, does it still
//! run as root, are its names held, is its inbox near the quota, is its
//! relay (when it has one) connected with its directory entry written.
//!
//! One `status` call answers them all; the daemon's uid is read from
//! `/proc/PID/status` of the process at the other end of the socket
//! (SO_PEERCRED names it), because the credentials the socket carries are
//! those of when it was bound — as root, before the daemon gave root up.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use messngr_api::{ClientError, StatusView};
use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};

use super::Check;

/// The share of `max_messages` past which the inbox counts as nearly full.
const NEAR_QUOTA_PERCENT: u64 = 90;
/// How long the daemon has to answer `status`.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);
/// Free space below which the inbox's disk counts as nearly full.
const LOW_DISK_BYTES: u64 = 64 << 20;

/// What the daemon said, once.
pub(super) struct Daemon {
    socket: PathBuf,
    pid: Option<u32>,
    status: Result<StatusView, ClientError>,
}

/// The effective uid and account name of process `pid`.
fn uid_of(pid: u32) -> Option<(u32, String)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let uid: u32 = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let name = nix::unistd::User::from_uid(uid.into())
        .ok()
        .flatten()
        .map_or_else(|| uid.to_string(), |u| u.name);
    Some((uid, name))
}

impl Daemon {
    /// Asks the daemon at `socket` for its status.
    pub(super) fn ask(socket: &Path) -> Daemon {
        let pid = UnixStream::connect(socket)
            .ok()
            .and_then(|s| getsockopt(&s, PeerCredentials).ok())
            .and_then(|c| u32::try_from(c.pid()).ok());
        // A wedged daemon (or whatever listens at --socket) must not hang
        // the diagnosis: the answer is awaited 5 s at most.
        let (tx, rx) = std::sync::mpsc::channel();
        let path = socket.to_owned();
        std::thread::spawn(move || {
            let _ = tx.send(messngr_api::call(&path, messngr_api::Status {}));
        });
        let status = rx.recv_timeout(ANSWER_WITHIN).unwrap_or_else(|_| {
            Err(ClientError::Protocol(format!(
                "no answer within {} s",
                ANSWER_WITHIN.as_secs()
            )))
        });
        Daemon {
            socket: socket.to_owned(),
            pid,
            status,
        }
    }

    /// The daemon's status, or check `id` skipped when it did not answer.
    fn answered(&self, id: &'static str) -> Result<&StatusView, Check> {
        self.status
            .as_ref()
            .map_err(|_| Check::skip(id, "the daemon did not answer (see `daemon`)"))
    }

    /// `daemon`: it answers, and not as root.
    pub(super) fn reachable(&self) -> Check {
        let running = self.pid.and_then(|p| uid_of(p).map(|u| (p, u)));
        match (&self.status, running) {
            (Err(ClientError::Connect { source, .. }), _) => Check::fail(
                "daemon",
                format!("nothing answers at {}: {source}", self.socket.display()),
                "start it: systemctl enable --now messngr (`journalctl -u messngr` says why it stopped); another socket: --socket or $MESSNGR_SOCKET",
            ),
            (_, Some((pid, (0, _)))) => Check::fail(
                "daemon",
                format!("the daemon (pid {pid}) runs as root"),
                "it gives root up once its ports are bound: check that its `user` account exists (useradd --system messngr) and start it again; under systemd the unit runs it as messngr from the start",
            ),
            (Err(ClientError::Daemon(e)), Some((pid, (_, name)))) => Check::ok(
                "daemon",
                format!(
                    "reachable at {}, pid {pid}, runs as {name} ({e})",
                    self.socket.display()
                ),
            ),
            (Err(e), _) => Check::fail(
                "daemon",
                format!(
                    "the daemon at {} did not answer: {e}",
                    self.socket.display()
                ),
                "restart it: systemctl restart messngr, then look at journalctl -u messngr",
            ),
            (Ok(s), Some((pid, (_, name)))) => Check::ok(
                "daemon",
                format!(
                    "{} in {} on {}, reachable at {}, pid {pid}, runs as {name}",
                    s.netbios_name,
                    s.workgroup,
                    s.interface,
                    self.socket.display()
                ),
            ),
            (Ok(s), None) => Check::ok(
                "daemon",
                format!("{} reachable at {}", s.netbios_name, self.socket.display()),
            ),
        }
    }

    /// `names`: none of ours is lost to another host on the LAN.
    pub(super) fn names(&self) -> Check {
        let s = match self.answered("names") {
            Ok(s) => s,
            Err(skipped) => return skipped,
        };
        if !s.netbios {
            return Check::skip(
                "names",
                "serve_netbios = false: Samba's nmbd holds the names (check them with nmblookup)",
            );
        }
        let lost: Vec<String> = s
            .names
            .iter()
            .filter(|n| n.state == "conflict")
            .map(|n| match n.held_by {
                Some(ip) => format!("{} (held by {ip})", n.name),
                None => n.name.clone(),
            })
            .collect();
        if lost.is_empty() {
            return Check::ok(
                "names",
                format!("{} names held, no conflict", s.names.len()),
            );
        }
        Check::fail(
            "names",
            format!("another host on the LAN holds {}", lost.join(", ")),
            "find it with `messngr lookup NAME` (or nmblookup NAME), then rename one of the two: netbios_name or names in /etc/messngr/messngr.toml, and `systemctl restart messngr`",
        )
    }

    /// `inbox`: below 90% of `max_messages`, and room on its disk.
    pub(super) fn inbox(&self) -> Check {
        let s = match self.answered("inbox") {
            Ok(s) => s,
            Err(skipped) => return skipped,
        };
        let Some(i) = &s.inbox else {
            return Check::skip(
                "inbox",
                "only root and the daemon's admins see the inbox's size: run `sudo messngr doctor`",
            );
        };
        let mut problems = Vec::new();
        if let Some(max) = i.max_messages.filter(|m| *m > 0)
            && i.received.saturating_mul(100) >= max.saturating_mul(NEAR_QUOTA_PERCENT)
        {
            problems.push(format!(
                "{} of max_messages {max} received: new messages are refused at {max}",
                i.received
            ));
        }
        if let Some(free) = i.disk_free_bytes.filter(|f| *f < LOW_DISK_BYTES) {
            problems.push(format!("{} MiB free on the inbox's disk", free >> 20));
        }
        let summary = format!(
            "{} received of {}, {} KiB on disk",
            i.received,
            i.max_messages
                .map_or_else(|| "no limit".to_owned(), |m| format!("max_messages {m}")),
            i.bytes >> 10
        );
        if problems.is_empty() {
            Check::ok("inbox", summary)
        } else {
            Check::fail(
                "inbox",
                problems.join("; "),
                "delete what is read (`messngr rm ID`, or expire_read_after_days = 30), or raise max_messages in messngr.toml and `systemctl restart messngr`; free disk space",
            )
        }
    }

    /// `relay`: with `[relay] servers`, connected to one, the directory
    /// open and this host's entry written in it.
    pub(super) fn relay(&self) -> Check {
        let s = match self.answered("relay") {
            Ok(s) => s,
            Err(skipped) => return skipped,
        };
        let Some(r) = &s.relay else {
            return Check::skip(
                "relay",
                "no [relay] servers: other sites are reached through WINS or by address only",
            );
        };
        let since = messngr_api::time::rfc3339(r.since_ms);
        let why = r
            .last_error
            .as_deref()
            .map(|e| format!(" (last error: {e})"))
            .unwrap_or_default();
        let kept = match r.kept {
            0 => String::new(),
            n => format!("; {n} messages for other sites kept here"),
        };
        if r.stopped {
            return Check::fail(
                "relay",
                format!("stopped until the daemon is restarted{why}{kept}"),
                "fix [relay] as the last error says, then `systemctl restart messngr`",
            );
        }
        if !r.connected {
            return Check::fail(
                "relay",
                format!(
                    "not connected to any of {} since {since}{why}{kept}",
                    r.servers.join(", ")
                ),
                "check that the servers in [relay] servers run and that this host reaches them (TCP 4222, or the URL's port; tls:// needs ca_file), and the credentials (credentials or nkey_seed_file); `journalctl -u messngr | grep relay` says what failed",
            );
        }
        let server = r.server.as_deref().unwrap_or("a server");
        if !r.refused.is_empty() {
            let streams = r.refused.join(", ");
            return Check::fail(
                "relay",
                format!(
                    "connected to {server}, but the cluster's {streams} is not as messngr makes it (not used: messages to other sites are kept here){kept}"
                ),
                format!(
                    "someone with the cluster's credentials made it: `journalctl -u messngr | grep relay` says what differs; check it and delete it ({}): messngr makes its own again",
                    r.refused
                        .iter()
                        .map(|s| format!("`nats stream info {s}`, `nats stream rm {s}`"))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            );
        }
        let stale = r.written_ms.filter(|at| {
            r.ttl_secs > 0
                && now_ms().saturating_sub(*at)
                    > i64::try_from(r.ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX)
        });
        if let Some(at) = stale {
            return Check::fail(
                "relay",
                format!(
                    "connected to {server}, but this host's directory entry was last written at {}, over directory_ttl_secs ({} s) ago: other sites cannot find it{why}",
                    messngr_api::time::rfc3339(at),
                    r.ttl_secs
                ),
                "the cluster refuses the writes: `journalctl -u messngr | grep relay` says why (a permission, a full store, no leader)",
            );
        }
        if !r.directory || r.published == 0 {
            let what = if r.directory {
                "this host's entry is not written in the directory yet"
            } else {
                "the directory is not open"
            };
            return Check::fail(
                "relay",
                format!("connected to {server}, but {what}{why}{kept}"),
                "every node needs JetStream (a jetstream block with store_dir) and the cluster a leader (`nats server report jetstream`); with a NATS user per host, print what it needs with `messngr generate nats-permissions`",
            );
        }
        Check::ok(
            "relay",
            format!(
                "connected to {server} since {since}; this host's directory entry written {} times; {} entries or messages refused{kept}",
                r.published, r.dropped
            ),
        )
    }
}

/// Now, in Unix ms.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
