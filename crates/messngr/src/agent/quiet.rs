//! Do-not-disturb for the desktop agent (`messngr quiet on|off`).
//!
//! Why a flag file and not a daemon setting: quiet is a wish of the person
//! at the desktop, and the agent is their process. The flag is
//! `$XDG_STATE_HOME/messngr/quiet` (default `~/.local/state/messngr/quiet`),
//! so it survives a logout and `messngr quiet` needs no daemon. While it
//! exists the agent shows only urgent messages; the others wait, unread, in
//! the inbox and pop up when quiet ends (the agent looks every
//! [`QUIET_POLL`](super::QUIET_POLL)). Urgent messages always pop up.

use std::path::PathBuf;

use messngr_store::Priority;

/// The flag file: `$XDG_STATE_HOME/messngr/quiet`, else
/// `$HOME/.local/state/messngr/quiet`.
pub fn flag_path() -> Option<PathBuf> {
    let state = match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".local/state"),
    };
    Some(state.join("messngr").join("quiet"))
}

/// Whether do-not-disturb is on.
pub fn is_on() -> bool {
    flag_path().is_some_and(|p| p.exists())
}

/// Turns do-not-disturb on or off.
pub fn set(on: bool) -> anyhow::Result<PathBuf> {
    let path =
        flag_path().ok_or_else(|| anyhow::anyhow!("neither $XDG_STATE_HOME nor $HOME is set"))?;
    if on {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, b"")?;
    } else if let Err(e) = std::fs::remove_file(&path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        return Err(e.into());
    }
    Ok(path)
}

/// Whether a message of `priority` pops up now: urgent ones always.
pub fn pops_up(quiet: bool, priority: Priority) -> bool {
    !quiet || priority == Priority::Urgent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urgent_overrides_quiet() {
        assert!(pops_up(false, Priority::Low));
        assert!(pops_up(false, Priority::Normal));
        assert!(!pops_up(true, Priority::Normal));
        assert!(!pops_up(true, Priority::Low));
        assert!(pops_up(true, Priority::Urgent));
    }
}
