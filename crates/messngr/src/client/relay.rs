//! The relay's lines of `messngr status`: why apart — what the relay's
//! state means to an admin (connected, taking this host's messages, kept
//! here, refused) is a paragraph of its own, and `mod.rs` is the commands.

use std::io::Write;

/// The relay's line of `messngr status`.
pub(super) fn status(out: &mut impl Write, r: &messngr_api::RelayView) -> std::io::Result<()> {
    let since = messngr_api::time::rfc3339(r.since_ms);
    // While a stream is refused (its line below), the wait is the admin's
    // to end, not a start's.
    let yet = if r.refused.is_empty() { " yet" } else { "" };
    if r.stopped {
        // Its last error is the reason, said here.
        writeln!(
            out,
            "relay: STOPPED until the daemon is restarted: {}; fix [relay], then `systemctl restart messngr`. Messages to other sites are kept here meanwhile",
            crate::show::line(r.last_error.as_deref().unwrap_or("see the log"))
        )?;
    } else if r.connected {
        let server = r
            .server
            .as_deref()
            .map_or(std::borrow::Cow::Borrowed("a server"), crate::show::line);
        writeln!(
            out,
            "relay: connected to {server} since {since}; directory {}, {}this host's entry written {} times, {} entries or messages refused",
            if r.directory {
                "ready".to_owned()
            } else {
                format!("not ready{yet}")
            },
            match r.receiving {
                Some(true) => "taking this host's messages, ".to_owned(),
                Some(false) =>
                    format!("NOT taking this host's messages{yet} (they wait in the cluster), "),
                None => String::new(),
            },
            r.published,
            r.dropped
        )?;
    } else {
        writeln!(
            out,
            "relay: NOT connected since {since} (servers {}); trying again. Names on other sites cannot be found until it is back; messages to them are kept here",
            r.servers.join(", ")
        )?;
    }
    if r.kept > 0 {
        writeln!(
            out,
            "relay: {} messages for other sites kept here, sent when the relay takes them",
            r.kept
        )?;
    }
    if !r.refused.is_empty() {
        writeln!(
            out,
            "relay: the cluster's {} is made otherwise than messngr makes it: not used until it is deleted (messngr makes it again); the log says what differs",
            crate::show::line(&r.refused.join(", "))
        )?;
    }
    if let Some(e) = r.last_error.as_ref().filter(|_| !r.stopped) {
        writeln!(out, "relay: last error: {}", crate::show::line(e))?;
    }
    Ok(())
}
