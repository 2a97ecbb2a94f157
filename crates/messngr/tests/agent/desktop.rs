//! The agent test's desktop: Xvfb, a private session bus and dunst, and a
//! guard that stops every process the test started, also on failure.

#![allow(dead_code)] // each test binary uses a part

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{self, BIN, Daemon, Lan, wait_for};

pub const TOOLS: [&str; 6] = [
    "Xvfb",
    "dbus-daemon",
    "dunst",
    "dunstctl",
    "import",
    "tesseract",
];

/// Whether the desktop tools are installed; under CI=true their absence fails.
pub fn desktop_tools() -> bool {
    tools_present("agent", &missing(&TOOLS))
}

/// Which of `tools` are not on `PATH`.
pub fn missing<'a>(tools: &[&'a str]) -> Vec<&'a str> {
    tools
        .iter()
        .copied()
        .filter(|t| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect()
}

/// `true` when nothing is `missing`; otherwise the `what` test is skipped
/// with a message, or fails under CI=true.
pub fn tools_present(what: &str, missing: &[&str]) -> bool {
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "missing {missing:?} under CI=true: run ci/install-deps"
    );
    eprintln!("SKIPPED: {what} test needs {missing:?} (ci/install-deps)");
    false
}

/// Everything the test starts; each process is stopped (SIGTERM, then
/// SIGKILL) when this is dropped, also when an assertion failed.
pub struct Procs(pub Vec<(&'static str, Child)>);

impl Procs {
    /// The process id of `what`, if it was started.
    pub fn pid(&self, what: &str) -> Option<u32> {
        self.0.iter().find(|(w, _)| *w == what).map(|(_, c)| c.id())
    }

    pub fn stop(&mut self, what: &str) {
        if let Some(i) = self.0.iter().position(|(w, _)| *w == what) {
            let (_, child) = self.0.remove(i);
            stop(child);
        }
    }
}

pub fn stop(mut child: Child) {
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
pub struct Desktop {
    pub procs: Procs,
    pub display: String,
    pub bus: String,
    pub dir: PathBuf,
}

/// Writes an executable shell script (test fixtures only; the agent itself
/// never runs a shell).
pub fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(path, perms).unwrap();
}

/// One desktop at a time: two tests scanning for a free display number at
/// once could pick the same one.
pub static DESKTOP: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// What every desktop test starts with: the one-desktop lock, a LAN of `N`
/// hosts and a settled daemon `H1`…`HN` on each. `None`: skipped (the
/// desktop tools or network namespaces are missing outside CI).
pub fn desktop_lan<const N: usize>()
-> Option<(std::sync::MutexGuard<'static, ()>, Lan, [Daemon; N])> {
    if !desktop_tools() {
        return None;
    }
    let one = DESKTOP.lock().unwrap_or_else(|e| e.into_inner());
    let lan = support::lan(N)?;
    let daemons: [Daemon; N] =
        std::array::from_fn(|i| Daemon::start(&lan, i + 1, &format!("H{}", i + 1), ""));
    for d in &daemons {
        d.wait_settled();
    }
    Some((one, lan, daemons))
}

pub fn free_display() -> u32 {
    (90..400)
        .find(|n| {
            !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        })
        .expect("a free X display number")
}

impl Desktop {
    pub fn start(dir: &Path) -> Desktop {
        Self::start_with_limit(dir, 0)
    }

    /// As [`Desktop::start`], dunst showing at most `limit` pop-ups at a
    /// time (0: all); the rest wait in its queue.
    pub fn start_with_limit(dir: &Path, limit: usize) -> Desktop {
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
        // Notifications stay on screen (10 minutes) until the test closes
        // them, unless the sender asks otherwise (an urgent one: "never");
        // critical ones are marked in the text dunst renders.
        let conf = dir.join("dunstrc");
        std::fs::write(
            &conf,
            format!(
                "[global]\n    width = 700\n    height = 300\n    origin = top-left\n    offset = 10x10\n    \
             font = Monospace 12\n    markup = full\n    format = \"<b>%s</b>\\n%b\"\n    \
             notification_limit = {limit}\n    dmenu = {menu}\n\
             [urgency_low]\n    timeout = 600\n[urgency_normal]\n    timeout = 600\n\
             [urgency_critical]\n    timeout = 600\n\
             [mark_critical]\n    msg_urgency = critical\n    format = \"CRITICAL <b>%s</b>\\n%b\"\n",
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

    /// Runs `program ARGS…` on this desktop's session bus; its output when
    /// it succeeded.
    pub fn on_bus(&self, program: &str, args: &[&str]) -> Option<String> {
        let o = Command::new(program)
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .output()
            .ok()?;
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
    }

    pub fn dunstctl(&self, args: &[&str]) -> Option<String> {
        self.on_bus("dunstctl", args)
    }

    pub fn displayed(&self) -> usize {
        self.dunstctl(&["count", "displayed"])
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn logs(&self) -> String {
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
    pub fn agent(&mut self, socket: &Path) {
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
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.procs.0.push(("agent", child));
    }

    /// `messngr quiet ARGS…` for this desktop's user (root), asked of the
    /// daemon at `socket`.
    pub fn quiet(&self, socket: &Path, args: &[&str]) -> String {
        let o = Command::new(BIN)
            .arg("--socket")
            .arg(socket)
            .arg("quiet")
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", support::text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn screenshot(&self, to: &Path) {
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

/// The text OCR (tesseract) reads in the screenshot `png`, lower case.
/// The picture is first cut to what is drawn (the black desktop trimmed),
/// inverted to dark text on light and doubled: tesseract reads light text
/// on a dark screen unreliably.
pub fn read_screen(png: &Path) -> String {
    let ready = png.with_extension("ocr.png");
    let o = Command::new("convert")
        .arg(png)
        .args(["-trim", "+repage", "-negate", "-resize", "200%"])
        .arg(&ready)
        .output()
        .unwrap();
    assert!(o.status.success(), "convert: {}", support::text(&o));
    let o = Command::new("tesseract")
        .arg(&ready)
        .arg("stdout")
        .output()
        .unwrap();
    assert!(o.status.success(), "tesseract: {}", support::text(&o));
    String::from_utf8_lossy(&o.stdout).to_lowercase()
}

pub fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
