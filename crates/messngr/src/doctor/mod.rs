//! `messngr doctor`: the failures that usually stop messngr working, each
//! checked on this machine and, when found, named with the way to fix it.
//!
//! Why a module of checks and not a script in the docs: the things that go
//! wrong (Samba holding the ports, an address without a broadcast, a
//! firewall, a name taken on the LAN, a daemon that kept root, a full
//! inbox, a desktop without a notification server or tray, Samba not
//! handing messages over) are each invisible from where the user stands;
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

impl Check {
    pub(crate) fn ok(check: &'static str, summary: impl Into<String>) -> Check {
        Check {
            check,
            status: Status::Ok,
            summary: summary.into(),
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
            summary: summary.into(),
            fix: Some(fix.into()),
        }
    }

    pub(crate) fn skip(check: &'static str, summary: impl Into<String>) -> Check {
        Check {
            check,
            status: Status::Skip,
            summary: summary.into(),
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
    out.push(samba::message_command_check(serve, &o.smb_conf));
    out.extend(desktop::checks());
    out
}

/// `messngr doctor`: prints the checks; exit status 1 if one failed.
pub fn run(o: &Options, json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let results = checks(o);
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
                checks: &results,
            },
        )?;
        writeln!(out)?;
    } else {
        for c in &results {
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
