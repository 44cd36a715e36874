//! Every text the app shows, and the small formatting helpers they share.

use serde_json::Value;

use crate::args::{Filters, Kind};

/// Escapes what Slack's mrkdwn reads as markup: `&`, `<`, `>`.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A link: `<url|text>` (the text escaped); the text alone without a URL.
pub fn link(url: Option<&str>, text: &str) -> String {
    match url.filter(|u| !u.is_empty() && !u.contains(['|', '>', ' '])) {
        Some(url) => format!("<{url}|{}>", escape(text)),
        None => escape(text),
    }
}

/// The first line of `text`, at most `max` characters (with `…` when cut).
pub fn first_line(text: &str, max: usize) -> String {
    let trimmed = text.trim();
    let line = trimmed.lines().next().unwrap_or_default().trim();
    let mut out: String = line.chars().take(max).collect();
    if line.chars().count() > max || trimmed.lines().count() > 1 {
        out.push('…');
    }
    out
}

/// `text` cut to `max` characters, with `…` when cut.
pub fn cut(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Milliseconds since the epoch as `20260105T090000Z` (UTC): a timestamp
/// that sorts, and is safe in an object key.
pub fn stamp(ms: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(ms);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// Milliseconds since the epoch as `2026-01-05 09:00 UTC`.
pub fn when(ms: u64) -> String {
    let (y, mo, d, h, mi, _) = civil(ms);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC")
}

/// (year, month, day, hour, minute, second) in UTC, by Howard Hinnant's
/// days-from-civil inverse.
fn civil(ms: u64) -> (i64, u32, u32, u32, u32, u32) {
    let secs = (ms / 1000) as i64;
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rest / 3600) as u32,
        (rest % 3600 / 60) as u32,
        (rest % 60) as u32,
    )
}

/// A subscription's filters in words: `pushes, pull requests, reviews and
/// releases, labelled ops or security, by alice`.
pub fn filters(filters: &Filters) -> String {
    let kinds: Vec<&str> = filters
        .events
        .iter()
        .map(|k| match k {
            Kind::Push => "pushes",
            Kind::PullRequest => "pull requests",
            Kind::Review => "reviews",
            Kind::Release => "releases",
        })
        .collect();
    let mut text = and_list(&kinds);
    if !filters.labels.is_empty() {
        let labels: Vec<String> = filters
            .labels
            .iter()
            .map(|l| format!("`{}`", escape(l)))
            .collect();
        text.push_str(&format!(", pull requests labelled {}", or_list(&labels)));
    }
    if !filters.authors.is_empty() {
        text.push_str(&format!(", by {}", or_list(&filters.authors)));
    }
    text
}

fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    join(items, "and")
}

fn or_list<S: AsRef<str>>(items: &[S]) -> String {
    join(items, "or")
}

fn join<S: AsRef<str>>(items: &[S], word: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [rest @ .., last] => format!(
            "{} {word} {}",
            rest.iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

/// `hooks list`: one line per webhook.
pub fn hooks(repo: &str, hooks: &[Value]) -> String {
    if hooks.is_empty() {
        return format!("`{repo}` has no webhooks.");
    }
    let mut text = format!("Webhooks of `{repo}`:");
    for hook in hooks {
        let id = hook["id"].as_u64().unwrap_or_default();
        let url = hook["config"]["url"].as_str().unwrap_or("(no URL)");
        let events: Vec<&str> = hook["events"]
            .as_array()
            .map(|e| e.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let active = if hook["active"].as_bool().unwrap_or(true) {
            ""
        } else {
            " _(inactive)_"
        };
        let last = match (
            hook["last_response"]["code"].as_u64(),
            hook["last_response"]["status"].as_str(),
        ) {
            (Some(code), _) => format!(", last delivery answered {code}"),
            (None, Some("unused")) | (None, None) => String::new(),
            (None, Some(status)) => format!(", last delivery {status}"),
        };
        text.push_str(&format!(
            "\n• `{id}` {} — {}{active}{last}",
            escape(url),
            events.join(", ")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stamps_and_dates_are_utc() {
        assert_eq!(stamp(0), "19700101T000000Z");
        // 2026-01-05T09:00:00Z, the test kit's default start.
        assert_eq!(stamp(1_767_603_600_000), "20260105T090000Z");
        assert_eq!(when(1_767_603_600_000), "2026-01-05 09:00 UTC");
        // A leap day.
        assert_eq!(stamp(1_709_210_096_000), "20240229T123456Z");
    }

    #[test]
    fn helpers_escape_cut_and_count() {
        assert_eq!(escape("a<b>&c"), "a&lt;b&gt;&amp;c");
        assert_eq!(
            link(Some("https://x/y"), "T<1>"),
            "<https://x/y|T&lt;1&gt;>"
        );
        assert_eq!(link(None, "T"), "T");
        assert_eq!(first_line("Fix it\n\nbecause", 72), "Fix it…");
        assert_eq!(first_line("Fix it", 72), "Fix it");
        assert_eq!(first_line("abcdef", 3), "abc…");
        assert_eq!(cut("abcdef", 3), "abc…");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn filters_read_as_a_sentence() {
        let f = Filters {
            labels: vec!["ops".into(), "security".into()],
            authors: vec!["alice".into()],
            events: vec![Kind::PullRequest, Kind::Review],
        };
        assert_eq!(
            filters(&f),
            "pull requests and reviews, pull requests labelled `ops` or `security`, by alice"
        );
        let all = Filters {
            labels: vec![],
            authors: vec![],
            events: Kind::ALL.to_vec(),
        };
        assert_eq!(filters(&all), "pushes, pull requests, reviews and releases");
    }

    #[test]
    fn hooks_are_listed_with_their_ids() {
        let hooks_json = json!([
            {"id": 12, "config": {"url": "https://ci.example.com/h"}, "events": ["push", "release"], "active": true, "last_response": {"code": 200, "status": "active"}},
            {"id": 13, "config": {"url": "https://x.example.com"}, "events": ["*"], "active": false, "last_response": {"code": null, "status": "unused"}}
        ]);
        assert_eq!(
            hooks("acme/shop", hooks_json.as_array().unwrap()),
            "Webhooks of `acme/shop`:\n• `12` https://ci.example.com/h — push, release, last delivery answered 200\n• `13` https://x.example.com — * _(inactive)_"
        );
        assert_eq!(hooks("acme/shop", &[]), "`acme/shop` has no webhooks.");
    }
}
