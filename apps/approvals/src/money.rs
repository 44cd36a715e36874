//! Amounts in cents, as people type them and as they are shown; and the
//! dates delegation is given until.

/// `1250`, `1,250.5`, `1 250.00`, `$1,250` → 125050 cents (…). At most two
/// decimals; never negative.
pub fn parse_amount(text: &str) -> Result<i64, String> {
    let cleaned: String = text
        .trim()
        .trim_start_matches(['$', '€', '£'])
        .chars()
        .filter(|c| *c != ',' && *c != ' ' && *c != '_')
        .collect();
    let bad = || {
        format!(
            "`{}` is not an amount: write it like `1250` or `1,250.50`",
            text.trim()
        )
    };
    if cleaned.is_empty() {
        return Err(bad());
    }
    let (whole, frac) = match cleaned.split_once('.') {
        Some((w, f)) => (w, f),
        None => (cleaned.as_str(), ""),
    };
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || whole.len() > 13
    {
        return Err(bad());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| bad())? * 10,
        _ => frac.parse().map_err(|_| bad())?,
    };
    let cents = whole * 100 + frac;
    if cents <= 0 {
        return Err(format!(
            "The amount must be more than zero, not `{}`.",
            text.trim()
        ));
    }
    Ok(cents)
}

/// A JSON number of currency units (`1250.5`) → cents.
pub fn from_units(units: f64) -> Result<i64, String> {
    if !units.is_finite() || units <= 0.0 || units > 1e13 {
        return Err(format!("`amount` must be a positive number, not {units}"));
    }
    Ok((units * 100.0).round() as i64)
}

/// 125050 → `1,250.50`.
pub fn format_cents(cents: i64) -> String {
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped}.{:02}", cents % 100)
}

/// `usd` → `USD`; three letters.
pub fn currency(text: &str) -> Result<String, String> {
    let code = text.trim().to_ascii_uppercase();
    if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(format!(
            "`{}` is not a currency code: three letters, like `USD` or `EUR`",
            text.trim()
        ))
    }
}

const DAY_MS: u64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2026-12-10` → the end of that day, UTC (the first millisecond of the
/// next day): delegation "until" a date includes the whole date.
pub fn end_of_day(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not a date: write it like `2026-12-10`");
    let parts: Vec<&str> = text.trim().split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let (y, m, d): (i64, i64, i64) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let days = days_from_civil(y, m, d);
    if civil_from_days(days) != (y, m, d) {
        return Err(format!("{text} is not a day of the calendar"));
    }
    Ok((days as u64 + 1) * DAY_MS)
}

/// Unix ms → `2026-12-10 14:05 UTC`.
pub fn format_time(ms: u64) -> String {
    let days = (ms / DAY_MS) as i64;
    let (y, m, d) = civil_from_days(days);
    let in_day = ms % DAY_MS;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        in_day / 3_600_000,
        in_day % 3_600_000 / 60_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_as_people_type_them() {
        assert_eq!(parse_amount("1250"), Ok(125_000));
        assert_eq!(parse_amount("1,250.5"), Ok(125_050));
        assert_eq!(parse_amount("$ 1 250.05"), Ok(125_005));
        assert_eq!(parse_amount(".5"), Ok(50));
        assert!(parse_amount("12.345").is_err());
        assert!(parse_amount("0").is_err());
        assert!(parse_amount("-4").is_err());
        assert!(parse_amount("ten").is_err());
        assert_eq!(format_cents(125_050), "1,250.50");
        assert_eq!(format_cents(100_000_000), "1,000,000.00");
        assert_eq!(format_cents(5), "0.05");
        assert_eq!(from_units(1250.5), Ok(125_050));
    }

    #[test]
    fn dates_end_at_the_end_of_the_day() {
        let end = end_of_day("2026-12-10").unwrap();
        assert_eq!(format_time(end), "2026-12-11 00:00 UTC");
        assert_eq!(format_time(end - 1), "2026-12-10 23:59 UTC");
        assert!(end_of_day("2026-02-30").is_err());
        assert!(end_of_day("10/12/2026").is_err());
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
    }
}
