//! Times as the store keeps them: Unix milliseconds (`i64`), compact,
//! sortable, no time zone. Showing them (RFC 3339 in the API, local time
//! in the CLI) is the clients' business. Values beyond the years ±9999 are
//! refused on insert, so every stored time can be shown as a date.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_representable_within_ten_thousand_years() {
        assert!(!is_representable(i64::MAX));
        assert!(is_representable(0));
        assert!(is_representable(-1));
        assert!(is_representable(253_402_300_799_999)); // 9999-12-31T23:59:59.999Z
        assert!(now_ms() > 1_700_000_000_000);
    }
}
