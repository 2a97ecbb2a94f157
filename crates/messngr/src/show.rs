//! How the CLI and the agent show things to people: peer text made safe
//! for a terminal, times in the local zone, and `--since` read back.
//!
//! Why here and not in the store or the API: presentation is the client's
//! business. The daemon and the API carry data (Unix ms, raw text); only
//! what faces a person chooses a time zone or strips escape sequences.

use std::borrow::Cow;

/// Text from the network made safe for a terminal: no escape sequences, no
/// control characters. A message must never drive its reader's terminal.
pub(crate) fn safe(s: &str) -> Cow<'_, str> {
    messngr_proto::text::sanitize_for_display(s)
}

/// `ms` in the system's time zone, for people: `2026-11-27 23:05:12 CET`
/// (the zone from `TZ` or /etc/localtime, its DST rules applied to that
/// instant; UTC when there is none).
pub(crate) fn local(ms: i64) -> String {
    local_in(ms, &jiff::tz::TimeZone::system())
}

/// [`local`] in the time zone `tz`.
pub(crate) fn local_in(ms: i64, tz: &jiff::tz::TimeZone) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => {
            let zoned = t.to_zoned(tz.clone());
            let abbrev = zoned
                .time_zone()
                .to_offset_info(t)
                .abbreviation()
                .to_owned();
            let name = if abbrev.is_empty() {
                zoned.strftime("%:z").to_string()
            } else {
                abbrev
            };
            format!("{} {name}", zoned.strftime("%Y-%m-%d %H:%M:%S"))
        }
        Err(_) => ms.to_string(),
    }
}

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
    fn local_times_carry_their_zone() {
        let ms = 1_795_773_600_123; // 2026-11-27T10:00:00.123Z
        assert_eq!(
            local_in(ms, &jiff::tz::TimeZone::UTC),
            "2026-11-27 10:00:00 UTC"
        );
        let plus_one = jiff::tz::TimeZone::fixed(jiff::tz::offset(1));
        assert_eq!(local_in(ms, &plus_one), "2026-11-27 11:00:00 +01");
        if let Ok(berlin) = jiff::tz::TimeZone::get("Europe/Berlin") {
            // Winter: CET; the same wall clock in July is CEST.
            assert_eq!(local_in(ms, &berlin), "2026-11-27 11:00:00 CET");
            let july = ms - 150 * 86_400_000;
            assert!(local_in(july, &berlin).ends_with(" CEST"));
        }
    }

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
