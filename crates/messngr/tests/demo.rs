//! `messngr demo`, run as a person would: it must tell its story, deliver
//! every message, and leave no namespace, daemon or temp dir behind — also
//! when interrupted. Without root it must say how to get it.
//!
//! Needs root (skipped with a message otherwise, failed under CI=true, like
//! the other namespace tests); the Samba step is checked when smbclient is
//! installed.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{BIN, text};

fn root() -> bool {
    messngr_lan::root_or_skip().expect("namespace tests need root")
}

/// Namespaces of the demo run by process `pid` (`md<pid>x<n>-…`).
fn namespaces_of(pid: u32) -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    let prefix = format!("{}{pid}x", messngr_lan::DEMO_STEM);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|w| w.starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}

/// `messngr demo`, started with its output piped.
fn spawn_demo() -> Child {
    Command::new(BIN)
        .arg("demo")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn has_smbclient() -> bool {
    Command::new("smbclient")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_demo_tells_its_story_and_cleans_up() {
    if !root() {
        return;
    }
    let start = Instant::now();
    let child = spawn_demo();
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    let took = start.elapsed();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let mut lines = vec![
        "Building a private LAN of 3 hosts (network namespaces, no uplink",
        "H1: H1<00> H1<03> H1<20> MLAN<00> (group) registered",
        "H3: H3<00> H3<03> H3<20> MLAN<00> (group) registered",
        "H1 → H2: net send H2 Lunch is ready in the kitchen.",
        "Message delivered to H2 (10.77.0.2, messngr, encrypted and signed)",
        "H3 → everyone: net send * The printer on floor 2 is fixed.",
        "H2's inbox, as `messngr inbox` shows it there:",
        "root@H1         H2              verified   messngr  10.77.0.1       Lunch is ready in the kitchen.",
        "H3              MLAN            UNVERIFIED mailslot 10.77.0.3       The printer on floor 2 is fixed.",
        "Every message arrived; the LAN and its daemons are gone",
    ];
    if has_smbclient() {
        lines.extend([
            "H3 → H1: smbclient -M H1 -I 10.77.0.1",
            "alice           H1              UNVERIFIED smb      10.77.0.3       Hello H1, from Samba's smbclient.",
        ]);
    }
    for line in lines {
        assert!(out.contains(line), "the demo did not say {line:?}:\n{out}");
    }
    assert!(
        took < Duration::from_secs(30),
        "the demo took {took:?}:\n{out}"
    );
    assert_eq!(namespaces_of(pid), Vec::<String>::new(), "left behind");
}

#[test]
fn ctrl_c_removes_the_lan_and_stops_the_daemons() {
    if !root() {
        return;
    }
    let mut child = spawn_demo();
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // The daemons are running once the demo narrates the name claims.
    let mut seen = String::new();
    while !seen.contains("claim their names") {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => seen = seen + &line + "\n",
            Err(e) => panic!("no name claims narrated ({e}):\n{seen}"),
        }
    }
    let host1 = format!("{}{pid}x0-h1", messngr_lan::DEMO_STEM);
    // The narration comes right after the daemons are spawned; `ip netns
    // exec` may take a moment to enter the namespace (under CI's load).
    let daemons_in = || -> Vec<String> {
        let pids = Command::new("ip")
            .args(["netns", "pids", &host1])
            .output()
            .unwrap();
        String::from_utf8_lossy(&pids.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut daemons = daemons_in();
    while daemons.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        daemons = daemons_in();
    }
    assert!(!daemons.is_empty(), "no daemon in {host1}:\n{seen}");
    let sent = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{seen}{err}");
    assert!(err.contains("Interrupted: removing the demo LAN"), "{err}");
    assert_eq!(namespaces_of(pid), Vec::<String>::new(), "left behind");
    for d in daemons {
        let comm = std::fs::read_to_string(format!("/proc/{d}/comm")).unwrap_or_default();
        assert_ne!(comm.trim(), "messngr", "daemon {d} still runs");
    }
}

#[test]
fn keep_leaves_a_working_lan_and_says_how_to_remove_it() {
    if !root() {
        return;
    }
    let o = Command::new(BIN)
        .args(["demo", "--keep"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let line = |start: &str| {
        out.lines()
            .map(str::trim)
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line starting {start:?}:\n{out}"))
            .to_owned()
    };
    // "sudo BIN --socket DIR/h1/api.sock send H3 …": the daemons still work.
    let poke = line(&format!("sudo {BIN} --socket"));
    let words: Vec<&str> = poke.split_whitespace().skip(1).collect();
    let poked = Command::new(words[0]).args(&words[1..]).output().unwrap();
    assert!(poked.status.success(), "{poke}: {}", text(&poked));
    let remove = line("sudo sh -c ");
    let script = remove
        .trim_start_matches("sudo sh -c ")
        .trim_matches('\'')
        .to_owned();
    let removed = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert!(removed.status.success(), "{remove}: {}", text(&removed));
    let dir = script
        .rsplit_once("rm -rf ")
        .map(|(_, d)| d.to_owned())
        .unwrap_or_default();
    assert!(
        dir.contains("messngr-demo-") && !std::path::Path::new(&dir).exists(),
        "{dir}"
    );
    let left: Vec<String> = script
        .split_whitespace()
        .filter(|w| w.starts_with(messngr_lan::DEMO_STEM) && w.contains("-h"))
        .filter(|ns| {
            Command::new("ip")
                .args(["netns", "pids", ns])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(str::to_owned)
        .collect();
    assert!(left.is_empty(), "still there after removal: {left:?}");
}

#[test]
fn without_root_it_says_to_use_sudo() {
    let o = if messngr_lan::is_root() {
        // Run it as nobody, the way a user without sudo would.
        let o = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                BIN,
                "demo",
            ])
            .output();
        match o {
            Ok(o) if !text(&o).contains("setpriv:") => o,
            other => {
                eprintln!("SKIPPED: cannot run the binary as nobody: {other:?}");
                return;
            }
        }
    } else {
        Command::new(BIN).arg("demo").output().unwrap()
    };
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(
            "messngr demo needs root to create network namespaces: run `sudo messngr demo`"
        ),
        "{}",
        text(&o)
    );
}
