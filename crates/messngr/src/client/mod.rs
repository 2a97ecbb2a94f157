//! The commands that ask the running daemon: send one request over the API
//! socket, print the answer as text or JSON, and turn it into an exit code
//! scripts can use. Names and sending here; the inbox commands in [`inbox`].

mod alert;
mod deliver;
mod inbox;
mod notice;
mod relay;
mod token;
mod track;
mod trust;

pub use alert::alert;
pub use deliver::deliver;
pub use inbox::{export, inbox, read, reply, rm, search};
pub use notice::notice;
pub use token::{token, web};
pub use track::{send_and_wait, track};
pub use trust::trust;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use messngr_api::{
    Call, ClientError, ErrorKind, Lookup, LookupView, NameAdd, NameDel, NameList, NameView,
    NodeStatus, NodeStatusView, Quiet, QuietView, Send, SendView, Status, StatusView,
};

use crate::cli::{
    EXIT_ERROR, EXIT_NETWORK, EXIT_NO, EXIT_NO_DAEMON, EXIT_REFUSED, EXIT_UNTRUSTED, NameAction,
};

/// Whether a refusal is a send's (its `refused` and `network` have exit
/// codes of their own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `send`, `reply`.
    Send,
    /// Everything else.
    Other,
}

/// Makes `call`; a failure is printed on stderr (and, with `--json`, as
/// `{"ok":false,"error":…,"kind":…}` on `out`) and becomes the exit code.
pub(crate) fn ask<C: Call>(
    socket: &Path,
    call: C,
    kind: Kind,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<Result<C::Output, ExitCode>> {
    let e = match messngr_api::call(socket, call) {
        Ok(answer) => return Ok(Ok(answer)),
        Err(ClientError::Daemon(e)) => e,
        Err(e @ ClientError::Connect { .. }) => {
            eprintln!("messngr: {e}");
            return Ok(Err(ExitCode::from(EXIT_NO_DAEMON)));
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        /// The refusal as `--json` has always printed it.
        #[derive(serde::Serialize)]
        struct Refusal<'a> {
            ok: bool,
            error: &'a str,
            kind: ErrorKind,
        }
        let shown = Refusal {
            ok: false,
            error: &e.message,
            kind: e.kind,
        };
        serde_json::to_writer_pretty(&mut *out, &shown)?;
        writeln!(out)?;
    }
    eprintln!("messngr: {}", crate::show::line(&e.message));
    Ok(Err(ExitCode::from(match (kind, e.kind) {
        (Kind::Send, ErrorKind::Refused) => EXIT_REFUSED,
        (Kind::Send, ErrorKind::Network) => EXIT_NETWORK,
        (Kind::Send, ErrorKind::Untrusted) => EXIT_UNTRUSTED,
        (_, ErrorKind::NotFound | ErrorKind::Conflict | ErrorKind::Refused) => EXIT_NO,
        _ => EXIT_ERROR,
    })))
}

/// Makes `call` and prints the answer: with `--json` as the daemon sent
/// it, otherwise through `human`. A failure is printed on stderr and
/// becomes the exit code (see [`ask`]).
pub(crate) fn exchange<C: Call, W: Write>(
    socket: &Path,
    call: C,
    kind: Kind,
    json: bool,
    out: &mut W,
    human: impl FnOnce(&mut W, C::Output) -> anyhow::Result<()>,
) -> anyhow::Result<ExitCode> {
    match ask(socket, call, kind, json, out)? {
        Err(code) => Ok(code),
        Ok(answer) if json => {
            print_json(out, &answer)?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(answer) => {
            human(out, answer)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_json(out: &mut impl Write, data: &impl serde::Serialize) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, data)?;
    writeln!(out)?;
    Ok(())
}

fn print_names(out: &mut impl Write, names: &[NameView]) -> anyhow::Result<()> {
    writeln!(out, "{:<20} {:<7} {:<12} SOURCE", "NAME", "TYPE", "STATE")?;
    for n in names {
        let kind = if n.group { "group" } else { "unique" };
        let lost = match (n.held_by, n.retry_in_secs) {
            (Some(by), Some(s)) => format!("  (held by {by}, retrying in {s} s)"),
            (Some(by), None) => format!("  (held by {by}, not retried)"),
            (None, _) => String::new(),
        };
        writeln!(
            out,
            "{:<20} {:<7} {:<12} {}{lost}",
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
    let k = Kind::Other;
    match action {
        NameAction::List => exchange(socket, NameList {}, k, json, out, |out, names| {
            print_names(out, &names)
        }),
        NameAction::Add { name, group } => {
            exchange(socket, NameAdd { name, group }, k, json, out, |out, v| {
                let what = if v.group { " (group)" } else { "" };
                writeln!(out, "{}{what} {}", v.name, v.state)?;
                Ok(())
            })
        }
        NameAction::Del { name } => exchange(socket, NameDel { name }, k, json, out, |out, n| {
            writeln!(out, "{n} released")?;
            Ok(())
        }),
    }
}

/// `messngr quiet [on|off]`.
pub fn quiet(
    socket: &Path,
    on: Option<bool>,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    exchange(
        socket,
        Quiet { on },
        Kind::Other,
        json,
        out,
        |out, v: QuietView| {
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
        },
    )
}

/// `messngr lookup NAME[#XX]` or `messngr lookup -A IP`.
pub fn lookup(
    socket: &Path,
    target: &str,
    node_status: bool,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    if node_status {
        let address = target.parse().map_err(|_| {
            anyhow::anyhow!(
                "-A takes an IPv4 address, not {target:?} (e.g. messngr lookup -A 10.0.0.7)"
            )
        })?;
        return exchange(
            socket,
            NodeStatus { address },
            Kind::Other,
            json,
            out,
            |out, v: NodeStatusView| {
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
                    let name = crate::show::line(name);
                    writeln!(out, "\t{name:<15} <{sfx}> - {kind} {} {flags}", n.node_type)?;
                }
                writeln!(
                    out,
                    "\n\tMAC Address = {}",
                    v.mac.replace(':', "-").to_ascii_uppercase()
                )?;
                Ok(())
            },
        );
    }
    let (name, suffix) = match target.rsplit_once('#') {
        Some((n, s)) => (
            n,
            u8::from_str_radix(s, 16).map_err(|_| {
                anyhow::anyhow!("{s:?} is not a hex suffix: write NAME#03, NAME#20, …")
            })?,
        ),
        None => (target, messngr_proto::wire::name::suffix::MESSENGER),
    };
    let lookup = Lookup {
        name: name.to_owned(),
        suffix,
    };
    exchange(
        socket,
        lookup,
        Kind::Other,
        json,
        out,
        |out, v: LookupView| {
            // nmblookup's columns; a name found through the relay says so.
            for (i, a) in v.addresses.iter().enumerate() {
                let via = v.relay_hosts.get(i).map_or_else(String::new, |h| {
                    format!(" (host {}, by the relay's directory)", crate::show::line(h))
                });
                writeln!(out, "{a} {}{via}", v.name)?;
            }
            Ok(())
        },
    )
}

/// `messngr status`.
pub fn status(socket: &Path, json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    exchange(
        socket,
        Status {},
        Kind::Other,
        json,
        out,
        |out, s: StatusView| {
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
            if !s.netbios {
                writeln!(
                    out,
                    "serve_netbios = false: Samba's nmbd and smbd hold the names and ports; messages arrive through `messngr deliver`"
                )?;
            }
            print_names(out, &s.names)?;
            let c = &s.counters;
            writeln!(out)?;
            writeln!(
                out,
                "name service: {} received ({} malformed, {} over rate limit), {} sent, {} queries and {} node status answered, {} registrations defended, {} conflicts, {} conflict demands and {} releases of our names ignored",
                c.nbns_received,
                c.nbns_malformed,
                c.nbns_rate_limited,
                c.nbns_sent,
                c.queries_answered,
                c.node_status_answered,
                c.defended,
                c.conflicts,
                c.conflict_demands_ignored,
                c.releases_ignored
            )?;
            if let Some(k) = &s.host_key {
                writeln!(out, "host key {k} (`messngr trust show` has the whole key)")?;
            }
            for c in &s.key_changes {
                writeln!(
                    out,
                    "KEY CHANGED: {} showed {} from {} ({} times), pinned {}: refused; if expected, `messngr trust remove {}`",
                    crate::show::line(&c.name),
                    c.offered,
                    crate::show::line(&c.address),
                    c.count,
                    c.pinned,
                    crate::show::line(&c.name)
                )?;
            }
            if s.refused.is_empty() {
                writeln!(out, "refused: nothing")?;
            } else {
                let list: Vec<String> = s.refused.iter().map(|(k, n)| format!("{n} {k}")).collect();
                writeln!(out, "refused: {}", list.join(", "))?;
            }
            if let Some(r) = &s.relay {
                relay::status(out, r)?;
            }
            if let Some(i) = &s.inbox {
                let limit = i
                    .max_messages
                    .map_or_else(|| "no limit".to_owned(), |m| format!("max_messages {m}"));
                let free = i
                    .disk_free_bytes
                    .map_or_else(String::new, |f| format!(", {} MiB free", f >> 20));
                writeln!(
                    out,
                    "inbox: {} received ({limit}), {} KiB on disk{free}",
                    i.received,
                    i.bytes >> 10
                )?;
            }
            Ok(())
        },
    )
}

/// `messngr send`.
pub fn send(
    socket: &Path,
    request: Send,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    if request.text.trim().is_empty() {
        anyhow::bail!("no message text: give it after the target, or on standard input");
    }
    let users = request.target == "/users";
    match ask(socket, request, Kind::Send, json, out)? {
        Err(code) => Ok(code),
        // One receiver prints as one object, `/users` as an array (as before).
        Ok(mut views) if json => {
            match views.len() {
                1 if !users => print_json(out, &views.remove(0))?,
                _ => print_json(out, &views)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Ok(views) => {
            for (i, v) in views.iter().enumerate() {
                // A `/users` send is one sent message: its id once.
                let first = v.id.is_some() && views[..i].iter().all(|w| w.id != v.id);
                print_sent(out, v, first)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One receiver's result, as `net send` users expect it.
fn print_sent(out: &mut impl Write, v: &SendView, show_id: bool) -> anyhow::Result<()> {
    if let Some(w) = &v.warning {
        eprintln!("messngr: {}", crate::show::line(w));
    }
    let target = crate::show::line(&v.target.to_ascii_uppercase()).into_owned();
    if v.outcome == "delivered" && v.secure {
        writeln!(
            out,
            "Message delivered to {target} ({}, messngr, encrypted and signed)",
            v.address
        )?;
    } else if v.outcome == "delivered" && v.native && v.transport == "messngr" {
        writeln!(
            out,
            "Message delivered to {target} ({}, messngr)",
            v.address
        )?;
    } else if v.outcome == "delivered" {
        writeln!(out, "Message delivered to {target} ({})", v.address)?;
    } else if v.outcome == "kept" {
        writeln!(
            out,
            "Message kept on this host for {target}: the relay is not connected, and {target} is not on this LAN; it goes to the relay when it is back (`messngr status` counts what waits), encrypted and signed"
        )?;
    } else if v.outcome == "queued" {
        writeln!(
            out,
            "Message queued for {target} at the relay (its host, {}, is on another site; the relay holds it until that host has it; encrypted and signed)",
            v.address
        )?;
    } else {
        writeln!(
            out,
            "Message broadcast to {} ({}); datagrams are not acknowledged",
            crate::show::line(&v.target),
            v.address
        )?;
    }
    if let Some(id) = v.id.filter(|_| show_id) {
        writeln!(
            out,
            "  sent message {id}: `messngr update {id} TEXT` or `messngr retract {id}` changes it everywhere"
        )?;
    }
    if v.replaced > 0 {
        eprintln!(
            "messngr: {} characters the code page lacks were sent as '?'",
            v.replaced
        );
    }
    Ok(())
}
