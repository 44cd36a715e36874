//! Time as people write it in a poll — `17:00`, `2h`, `2026-12-24 17:00`,
//! `daily 09:00`, a cron line — in UTC unless they add an offset
//! (`17:00+02:00`). All arithmetic is on Unix milliseconds from the host's
//! clock, so the scenario kit's virtual time works as real time does.

const MINUTE: u64 = 60_000;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count: (year, month 1-12, day 1-31).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The fields cron matches, of a moment in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields {
    pub minute: u32,
    pub hour: u32,
    pub day: u32,
    pub month: u32,
    /// 0 = Sunday.
    pub weekday: u32,
}

pub fn fields(ms: u64) -> Fields {
    let days = (ms / DAY) as i64;
    let (_, month, day) = civil_from_days(days);
    let in_day = ms % DAY;
    Fields {
        minute: ((in_day / MINUTE) % 60) as u32,
        hour: (in_day / HOUR) as u32,
        day,
        month,
        // 1970-01-01 was a Thursday.
        weekday: ((days + 4).rem_euclid(7)) as u32,
    }
}

/// Slack's date formatting: each reader sees `ms` in their own time zone.
pub fn slack_date(ms: u64) -> String {
    let secs = ms / 1000;
    let f = fields(ms);
    let (y, mo, d) = civil_from_days((ms / DAY) as i64);
    format!(
        "<!date^{secs}^{{date_short_pretty}} at {{time}}|{y:04}-{mo:02}-{d:02} {:02}:{:02} UTC>",
        f.hour, f.minute
    )
}

/// A duration: `90s`, `30m`, `2h`, `1d`, `1h30m`, `1w`.
pub fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let (mut total, mut number) = (0u64, String::new());
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1000,
            'm' => MINUTE,
            'h' => HOUR,
            'd' => DAY,
            'w' => 7 * DAY,
            _ => return None,
        };
        let n: u64 = number.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return None;
    }
    Some(total)
}

/// `HH:MM` with an optional offset (`+02:00`, `-0530`, `Z`, ` UTC`):
/// minutes after midnight, and the offset in minutes east of UTC.
fn parse_clock(text: &str) -> Option<(i64, i64)> {
    let text = text.trim();
    let text = text
        .strip_suffix("UTC")
        .or_else(|| text.strip_suffix('Z'))
        .map(str::trim)
        .unwrap_or(text);
    let (clock, offset) = match text.rfind(['+', '-']) {
        Some(at) if at > 0 => (&text[..at], parse_offset(&text[at..])?),
        _ => (text, 0),
    };
    let (h, m) = clock.trim().split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    Some((h * 60 + m, offset))
}

/// `+02:00`, `-0530`, `+2`: minutes east of UTC.
fn parse_offset(text: &str) -> Option<i64> {
    let sign = if text.starts_with('-') { -1 } else { 1 };
    let digits: String = text[1..].chars().filter(|c| *c != ':').collect();
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i64>().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        _ => return None,
    };
    (h <= 14 && m < 60).then_some(sign * (h * 60 + m))
}

/// When `text` says, after `now`: a duration from now, the next `HH:MM`,
/// or a date and time (`2026-12-24 17:00`, `2026-12-24T17:00`).
pub fn parse_when(text: &str, now: u64) -> Result<u64, String> {
    let text = text.trim();
    let bad = || {
        format!(
            "I can't read `{text}` as a time: write a duration (`30m`, `2h`, `1d`), a time of day in UTC (`17:00`, or `17:00+02:00` with your offset) or a date and time (`2026-12-24 17:00`)"
        )
    };
    if let Some(ms) = parse_duration(text) {
        return Ok(now + ms);
    }
    let (date, clock) = match text.split_once(['T', ' ']) {
        Some((date, clock)) if date.contains('-') && date.len() == 10 => (Some(date), clock),
        _ => (None, text),
    };
    let (minutes, offset) = parse_clock(clock).ok_or_else(bad)?;
    let at = match date {
        Some(date) => {
            let mut parts = date.split('-');
            let (y, m, d) = (
                parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?,
                parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?,
                parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?,
            );
            if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
                return Err(bad());
            }
            let ms = (days_from_civil(y, m, d) * 1440 + minutes - offset) * 60_000;
            u64::try_from(ms).map_err(|_| bad())?
        }
        None => {
            // The next time the clock shows it, in that offset.
            let local_now = now as i64 + offset * 60_000;
            let midnight = local_now - local_now.rem_euclid(DAY as i64);
            let mut at = midnight + minutes * 60_000;
            if at <= local_now {
                at += DAY as i64;
            }
            (at - offset * 60_000) as u64
        }
    };
    if at <= now {
        return Err(format!("`{text}` is in the past"));
    }
    Ok(at)
}

/// A cron line (`0 9 * * 1-5`, UTC), or one of the shorthands people
/// write: `daily 09:00`, `weekdays 09:00`, `weekly mon 09:00`,
/// `monthly 1 09:00`. Returns the cron line.
pub fn parse_repeat(text: &str) -> Result<String, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let clock = |w: &str| -> Result<(u32, u32), String> {
        let (minutes, offset) =
            parse_clock(w).ok_or_else(|| format!("`{w}` is not a time like `09:00`"))?;
        if offset != 0 {
            return Err("a repeating poll's time is in UTC: leave out the offset".into());
        }
        Ok(((minutes / 60) as u32, (minutes % 60) as u32))
    };
    let line = match words.as_slice() {
        ["daily", t] => {
            let (h, m) = clock(t)?;
            format!("{m} {h} * * *")
        }
        ["weekdays", t] => {
            let (h, m) = clock(t)?;
            format!("{m} {h} * * 1-5")
        }
        ["weekly", day, t] => {
            let (h, m) = clock(t)?;
            let day = weekday(day).ok_or_else(|| format!("`{day}` is not a day of the week"))?;
            format!("{m} {h} * * {day}")
        }
        ["monthly", day, t] => {
            let (h, m) = clock(t)?;
            let day: u32 = day
                .parse()
                .ok()
                .filter(|d| (1..=28).contains(d))
                .ok_or_else(|| format!("`{day}` is not a day of the month from 1 to 28"))?;
            format!("{m} {h} {day} * *")
        }
        _ => text.split_whitespace().collect::<Vec<_>>().join(" "),
    };
    Cron::parse(&line)?;
    Ok(line)
}

fn weekday(name: &str) -> Option<u32> {
    let name = name.to_ascii_lowercase();
    ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        .iter()
        .position(|d| name.starts_with(d))
        .map(|i| i as u32)
}

fn month(name: &str) -> Option<u32> {
    let name = name.to_ascii_lowercase();
    [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    .iter()
    .position(|m| name.starts_with(m))
    .map(|i| i as u32 + 1)
}

/// A five-field cron line (minute hour day month weekday), matched
/// minute by minute. Day and weekday combine as cron does: when both are
/// restricted, either matching is enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minute: Vec<bool>,
    hour: Vec<bool>,
    day: Vec<bool>,
    month: Vec<bool>,
    weekday: Vec<bool>,
    day_any: bool,
    weekday_any: bool,
}

impl Cron {
    pub fn parse(line: &str) -> Result<Cron, String> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "`{line}` is not a schedule: write `daily 09:00`, `weekdays 09:00`, `weekly mon 09:00`, `monthly 1 09:00` or five cron fields (`0 9 * * 1`), in UTC"
            ));
        }
        let field = |i: usize, lo: u32, hi: u32, names: fn(&str) -> Option<u32>| {
            parse_field(fields[i], lo, hi, names)
                .ok_or_else(|| format!("`{}` is not a valid cron field in `{line}`", fields[i]))
        };
        let mut weekday = field(4, 0, 7, weekday)?;
        if weekday[7] {
            weekday[0] = true;
        }
        Ok(Cron {
            minute: field(0, 0, 59, |_| None)?,
            hour: field(1, 0, 23, |_| None)?,
            day: field(2, 1, 31, |_| None)?,
            month: field(3, 1, 12, month)?,
            weekday,
            day_any: fields[2] == "*",
            weekday_any: fields[4] == "*",
        })
    }

    fn date_matches(&self, f: Fields) -> bool {
        let day = self.day[f.day as usize];
        let weekday = self.weekday[f.weekday as usize];
        let date = match (self.day_any, self.weekday_any) {
            (false, false) => day || weekday,
            _ => day && weekday,
        };
        self.month[f.month as usize] && date
    }

    #[cfg(test)]
    pub fn matches(&self, f: Fields) -> bool {
        self.date_matches(f) && self.hour[f.hour as usize] && self.minute[f.minute as usize]
    }

    /// The first minute after `after_ms` the line matches, within two
    /// years (a line such as `0 0 31 2 *` never does).
    pub fn next_after(&self, after_ms: u64) -> Option<u64> {
        let mut t = (after_ms / MINUTE + 1) * MINUTE;
        let end = after_ms + 2 * 366 * DAY;
        while t < end {
            let f = fields(t);
            if !self.date_matches(f) {
                t = (t / DAY + 1) * DAY;
            } else if !self.hour[f.hour as usize] {
                t = (t / HOUR + 1) * HOUR;
            } else if !self.minute[f.minute as usize] {
                t += MINUTE;
            } else {
                return Some(t);
            }
        }
        None
    }
}

fn parse_field(text: &str, lo: u32, hi: u32, names: fn(&str) -> Option<u32>) -> Option<Vec<bool>> {
    let mut set = vec![false; hi as usize + 1];
    let value = |t: &str| {
        t.parse::<u32>()
            .ok()
            .or_else(|| names(t))
            .filter(|v| (lo..=hi).contains(v))
    };
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (a, b) = match range {
            "*" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                None if step > 1 => (value(r)?, hi),
                None => (value(r)?, value(r)?),
            },
        };
        if a > b {
            return None;
        }
        let mut v = a;
        while v <= b {
            set[v as usize] = true;
            v += step;
        }
    }
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-05T09:00:00Z, a Monday.
    const MONDAY_9: u64 = 1_767_603_600_000;

    #[test]
    fn dates_convert_both_ways() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            days_from_civil(2026, 1, 5) * DAY as i64 + 9 * HOUR as i64,
            MONDAY_9 as i64
        );
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        let f = fields(MONDAY_9);
        assert_eq!(
            (f.hour, f.minute, f.day, f.month, f.weekday),
            (9, 0, 5, 1, 1)
        );
    }

    #[test]
    fn times_people_write() {
        assert_eq!(parse_when("2h", MONDAY_9), Ok(MONDAY_9 + 2 * HOUR));
        assert_eq!(parse_when("1h30m", MONDAY_9), Ok(MONDAY_9 + 90 * MINUTE));
        assert_eq!(parse_when("17:00", MONDAY_9), Ok(MONDAY_9 + 8 * HOUR));
        assert_eq!(parse_when("08:00", MONDAY_9), Ok(MONDAY_9 + 23 * HOUR));
        assert_eq!(parse_when("17:00+02:00", MONDAY_9), Ok(MONDAY_9 + 6 * HOUR));
        assert_eq!(parse_when("17:00 UTC", MONDAY_9), Ok(MONDAY_9 + 8 * HOUR));
        assert_eq!(parse_when("2026-01-06 09:00", MONDAY_9), Ok(MONDAY_9 + DAY));
        assert_eq!(
            parse_when("2026-01-06T10:00+01:00", MONDAY_9),
            Ok(MONDAY_9 + DAY)
        );
        assert!(parse_when("2025-01-06 09:00", MONDAY_9)
            .unwrap_err()
            .contains("past"));
        assert!(parse_when("soon", MONDAY_9).unwrap_err().contains("`30m`"));
        assert!(parse_when("25:00", MONDAY_9).is_err());
    }

    #[test]
    fn repeats_and_cron() {
        assert_eq!(parse_repeat("daily 09:00").unwrap(), "0 9 * * *");
        assert_eq!(parse_repeat("weekly Fri 16:30").unwrap(), "30 16 * * 5");
        assert_eq!(parse_repeat("weekdays 9:15").unwrap(), "15 9 * * 1-5");
        assert!(parse_repeat("hourly").is_err());
        let cron = Cron::parse("0 9 * * 1-5").unwrap();
        assert!(cron.matches(fields(MONDAY_9)));
        assert!(!cron.matches(fields(MONDAY_9 + MINUTE)));
        assert!(!cron.matches(fields(MONDAY_9 + 5 * DAY)), "Saturday");
        let every = Cron::parse("*/15 * * jan sun,mon").unwrap();
        assert!(every.matches(fields(MONDAY_9 + 45 * MINUTE)));
        assert!(!every.matches(fields(MONDAY_9 + 40 * MINUTE)));
        assert_eq!(cron.next_after(MONDAY_9), Some(MONDAY_9 + DAY));
        assert_eq!(
            Cron::parse("30 16 * * 5").unwrap().next_after(MONDAY_9),
            Some(MONDAY_9 + 4 * DAY + 7 * HOUR + 30 * MINUTE)
        );
        assert_eq!(
            Cron::parse("0 0 31 2 *").unwrap().next_after(MONDAY_9),
            None
        );
        assert!(Cron::parse("0 9 * *").is_err());
        assert!(Cron::parse("61 9 * * *").is_err());
    }

    #[test]
    fn durations_read_for_people() {
        assert!(slack_date(MONDAY_9).contains("2026-01-05 09:00 UTC"));
    }
}
