//! Privileges, end to end: a daemon started as root binds its ports, then
//! runs as its configured `user` (or `nobody` when that account is missing)
//! with the tty group only and no capabilities; its state files are that
//! user's and 0600; hooks run as that user, never root; a hook for another
//! user and a state_dir the user cannot reach stop the start with a reason.
//! The systemd unit passes `systemd-analyze verify`.
//!
//! Needs root (namespaces, useradd) and systemd-analyze (`ci/install-deps`).

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::{BIN, Daemon, Lan, TestUser, lan, text, wait_for};

/// `/proc/PID/status` of the messngr daemon `d`.
fn daemon_status(d: &Daemon) -> String {
    std::fs::read_to_string(format!("/proc/{}/status", d.pid())).unwrap()
}

fn field<'a>(status: &'a str, name: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in {status}"))
        .trim()
}

/// Asserts the daemon runs as `uid`/`gid` with only the tty group and no
/// capabilities.
fn assert_dropped(d: &Daemon, uid: u32, gid: u32) {
    let s = daemon_status(d);
    let all = |v: u32| format!("{v}\t{v}\t{v}\t{v}");
    assert_eq!(field(&s, "Uid:"), all(uid), "{s}");
    assert_eq!(field(&s, "Gid:"), all(gid), "{s}");
    assert_eq!(field(&s, "Groups:"), support::tty_gid().to_string(), "{s}");
    for cap in ["CapEff:", "CapPrm:", "CapAmb:"] {
        assert_eq!(field(&s, cap), "0000000000000000", "{cap} in {s}");
    }
}

/// A hook script that writes `id -u` and `id -g` to `DIR/ID.TAG`.
fn id_hook(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("id.sh");
    std::fs::write(&p, "#!/bin/sh\nid -u > \"$1/$MESSNGR_ID.$2\"\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn hooks(script: &Path, out: &Path, user: Option<&str>) -> String {
    let mut s = format!(
        "[[hook]]\nprogram = \"{}\"\nargs = [\"{}\", \"default\"]\n",
        script.display(),
        out.display()
    );
    if let Some(u) = user {
        s += &format!(
            "\n[[hook]]\nprogram = \"{}\"\nargs = [\"{}\", \"user\"]\nuser = \"{u}\"\n",
            script.display(),
            out.display()
        );
    }
    s
}

/// A temp dir the daemon's hooks may write in.
fn out_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    d
}

/// Sends one message from `d2` to H1 and waits for it in `d`'s inbox.
fn one_message(d: &Daemon, d2: &Daemon) -> i64 {
    d.wait_settled();
    d2.wait_settled();
    let o = d2.cli(&["send", "-I", "10.77.0.1", "H1", "who runs this?"]);
    assert!(o.status.success(), "{}\n{}", text(&o), d.log());
    d.wait_inbox(1)[0]["id"].as_i64().unwrap()
}

fn read_id(path: &Path, d: &Daemon) -> u32 {
    wait_for(Duration::from_secs(10), || path.exists(), || d.log());
    wait_for(
        Duration::from_secs(5),
        || std::fs::read_to_string(path).is_ok_and(|s| s.ends_with('\n')),
        || d.log(),
    );
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_daemon_started_as_root_runs_as_its_user() {
    let Some(lan) = lan(2) else { return };
    let me = TestUser::create("d");
    let out = out_dir();
    let script = id_hook(out.path());
    let d = Daemon::start(
        &lan,
        1,
        "H1",
        &format!(
            "user = \"{}\"\n{}",
            me.name,
            hooks(&script, out.path(), Some(&me.name))
        ),
    );
    let d2 = Daemon::start(&lan, 2, "H2", "");
    assert_dropped(&d, me.uid, me.gid);
    assert!(
        d.log().contains(&format!(
            "dropped root: running as {} (uid {}",
            me.name, me.uid
        )),
        "{}",
        d.log()
    );
    let id = one_message(&d, &d2);
    // Hooks: the one without `user` and the one with it run as the daemon's user.
    assert_eq!(
        read_id(&out.path().join(format!("{id}.default")), &d),
        me.uid
    );
    assert_eq!(read_id(&out.path().join(format!("{id}.user")), &d), me.uid);
    // The state: the user's directory (0700) and files (0600).
    let state = d.dir.path().join("state");
    let m = std::fs::metadata(&state).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (me.uid, 0o700));
    for f in ["inbox.sqlite", "inbox.sqlite-wal", "inbox.sqlite-shm"] {
        let m = std::fs::metadata(state.join(f)).unwrap();
        assert_eq!((f, m.uid(), m.mode() & 0o777), (f, me.uid, 0o600));
    }
    // Still served after a restart on the same, now the user's, state.
    let d = d.restart(&lan);
    assert_dropped(&d, me.uid, me.gid);
    assert_eq!(d.inbox().len(), 1, "{}", d.log());
}

#[test]
fn without_its_account_the_daemon_runs_as_nobody() {
    let Some(lan) = lan(2) else { return };
    let ghost = format!("mu{}ghost", std::process::id());
    let out = out_dir();
    let script = id_hook(out.path());
    let d = Daemon::start(
        &lan,
        1,
        "H1",
        &format!("user = \"{ghost}\"\n{}", hooks(&script, out.path(), None)),
    );
    let d2 = Daemon::start(&lan, 2, "H2", "");
    let id = |flag: &str| -> u32 {
        let o = Command::new("id").args([flag, "nobody"]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
    };
    let (uid, gid) = (id("-u"), id("-g"));
    assert_dropped(&d, uid, gid);
    assert!(
        d.log()
            .contains(&format!("no account {ghost:?}: running as nobody instead")),
        "{}",
        d.log()
    );
    let m = one_message(&d, &d2);
    assert_eq!(read_id(&out.path().join(format!("{m}.default")), &d), uid);
    let f = std::fs::metadata(d.dir.path().join("state/inbox.sqlite")).unwrap();
    assert_eq!((f.uid(), f.mode() & 0o777), (uid, 0o600));
}

/// Runs `messngr daemon` with `config` in host 1 and expects it to stop.
fn refused_start(lan: &Lan, dir: &Path, config: &str) -> String {
    let path = dir.join("messngr.toml");
    std::fs::write(
        &path,
        format!(
            "netbios_name = \"H1\"\ninterface = \"eth0\"\nregister_users = false\n\
             terminals = false\nsocket = \"{}\"\n{config}",
            dir.join("api.sock").display()
        ),
    )
    .unwrap();
    let mut child = lan
        .command(1, BIN)
        .arg("daemon")
        .arg("--config")
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("the daemon started: {}", text(&o));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    text(&o)
}

#[test]
fn a_hook_for_another_user_or_an_unreachable_state_dir_stops_the_start() {
    let Some(lan) = lan(1) else { return };
    let other = TestUser::create("o");
    let tmp = support::tempdir();
    let state = tmp.path().join("state");
    let err = refused_start(
        &lan,
        tmp.path(),
        &format!(
            "state_dir = \"{}\"\nuser = \"nobody\"\n[[hook]]\nprogram = \"/bin/true\"\nuser = \"{}\"\n",
            state.display(),
            other.name
        ),
    );
    assert!(
        err.contains(&format!("hook /bin/true: user = {:?}", other.name))
            && err.contains("remove `user`"),
        "{err}"
    );
    let closed = tmp.path().join("closed");
    std::fs::create_dir(&closed).unwrap();
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
    let err = refused_start(
        &lan,
        tmp.path(),
        &format!(
            "state_dir = \"{}\"\nuser = \"nobody\"\n",
            closed.join("state").display()
        ),
    );
    assert!(
        err.contains(&format!(
            "{}: the daemon's user nobody cannot enter it",
            closed.display()
        )),
        "{err}"
    );
    assert!(!closed.join("state").exists());
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let unit =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/systemd/messngr.service");
    let text_of = std::fs::read_to_string(&unit).unwrap();
    for line in [
        "User=messngr",
        "Group=messngr",
        "SupplementaryGroups=tty",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "StateDirectory=messngr",
        "RuntimeDirectory=messngr",
        "NoNewPrivileges=yes",
    ] {
        assert!(text_of.lines().any(|l| l == line), "{line} missing");
    }
    // verify checks that ExecStart's program exists: point it at the
    // binary under test (the only change).
    assert!(text_of.contains("ExecStart=/usr/bin/messngr daemon"));
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("messngr.service");
    std::fs::write(
        &copy,
        text_of.replace("ExecStart=/usr/bin/messngr", &format!("ExecStart={BIN}")),
    )
    .unwrap();
    support::verify_unit(&copy);
}
