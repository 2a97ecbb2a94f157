//! `messngr update | retract | remind ID`: a live notice, and what it
//! reached.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use messngr_api::{Call, NoticeView};

use super::{Kind, ask};
use crate::cli::EXIT_NO;
use crate::show::line;

/// Makes the notice `call` and prints each recipient's result; exit 1 when
/// some recipient was not reached.
/// `done` says what happened at each recipient reached (`changed`,
/// `withdrawn`, `reminded`).
pub fn notice<C: Call<Output = NoticeView>>(
    socket: &Path,
    call: C,
    done: &str,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let v = match ask(socket, call, Kind::Send, json, out)? {
        Err(code) => return Ok(code),
        Ok(v) => v,
    };
    if json {
        serde_json::to_writer_pretty(&mut *out, &v)?;
        writeln!(out)?;
    } else {
        if v.withdrawn_unsent {
            writeln!(
                out,
                "message {}: withdrawn before it left this host (it was kept for the relay): it reached nobody",
                v.id
            )?;
        } else if v.changed_unsent {
            writeln!(
                out,
                "message {}: changed before it left this host (it is kept for the relay): it goes with the new text when the relay is back",
                v.id
            )?;
        } else if v.reached.is_empty() && v.failed.is_empty() {
            writeln!(
                out,
                "message {}: nobody to reach (everyone has read it)",
                v.id
            )?;
        }
        for r in &v.reached {
            writeln!(out, "message {}: {done} at {}", v.id, line(r))?;
        }
    }
    for f in &v.failed {
        eprintln!("messngr: {}: {}", line(&f.recipient), line(&f.error));
    }
    Ok(if v.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NO)
    })
}
