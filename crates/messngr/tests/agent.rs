//! `messngr agent` for real: an X server (Xvfb), a private D-Bus session
//! bus and the dunst notification daemon on it; a messngr daemon in one
//! namespace host receives messages sent by another host's daemon, and the
//! agent (in the root namespace, on the daemon's Unix socket) must put them
//! on the screen. Judged by dunst's own history and by a screenshot kept in
//! `<target>/test-artifacts/agent-notification.png`.
//!
//! Needs root, xvfb, dbus, dunst and imagemagick (`ci/install-deps`);
//! skipped with a message otherwise, failed under CI.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{BIN, Daemon, Lan, wait_for};

const TOOLS: [&str; 5] = ["Xvfb", "dbus-daemon", "dunst", "dunstctl", "import"];

/// Whether the desktop tools are installed; under CI=true their absence fails.
fn desktop_tools() -> bool {
    let missing: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|t| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "missing {missing:?} under CI=true: run ci/install-deps"
    );
    eprintln!("SKIPPED: agent test needs {missing:?} (ci/install-deps)");
    false
}

/// Everything the test starts; each process is stopped (SIGTERM, then
/// SIGKILL) when this is dropped, also when an assertion failed.
struct Procs(Vec<(&'static str, Child)>);

impl Procs {
    fn stop(&mut self, what: &str) {
        if let Some(i) = self.0.iter().position(|(w, _)| *w == what) {
            let (_, child) = self.0.remove(i);
            stop(child);
        }
    }
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Procs {
    fn drop(&mut self) {
        // The agent first, the X server last.
        while let Some((_, child)) = self.0.pop() {
            stop(child);
        }
    }
}

/// Xvfb, a session bus and dunst, in `dir`.
struct Desktop {
    procs: Procs,
    display: String,
    bus: String,
    dir: PathBuf,
}

/// Writes an executable shell script (test fixtures only; the agent itself
/// never runs a shell).
fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(path, perms).unwrap();
}

/// One desktop at a time: two tests scanning for a free display number at
/// once could pick the same one.
static DESKTOP: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn free_display() -> u32 {
    (90..400)
        .find(|n| {
            !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        })
        .expect("a free X display number")
}

impl Desktop {
    fn start(dir: &Path) -> Desktop {
        let mut procs = Procs(Vec::new());
        let n = free_display();
        let display = format!(":{n}");
        let log = |name: &str| std::fs::File::create(dir.join(name)).unwrap();
        let xvfb = Command::new("Xvfb")
            .args([&display, "-screen", "0", "1024x600x24", "-nolisten", "tcp"])
            .stdout(log("xvfb.log"))
            .stderr(log("xvfb.err"))
            .spawn()
            .unwrap();
        procs.0.push(("xvfb", xvfb));
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        wait_for(
            Duration::from_secs(10),
            || socket.exists(),
            || std::fs::read_to_string(dir.join("xvfb.err")).unwrap_or_default(),
        );
        let bus_path = dir.join("bus");
        let bus = format!("unix:path={}", bus_path.display());
        // A bus of our own with no service files: nothing is activated
        // behind the test's back (Debian's dunst.service would be).
        let bus_conf = dir.join("bus.conf");
        std::fs::write(
            &bus_conf,
            format!(
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" \
                 \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n\
                 <busconfig><type>session</type><listen>{bus}</listen><auth>EXTERNAL</auth>\
                 <policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>\
                 <allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>\n"
            ),
        )
        .unwrap();
        let dbus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", bus_conf.display()))
            .args(["--nofork", "--nopidfile"])
            .stdout(log("dbus.log"))
            .stderr(log("dbus.err"))
            .spawn()
            .unwrap();
        procs.0.push(("dbus", dbus));
        wait_for(
            Duration::from_secs(10),
            || bus_path.exists(),
            || std::fs::read_to_string(dir.join("dbus.err")).unwrap_or_default(),
        );
        // The context menu is a script that picks the first entry naming
        // the action in `choice` (and logs the menu), standing in for a
        // person clicking it.
        let menu = dir.join("dmenu");
        script(
            &menu,
            &format!(
                "tee -a {log} | grep -m1 \"$(cat {choice})\"",
                log = dir.join("menu.log").display(),
                choice = dir.join("choice").display()
            ),
        );
        // Notifications stay on screen (timeout 0) until the test closes them.
        let conf = dir.join("dunstrc");
        std::fs::write(
            &conf,
            format!(
                "[global]\n    width = 700\n    height = 300\n    origin = top-left\n    offset = 10x10\n    \
             font = Monospace 12\n    markup = full\n    format = \"<b>%s</b>\\n%b\"\n    \
             notification_limit = 0\n    dmenu = {menu}\n\
             [urgency_low]\n    timeout = 0\n[urgency_normal]\n    timeout = 0\n\
             [urgency_critical]\n    timeout = 0\n",
                menu = menu.display()
            ),
        )
        .unwrap();
        let dunst = Command::new("dunst")
            .arg("-conf")
            .arg(&conf)
            .env("DISPLAY", &display)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus)
            .env("XDG_CONFIG_HOME", dir)
            .stdout(log("dunst.log"))
            .stderr(log("dunst.err"))
            .spawn()
            .unwrap();
        procs.0.push(("dunst", dunst));
        let d = Desktop {
            procs,
            display,
            bus,
            dir: dir.to_owned(),
        };
        wait_for(
            Duration::from_secs(10),
            || d.dunstctl(&["count", "displayed"]).is_some(),
            || d.logs(),
        );
        d
    }

    fn dunstctl(&self, args: &[&str]) -> Option<String> {
        let o = Command::new("dunstctl")
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .output()
            .ok()?;
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
    }

    fn displayed(&self) -> usize {
        self.dunstctl(&["count", "displayed"])
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    fn logs(&self) -> String {
        ["dunst.err", "agent.log", "dbus.err", "xvfb.err"]
            .iter()
            .map(|f| {
                format!(
                    "--- {f}:\n{}",
                    std::fs::read_to_string(self.dir.join(f)).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Starts `messngr agent` on `socket` with this desktop's session bus;
    /// its "Reply" command appends its argument and environment to `replied`.
    fn agent(&mut self, socket: &Path) {
        let log = std::fs::File::create(self.dir.join("agent.log")).unwrap();
        let reply = self.dir.join("reply");
        script(
            &reply,
            &format!(
                "echo \"$1 $MESSNGR_MESSAGE_ID\" >> {}",
                self.dir.join("replied").display()
            ),
        );
        let child = Command::new(BIN)
            .arg("--socket")
            .arg(socket)
            .args(["agent", "--retry", "1", "--reply-command"])
            .arg(&reply)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .env("DISPLAY", &self.display)
            .env("XDG_STATE_HOME", self.state_home())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.procs.0.push(("agent", child));
    }

    /// The agent's `$XDG_STATE_HOME` (where `messngr quiet` keeps its flag).
    fn state_home(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// `messngr quiet ARGS…` for this desktop's user.
    fn quiet(&self, args: &[&str]) -> String {
        let o = Command::new(BIN)
            .arg("quiet")
            .args(args)
            .env("XDG_STATE_HOME", self.state_home())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", support::text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn screenshot(&self, to: &Path) {
        let o = Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            .arg(format!("png:{}", to.display()))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "import failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn new_and_waiting_messages_reach_the_desktop() {
    if !desktop_tools() {
        return;
    }
    let _one_desktop = DESKTOP.lock().unwrap_or_else(|e| e.into_inner());
    let Some(lan) = Lan::up(2).expect("build the test LAN") else {
        return;
    };
    let d1 = Daemon::start(&lan, 1, "H1", "");
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    let tmp = tempfile::tempdir().unwrap();
    let mut desk = Desktop::start(tmp.path());

    // Sent while no agent runs: it waits in the inbox.
    let o = d2.cli(&["send", "H1", "Sent while you were away"]);
    assert!(o.status.success(), "{}", support::text(&o));
    let inbox = d1.wait_inbox(1);
    let from = inbox[0]["from"].as_str().unwrap().to_owned();

    desk.agent(&d1.socket());
    wait_for(
        Duration::from_secs(20),
        || desk.displayed() >= 1,
        || desk.logs(),
    );
    let o = d2.cli(&["send", "H1", "Live from H2: lunch <b>now</b>?"]);
    assert!(o.status.success(), "{}", support::text(&o));
    wait_for(
        Duration::from_secs(20),
        || desk.displayed() >= 2,
        || desk.logs(),
    );
    // Let dunst draw, then photograph the screen.
    std::thread::sleep(Duration::from_millis(800));
    let png = artifacts().join("agent-notification.png");
    let _ = std::fs::remove_file(&png);
    desk.screenshot(&png);
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.len() > 1000, "screenshot of {} bytes", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");

    // "Mark read" from dunst's context menu (the script picks the first
    // one offered): that message, and only that one, is marked read.
    std::fs::write(tmp.path().join("choice"), "Mark read").unwrap();
    desk.dunstctl(&["context"]).expect("dunstctl context");
    let read = || {
        d1.inbox()
            .iter()
            .filter(|m| !m["read_at_ms"].is_null())
            .count()
    };
    wait_for(
        Duration::from_secs(10),
        || read() >= 1,
        || {
            format!(
                "menu: {}\n{}\n{}",
                std::fs::read_to_string(tmp.path().join("menu.log")).unwrap_or_default(),
                desk.logs(),
                d1.log()
            )
        },
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        read(),
        1,
        "showing is not reading: only the chosen one is read"
    );

    // The daemon restarts: the agent reconnects by itself and shows what
    // comes next. Closing moves notifications into dunst's history, which
    // says what was shown.
    let d1 = d1.restart(&lan);
    d1.wait_settled();
    let o = d2.cli(&["send", "H1", "After the restart"]);
    assert!(o.status.success(), "{}", support::text(&o));
    let history = || desk.dunstctl(&["history"]).unwrap_or_default();
    wait_for(
        Duration::from_secs(20),
        || {
            desk.dunstctl(&["close-all"]).expect("dunstctl close-all");
            let h = history();
            h.contains("Live from H2") && h.contains("After the restart")
        },
        || format!("history: {}\n{}\n{}", history(), desk.logs(), d1.log()),
    );
    let history = history();
    let h: serde_json::Value = serde_json::from_str(&history).unwrap();
    let shown: Vec<(String, String)> = h["data"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["summary"]["data"].as_str().unwrap_or_default().to_owned(),
                n["body"]["data"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let summary = format!("Message from {from}");
    for text in [
        "Sent while you were away",
        "Live from H2: lunch",
        "After the restart",
    ] {
        let hit = shown.iter().find(|(_, b)| b.contains(text));
        let (s, b) = hit.unwrap_or_else(|| panic!("{text:?} not shown: {shown:?}"));
        assert_eq!(s, &summary, "{shown:?}");
        assert!(b.contains("(unverified"), "no unverified mark: {b:?}");
        assert!(b.contains("UTC"), "no time: {b:?}");
    }
    // Markup in a message is shown as text, not applied.
    assert!(
        shown
            .iter()
            .any(|(_, b)| b.contains("&lt;b&gt;now&lt;/b&gt;")),
        "{shown:?}"
    );
    desk.procs.stop("agent");
}

#[test]
fn quiet_holds_messages_until_it_ends() {
    if !desktop_tools() {
        return;
    }
    let _one_desktop = DESKTOP.lock().unwrap_or_else(|e| e.into_inner());
    let Some(lan) = Lan::up(2).expect("build the test LAN") else {
        return;
    };
    let d1 = Daemon::start(&lan, 1, "H1", "");
    let d2 = Daemon::start(&lan, 2, "H2", "");
    d1.wait_settled();
    d2.wait_settled();
    let tmp = tempfile::tempdir().unwrap();
    let mut desk = Desktop::start(tmp.path());
    assert_eq!(desk.quiet(&[]), "quiet off\n");
    assert!(desk.quiet(&["on"]).starts_with("quiet on"));
    assert_eq!(desk.quiet(&[]), "quiet on\n");
    desk.agent(&d1.socket());

    let o = d2.cli(&["send", "H1", "Sent during quiet time"]);
    assert!(o.status.success(), "{}", support::text(&o));
    d1.wait_inbox(1);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        desk.displayed(),
        0,
        "a pop-up in quiet mode\n{}",
        desk.logs()
    );

    assert!(desk.quiet(&["off"]).starts_with("quiet off"));
    wait_for(
        Duration::from_secs(10),
        || desk.displayed() >= 1,
        || desk.logs(),
    );
    desk.dunstctl(&["close-all"]).expect("dunstctl close-all");
    let history = || desk.dunstctl(&["history"]).unwrap_or_default();
    wait_for(
        Duration::from_secs(5),
        || history().contains("Sent during quiet time"),
        || format!("history: {}\n{}", history(), desk.logs()),
    );
}

#[test]
fn without_a_session_bus_the_agent_says_so_and_retries() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("agent.log");
    let child = Command::new(BIN)
        .arg("--socket")
        .arg(tmp.path().join("no-daemon.sock"))
        .args(["agent", "--retry", "1"])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", tmp.path().join("no-bus").display()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut procs = Procs(vec![("agent", child)]);
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_for(
        Duration::from_secs(15),
        || read().lines().count() >= 2,
        read,
    );
    let (_, child) = &mut procs.0[0];
    assert!(
        child.try_wait().unwrap().is_none(),
        "the agent exited: {}",
        read()
    );
    let text = read();
    let first = text.lines().next().unwrap();
    assert!(first.contains("D-Bus session bus"), "{text}");
    assert!(first.contains("retrying in 1 s"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}
