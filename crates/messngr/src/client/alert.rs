//! `messngr alert`: builds the alert (with `--unit`, the failed unit's last
//! journal lines, read with the real journalctl), asks the daemon's
//! Alerter, and says whether it was sent or collapsed into an earlier one.
//!
//! Why the journal is read here and not in the daemon: the daemon drops
//! root and may not read the system journal; `messngr-alert@.service`
//! runs this as root, the way systemd's OnFailure= examples run a mailer.

use std::io::Write;
use std::path::Path;
use std::process::{Command, ExitCode};

use messngr_api::{Alert, AlertView};

use super::{Kind, ask, print_json};
use crate::cli::AlertArgs;

/// `messngr alert`.
pub fn alert(
    socket: &Path,
    args: AlertArgs,
    text: String,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let request = build(&args, text)?;
    match ask(socket, request, Kind::Send, args.json, out)? {
        Err(code) => Ok(code),
        Ok(view) if args.json => {
            print_json(out, &view)?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(view) => {
            print_view(out, &view)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The request: with `--unit`, its failure and journal lead the text.
fn build(args: &AlertArgs, text: String) -> anyhow::Result<Alert> {
    let priority = args.priority.map(Into::into);
    let Some(unit) = &args.unit else {
        if text.trim().is_empty() {
            anyhow::bail!("no alert text: give it on the command line or standard input");
        }
        return Ok(Alert {
            title: args.title.clone(),
            text,
            priority,
            key: args.key.clone(),
            resolved: args.resolved,
            source: Some("cli".into()),
            topic: None,
        });
    };
    let mut body = format!("{unit} failed on {}.", host_name());
    if !text.trim().is_empty() {
        body = format!("{text}\n{body}");
    }
    body.push('\n');
    body.push_str(&journal(
        unit,
        args.journal_directory.as_deref(),
        args.lines,
    ));
    Ok(Alert {
        title: Some(args.title.clone().unwrap_or_else(|| title_for(unit))),
        text: body,
        priority,
        key: Some(args.key.clone().unwrap_or_else(|| format!("unit:{unit}"))),
        resolved: args.resolved,
        source: Some("systemd".into()),
        topic: None,
    })
}

/// The last `lines` journal lines of `unit` (from `directory`, or the
/// system journal), or why there are none: the alert goes out either way.
fn journal(unit: &str, directory: Option<&Path>, lines: u32) -> String {
    let mut cmd = Command::new("journalctl");
    cmd.args(["--no-pager", "--quiet", "--output=short-iso", "--lines"])
        .arg(lines.to_string())
        .arg("--unit")
        .arg(unit);
    if let Some(d) = directory {
        cmd.arg("--directory").arg(d);
    }
    match cmd.output() {
        Ok(o) if o.status.success() && !o.stdout.trim_ascii().is_empty() => {
            format!(
                "Last journal lines:\n{}",
                String::from_utf8_lossy(&o.stdout).trim_end()
            )
        }
        Ok(o) if o.status.success() => "The journal has no lines of it.".to_owned(),
        Ok(o) => format!(
            "(journalctl failed: {})",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => format!("(journalctl could not run: {e})"),
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this host".to_owned())
}

/// What happened, as people read it.
fn print_view(out: &mut impl Write, v: &AlertView) -> anyhow::Result<()> {
    let line = crate::show::line;
    let updated: Vec<_> = v.updated.iter().map(|t| line(t).into_owned()).collect();
    let at = if updated.is_empty() {
        "not sent again (its receivers cannot be updated)".to_owned()
    } else {
        format!("its message now says so at {}", updated.join(", "))
    };
    if v.collapsed {
        writeln!(
            out,
            "Alert collapsed: raised {} times within the collapse window; {at}",
            v.repeats
        )?;
    } else if v.sent.is_empty() {
        writeln!(out, "Alert resolved: {at}")?;
    }
    for s in &v.sent {
        let (verb, how) = match (s.outcome.as_str(), s.secure, s.native) {
            ("sent", ..) => ("broadcast", format!(" ({})", s.address)),
            (_, true, _) => (
                "delivered",
                format!(" ({}, messngr, encrypted and signed)", s.address),
            ),
            (_, false, true) => ("delivered", format!(" ({}, messngr)", s.address)),
            _ => (
                "delivered",
                format!(" ({}, plain SMB: marked by its first line)", s.address),
            ),
        };
        writeln!(out, "Alert {verb} to {}{how}", line(&s.target))?;
    }
    for f in &v.failed {
        eprintln!(
            "messngr: alert not delivered to {}: {}",
            line(&f.recipient),
            line(&f.error)
        );
    }
    Ok(())
}

/// "UNIT failed", within the title's limit (a unit name may be 256
/// characters; the alert must still go).
fn title_for(unit: &str) -> String {
    let max = messngr_proto::wire::native::MAX_TITLE_LEN - " failed".len();
    let mut cut = unit.len().min(max);
    while !unit.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{} failed", &unit[..cut])
}

#[cfg(test)]
mod title_tests {
    #[test]
    fn a_long_unit_name_still_makes_a_title() {
        let long = "x".repeat(300) + ".service";
        let t = super::title_for(&long);
        assert!(
            t.len() <= messngr_proto::wire::native::MAX_TITLE_LEN,
            "{}",
            t.len()
        );
        assert!(t.ends_with(" failed"));
        assert_eq!(super::title_for("sshd.service"), "sshd.service failed");
    }
}
