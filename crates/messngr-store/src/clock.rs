//! Times as the store keeps and shows them.
//!
//! The database holds Unix milliseconds (`i64`): compact, sortable, no time
//! zone. People and JSON readers get RFC 3339 in UTC with milliseconds
//! (`2026-11-27T10:00:00.000Z`); the plain-text export gets
//! `2026-11-27 10:00:00` in an offset the caller chooses (the CLI passes the
//! local one, found before it starts threads). Out-of-range values (beyond
//! year ±9999) are refused on insert, so formatting only falls back to the
//! bare number for a file written by something else.

use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

fn datetime(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// Whether `ms` can be shown as a date (years -9999 to 9999).
pub fn is_representable(ms: i64) -> bool {
    datetime(ms).is_some()
}

/// `ms` as RFC 3339 in UTC with milliseconds: `2026-11-27T10:00:00.000Z`.
pub fn rfc3339(ms: i64) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    datetime(ms)
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// `ms` as `2026-11-27 10:00:00 UTC`, or `… +01:00` for another offset.
pub fn human(ms: i64, offset: UtcOffset) -> String {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let Some(t) = datetime(ms).map(|t| t.to_offset(offset)) else {
        return ms.to_string();
    };
    let Ok(s) = t.format(&fmt) else {
        return ms.to_string();
    };
    if offset.is_utc() {
        format!("{s} UTC")
    } else {
        let (h, m, _) = offset.as_hms();
        let sign = if offset.is_negative() { '-' } else { '+' };
        format!("{s} {sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
    }
}

/// `ms` in the system's time zone, for people: `2026-11-27 23:05:12 CET`
/// (the zone from `TZ` or /etc/localtime, its DST rules applied to that
/// instant; UTC when there is none).
pub fn local(ms: i64) -> String {
    local_in(ms, &jiff::tz::TimeZone::system())
}

/// [`local`] in the time zone `tz`.
pub fn local_in(ms: i64, tz: &jiff::tz::TimeZone) -> String {
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

/// Parses an RFC 3339 time (`2026-11-27T10:00:00Z`, any offset, optional
/// fraction) to Unix milliseconds, for `inbox --since`.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s.trim(), &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let ms = 1_795_773_600_123; // 2026-11-27T10:00:00.123Z
        assert_eq!(rfc3339(ms), "2026-11-27T10:00:00.123Z");
        assert_eq!(parse_rfc3339("2026-11-27T10:00:00.123Z"), Some(ms));
        assert_eq!(parse_rfc3339("2026-11-27T11:00:00.123+01:00"), Some(ms));
        assert_eq!(human(ms, UtcOffset::UTC), "2026-11-27 10:00:00 UTC");
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
        let cet = UtcOffset::from_hms(1, 0, 0).unwrap();
        assert_eq!(human(ms, cet), "2026-11-27 11:00:00 +01:00");
        let nst = UtcOffset::from_hms(-3, -30, 0).unwrap();
        assert_eq!(human(ms, nst), "2026-11-27 06:30:00 -03:30");
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn out_of_range_falls_back_to_the_number() {
        assert!(!is_representable(i64::MAX));
        assert_eq!(rfc3339(i64::MAX), i64::MAX.to_string());
        assert!(is_representable(0));
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert!(now_ms() > 1_700_000_000_000);
    }
}
