//! Times as the API shows them: RFC 3339 in UTC with milliseconds
//! (`2026-11-27T10:00:00.000Z`) beside the Unix milliseconds the inbox
//! keeps. The milliseconds are the authority when JSON is read back; the
//! string is for people and tools such as `jq`.

/// `ms` as `2026-11-27T10:00:00.000Z`; the bare number if it is beyond the
/// years a timestamp can show.
pub fn rfc3339(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_milliseconds_in_utc() {
        assert_eq!(rfc3339(1_795_773_600_123), "2026-11-27T10:00:00.123Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(i64::MAX), i64::MAX.to_string());
    }
}
