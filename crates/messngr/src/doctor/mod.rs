//! `messngr doctor`: the failures that usually stop messngr working, each
//! checked on this machine and, when found, named with the way to fix it.
//!
//! Why a module of checks and not a script in the docs: the things that go
//! wrong (Samba holding the ports, an address without a broadcast, a
//! firewall, a name taken on the LAN, a daemon that kept root, a full
//! inbox, a relay not connected, a desktop without a notification server
//! or tray, Samba not handing messages over) are each invisible from where the user stands;
//! one command that looks at all of them, with a stable JSON form for
//! monitoring, is what a `net send` user needs when "nothing arrives".
//!
//! A check passes, fails, or is skipped when this machine or this user
//! cannot answer it (not root, no desktop); only a failure makes the exit
//! status 1.

mod daemon;
mod desktop;
mod firewall;
mod net;
mod samba;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    /// Nothing wrong.
    Ok,
    /// Something is wrong; `fix` says what to do.
    Fail,
    /// Not answerable here (not root, no desktop session, not needed).
    Skip,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Check {
    /// A stable id (`ports`, `broadcast`, `firewall`, …).
    pub check: &'static str,
    pub status: Status,
    /// What was found, in one line.
    pub summary: String,
    /// What to do about it (failures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// `s` safe for a terminal: summaries quote what others chose (process
/// names, smb.conf, the daemon's answers, D-Bus), and both the text and the
/// JSON form (JSON escapes only C0 controls) end up on root's terminal.
fn clean(s: impl Into<String>) -> String {
    let s = s.into();
    crate::show::line(&s).into_owned()
}

impl Check {
    pub(crate) fn ok(check: &'static str, summary: impl Into<String>) -> Check {
        Check {
            check,
            status: Status::Ok,
            summary: clean(summary),
            fix: None,
        }
    }

    pub(crate) fn fail(
        check: &'static str,
        summary: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            check,
            status: Status::Fail,
            summary: clean(summary),
            fix: Some(clean(fix)),
        }
    }

    pub(crate) fn skip(check: &'static str, summary: impl Into<String>) -> Check {
        Check {
            check,
            status: Status::Skip,
            summary: clean(summary),
            fix: None,
        }
    }
}

/// What the checks look at (from the daemon's configuration).
pub struct Options {
    /// `serve_netbios`.
    pub serve_netbios: bool,
    /// `rpc`.
    pub rpc: bool,
    /// `interface` (empty: the first that is up).
    pub interfaces: Vec<String>,
    /// The daemon's API socket.
    pub socket: PathBuf,
    /// Samba's configuration.
    pub smb_conf: PathBuf,
}

/// Runs every check.
fn checks(o: &Options) -> Vec<Check> {
    let serve = o.serve_netbios;
    let mut out = vec![net::ports(serve, o.rpc)];
    out.extend(net::broadcast(serve, &o.interfaces));
    out.push(firewall::check(serve, o.rpc));
    let d = daemon::Daemon::ask(&o.socket);
    out.push(d.reachable());
    out.push(d.names());
    out.push(d.inbox());
    out.push(d.relay());
    out.push(samba::message_command_check(serve, &o.smb_conf));
    out.extend(desktop::checks());
    out
}

/// `messngr doctor`: prints the checks; exit status 1 if one failed.
pub fn run(o: &Options, json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    print(&checks(o), json, out)
}

/// Prints `results` as text or JSON; exit status 1 if one failed.
fn print(results: &[Check], json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let failed = results.iter().filter(|c| c.status == Status::Fail).count();
    if json {
        #[derive(Serialize)]
        struct Report<'a> {
            ok: bool,
            checks: &'a [Check],
        }
        serde_json::to_writer_pretty(
            &mut *out,
            &Report {
                ok: failed == 0,
                checks: results,
            },
        )?;
        writeln!(out)?;
    } else {
        for c in results {
            let mark = match c.status {
                Status::Ok => "ok  ",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            };
            writeln!(out, "{mark}  {:<9} {}", c.check, c.summary)?;
            if let Some(fix) = &c.fix {
                writeln!(out, "      {:<9} fix: {fix}", "")?;
            }
        }
        match failed {
            0 => writeln!(out, "\nno problems found")?,
            1 => writeln!(out, "\n1 problem found")?,
            n => writeln!(out, "\n{n} problems found")?,
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_others_chose_never_reaches_the_terminal_raw() {
        // A local user can name its process anything, escapes included.
        let evil = Check::fail(
            "ports",
            "UDP 137 is held by \x1b]0;owned\x07x (pid 7)",
            "stop \x1b[2J it",
        );
        let mut text = Vec::new();
        let code = print(std::slice::from_ref(&evil), false, &mut text).unwrap();
        assert_eq!(code, ExitCode::from(1));
        let text = String::from_utf8(text).unwrap();
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
        assert!(
            text.contains("FAIL  ports") && text.contains("1 problem found"),
            "{text}"
        );
        let mut json = Vec::new();
        print(&[evil, Check::skip("dbus", "no desktop")], true, &mut json).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["checks"][1]["status"], "skip");
        let json = String::from_utf8(json).unwrap();
        assert!(
            !json.contains('\x1b') && !json.contains("\\u001b"),
            "{json}"
        );
        // C1 controls (CSI) too, which JSON would carry raw.
        let c1 = Check::ok("x", "a\u{9b}31mb");
        assert!(!c1.summary.contains('\u{9b}'), "{:?}", c1.summary);
    }
}
