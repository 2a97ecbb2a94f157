//! How the CLI and the agent show things to people: peer text made safe
//! for a terminal, times in the local zone, and `--since` read back.
//!
//! Why here and not in the store or the API: presentation is the client's
//! business. The daemon and the API carry data (Unix ms, raw text); only
//! what faces a person chooses a time zone or strips escape sequences.

use std::borrow::Cow;

/// Text from the network made safe for a terminal: no escape sequences, no
/// control characters, no bidi or invisible characters (messngr-proto's
/// `text::escape`); line breaks kept. A message must never drive its
/// reader's terminal.
pub(crate) fn safe(s: &str) -> Cow<'_, str> {
    messngr_proto::text::sanitize_for_display(s)
}

/// A one-line field from the network (a name, a refusal reason a peer
/// sent, an address) made safe for a terminal: like [`safe`], and it never
/// spans lines (LF and TAB shown as `^J`, `^I`).
pub(crate) fn line(s: &str) -> Cow<'_, str> {
    messngr_proto::text::sanitize_line(s)
}

/// `ms` in the system's time zone, for people (`messngr_api::time::local`).
pub(crate) use messngr_api::time::local;

/// Parses `--since`: an RFC 3339 time (any offset, optional fraction), or
/// an age (`90s`, `15m`, `2h`, `3d`) counted back from now. Unix ms.
pub(crate) fn parse_since(t: &str) -> anyhow::Result<i64> {
    let now = jiff::Timestamp::now().as_millisecond();
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
        return Ok(now.saturating_sub(n.saturating_mul(ms)));
    }
    t.trim()
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| {
            anyhow::anyhow!(
                "--since {t:?}: give a time like 2026-11-27T10:00:00Z or an age like 15m, 2h, 3d"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_times_and_ages() {
        let ms = 1_795_773_600_123;
        assert_eq!(parse_since("2026-11-27T10:00:00.123Z").unwrap(), ms);
        assert_eq!(parse_since("2026-11-27T11:00:00.123+01:00").unwrap(), ms);
        let now = jiff::Timestamp::now().as_millisecond();
        let two_hours = parse_since("2h").unwrap();
        assert!((now - two_hours - 7_200_000).abs() < 5_000);
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("").is_err());
    }
}
