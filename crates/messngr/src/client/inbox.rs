//! The inbox commands: `inbox`, `read`, `reply`, `rm`, `export`. Remote
//! text is shown through `sanitize_for_display`, never raw: a message must
//! not be able to drive the reader's terminal.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use messngr_daemon::api::Request;

use super::{ask, exchange};
use crate::cli::ExportFormat;

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
    let request = Request::Inbox {
        unread,
        from,
        since,
    };
    exchange(socket, &request, json, out, |out, data| {
        print_list(out, &data)
    })
}

/// The `messngr inbox` table (`*` marks unread messages).
/// When `m` was received, in local time (`received_at` as sent, if the
/// milliseconds are missing).
fn local_time(m: &serde_json::Value) -> String {
    match m["received_at_ms"].as_i64() {
        Some(ms) => messngr_store::clock::local(ms),
        None => field(m, "received_at").to_owned(),
    }
}

fn print_list(out: &mut impl Write, data: &serde_json::Value) -> anyhow::Result<()> {
    let list = data.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        writeln!(out, "No messages.")?;
        return Ok(());
    }
    writeln!(
        out,
        "   {:>4}  {:<24} {:<15} {:<15} TEXT",
        "ID", "RECEIVED", "FROM", "TO"
    )?;
    for m in &list {
        let mark = if m["read_at"].is_null() { '*' } else { ' ' };
        let text: String = safe(field(m, "text"))
            .replace('\n', " ")
            .chars()
            .take(40)
            .collect();
        let when = local_time(m);
        writeln!(
            out,
            " {mark} {:>4}  {:<24} {:<15} {:<15} {text}",
            m["id"].as_i64().unwrap_or_default(),
            when,
            safe(field(m, "from")),
            safe(field(m, "to"))
        )?;
    }
    Ok(())
}

/// `messngr read ID`.
pub fn read(socket: &Path, id: i64, json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    exchange(socket, &Request::Read { id }, json, out, |out, data| {
        print_message(out, &data)?;
        Ok(())
    })
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
        local_time(m),
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
    exchange(
        socket,
        &Request::Reply { id, text },
        json,
        out,
        |out, data| {
            let v: messngr_daemon::send::SendView = serde_json::from_value(data)?;
            writeln!(out, "Reply {} to {} ({})", v.outcome, v.target, v.address)?;
            Ok(())
        },
    )
}

/// `messngr rm ID`.
pub fn rm(socket: &Path, id: i64, json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    exchange(socket, &Request::Rm { id }, json, out, |out, _| {
        writeln!(out, "Message {id} deleted")?;
        Ok(())
    })
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
