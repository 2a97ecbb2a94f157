//! The inbox commands: `inbox`, `search`, `read`, `reply`, `rm`, `export`.
//! Remote text is shown through `show::safe`, never raw: a message must not
//! be able to drive the reader's terminal.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use messngr_api::{
    Client, ClientError, Direction, InboxFilter, InboxList, InboxPage, MessageView, Read, ReplyTo,
    Rm, Search, SendView,
};

use super::{Kind, ask, exchange};
use crate::cli::{EXIT_ERROR, EXIT_NO_DAEMON, ExportFormat, Selection};
use crate::show::{line, local, safe};

/// The API's filter for `--unread --from --since --limit --before`.
fn filter(select: Selection) -> anyhow::Result<InboxFilter> {
    Ok(InboxFilter {
        unread: select.unread,
        from: select.from,
        since: select
            .since
            .map(|t| crate::show::parse_since(&t))
            .transpose()?,
        limit: select.limit,
        before: select.before,
    })
}

/// `messngr inbox`.
pub fn inbox(
    socket: &Path,
    select: Selection,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let f = filter(select)?;
    let list = InboxList { filter: f.clone() };
    match ask(socket, list, Kind::Other, json, out)? {
        Ok(page) => print_page(out, &page, json, "messngr inbox", &f),
        Err(code) => Ok(code),
    }
}

/// `messngr search WORDS`.
pub fn search(
    socket: &Path,
    select: Selection,
    words: Vec<String>,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let search = Search {
        text: words.join(" "),
        filter: filter(select)?,
    };
    let again = format!("messngr search {}", safe(&search.text));
    let f = search.filter.clone();
    match ask(socket, search, Kind::Other, json, out)? {
        Ok(page) => print_page(out, &page, json, &again, &f),
        Err(code) => Ok(code),
    }
}

/// A page: a JSON array of its messages (`--json`, the shape `inbox --json`
/// always had), or the table and how many older messages there are.
fn print_page(
    out: &mut impl Write,
    page: &InboxPage,
    json: bool,
    command: &str,
    filter: &InboxFilter,
) -> anyhow::Result<ExitCode> {
    if json {
        serde_json::to_writer_pretty(&mut *out, &page.messages)?;
        writeln!(out)?;
        if page.older > 0
            && let Some(first) = page.messages.first()
        {
            eprintln!(
                "messngr: {} older messages not shown: add --before {} (and --limit, up to {})",
                page.older,
                first.id,
                messngr_api::MAX_PAGE
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if page.older > 0
        && let Some(first) = page.messages.first()
    {
        let limit = filter
            .limit
            .map(|n| format!(" --limit {n}"))
            .unwrap_or_default();
        writeln!(
            out,
            "… {} older message{}: {command}{limit} --before {}",
            page.older,
            if page.older == 1 { "" } else { "s" },
            first.id
        )?;
    }
    print_list(out, &page.messages)?;
    Ok(ExitCode::SUCCESS)
}

/// The `messngr inbox` table (`*` marks unread messages).
fn print_list(out: &mut impl Write, list: &[MessageView]) -> anyhow::Result<()> {
    if list.is_empty() {
        writeln!(out, "No messages.")?;
        return Ok(());
    }
    writeln!(
        out,
        "   {:>4}  {:<24} {:<15} {:<15} {:<10} {:<8} {:<15} TEXT",
        "ID", "RECEIVED", "FROM", "TO", "VERIFIED", "VIA", "SOURCE"
    )?;
    for m in list {
        let mark = if m.is_unread() { '*' } else { ' ' };
        let text = match m.alert_mark() {
            Some(alert) => format!("[{alert}] {}", m.text),
            None => m.text.clone(),
        };
        let text: String = line(&text.replace('\n', " ")).chars().take(40).collect();
        writeln!(
            out,
            " {mark} {:>4}  {:<24} {:<15} {:<15} {:<10} {:<8} {:<15} {text}",
            m.id,
            local(m.received_at_ms),
            line(sender(m)),
            line(&m.to),
            if m.verified { "verified" } else { "UNVERIFIED" },
            m.transport.as_str(),
            source(m),
        )?;
    }
    Ok(())
}

/// Who sent it, for the table: the verified author (`root@H2`) when a
/// signature or the local socket says who, else the name the wire gave.
fn sender(m: &MessageView) -> &str {
    match (&m.author, m.verified) {
        (Some(author), true) => author,
        _ => &m.from,
    }
}

/// Where a message came from, for the table: the sender's address without
/// its port, `uid N` for a local sender, `-` for a Samba hand-over
/// (`messngr read` shows the whole provenance).
fn source(m: &MessageView) -> String {
    if let Some(g) = &m.gateway {
        let host = g.split_once(':').map_or(g.as_str(), |(h, _)| h);
        return format!("gateway {}", line(host));
    }
    match (&m.source_addr, m.sender_uid) {
        (Some(addr), _) => {
            let host = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h);
            line(host).into_owned()
        }
        (None, Some(uid)) => format!("uid {uid}"),
        (None, None) => "-".to_owned(),
    }
}

/// `messngr read ID`.
pub fn read(socket: &Path, id: i64, json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    exchange(socket, Read { id }, Kind::Other, json, out, |out, m| {
        print_message(out, &m)?;
        if m.is_unread() && m.owner_user.is_none() {
            eprintln!(
                "messngr: message {id} is the host's, shared by every user: shown, not marked read (only root and admin_group mark it read)"
            );
        }
        Ok(())
    })
}

fn print_message(out: &mut impl Write, m: &MessageView) -> anyhow::Result<()> {
    let verb = match (m.direction, m.alert_mark()) {
        (Direction::In, Some(alert)) => alert,
        (Direction::Out, Some(alert)) => format!("Sent {alert}"),
        (Direction::In, None) => "Message".to_owned(),
        (Direction::Out, None) => "Sent message".to_owned(),
    };
    // Where it came from first: no name can push it out of view.
    writeln!(
        out,
        "[{}] {verb} from {} to {} on {}",
        m.provenance(),
        line(&m.from),
        line(&m.to),
        local(m.received_at_ms),
    )?;
    writeln!(out)?;
    writeln!(out, "{}", safe(&m.text))?;
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
    let reply = ReplyTo { id, text };
    exchange(socket, reply, Kind::Other, json, out, |out, v: SendView| {
        writeln!(
            out,
            "Reply {} to {} ({})",
            v.outcome,
            line(&v.target),
            v.address
        )?;
        Ok(())
    })
}

/// `messngr rm ID`.
pub fn rm(socket: &Path, id: i64, json: bool, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    exchange(socket, Rm { id }, Kind::Other, json, out, |out, _| {
        writeln!(out, "Message {id} deleted")?;
        Ok(())
    })
}

/// `messngr export`: every message the caller may see, oldest first, as
/// it streams from the daemon (never the whole inbox in memory).
pub fn export(
    socket: &Path,
    format: ExportFormat,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let client = match Client::connect(socket) {
        Ok(c) => c,
        Err(e @ ClientError::Connect { .. }) => {
            eprintln!("messngr: {e}");
            return Ok(ExitCode::from(EXIT_NO_DAEMON));
        }
        Err(e) => return Err(e.into()),
    };
    for (i, m) in client.export()?.enumerate() {
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                eprintln!("messngr: the export stopped after {i} messages: {e}");
                return Ok(ExitCode::from(EXIT_ERROR));
            }
        };
        match format {
            ExportFormat::Jsonl => {
                serde_json::to_writer(&mut *out, &m)?;
                writeln!(out)?;
            }
            ExportFormat::Text => {
                if i > 0 {
                    writeln!(out)?;
                }
                print_message(out, &m)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
