//! The calendar: when Black Friday is, when a day begins in a time zone,
//! how long until then, and when the countdown is posted. Pure functions of
//! a time zone and an instant (Unix milliseconds), so they are unit-tested
//! natively (`cargo test` in `apps/blackfriday`).
//!
//! Time zones come from `chrono-tz` (the IANA database compiled into the
//! component), so every zone Slack reports is right, with its own
//! daylight-saving rules — past, present and announced.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Weekday,
};
use chrono_tz::Tz;

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// Thanksgiving in the US: the fourth Thursday of November.
pub fn fourth_thursday(year: i32) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, 11, Weekday::Thu, 4)
        .expect("every November has four Thursdays")
}

/// Black Friday: the day after the fourth Thursday of November.
pub fn black_friday(year: i32) -> NaiveDate {
    fourth_thursday(year) + Duration::days(1)
}

/// The zone called `name` (`Europe/Paris`), if it is an IANA zone.
pub fn zone(name: &str) -> Option<Tz> {
    name.trim().parse().ok()
}

/// The wall-clock time in `tz` at `ms`.
pub fn local(tz: Tz, ms: i64) -> NaiveDateTime {
    let utc = DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .naive_utc();
    tz.from_utc_datetime(&utc).naive_local()
}

/// The instant `date` begins in `tz`: its midnight, or — where a DST change
/// skips midnight (Chile, Lebanon …) — the first minute that exists.
pub fn start_of_day(tz: Tz, date: NaiveDate) -> i64 {
    let midnight = date.and_time(NaiveTime::MIN);
    for quarter in 0..=8 {
        let wall = midnight + Duration::minutes(15 * quarter);
        if let Some(at) = tz.from_local_datetime(&wall).earliest() {
            return at.timestamp_millis();
        }
    }
    // No zone skips more than two hours; read midnight as UTC rather than fail.
    midnight.and_utc().timestamp_millis()
}

/// Where `now` stands relative to Black Friday, on the calendar of `tz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Countdown {
    /// The Black Friday counted to: this year's until it is over, then next
    /// year's. On Black Friday itself, today.
    pub date: NaiveDate,
    /// When it begins in `tz` (Unix ms).
    pub starts_ms: i64,
    /// How long until then (0 on the day itself): real elapsed time, so
    /// an hour a DST change adds or removes on the way is counted.
    pub remaining_ms: i64,
    /// It is Black Friday today in `tz`.
    pub today: bool,
    /// It is the last day before it in `tz` (Thanksgiving).
    pub last_day: bool,
}

impl Countdown {
    pub fn at(tz: Tz, now_ms: i64) -> Countdown {
        let today = local(tz, now_ms).date();
        let mut date = black_friday(today.year());
        if today > date {
            date = black_friday(today.year() + 1);
        }
        let starts_ms = start_of_day(tz, date);
        Countdown {
            date,
            starts_ms,
            remaining_ms: (starts_ms - now_ms).max(0),
            today: today == date,
            last_day: today + Duration::days(1) == date,
        }
    }

    /// The Black Friday after this one.
    pub fn next_year(&self) -> NaiveDate {
        black_friday(self.date.year() + 1)
    }
}

/// "23 days and 14 hours", "1 day", "14 hours and 30 minutes", "5 minutes",
/// "less than a minute": whole units, rounded down (the rest is still to go).
pub fn span(ms: i64) -> String {
    let ms = ms.max(0);
    let (days, hours, minutes) = (ms / DAY, ms % DAY / HOUR, ms % HOUR / MINUTE);
    let unit = |n: i64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let pair = |big: i64, big_unit: &str, small: i64, small_unit: &str| {
        if small == 0 {
            unit(big, big_unit)
        } else {
            format!("{} and {}", unit(big, big_unit), unit(small, small_unit))
        }
    };
    if days > 0 {
        pair(days, "day", hours, "hour")
    } else if hours > 0 {
        pair(hours, "hour", minutes, "minute")
    } else if minutes > 0 {
        unit(minutes, "minute")
    } else {
        "less than a minute".into()
    }
}

/// [`span`] on the last day, which counts in hours: "24 hours" at midnight
/// rather than "1 day".
pub fn hours_span(ms: i64) -> String {
    if ms >= DAY {
        format!("{} hours", ms / HOUR)
    } else {
        span(ms)
    }
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "Friday 27 November 2026".
pub fn long_date(date: NaiveDate) -> String {
    format!(
        "{} {} {} {}",
        WEEKDAYS[date.weekday().num_days_from_monday() as usize],
        date.day(),
        MONTHS[date.month0() as usize],
        date.year()
    )
}

/// Which countdown post is due at `slot_ms` (a tick's due time) in `tz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Post {
    /// 09:00 on a working day (Monday to Friday), Black Friday included.
    Daily,
    /// On the hour, every hour of the last day before Black Friday.
    Hourly,
}

/// The hour of the daily post, on the clock of the post's time zone.
pub const POST_HOUR: u32 = 9;

/// The post due at `slot_ms` in `tz`, if one is: on the hour every hour of
/// the last day (00:00 to 23:00), else 09:00 Monday to Friday.
pub fn post_due(tz: Tz, slot_ms: i64) -> Option<Post> {
    let wall = local(tz, slot_ms);
    if wall.minute() != 0 {
        return None;
    }
    if Countdown::at(tz, slot_ms).last_day {
        return Some(Post::Hourly);
    }
    let working_day = wall.weekday().num_days_from_monday() < 5;
    (working_day && wall.hour() == POST_HOUR).then_some(Post::Daily)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_fourth_thursday_of_november_whatever_weekday_november_starts_on() {
        let known = [
            (2018, 22), // 1 Nov is a Thursday: the 1st, 8th, 15th, 22nd
            (2019, 28), // a Friday: the first Thursday is the 7th
            (2020, 26),
            (2021, 25),
            (2022, 24),
            (2023, 23),
            (2024, 28),
            (2025, 27),
            (2026, 26),
            (2027, 25),
            (2028, 23),
            (2029, 22),
            (2030, 28),
            (2031, 27),
            (2032, 25), // a leap year
        ];
        for (year, day) in known {
            assert_eq!(fourth_thursday(year), ymd(year, 11, day), "{year}");
            assert_eq!(black_friday(year), ymd(year, 11, day + 1), "{year}");
            assert_eq!(black_friday(year).weekday(), Weekday::Fri);
        }
        // Always between the 23rd and the 29th, for four centuries.
        for year in 1900..2300 {
            let bf = black_friday(year);
            assert!((23..=29).contains(&bf.day()), "{bf}");
            assert_eq!(bf.weekday(), Weekday::Fri);
        }
    }

    #[test]
    fn black_friday_begins_at_local_midnight_with_the_november_offset() {
        let at = |zone: &str| start_of_day(zone.parse().unwrap(), ymd(2026, 11, 27));
        assert_eq!(at("UTC"), ms("2026-11-27T00:00:00Z"));
        assert_eq!(at("America/New_York"), ms("2026-11-27T05:00:00Z")); // EST, not EDT
        assert_eq!(at("America/Los_Angeles"), ms("2026-11-27T08:00:00Z"));
        assert_eq!(at("Europe/Paris"), ms("2026-11-26T23:00:00Z")); // CET, not CEST
        assert_eq!(at("Australia/Sydney"), ms("2026-11-26T13:00:00Z")); // AEDT: summer there
        assert_eq!(at("Asia/Kolkata"), ms("2026-11-26T18:30:00Z"));
        assert_eq!(at("Asia/Kathmandu"), ms("2026-11-26T18:15:00Z"));
        assert_eq!(at("Pacific/Kiritimati"), ms("2026-11-26T10:00:00Z"));
    }

    #[test]
    fn the_countdown_is_real_time_across_a_dst_change() {
        // 20 October 10:00 in Paris is summer time (UTC+2); Black Friday's
        // midnight is winter time (UTC+1): the clocks go back an hour on
        // 25 October, so 37 days and 14 wall-clock hours are 37 days and 15
        // real hours.
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let c = Countdown::at(paris, ms("2026-10-20T10:00:00+02:00"));
        assert_eq!(c.date, ymd(2026, 11, 27));
        assert_eq!(c.remaining_ms, 37 * DAY + 15 * HOUR);
        assert_eq!(span(c.remaining_ms), "37 days and 15 hours");
        // New York leaves DST on 1 November 2026.
        let ny: Tz = "America/New_York".parse().unwrap();
        let c = Countdown::at(ny, ms("2026-10-31T12:00:00-04:00"));
        assert_eq!(c.remaining_ms, 26 * DAY + 13 * HOUR);
        // Sydney enters DST on 4 October 2026: an hour less.
        let sydney: Tz = "Australia/Sydney".parse().unwrap();
        let c = Countdown::at(sydney, ms("2026-10-01T12:00:00+10:00"));
        assert_eq!(c.remaining_ms, 56 * DAY + 11 * HOUR);
    }

    #[test]
    fn a_day_skipped_at_midnight_begins_at_its_first_minute() {
        // Chile enters DST at midnight: 6 September 2026 has no 00:00.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let start = start_of_day(santiago, ymd(2026, 9, 6));
        assert_eq!(
            local(santiago, start),
            ymd(2026, 9, 6).and_hms_opt(1, 0, 0).unwrap()
        );
        assert_eq!(start, ms("2026-09-06T04:00:00Z"));
    }

    #[test]
    fn the_day_itself_the_last_day_and_after_it() {
        let utc: Tz = "UTC".parse().unwrap();
        let c = Countdown::at(utc, ms("2026-11-26T09:00:00Z"));
        assert!(c.last_day && !c.today);
        assert_eq!(span(c.remaining_ms), "15 hours");
        let c = Countdown::at(utc, ms("2026-11-26T23:30:00Z"));
        assert_eq!(span(c.remaining_ms), "30 minutes");
        let c = Countdown::at(utc, ms("2026-11-27T00:00:00Z"));
        assert!(c.today && !c.last_day);
        assert_eq!(c.date, ymd(2026, 11, 27));
        assert_eq!(c.next_year(), ymd(2027, 11, 26));
        let c = Countdown::at(utc, ms("2026-11-27T23:59:59Z"));
        assert!(c.today);
        // The next day counts to next year's.
        let c = Countdown::at(utc, ms("2026-11-28T00:00:00Z"));
        assert!(!c.today && !c.last_day);
        assert_eq!(c.date, ymd(2027, 11, 26));
        assert_eq!(span(c.remaining_ms), "363 days");
        // On 31 December, to next year's too.
        let c = Countdown::at(utc, ms("2026-12-31T23:00:00Z"));
        assert_eq!(c.date, ymd(2027, 11, 26));
    }

    #[test]
    fn the_same_instant_is_a_different_day_in_each_zone() {
        // 2026-11-26T12:00Z: already Black Friday in Kiritimati (UTC+14),
        // still Thanksgiving in Pago Pago (UTC-11).
        let now = ms("2026-11-26T12:00:00Z");
        let c = Countdown::at("Pacific/Kiritimati".parse().unwrap(), now);
        assert!(c.today);
        let c = Countdown::at("Pacific/Pago_Pago".parse().unwrap(), now);
        assert!(c.last_day);
        assert_eq!(c.remaining_ms, 23 * HOUR);
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(0), "less than a minute");
        assert_eq!(span(59_999), "less than a minute");
        assert_eq!(span(MINUTE), "1 minute");
        assert_eq!(span(HOUR + MINUTE), "1 hour and 1 minute");
        assert_eq!(
            span(2 * HOUR + 59 * MINUTE + 59_999),
            "2 hours and 59 minutes"
        );
        assert_eq!(span(DAY), "1 day");
        assert_eq!(span(DAY + HOUR), "1 day and 1 hour");
        assert_eq!(
            span(23 * DAY + 14 * HOUR + 59 * MINUTE),
            "23 days and 14 hours"
        );
    }

    #[test]
    fn dates_are_written_out() {
        assert_eq!(long_date(ymd(2026, 11, 27)), "Friday 27 November 2026");
        assert_eq!(long_date(ymd(2027, 11, 26)), "Friday 26 November 2027");
    }

    #[test]
    fn posts_at_nine_on_working_days_and_hourly_on_the_last_day() {
        let ny: Tz = "America/New_York".parse().unwrap();
        // Monday 23 November 2026 09:00 EST.
        assert_eq!(
            post_due(ny, ms("2026-11-23T09:00:00-05:00")),
            Some(Post::Daily)
        );
        assert_eq!(post_due(ny, ms("2026-11-23T09:15:00-05:00")), None);
        assert_eq!(post_due(ny, ms("2026-11-23T10:00:00-05:00")), None);
        assert_eq!(post_due(ny, ms("2026-11-23T09:00:00Z")), None); // 04:00 there
                                                                    // The weekend before: nothing.
        assert_eq!(post_due(ny, ms("2026-11-21T09:00:00-05:00")), None);
        assert_eq!(post_due(ny, ms("2026-11-22T09:00:00-05:00")), None);
        // Thanksgiving, the last day: every hour, midnight to 23:00.
        for hour in 0..24 {
            let at = ms(&format!("2026-11-26T{hour:02}:00:00-05:00"));
            assert_eq!(post_due(ny, at), Some(Post::Hourly), "{hour}:00");
            assert_eq!(post_due(ny, at + 30 * MINUTE), None);
        }
        // Black Friday itself is a working day: 09:00 only.
        assert_eq!(
            post_due(ny, ms("2026-11-27T09:00:00-05:00")),
            Some(Post::Daily)
        );
        assert_eq!(post_due(ny, ms("2026-11-27T10:00:00-05:00")), None);
        // Summer time: 09:00 EDT is 13:00 UTC.
        assert_eq!(post_due(ny, ms("2026-06-01T13:00:00Z")), Some(Post::Daily));
        assert_eq!(post_due(ny, ms("2026-06-01T14:00:00Z")), None);
        // Half- and three-quarter-hour zones post at their own 09:00.
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(
            post_due(kolkata, ms("2026-11-23T03:30:00Z")),
            Some(Post::Daily)
        );
        let kathmandu: Tz = "Asia/Kathmandu".parse().unwrap();
        assert_eq!(
            post_due(kathmandu, ms("2026-11-23T03:15:00Z")),
            Some(Post::Daily)
        );
    }

    #[test]
    fn zones_are_iana_names() {
        assert!(zone("Europe/Paris").is_some());
        assert!(zone(" America/Argentina/Buenos_Aires ").is_some());
        assert!(zone("Mars/Olympus_Mons").is_none());
        assert!(zone("").is_none());
    }
}
