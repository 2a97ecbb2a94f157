//! `messngr demo`: the README's first command. It shows a person what
//! messngr does in a few seconds, with real daemons, real sockets and real
//! protocol traffic — and without any of it touching their network.
//!
//! How: a private LAN of three network namespaces (`messngr_lan`, prefix
//! `md<pid>x<n>`: a bridge with no uplink, 10.77.0.1–3, IPv6 off), a
//! `messngr daemon` of this very binary in each, then the three ways a message
//! travels — `net send NAME` (NetBIOS session, TCP 139), `net send *` (mailslot
//! datagram, UDP 138) and, when Samba is installed, `smbclient -M` — and each
//! inbox printed by the same code as `messngr inbox`. Everything is removed at
//! the end, after an error, and on Ctrl-C/SIGTERM ([`teardown`]).

mod hosts;
mod teardown;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use messngr_lan::samba::SmbConf;

use hosts::{Host, WORKGROUP, wait_registered};
use teardown::Shared;

use crate::cli::{EXIT_ERROR, EXIT_NO};

/// What the demo says when it cannot create namespaces.
pub const NEEDS_ROOT: &str =
    "messngr demo needs root to create network namespaces: run `sudo messngr demo`";

/// The direct message, H1 → H2 (short enough to show whole in `inbox`).
const DIRECT: &str = "Lunch is ready in the kitchen.";
/// The broadcast, H3 → everyone in the workgroup.
const BROADCAST: &str = "The printer on floor 2 is fixed.";
/// Samba's message, H3 → H1.
const SAMBA: &str = "Hello H1, from Samba's smbclient.";

/// How long names, messages and Samba may take before the demo gives up
/// (each normally takes well under a second on the private LAN).
const PATIENCE: Duration = Duration::from_secs(10);

/// One message the demo expects in an inbox.
struct Expected {
    host: usize,
    text: &'static str,
    what: &'static str,
}

/// Runs the demo; `keep` leaves the LAN and daemons up afterwards.
pub fn run(keep: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    if !messngr_lan::is_root() {
        eprintln!("{NEEDS_ROOT}");
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    if std::process::Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        anyhow::bail!("messngr demo needs the `ip` command: apt install iproute2");
    }
    let started = Instant::now();
    let exe = std::env::current_exe().context("finding the messngr binary to run as daemons")?;
    let shared = Shared::default();
    teardown::on_signals(shared.clone())?;
    let result = walk_through(&exe, &shared, out);
    let failed = !matches!(result, Ok(true));
    if keep && !failed {
        return leave_up(&exe, &shared, out);
    }
    let kept = {
        let mut r = shared.lock();
        let logs = failed && !r.daemons.is_empty();
        r.tear_down(logs)
    };
    if let Some(code) = teardown::interrupted() {
        // The signal thread has the last word and exits; this is a fallback.
        std::thread::sleep(Duration::from_secs(1));
        return Ok(ExitCode::from(code));
    }
    match result {
        Ok(true) => {
            writeln!(
                out,
                "\nEvery message arrived; the LAN and its daemons are gone ({:.1} s).",
                started.elapsed().as_secs_f64()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(false) => {
            writeln!(out, "\nThe LAN and its daemons are gone.")?;
            if let Some(dir) = kept {
                eprintln!(
                    "messngr demo: not every message arrived (see above); the daemons' logs are kept in {}",
                    dir.display()
                );
            }
            Ok(ExitCode::from(EXIT_NO))
        }
        Err(e) => {
            if let Some(dir) = kept {
                eprintln!(
                    "messngr demo: the LAN is removed; the daemons' logs are kept in {}",
                    dir.display()
                );
            }
            Err(e)
        }
    }
}

/// The narrated steps. `Ok(false)`: something did not arrive (already said).
fn walk_through(exe: &Path, shared: &Shared, out: &mut impl Write) -> anyhow::Result<bool> {
    writeln!(
        out,
        "Building a private LAN of 3 hosts (network namespaces, no uplink: nothing reaches your network)…"
    )?;
    let hosts = {
        let mut r = shared.lock();
        let dir = tempfile::Builder::new()
            .prefix("messngr-demo-")
            .tempdir()
            .context("creating the demo's temp dir")?;
        // The daemons drop root once bound: their user must reach state/.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .context("opening the demo's temp dir to the daemons' user")?;
        }
        let lan =
            messngr_lan::Lan::build(messngr_lan::DEMO_STEM, 3).context("building the demo LAN")?;
        let hosts: Vec<Host> = (1..=lan.hosts())
            .map(|i| Host {
                name: format!("H{i}"),
                ns: lan.ns(i),
                ip: lan.ip(i),
                dir: dir.path().join(format!("h{i}")),
            })
            .collect();
        r.lan = Some(lan);
        r.dir = Some(dir);
        hosts
    };
    let summary: Vec<String> = hosts
        .iter()
        .map(|h| format!("{} {} ({})", h.name, h.ip, h.ns))
        .collect();
    writeln!(out, "  {}", summary.join(", "))?;

    writeln!(
        out,
        "Starting a messngr daemon on each host (workgroup {WORKGROUP})…"
    )?;
    for h in &hosts {
        h.start_daemon(exe, shared)?;
    }
    writeln!(
        out,
        "H1, H2 and H3 claim their names by broadcast; nobody objects…"
    )?;
    for line in wait_registered(&hosts, shared, PATIENCE)? {
        writeln!(out, "  {line}")?;
    }

    let mut ok = true;
    let mut expected = Vec::new();
    // A message that was sent is expected in these hosts' inboxes.
    let mut expect = |sent: bool, hosts: &[usize], text: &'static str, what: &'static str| {
        ok &= sent;
        if sent {
            expected.extend(hosts.iter().map(|&host| Expected { host, text, what }));
        }
    };
    writeln!(
        out,
        "\nH1 → H2: net send H2 {DIRECT}   (a NetBIOS session to TCP 139)"
    )?;
    let sent = send(&hosts[0], "H2", DIRECT, out)?;
    expect(sent, &[1], DIRECT, "the direct message");
    writeln!(
        out,
        "H3 → everyone: net send * {BROADCAST}   (a mailslot datagram to {WORKGROUP}, UDP 138)"
    )?;
    let sent = send(&hosts[2], "*", BROADCAST, out)?;
    expect(sent, &[0, 1], BROADCAST, "the broadcast");
    match which("smbclient") {
        Some(smbclient) => {
            writeln!(
                out,
                "H3 → H1: smbclient -M H1 -I {}   (Samba's client, as user alice)",
                hosts[0].ip
            )?;
            let sent = smbclient_m(&smbclient, &hosts[2], &hosts[0], out)?;
            expect(sent, &[0], SAMBA, "smbclient's message");
        }
        None => writeln!(
            out,
            "(Samba's smbclient is not installed, so no smbclient -M message: apt install smbclient)"
        )?,
    }

    let missing = wait_arrived(&hosts, &expected)?;
    for h in &hosts {
        writeln!(
            out,
            "\n{}'s inbox, as `messngr inbox` shows it there:",
            h.name
        )?;
        indented(out, |buf| {
            crate::client::inbox(&h.socket(), crate::cli::Selection::default(), false, buf)
        })?;
    }
    for m in &missing {
        let h = &hosts[m.host];
        eprintln!(
            "messngr demo: {} ({:?}) did not reach {}'s inbox within {PATIENCE:?}; its log: {}",
            m.what,
            m.text,
            h.name,
            h.log().display()
        );
    }
    Ok(ok && missing.is_empty())
}

/// `messngr send` through `from`'s daemon, printed as `messngr send` prints it.
fn send(from: &Host, target: &str, text: &str, out: &mut impl Write) -> anyhow::Result<bool> {
    let code = indented(out, |buf| {
        let request = messngr_api::Send::new(target, text);
        crate::client::send(&from.socket(), request, false, buf)
    })?;
    Ok(code == ExitCode::SUCCESS)
}

/// Runs `smbclient -M` in `from`'s namespace against `to`, with a private
/// smb.conf (never the machine's /etc/samba/smb.conf: its caches, interfaces
/// or WINS settings must not matter, nor be touched).
fn smbclient_m(
    smbclient: &Path,
    from: &Host,
    to: &Host,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let dir = from.dir.join("samba");
    let conf_path = SmbConf::new(&from.name)
        .broadcast_resolution()
        .write(&dir)
        .context("writing smbclient's smb.conf")?;
    let log_path = dir.join("smbclient.out");
    let log = std::fs::File::create(&log_path).context("creating smbclient's output file")?;
    let log2 = log.try_clone().context("opening smbclient's output file")?;
    let mut child = from
        .command(smbclient)
        .arg("-s")
        .arg(&conf_path)
        .args(["-N", "-n", &from.name, "-U", "alice", "-M", &to.name])
        .args(["-I", &to.ip.to_string()])
        .stdin(Stdio::piped())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .context("starting smbclient")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(SAMBA.as_bytes())
            .context("writing the message to smbclient")?;
    }
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(s) = child.try_wait().context("waiting for smbclient")? {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // On success smbclient only prints its "Type your message" prompt, which
    // would read oddly here; its words matter only when it failed.
    let said = || {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| format!("\n    {l}"))
            .collect::<String>()
    };
    match status {
        Some(s) if s.success() => {
            writeln!(out, "  Delivered (smbclient exited 0)")?;
            Ok(true)
        }
        Some(s) => {
            eprintln!("messngr demo: smbclient -M failed ({s}):{}", said());
            Ok(false)
        }
        None => {
            eprintln!(
                "messngr demo: smbclient -M did not finish within {PATIENCE:?}:{}",
                said()
            );
            Ok(false)
        }
    }
}

/// Polls the inboxes until every expected message is there or [`PATIENCE`]
/// runs out (datagrams are not acknowledged, so this is the only proof);
/// returns the ones that never came.
fn wait_arrived<'a>(hosts: &[Host], expected: &'a [Expected]) -> anyhow::Result<Vec<&'a Expected>> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut missing = Vec::new();
        for (i, h) in hosts.iter().enumerate() {
            let want: Vec<&Expected> = expected.iter().filter(|e| e.host == i).collect();
            if want.is_empty() {
                continue;
            }
            let texts = h.inbox_texts()?;
            missing.extend(
                want.into_iter()
                    .filter(|e| !texts.iter().any(|t| t == e.text)),
            );
        }
        if missing.is_empty() || Instant::now() > deadline {
            return Ok(missing);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `--keep`: disarm the cleanup and tell the user how to use and remove the LAN.
fn leave_up(exe: &Path, shared: &Shared, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let mut r = shared.lock();
    let namespaces = r.lan.take().map(|l| l.leave_up()).unwrap_or_default();
    let dir = r.dir.take().map(tempfile::TempDir::keep);
    // The daemons outlive us; forgetting their handles leaves them running.
    r.daemons.clear();
    let dir = dir.unwrap_or_default();
    let exe = exe.display();
    writeln!(out, "\nThe LAN stays up (--keep). Try:")?;
    writeln!(
        out,
        "  sudo {exe} --socket {}/h1/api.sock send H3 Hello from H1",
        dir.display()
    )?;
    writeln!(
        out,
        "  sudo {exe} --socket {}/h3/api.sock inbox",
        dir.display()
    )?;
    writeln!(
        out,
        "  sudo ip netns exec {} bash   # a shell on H1",
        namespaces.first().map_or("", String::as_str)
    )?;
    writeln!(out, "Remove it:")?;
    writeln!(
        out,
        "  sudo sh -c 'for ns in {}; do ip netns pids $ns | xargs -r kill; ip netns delete $ns; done; rm -rf {}'",
        namespaces.join(" "),
        dir.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `f` into a buffer and writes its output indented by two spaces, so
/// what a command prints stands apart from the narration.
fn indented(
    out: &mut impl Write,
    f: impl FnOnce(&mut Vec<u8>) -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    let mut buf = Vec::new();
    let code = f(&mut buf)?;
    for line in String::from_utf8_lossy(&buf).lines() {
        writeln!(out, "  {line}")?;
    }
    Ok(code)
}

/// The first `program` on `$PATH`.
fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}
