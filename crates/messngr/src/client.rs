//! The commands that ask the running daemon (`name`, `lookup`, `status`):
//! send one request over the API socket, print the answer as text or JSON,
//! and turn it into an exit code scripts can use.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use messngr_daemon::api::{self, ClientError, Request, Response};
use messngr_daemon::names::{LookupView, NameView, NodeStatusView, StatusView};

use crate::cli::{
    EXIT_ERROR, EXIT_NETWORK, EXIT_NO, EXIT_NO_DAEMON, EXIT_REFUSED, ExportFormat, NameAction,
};

/// Sends `request`; prints failures on stderr and maps them to exit codes.
fn ask(
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
    let response = match ask(socket, &request, json, out)? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    if json {
        print_json(out, &response.data)?;
        return Ok(ExitCode::SUCCESS);
    }
    match action {
        NameAction::List => print_names(
            out,
            &serde_json::from_value::<Vec<NameView>>(response.data)?,
        )?,
        NameAction::Add { .. } => {
            let v: NameView = serde_json::from_value(response.data)?;
            writeln!(out, "{} {}", v.name, v.state)?;
        }
        NameAction::Del { .. } => {
            writeln!(out, "{} released", response.data.as_str().unwrap_or("name"))?
        }
    }
    Ok(ExitCode::SUCCESS)
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
    let response = match ask(socket, &request, json, out)? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    if json {
        print_json(out, &response.data)?;
        return Ok(ExitCode::SUCCESS);
    }
    if node_status {
        let v: NodeStatusView = serde_json::from_value(response.data)?;
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
        let v: LookupView = serde_json::from_value(response.data)?;
        for a in v.addresses {
            writeln!(out, "{a} {}", v.name)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `messngr status`.
pub fn status(socket: &Path, json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let response = match ask(socket, &Request::Status, json, out)? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    if json {
        print_json(out, &response.data)?;
        return Ok(ExitCode::SUCCESS);
    }
    let s: StatusView = serde_json::from_value(response.data)?;
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
    Ok(ExitCode::SUCCESS)
}

/// `messngr send`.
pub fn send(
    socket: &Path,
    target: String,
    text: String,
    address: Option<std::net::Ipv4Addr>,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    if text.trim().is_empty() {
        anyhow::bail!("no message text: give it after the target, or on standard input");
    }
    let request = Request::Send {
        target,
        text,
        address,
    };
    let response = match ask(socket, &request, json, out)? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    if json {
        print_json(out, &response.data)?;
        return Ok(ExitCode::SUCCESS);
    }
    let v: messngr_daemon::send::SendView = serde_json::from_value(response.data)?;
    if v.outcome == "delivered" {
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
    Ok(ExitCode::SUCCESS)
}

/// Parses `--since`: an RFC 3339 time, or an age (`90s`, `15m`, `2h`, `3d`)
/// counted back from now. Returns Unix milliseconds.
pub fn parse_since(t: &str) -> anyhow::Result<i64> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let unit = t.chars().last().unwrap_or(' ');
    if let (Some(n), Some(ms)) = (
        t.get(..t.len().saturating_sub(1))
            .and_then(|n| n.parse::<i64>().ok()),
        match unit {
            's' => Some(1_000),
            'm' => Some(60_000),
            'h' => Some(3_600_000),
            'd' => Some(86_400_000),
            _ => None,
        },
    ) {
        return Ok(now - n * ms);
    }
    messngr_store::clock::parse_rfc3339(t).ok_or_else(|| {
        anyhow::anyhow!(
            "--since {t:?}: give a time like 2026-11-27T10:00:00Z or an age like 15m, 2h, 3d"
        )
    })
}

fn field<'a>(m: &'a serde_json::Value, key: &str) -> &'a str {
    m[key].as_str().unwrap_or_default()
}

/// Message text made safe for a terminal (no escape sequences, no control
/// characters): remote text must never drive the reader's terminal.
fn safe(s: &str) -> String {
    messngr_proto::text::sanitize_for_display(s).into_owned()
}

/// `messngr inbox`.
pub fn inbox(
    socket: &Path,
    unread: bool,
    from: Option<String>,
    since: Option<i64>,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let response = match ask(
        socket,
        &Request::Inbox {
            unread,
            from,
            since,
        },
        json,
        out,
    )? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    if json {
        print_json(out, &response.data)?;
        return Ok(ExitCode::SUCCESS);
    }
    let list = response.data.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        writeln!(out, "No messages.")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "   {:>4}  {:<20} {:<15} {:<15} TEXT",
        "ID", "RECEIVED", "FROM", "TO"
    )?;
    for m in &list {
        let mark = if m["read_at"].is_null() { '*' } else { ' ' };
        let text: String = safe(field(m, "text"))
            .replace('\n', " ")
            .chars()
            .take(40)
            .collect();
        let when: String = field(m, "received_at")
            .replace('T', " ")
            .chars()
            .take(19)
            .collect();
        writeln!(
            out,
            " {mark} {:>4}  {:<20} {:<15} {:<15} {text}",
            m["id"].as_i64().unwrap_or_default(),
            when,
            safe(field(m, "from")),
            safe(field(m, "to"))
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `messngr read ID`.
pub fn read(socket: &Path, id: i64, json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let response = match ask(socket, &Request::Read { id }, json, out)? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    if json {
        print_json(out, &response.data)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_message(out, &response.data)?;
    Ok(ExitCode::SUCCESS)
}

fn print_message(out: &mut impl Write, m: &serde_json::Value) -> anyhow::Result<()> {
    let mark = if m["verified"] == true {
        "verified"
    } else {
        "unverified"
    };
    writeln!(
        out,
        "Message from {} to {} on {} ({} from {}, {mark})",
        safe(field(m, "from")),
        safe(field(m, "to")),
        field(m, "received_at"),
        field(m, "transport"),
        field(m, "source_addr"),
    )?;
    writeln!(out)?;
    writeln!(out, "{}", safe(field(m, "text")))?;
    Ok(())
}

/// `messngr reply ID TEXT`.
pub fn reply(
    socket: &Path,
    id: i64,
    text: String,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    if text.trim().is_empty() {
        anyhow::bail!("no reply text: give it after the id, or on standard input");
    }
    let response = match ask(socket, &Request::Reply { id, text }, json, out)? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    if json {
        print_json(out, &response.data)?;
    } else {
        let v: messngr_daemon::send::SendView = serde_json::from_value(response.data)?;
        writeln!(out, "Reply {} to {} ({})", v.outcome, v.target, v.address)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `messngr rm ID`.
pub fn rm(socket: &Path, id: i64, json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let response = match ask(socket, &Request::Rm { id }, json, out)? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    if json {
        print_json(out, &response.data)?;
    } else {
        writeln!(out, "Message {id} deleted")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `messngr export`.
pub fn export(
    socket: &Path,
    format: ExportFormat,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let request = Request::Inbox {
        unread: false,
        from: None,
        since: None,
    };
    let response = match ask(socket, &request, false, out)? {
        Ok(r) => r,
        Err(code) => return Ok(code),
    };
    for (i, m) in response
        .data
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        match format {
            ExportFormat::Jsonl => {
                serde_json::to_writer(&mut *out, m)?;
                writeln!(out)?;
            }
            ExportFormat::Text => {
                if i > 0 {
                    writeln!(out)?;
                }
                print_message(out, m)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
