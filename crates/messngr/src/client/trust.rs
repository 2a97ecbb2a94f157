//! `messngr trust …`: the pins and this host's key, as text or JSON.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use messngr_api::{PinView, TrustAdd, TrustExport, TrustList, TrustRemove, TrustShow};

use super::{Kind, ask, exchange};
use crate::cli::TrustAction;
use crate::show::line;

fn when(ms: Option<i64>) -> String {
    ms.map_or_else(|| "-".to_owned(), messngr_api::time::rfc3339)
}

fn print_pin(out: &mut impl Write, p: &PinView) -> std::io::Result<()> {
    let who = if p.source == "self" {
        format!("{} (this host)", line(&p.name))
    } else {
        line(&p.name).into_owned()
    };
    writeln!(out, "{who}")?;
    writeln!(out, "  fingerprint  {}", p.fingerprint)?;
    writeln!(out, "  key          {}", p.key)?;
    if p.source != "self" {
        writeln!(
            out,
            "  pinned       {} ({})",
            when(p.first_seen_ms),
            p.source
        )?;
    }
    Ok(())
}

/// `messngr trust list|show|add|remove|export`.
pub fn trust(
    socket: &Path,
    action: TrustAction,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let one = |out: &mut dyn Write, p: PinView| -> anyhow::Result<()> {
        let mut buf = Vec::new();
        print_pin(&mut buf, &p)?;
        out.write_all(&buf)?;
        Ok(())
    };
    match action {
        TrustAction::List => exchange(
            socket,
            TrustList {},
            Kind::Other,
            json,
            out,
            |out, pins: Vec<PinView>| {
                if pins.is_empty() {
                    writeln!(
                        out,
                        "no pinned keys yet: a host's key is pinned the first time it is met"
                    )?;
                }
                for p in &pins {
                    writeln!(
                        out,
                        "{:<15}  {}  {:<6}  {}",
                        line(&p.name),
                        p.fingerprint,
                        p.source,
                        when(p.first_seen_ms)
                    )?;
                }
                Ok(())
            },
        ),
        TrustAction::Show { name } => exchange(
            socket,
            TrustShow { name },
            Kind::Other,
            json,
            out,
            |out, p| one(out, p),
        ),
        TrustAction::Add { name, key } => exchange(
            socket,
            TrustAdd { name, key },
            Kind::Other,
            json,
            out,
            |out, p| one(out, p),
        ),
        TrustAction::Remove { name } => exchange(
            socket,
            TrustRemove { name },
            Kind::Other,
            json,
            out,
            |out, p: PinView| {
                writeln!(
                    out,
                    "forgot {}'s key {}; its next key is pinned when it is next met",
                    line(&p.name),
                    p.fingerprint
                )?;
                Ok(())
            },
        ),
        TrustAction::Export => match ask(socket, TrustExport {}, Kind::Other, json, out)? {
            Err(code) => Ok(code),
            Ok(text) if json => {
                serde_json::to_writer_pretty(&mut *out, &text)?;
                writeln!(out)?;
                Ok(ExitCode::SUCCESS)
            }
            Ok(text) => {
                out.write_all(text.as_bytes())?;
                Ok(ExitCode::SUCCESS)
            }
        },
    }
}
