//! `messngr deliver FILE FROM TO`: the Samba drop-in. smbd, owning the
//! NetBIOS ports, receives a WinPopup message, writes it to a file and runs
//! its `message command`; this command hands the file's bytes to the
//! daemon, which stores them like any received message, so they reach the
//! inbox and every delivery to people after it.
//!
//! Why a subcommand and not a shell one-liner: smbd runs the command as its
//! guest user, so it must not need any right but to connect to the API
//! socket, and it must keep the message (the file) when the daemon cannot
//! take it, with an exit status smbd's log shows.

use std::path::Path;
use std::process::ExitCode;

use messngr_api::{Deliver, Transport};

use super::{Kind, ask};

/// The largest message file accepted (the daemon's limit).
const MAX_DELIVER_BYTES: u64 = messngr_api::MAX_DELIVER_TEXT as u64;

/// `messngr deliver FILE FROM TO`.
pub fn deliver(socket: &Path, file: &Path, from: String, to: String) -> anyhow::Result<ExitCode> {
    use std::io::Read;
    let mut text = Vec::new();
    std::fs::File::open(file)
        .map_err(|e| anyhow::anyhow!("cannot read the message file {}: {e}", file.display()))?
        .take(MAX_DELIVER_BYTES + 1)
        .read_to_end(&mut text)?;
    if text.len() as u64 > MAX_DELIVER_BYTES {
        anyhow::bail!(
            "{} is over {MAX_DELIVER_BYTES} bytes: not a WinPopup message; kept",
            file.display()
        );
    }
    let request = Deliver {
        transport: Transport::Samba,
        from,
        to,
        text,
    };
    let mut sink = std::io::sink();
    let id = match ask(socket, request, Kind::Other, false, &mut sink)? {
        Ok(r) => r,
        Err(code) => {
            eprintln!("messngr: the message stays in {}", file.display());
            return Ok(code);
        }
    };
    // Samba leaves removing the file to its message command.
    if let Err(e) = std::fs::remove_file(file) {
        eprintln!(
            "messngr: message {id} stored, but {} could not be removed: {e}",
            file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
