//! Times as messngr shows them: in JSON, RFC 3339 in UTC with milliseconds
//! (`2026-11-27T10:00:00.000Z`) beside the Unix milliseconds the inbox
//! keeps (the milliseconds are the authority when JSON is read back); to
//! people — the CLI's tables, pop-ups, terminal banners — the local time
//! with its zone (`2026-11-27 11:00:00 CET`).

/// `ms` as `2026-11-27T10:00:00.000Z`; the bare number if it is beyond the
/// years a timestamp can show.
pub fn rfc3339(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => ms.to_string(),
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
    fn formats_with_milliseconds_in_utc() {
        assert_eq!(rfc3339(1_795_773_600_123), "2026-11-27T10:00:00.123Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(i64::MAX), i64::MAX.to_string());
    }
}
