//! The commands that ask the running daemon: send one request over the API
//! socket, print the answer as text or JSON, and turn it into an exit code
//! scripts can use. Names and sending here; the inbox commands in [`inbox`].

mod deliver;
mod inbox;

pub use deliver::deliver;
pub use inbox::{export, inbox, parse_since, read, reply, rm};

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use messngr_daemon::api::{self, ClientError, Request, Response};
use messngr_daemon::names::{LookupView, NameView, NodeStatusView, StatusView};
use messngr_daemon::quiet::QuietView;

use crate::cli::{EXIT_ERROR, EXIT_NETWORK, EXIT_NO, EXIT_NO_DAEMON, EXIT_REFUSED, NameAction};

/// Sends `request`; prints failures on stderr and maps them to exit codes.
pub(crate) fn ask(
    socket: &Path,
    request: &Request,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<Result<Response, ExitCode>> {
    let response = match api::call(socket, request) {
        Ok(r) => r,
        Err(e @ ClientError::Connect { .. }) => {
            eprintln!("messngr: {e}");
            return Ok(Err(ExitCode::from(EXIT_NO_DAEMON)));
        }
        Err(e) => return Err(e.into()),
    };
    if response.ok {
        return Ok(Ok(response));
    }
    if json {
        serde_json::to_writer_pretty(&mut *out, &response)?;
        writeln!(out)?;
    }
    let kind = response.kind.as_deref().unwrap_or("");
    eprintln!(
        "messngr: {}",
        response.error.as_deref().unwrap_or("the daemon refused")
    );
    Ok(Err(ExitCode::from(match (request, kind) {
        (Request::Send { .. }, "refused") => EXIT_REFUSED,
        (Request::Send { .. }, "network") => EXIT_NETWORK,
        (_, "not_found" | "conflict" | "refused") => EXIT_NO,
        _ => EXIT_ERROR,
    })))
}

/// Sends `request` and prints the answer: with `--json` the data as the
/// daemon sent it, otherwise through `human`. A failure is printed on
/// stderr and becomes the exit code (see [`ask`]).
pub(crate) fn exchange<W: Write>(
    socket: &Path,
    request: &Request,
    json: bool,
    out: &mut W,
    human: impl FnOnce(&mut W, serde_json::Value) -> anyhow::Result<()>,
) -> anyhow::Result<ExitCode> {
    match ask(socket, request, json, out)? {
        Err(code) => Ok(code),
        Ok(r) if json => {
            print_json(out, &r.data)?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(r) => {
            human(out, r.data)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_json(out: &mut impl Write, data: &serde_json::Value) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, data)?;
    writeln!(out)?;
    Ok(())
}

fn print_names(out: &mut impl Write, names: &[NameView]) -> anyhow::Result<()> {
    writeln!(out, "{:<20} {:<7} {:<12} SOURCE", "NAME", "TYPE", "STATE")?;
    for n in names {
        let kind = if n.group { "group" } else { "unique" };
        writeln!(
            out,
            "{:<20} {:<7} {:<12} {}",
            n.name, kind, n.state, n.source
        )?;
    }
    Ok(())
}

/// `messngr name list|add|del`.
pub fn name(
    socket: &Path,
    action: NameAction,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let request = match &action {
        NameAction::List => Request::NameList,
        NameAction::Add { name } => Request::NameAdd { name: name.clone() },
        NameAction::Del { name } => Request::NameDel { name: name.clone() },
    };
    exchange(socket, &request, json, out, |out, data| {
        match action {
            NameAction::List => print_names(out, &serde_json::from_value::<Vec<NameView>>(data)?)?,
            NameAction::Add { .. } => {
                let v: NameView = serde_json::from_value(data)?;
                writeln!(out, "{} {}", v.name, v.state)?;
            }
            NameAction::Del { .. } => {
                writeln!(out, "{} released", data.as_str().unwrap_or("name"))?
            }
        }
        Ok(())
    })
}

/// `messngr quiet [on|off]`.
pub fn quiet(
    socket: &Path,
    on: Option<bool>,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    exchange(socket, &Request::Quiet { on }, json, out, |out, data| {
        let v: QuietView = serde_json::from_value(data)?;
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        match (v.quiet, on) {
            (true, _) => writeln!(
                out,
                "quiet on since {}: only urgent messages are shown; {} waiting",
                v.since.as_deref().unwrap_or("now"),
                v.waiting
            )?,
            (false, Some(false)) if v.waiting > 0 => writeln!(
                out,
                "quiet off; {} message{} waited: messngr inbox --unread",
                v.waiting,
                plural(v.waiting)
            )?,
            (false, _) => writeln!(out, "quiet off")?,
        }
        Ok(())
    })
}

/// `messngr lookup NAME[#XX]` or `messngr lookup -A IP`.
pub fn lookup(
    socket: &Path,
    target: &str,
    node_status: bool,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let request = if node_status {
        let address = target.parse().map_err(|_| {
            anyhow::anyhow!(
                "-A takes an IPv4 address, not {target:?} (e.g. messngr lookup -A 10.0.0.7)"
            )
        })?;
        Request::NodeStatus { address }
    } else {
        let (name, suffix) = match target.rsplit_once('#') {
            Some((n, s)) => (
                n,
                u8::from_str_radix(s, 16).map_err(|_| {
                    anyhow::anyhow!("{s:?} is not a hex suffix: write NAME#03, NAME#20, …")
                })?,
            ),
            None => (target, messngr_proto::wire::name::suffix::MESSENGER),
        };
        Request::Lookup {
            name: name.to_owned(),
            suffix,
        }
    };
    exchange(socket, &request, json, out, |out, data| {
        if node_status {
            let v: NodeStatusView = serde_json::from_value(data)?;
            writeln!(out, "Looking up status of {}", v.address)?;
            // The same columns as nmblookup -A, so scripts written for it work.
            for n in &v.names {
                let (name, sfx) = n.name.rsplit_once('<').unwrap_or((&n.name, ""));
                let sfx = sfx.trim_end_matches('>').to_ascii_lowercase();
                let flags: String = n
                    .flags
                    .iter()
                    .filter(|f| *f != "GROUP")
                    .map(|f| format!("<{f}> "))
                    .collect();
                let kind = if n.group { "<GROUP>" } else { "       " };
                writeln!(out, "\t{name:<15} <{sfx}> - {kind} {} {flags}", n.node_type)?;
            }
            writeln!(
                out,
                "\n\tMAC Address = {}",
                v.mac.replace(':', "-").to_ascii_uppercase()
            )?;
        } else {
            let v: LookupView = serde_json::from_value(data)?;
            for a in v.addresses {
                writeln!(out, "{a} {}", v.name)?;
            }
        }
        Ok(())
    })
}

/// `messngr status`.
pub fn status(socket: &Path, json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    exchange(socket, &Request::Status, json, out, |out, data| {
        let s: StatusView = serde_json::from_value(data)?;
        writeln!(
            out,
            "{} in workgroup {}, up {} s",
            s.netbios_name, s.workgroup, s.uptime_secs
        )?;
        writeln!(
            out,
            "interface {} address {} broadcast {}",
            s.interface, s.address, s.broadcast
        )?;
        if let Some(w) = s.wins_server {
            writeln!(out, "WINS server {w}")?;
        }
        writeln!(out)?;
        print_names(out, &s.names)?;
        let c = &s.counters;
        writeln!(out)?;
        writeln!(
            out,
            "name service: {} received ({} malformed, {} over rate limit), {} sent, {} queries and {} node status answered, {} registrations defended, {} conflicts",
            c.nbns_received,
            c.nbns_malformed,
            c.nbns_rate_limited,
            c.nbns_sent,
            c.queries_answered,
            c.node_status_answered,
            c.defended,
            c.conflicts
        )?;
        Ok(())
    })
}

/// `messngr send`.
pub fn send(
    socket: &Path,
    request: Request,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    if let Request::Send { text, .. } = &request
        && text.trim().is_empty()
    {
        anyhow::bail!("no message text: give it after the target, or on standard input");
    }
    exchange(socket, &request, json, out, |out, data| {
        let views: Vec<messngr_daemon::send::SendView> = if data.is_array() {
            serde_json::from_value(data)?
        } else {
            vec![serde_json::from_value(data)?]
        };
        for v in views {
            if let Some(w) = &v.warning {
                eprintln!("messngr: {w}");
            }
            if v.outcome == "delivered" && v.native && v.transport == "messngr" {
                writeln!(
                    out,
                    "Message delivered to {} ({}, messngr)",
                    v.target.to_ascii_uppercase(),
                    v.address
                )?;
            } else if v.outcome == "delivered" {
                writeln!(
                    out,
                    "Message delivered to {} ({})",
                    v.target.to_ascii_uppercase(),
                    v.address
                )?;
            } else {
                writeln!(
                    out,
                    "Message broadcast to {} ({}); datagrams are not acknowledged",
                    v.target, v.address
                )?;
            }
            if v.replaced > 0 {
                eprintln!(
                    "messngr: {} characters the code page lacks were sent as '?'",
                    v.replaced
                );
            }
        }
        Ok(())
    })
}
