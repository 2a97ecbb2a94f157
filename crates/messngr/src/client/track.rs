//! `messngr track ID` and `messngr send --wait`: who read a sent message.
//!
//! Why apart from `send`: tracking is asked for after the fact (by the id
//! `send` printed) or right after a send, and both print the same "2 of 3
//! read" with the unread recipients first. A wait that ends unread exits
//! 1, as `msg /W` users expect; the reason is on standard error.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use messngr_api::time::local;
use messngr_api::{Send, SendView, Track, TrackView};

use super::{Kind, ask, print_json, print_sent};
use crate::cli::{EXIT_ERROR, EXIT_NO};
use crate::show::line;

/// `messngr track ID [--wait SECS]`.
pub fn track(
    socket: &Path,
    id: i64,
    wait_secs: Option<u32>,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let view = match ask(socket, Track { id, wait_secs }, Kind::Other, json, out)? {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    if json {
        print_json(out, &view)?;
    } else {
        print_track(out, &view)?;
    }
    Ok(match wait_secs {
        Some(secs) if !view.all_read() => timed_out(&view, secs),
        _ => ExitCode::SUCCESS,
    })
}

/// `messngr send --wait SECS`: sends, then waits until every recipient
/// read it (exit 0) or `secs` passed (exit 1).
pub fn send_and_wait(
    socket: &Path,
    request: Send,
    secs: u32,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    if request.text.trim().is_empty() {
        anyhow::bail!("no message text: give it after the target, or on standard input");
    }
    let target = request.target.clone();
    let views: Vec<SendView> = match ask(socket, request, Kind::Send, json, out)? {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    if !json {
        for (i, v) in views.iter().enumerate() {
            let first = v.id.is_some() && views[..i].iter().all(|w| w.id != v.id);
            print_sent(out, v, first)?;
        }
    }
    let mut ids: Vec<i64> = views.iter().filter_map(|v| v.id).collect();
    ids.dedup();
    if ids.is_empty() {
        eprintln!(
            "messngr: --wait: {} sends no receipts (not a messngr receiver): delivered, but it cannot be waited for",
            line(&target)
        );
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    let deadline = Instant::now() + Duration::from_secs(u64::from(secs));
    let mut tracked = Vec::new();
    for id in ids {
        let left = deadline.saturating_duration_since(Instant::now()).as_secs();
        let wait = u32::try_from(left).unwrap_or(secs).max(1);
        let call = Track {
            id,
            wait_secs: Some(wait),
        };
        match ask(socket, call, Kind::Other, json, out)? {
            Ok(v) => tracked.push(v),
            Err(code) => return Ok(code),
        }
    }
    if json {
        #[derive(serde::Serialize)]
        struct Waited<'a> {
            sent: &'a [SendView],
            tracked: &'a [TrackView],
        }
        print_json(
            out,
            &Waited {
                sent: &views,
                tracked: &tracked,
            },
        )?;
    }
    match tracked.iter().find(|v| !v.all_read()) {
        Some(unread) => {
            if !json {
                print_track(out, unread)?;
            }
            Ok(timed_out(unread, secs))
        }
        None => {
            if !json {
                let n: u64 = tracked.iter().map(|v| v.total).sum();
                let who = if n == 1 { "recipient" } else { "recipients" };
                writeln!(out, "Message read by its {n} {who}")?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Says on stderr that the wait ended unread, and who has not read it.
fn timed_out(v: &TrackView, secs: u32) -> ExitCode {
    let unread: Vec<String> = v
        .recipients
        .iter()
        .filter(|r| !r.is_read())
        .map(|r| line(&r.name).into_owned())
        .collect();
    eprintln!(
        "messngr: not read within {secs} s ({} of {} read); unread: {}",
        v.read,
        v.total,
        unread.join(", ")
    );
    ExitCode::from(EXIT_NO)
}

/// "2 of 3 read", then each recipient, the unread ones first (marked `*`).
fn print_track(out: &mut impl Write, v: &TrackView) -> anyhow::Result<()> {
    writeln!(
        out,
        "{} of {} read (message {} to {}, sent {})",
        v.read,
        v.total,
        v.id,
        line(&v.to),
        local(v.sent_at_ms)
    )?;
    let mut rows: Vec<_> = v.recipients.iter().collect();
    rows.sort_by_key(|r| (r.is_read(), r.name.clone()));
    for r in rows {
        let mark = if r.is_read() { ' ' } else { '*' };
        writeln!(
            out,
            "{mark} {:<24} {:<9} {}",
            line(&r.name),
            r.state,
            local(r.at_ms)
        )?;
    }
    Ok(())
}
