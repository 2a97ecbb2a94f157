//! SENT_AT, the time a signed frame says it was sent: increasing for the
//! frames one daemon signs, so that a receiver can order an author's live
//! notices by it.

/// How far (ms) SENT_AT may run ahead of the clock: well within the 10
/// minutes receivers allow.
const AHEAD: i64 = 60_000;

/// The SENT_AT of a frame signed now (Unix ms): after every earlier one
/// of this daemon's, by a millisecond if the clock has not moved on. A
/// receiver orders an author's live-notice updates by it, and drops one no
/// later than the one it shows: two updates signed within a millisecond
/// (an alert raised again at once) must not tie. A clock set back by
/// more than [`AHEAD`] is followed (frames far ahead of the clock would be
/// refused as from the future).
pub(super) fn next() -> i64 {
    static LAST: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let now = messngr_store::clock::now_ms();
    let after = |last: i64| {
        if now > last || last - now >= AHEAD {
            now
        } else {
            last + 1
        }
    };
    let previous = LAST
        .fetch_update(
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
            |last| Some(after(last)),
        )
        .unwrap_or(now);
    after(previous)
}

#[cfg(test)]
mod tests {
    #[test]
    fn frames_signed_at_once_are_a_millisecond_apart() {
        let times: Vec<i64> = (0..2000).map(|_| super::next()).collect();
        assert!(times.windows(2).all(|w| w[1] > w[0]), "{times:?}");
        let now = messngr_store::clock::now_ms();
        assert!(times[1999] <= now + 2000, "{} ahead of {now}", times[1999]);
    }
}
