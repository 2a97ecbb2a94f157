//! The Debian package, for real: `dpkg -i` on this machine, the installed
//! units verified and rated by systemd-analyze, the installed binary
//! started with the installed configuration inside a namespace host,
//! messages sent to it from another host and read with the installed CLI
//! — first as the postinst left it next to Samba (smbd hands messages over
//! with `messngr deliver`), then serving NetBIOS itself — and `dpkg
//! --purge` leaving nothing of messngr behind but its account.
//!
//! The package is what `packaging/deb/build` made (ci/test builds it before
//! `cargo test`): `$MESSNGR_DEB`, else `target/debian/messngr_*.deb`.
//! Needs root, dpkg, Samba and systemd-analyze (`ci/install-deps`); outside
//! CI it is skipped when not root or when no package was built. It installs
//! into the machine's own /usr and /etc, so it refuses to run where a
//! messngr package is installed already.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use messngr_lan::Lan;
use support::{SambaClient, Smbd, lan, text, wait_for};

const INSTALLED: &str = "/usr/bin/messngr";
const SOCKET: &str = "/run/messngr/messngr.sock";
const SAMBA_DROPIN: &str = "/etc/messngr/messngr.d/samba.toml";

/// The .deb to test, if one was built.
fn package() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MESSNGR_DEB") {
        return Some(PathBuf::from(p));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let mut debs: Vec<PathBuf> = std::fs::read_dir(target.join("debian"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    debs.sort();
    debs.pop()
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

/// Purges the package when the test ends, passed or not.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("pkill").args(["-x", "messngr"]).status();
        let _ = run("dpkg", &["--purge", "messngr"]);
    }
}

/// The installed daemon, started by hand in host `i` with the installed
/// configuration, as root (it drops to messngr itself). Killed on drop.
struct InstalledDaemon {
    child: std::process::Child,
    log: PathBuf,
}

impl InstalledDaemon {
    fn start(lan: &Lan, i: usize, log: &Path) -> InstalledDaemon {
        let _ = std::fs::remove_file(SOCKET);
        let out = std::fs::File::create(log).unwrap();
        let child = lan
            .command(i, INSTALLED)
            .arg("daemon")
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let d = InstalledDaemon {
            child,
            log: log.to_owned(),
        };
        wait_for(
            Duration::from_secs(10),
            || Path::new(SOCKET).exists(),
            || d.log(),
        );
        d
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn stop(mut self) -> String {
        let _ = run("kill", &["-TERM", &self.child.id().to_string()]);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status:?}\n{}", self.log());
        self.log()
    }
}

impl Drop for InstalledDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The texts in the installed daemon's inbox, read with the installed CLI.
fn inbox() -> Vec<String> {
    let o = run(INSTALLED, &["inbox", "--json"]);
    assert!(o.status.success(), "installed messngr inbox: {}", text(&o));
    serde_json::from_slice::<Vec<serde_json::Value>>(&o.stdout)
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str().map(str::to_owned))
        .collect()
}

/// Every path under the system's directories whose name says messngr.
fn leftovers() -> Vec<String> {
    let o = run(
        "find",
        &[
            "/etc",
            "/lib",
            "/usr",
            "/var/lib",
            "/run",
            "-xdev",
            "-name",
            "*messngr*",
        ],
    );
    let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

#[test]
fn the_package_installs_a_working_hardened_service_and_purges_clean() {
    let Some(lan) = lan(2) else { return };
    let Some(deb) = package() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "no package: ci/test builds it with packaging/deb/build before cargo test"
        );
        eprintln!("skipped: no package built (packaging/deb/build)");
        return;
    };
    let already = run("dpkg-query", &["-W", "-f=${Status}", "messngr"]);
    assert!(
        !text(&already).contains("installed"),
        "a messngr package is installed on this machine: the test would replace it"
    );
    assert!(
        leftovers().is_empty(),
        "messngr files before the install: {:?}",
        leftovers()
    );
    let smb_conf = std::fs::read("/etc/samba/smb.conf").ok();

    // Install.
    let _purge = Installed;
    let o = run("dpkg", &["-i", deb.to_str().unwrap()]);
    assert!(o.status.success(), "dpkg -i: {}", text(&o));
    let said = text(&o);
    assert!(
        leftovers().contains(&INSTALLED.to_owned()),
        "{:?}",
        leftovers()
    );
    assert!(
        run("getent", &["passwd", "messngr"]).status.success(),
        "sysusers.d made no account messngr"
    );
    let conffiles = text(&run("dpkg-query", &["-W", "-f=${Conffiles}", "messngr"]));
    assert!(
        conffiles.contains("/etc/messngr/messngr.toml"),
        "{conffiles}"
    );
    for f in [
        "/usr/share/man/man1/messngr.1.gz",
        "/usr/share/man/man1/messngr-send.1.gz",
        "/usr/share/man/man1/messngr-doctor.1.gz",
        "/usr/share/bash-completion/completions/messngr",
        "/usr/share/zsh/vendor-completions/_messngr",
        "/usr/share/fish/vendor_completions.d/messngr.fish",
        "/usr/lib/systemd/user/messngr-agent.service",
        "/etc/xdg/autostart/messngr-agent.desktop",
        "/lib/systemd/system/messngr-alert@.service",
    ] {
        assert!(Path::new(f).exists(), "{f} not installed");
    }
    // Nothing started in the machine's own namespace (no systemd here, and
    // policy-rc.d forbids it).
    assert!(
        !run("pgrep", &["-x", "messngr"]).status.success(),
        "the install started a daemon"
    );
    // Samba is installed here: the postinst left it the ports, said how
    // Samba hands messages over, and never touched smb.conf.
    assert!(Path::new("/usr/sbin/smbd").exists(), "the test needs Samba");
    let dropin = std::fs::read_to_string(SAMBA_DROPIN).unwrap_or_default();
    assert!(
        dropin.contains("\nserve_netbios = false\n"),
        "{dropin:?}\n{said}"
    );
    assert!(
        said.contains("message command = /usr/bin/messngr deliver %s %f %L"),
        "{said}"
    );
    assert_eq!(std::fs::read("/etc/samba/smb.conf").ok(), smb_conf);

    // The installed units: verified, and rated by systemd's own scale.
    for unit in [
        "/lib/systemd/system/messngr.service",
        "/lib/systemd/system/messngr-alert@.service",
        "/usr/lib/systemd/user/messngr-agent.service",
    ] {
        let o = run("systemd-analyze", &["verify", unit]);
        assert!(
            o.status.success() && text(&o).trim().is_empty(),
            "verify {unit}: {}",
            text(&o)
        );
    }
    let o = run(
        "systemd-analyze",
        &[
            "security",
            "--offline=true",
            "/lib/systemd/system/messngr.service",
        ],
    );
    let verdict = text(&o)
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_default()
        .to_owned();
    eprintln!("systemd-analyze security: {verdict}");
    assert!(
        ["OK", "SAFE", "PERFECT"]
            .iter()
            .any(|w| verdict.contains(&format!(" {w} "))),
        "{}",
        text(&o)
    );

    let logs = support::tempdir();
    let client = SambaClient::new();
    // As installed next to Samba, once the administrator did what the
    // postinst said (smb.conf's message command, deliver_users uncommented):
    // smbd in host 1 receives, its message command is the installed
    // `messngr deliver`, the installed daemon stores; the installed CLI
    // reads it.
    assert!(
        dropin.contains("\n# deliver_users = [\"nobody\"]\n"),
        "{dropin}"
    );
    std::fs::write(
        SAMBA_DROPIN,
        dropin.replace("# deliver_users = ", "deliver_users = "),
    )
    .unwrap();
    {
        let smbd = Smbd::start_with(&lan, 1, "H1", Some("/usr/bin/messngr deliver %s %f %L"));
        let d = InstalledDaemon::start(&lan, 1, &logs.path().join("samba-mode.log"));
        client.message_to_h1(&lan, "H1", b"through Samba to the package", || {
            format!("{}\n{}", d.log(), smbd.log())
        });
        wait_for(
            Duration::from_secs(10),
            || inbox().iter().any(|t| t == "through Samba to the package"),
            || format!("{}\n{}", d.log(), smbd.log()),
        );
        // The installed doctor on this Samba host: all is well, and the
        // inbox is counted even though the names are Samba's.
        let conf = smbd.dir.path().join("smb.conf");
        let o = lan
            .command(1, INSTALLED)
            .args(["doctor", "--json", "--smb-conf"])
            .arg(&conf)
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("doctor: {e}: {}", text(&o)));
        assert_eq!(o.status.code(), Some(0), "{report:#}");
        let check = |id: &str| {
            report["checks"]
                .as_array()
                .and_then(|a| a.iter().find(|c| c["check"] == id).cloned())
                .unwrap_or_default()
        };
        assert_eq!(check("samba")["status"], "ok", "{report:#}");
        assert_eq!(check("inbox")["status"], "ok", "{report:#}");
        assert!(
            check("inbox")["summary"]
                .as_str()
                .is_some_and(|s| s.starts_with("1 received")),
            "{report:#}"
        );
        let log = d.stop();
        assert!(log.contains("serve_netbios = false"), "{log}");
    }
    // The administrator stops Samba and deletes the drop-in: the installed
    // daemon serves NetBIOS itself, reached by `smbclient -M` directly.
    std::fs::remove_file(SAMBA_DROPIN).unwrap();
    let d = InstalledDaemon::start(&lan, 1, &logs.path().join("netbios-mode.log"));
    let status = || -> serde_json::Value {
        let o = run(INSTALLED, &["status", "--json"]);
        assert!(o.status.success(), "{}\n{}", text(&o), d.log());
        serde_json::from_slice(&o.stdout).unwrap()
    };
    wait_for(
        Duration::from_secs(10),
        || {
            status()["names"]
                .as_array()
                .is_some_and(|a| a.iter().all(|n| n["state"] == "registered"))
        },
        || d.log(),
    );
    let name = status()["netbios_name"].as_str().unwrap().to_owned();
    client.message_to_h1(&lan, &name, b"straight to the package", || d.log());
    wait_for(
        Duration::from_secs(10),
        || inbox().iter().any(|t| t == "straight to the package"),
        || d.log(),
    );
    let o = run("ps", &["-o", "user=", "-p", &d.child.id().to_string()]);
    assert_eq!(text(&o).trim(), "messngr", "the daemon runs as messngr");
    d.stop();

    // Purge: nothing of messngr is left but its account.
    let o = run("dpkg", &["--purge", "messngr"]);
    assert!(o.status.success(), "dpkg --purge: {}", text(&o));
    assert_eq!(
        leftovers(),
        Vec::<String>::new(),
        "left behind by the purge"
    );
    assert_eq!(std::fs::read("/etc/samba/smb.conf").ok(), smb_conf);
}
