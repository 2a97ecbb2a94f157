//! `systemctl reload messngr` is a SIGHUP: the daemon reads its file again
//! and applies the message rules, the aliases, the hooks and the Alerter's
//! subscribers, keeping every name it holds and every session open, and
//! tells systemd (sd_notify: READY, RELOADING, STOPPING) as
//! `Type=notify` in messngr.service expects. Real peers: Samba's
//! `smbclient -M` from behind a router, an SMB session held open from the
//! LAN, `nmblookup`.
//!
//! Needs root and Samba (`ci/install-deps`); skipped (with a message) when
//! not root outside CI.

mod support;

use std::os::unix::net::UnixDatagram;
use std::sync::mpsc;
use std::time::Duration;

use messngr_lan::Lan;
use support::{Daemon, SambaClient, SmbSession, enter_netns, text, wait_for};

/// Host 3 (10.77.1.3) is behind the router: off the LAN.
const REMOTE: usize = 3;

/// The datagrams the daemon sent to `$NOTIFY_SOCKET` so far, as text.
fn notified(sock: &UnixDatagram) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = sock.recv(&mut buf) {
        out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    out
}

/// How often `needle` is in the daemon's log.
fn count(d: &Daemon, needle: &str) -> usize {
    d.log().matches(needle).count()
}

/// Sends SIGHUP and waits for the `n`th reload to be over (applied or not).
fn reload(d: &Daemon, n: usize) {
    d.hup();
    wait_for(
        Duration::from_secs(15),
        || count(d, "SIGHUP: reloaded") + count(d, "nothing changed") >= n,
        || d.log(),
    );
}

fn names(d: &Daemon) -> Vec<String> {
    d.status()["names"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|n| format!("{} {}", n["name"].as_str().unwrap_or(""), n["state"]))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn sighup_applies_rules_aliases_hooks_and_subscribers_and_keeps_names_and_sessions() {
    let Some(lan) = Lan::up_routed(2, 1).expect("build the routed test LAN") else {
        return;
    };
    let client = SambaClient::new();
    let outside = support::tempdir();
    std::fs::set_permissions(
        outside.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let notify_path = outside.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    std::fs::set_permissions(
        &notify_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let hook_out = outside.path().join("hook.out");

    let first = "names = [\"HELPDESK\"]\n[alerter]\nlow = []\n";
    let d = Daemon::start_env(
        &lan,
        1,
        "H1",
        first,
        &[("NOTIFY_SOCKET", notify_path.to_str().unwrap())],
    );
    d.wait_settled();
    let said = notified(&notify);
    assert!(
        said.iter().any(|m| m.lines().any(|l| l == "READY=1")),
        "READY=1 once serving: {said:?}\n{}",
        d.log()
    );
    let pid = d.pid();

    // Before: LAN-only rules, HELPDESK held, no hook, nobody gets low alerts.
    let o = client.message(&lan, REMOTE, "H1", Some("10.77.0.1"), b"refused before");
    assert!(!o.status.success(), "smbclient: {}\n{}", text(&o), d.log());
    let o = d.cli(&["alert", "--priority", "low", "disk 91% full"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("no subscriber gets low alerts"),
        "{}",
        text(&o)
    );
    assert!(
        names(&d).iter().any(|n| n.starts_with("HELPDESK<03> ")),
        "{:?}",
        names(&d)
    );

    // A session from host 2, held open across the reload.
    let (go, wait) = mpsc::channel::<()>();
    let ns = lan.ns(2);
    let held = std::thread::spawn(move || {
        enter_netns(&ns);
        let to = "10.77.0.1:139".parse().unwrap();
        let mut s = SmbSession::open(to, "H1", Duration::from_secs(5)).expect("session to H1");
        let before = s.send(b"on the session, before");
        wait.recv().unwrap();
        (before, s.send(b"on the session, after"))
    });
    d.wait_inbox(1);

    // The new file: the other subnet admitted, HELPDESK dropped for OPS, a
    // hook, and H1 itself subscribed to low alerts.
    let edited = std::fs::read_to_string(d.config_path()).unwrap().replace(
        first,
        &format!(
            "names = [\"OPS\"]\nallow_from = [\"10.77.1.0/24\"]\n\
             [[hook]]\nprogram = \"/bin/sh\"\n\
             args = [\"-c\", \"printf '%s\\\\n' \\\"$MESSNGR_TEXT\\\" >> {}\"]\n\
             [alerter]\nlow = [\"H1\"]\n[aliases]\nPAYROLL = \"root\"\n",
            hook_out.display()
        ),
    );
    std::fs::write(d.config_path(), &edited).unwrap();
    reload(&d, 1);
    let said = notified(&notify);
    let reloading = said
        .iter()
        .position(|m| m.contains("RELOADING=1") && m.contains("MONOTONIC_USEC="));
    let ready = said.iter().rposition(|m| m.lines().any(|l| l == "READY=1"));
    assert!(
        reloading.is_some() && ready > reloading,
        "RELOADING=1 (with MONOTONIC_USEC) then READY=1: {said:?}"
    );

    // Rules: the remote host gets through now.
    let o = client.message(&lan, REMOTE, "H1", Some("10.77.0.1"), b"admitted after");
    assert!(o.status.success(), "smbclient: {}\n{}", text(&o), d.log());
    // Session: the one opened before the reload still carries messages.
    go.send(()).unwrap();
    let (before, after) = held.join().unwrap();
    assert!(
        before && after,
        "session before {before}, after {after}\n{}",
        d.log()
    );
    // Aliases: OPS claimed and answered on the LAN, HELPDESK released, the
    // host's own names never released nor claimed again.
    wait_for(
        Duration::from_secs(10),
        || names(&d).iter().any(|n| n == "OPS<03> \"registered\""),
        || format!("{:?}\n{}", names(&d), d.log()),
    );
    assert!(
        !names(&d).iter().any(|n| n.starts_with("HELPDESK")),
        "{:?}",
        names(&d)
    );
    // An alias with an owner waits for a restart: claimed now, its messages
    // would be stored as the host's (everyone's) for good.
    assert!(
        !names(&d).iter().any(|n| n.starts_with("PAYROLL")),
        "{:?}",
        names(&d)
    );
    assert!(
        d.log()
            .contains("SIGHUP: [aliases] PAYROLL changed owner or is new: applied only at start"),
        "{}",
        d.log()
    );
    let o = client.nmblookup(&lan, 2, &["-B", "10.77.0.255", "OPS#03"]);
    assert!(
        text(&o).contains("10.77.0.1 OPS<03>"),
        "nmblookup: {}",
        text(&o)
    );
    assert!(
        names(&d).iter().any(|n| n == "H1<03> \"registered\""),
        "{:?}",
        names(&d)
    );
    assert_eq!(count(&d, "releasing alias"), 1, "{}", d.log());
    assert_eq!(count(&d, "releasing alias HELPDESK"), 1, "{}", d.log());
    // Subscribers: the low alert now has one, H1 (this host's own inbox).
    let o = d.cli(&["alert", "--priority", "low", "disk 91% full"]);
    assert!(o.status.success(), "{}\n{}", text(&o), d.log());
    d.wait_inbox(4);
    // Hooks: run for what arrived after the reload, not before.
    wait_for(
        Duration::from_secs(10),
        || {
            std::fs::read_to_string(&hook_out)
                .is_ok_and(|s| s.contains("admitted after") && s.contains("disk 91% full"))
        },
        || d.log(),
    );
    let hooked = std::fs::read_to_string(&hook_out).unwrap();
    assert!(!hooked.contains("before"), "{hooked}");

    // A broken file changes nothing: the daemon runs on as it was.
    std::fs::write(d.config_path(), "this is [not toml\n").unwrap();
    reload(&d, 2);
    assert_eq!(count(&d, "nothing changed"), 1, "{}", d.log());
    let o = client.message(&lan, REMOTE, "H1", Some("10.77.0.1"), b"still admitted");
    assert!(o.status.success(), "smbclient: {}\n{}", text(&o), d.log());

    // A key that needs a restart is named, and the rest still applies.
    std::fs::write(
        d.config_path(),
        edited.replace(
            "workgroup = ",
            "deny_from = [\"10.77.1.0/24\"]\nworkgroup = \"OTHERS\"\n#",
        ),
    )
    .unwrap();
    reload(&d, 3);
    assert!(
        d.log()
            .contains("SIGHUP: edited but applied only at start: workgroup, admin_group"),
        "{}",
        d.log()
    );
    let o = client.message(&lan, REMOTE, "H1", Some("10.77.0.1"), b"denied again");
    assert!(!o.status.success(), "smbclient: {}\n{}", text(&o), d.log());

    assert_eq!(d.pid(), pid, "the same process throughout");
    let (status, log) = d.stop();
    assert!(status.success(), "{log}");
    let said = notified(&notify);
    assert!(
        said.iter().any(|m| m.contains("STOPPING=1")),
        "STOPPING=1 at stop: {said:?}"
    );
}
