//! WhatsApp's customer service window: free text reaches a customer only
//! within 24 hours of their last message; after that only an approved
//! template does. The plugin knows when each customer last wrote (the
//! notification's timestamp) and compares it with the time the host gave
//! the operator's message, so a reply outside the window goes as the
//! template, or is held back with a clear reason, instead of failing at
//! WhatsApp.

/// The window's length, in seconds.
pub const WINDOW_SECONDS: i64 = 24 * 60 * 60;

/// Whether free text sent at `now` reaches a customer who last wrote at
/// `last` (both Unix seconds); never, when they have not written at all.
pub fn is_open(last: Option<i64>, now: i64) -> bool {
    last.is_some_and(|last| now.saturating_sub(last) < WINDOW_SECONDS)
}

/// Unix seconds of an RFC 3339 time such as `2026-12-03T16:35:29.5Z` or
/// `2026-12-03T18:35:29+02:00`; `None` for anything else.
pub fn unix_seconds(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<i64> {
        let s = text.get(from..to)?;
        s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok()).flatten()
    };
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = text.get(19..)?;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            sign * (number_at(rest, 1)? * 3600 + number_at(rest, 4)? * 60)
        }
    };
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn number_at(s: &str, at: usize) -> Option<i64> {
    let two = s.get(at..at + 2)?;
    two.bytes().all(|c| c.is_ascii_digit()).then(|| two.parse().ok()).flatten()
}

/// Days since 1970-01-01 of a date in the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_times_the_host_writes() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2026-12-03T16:35:29Z"), Some(1_796_315_729));
        assert_eq!(unix_seconds("2026-12-03T16:35:29.123456Z"), Some(1_796_315_729));
        assert_eq!(unix_seconds("2026-12-03T18:35:29+02:00"), Some(1_796_315_729));
        assert_eq!(unix_seconds("2000-02-29T00:00:00Z"), Some(951_782_400));
        for bad in ["", "yesterday", "2026-13-03T16:35:29Z", "2026-12-03T16:35:29", "2026-12-03T16:35:29+0200"] {
            assert_eq!(unix_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_window_is_open_for_24_hours_after_the_customer_wrote() {
        assert!(is_open(Some(1_000), 1_000 + WINDOW_SECONDS - 1));
        assert!(!is_open(Some(1_000), 1_000 + WINDOW_SECONDS));
        assert!(!is_open(None, 1_000), "a customer who never wrote cannot get free text");
    }

    proptest! {
        #[test]
        fn never_panics_and_reads_what_it_prints(s in "\\PC{0,40}", secs in 0i64..4_102_444_800) {
            let _ = unix_seconds(&s);
            let days = secs.div_euclid(86_400);
            // Print the time back from the civil date found by search.
            let mut year = 1970;
            while days_from_civil(year + 1, 1, 1) <= days { year += 1; }
            let mut month = 1;
            while month < 12 && days_from_civil(year, month + 1, 1) <= days { month += 1; }
            let day = days - days_from_civil(year, month, 1) + 1;
            let rest = secs.rem_euclid(86_400);
            let text = format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest / 60 % 60, rest % 60);
            prop_assert_eq!(unix_seconds(&text), Some(secs));
        }
    }
}
