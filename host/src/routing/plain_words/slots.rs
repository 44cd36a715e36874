//! Filling a phrase's slots from what was said.
//!
//! The most particular kinds take their words first — a mention, an id with
//! its prefix, a pattern, a span of time, a date, an amount, a choice — then
//! bare numbers, then a name (`word`: the first word nothing else took and
//! that is not one of the phrase's own words), and last free text, which
//! gets what is left where people put it: in quotes, after a comma or a
//! colon, or after the last slot.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};

use super::text::{Kind, MATCH, Token, is_stop, similarity};
use crate::contract::phrases::{Part, SlotKind, SlotSpec};

/// What filling one phrase's slots found.
pub struct Filled {
    pub values: HashMap<String, String>,
    /// How many typed slots (not names or free text) took something said:
    /// how much of the sentence the phrase accounts for.
    pub typed: usize,
    /// Required slots nothing was said for.
    pub missing: Vec<String>,
}

/// The order kinds take their words in.
fn rank(kind: &SlotKind) -> u8 {
    match kind {
        SlotKind::User => 0,
        SlotKind::Id(prefix) if !prefix.is_empty() => 1,
        SlotKind::Pattern(_) => 2,
        SlotKind::Duration => 3,
        SlotKind::Date => 4,
        SlotKind::Amount => 5,
        SlotKind::Choice(_) => 6,
        SlotKind::Id(_) => 7,
        SlotKind::Number => 8,
        SlotKind::Word => 9,
        SlotKind::Text => 10,
    }
}

/// Fills `slots` (of the template `parts`) from `tokens`; `own` says
/// whether a word is one of the phrase's own words, `naming` whether it is
/// one that names the command (an alias, the command's words: what free
/// text starts after); `today` dates `today`.
#[allow(clippy::too_many_arguments)]
pub fn fill(
    said: &str,
    tokens: &[Token],
    parts: &[Part],
    slots: &[SlotSpec],
    own: &dyn Fn(&str) -> bool,
    naming: &dyn Fn(&str) -> bool,
    patterns: &HashMap<String, regex::Regex>,
    today: NaiveDate,
) -> Filled {
    let mut taken = vec![false; tokens.len()];
    let mut values = HashMap::new();
    let mut typed = 0;
    let mut order: Vec<&SlotSpec> = slots.iter().collect();
    order.sort_by_key(|s| rank(&s.kind));
    for slot in order {
        let found = match &slot.kind {
            SlotKind::User => take_one(tokens, &mut taken, |t| {
                (t.kind == Kind::Mention).then(|| t.text.clone())
            }),
            SlotKind::Id(prefix) => {
                let want = prefix.trim_end_matches('-').to_lowercase();
                take_one(tokens, &mut taken, |t| {
                    if t.kind != Kind::Word {
                        return None;
                    }
                    let rest = t.norm.strip_prefix('#').unwrap_or(&t.norm);
                    let rest = rest.strip_prefix(want.as_str())?;
                    let digits = rest.strip_prefix('-').unwrap_or(rest);
                    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                        .then(|| format!("{prefix}{digits}"))
                })
            }
            SlotKind::Pattern(p) => patterns.get(p).and_then(|re| {
                take_one(tokens, &mut taken, |t| {
                    (t.kind == Kind::Word && re.is_match(&t.text)).then(|| t.text.clone())
                })
            }),
            SlotKind::Duration => duration(tokens, &mut taken),
            SlotKind::Date => take_one(tokens, &mut taken, |t| date(&t.norm, today)),
            SlotKind::Amount => take_one(tokens, &mut taken, |t| amount(&t.norm)),
            SlotKind::Choice(values) => take_one(tokens, &mut taken, |t| {
                if t.kind != Kind::Word {
                    return None;
                }
                values
                    .iter()
                    .find(|v| {
                        std::iter::once(&v.value)
                            .chain(&v.words)
                            .any(|w| similarity(&t.norm, &w.to_lowercase()) >= 0.9)
                    })
                    .map(|v| v.value.clone())
            }),
            SlotKind::Number => take_one(tokens, &mut taken, |t| t.digits().map(str::to_string)),
            SlotKind::Word => take_one(tokens, &mut taken, |t| {
                (t.kind == Kind::Word && !is_stop(&t.norm) && !own(&t.norm)).then(|| t.text.clone())
            }),
            SlotKind::Text => free_text(said, tokens, &mut taken, parts, &slot.name, naming),
        };
        if let Some(v) = found.filter(|v| !v.is_empty()) {
            if !matches!(slot.kind, SlotKind::Word | SlotKind::Text) {
                typed += 1;
            }
            values.insert(slot.name.clone(), v);
        } else if let Some(d) = &slot.default {
            values.insert(slot.name.clone(), d.clone());
        }
    }
    let missing = slots
        .iter()
        .filter(|s| !s.optional && s.default.is_none() && !values.contains_key(&s.name))
        .map(|s| s.name.clone())
        .collect();
    Filled {
        values,
        typed,
        missing,
    }
}

/// The first free token `read` makes something of, taken.
fn take_one(
    tokens: &[Token],
    taken: &mut [bool],
    read: impl Fn(&Token) -> Option<String>,
) -> Option<String> {
    for (i, t) in tokens.iter().enumerate() {
        if taken[i] {
            continue;
        }
        if let Some(v) = read(t) {
            taken[i] = true;
            return Some(v);
        }
    }
    None
}

/// A unit of time by any of its names: `s`, `m`, `h`, `d` or `w`.
fn unit(norm: &str) -> Option<char> {
    Some(match norm {
        "s" | "sec" | "secs" | "second" | "seconds" | "초" => 's',
        "m" | "min" | "mins" | "minute" | "minutes" | "분" => 'm',
        "h" | "hr" | "hrs" | "hour" | "hours" | "시간" => 'h',
        "d" | "day" | "days" | "일" => 'd',
        "w" | "wk" | "week" | "weeks" | "주" => 'w',
        _ => return None,
    })
}

/// `30 minutes`, `30m`, `6시간`, `the last hour` (one of the unit), `today`.
fn duration(tokens: &[Token], taken: &mut [bool]) -> Option<String> {
    for i in 0..tokens.len() {
        if taken[i] || tokens[i].kind != Kind::Word {
            continue;
        }
        let norm = tokens[i].norm.as_str();
        // `30m`, `1h`, `2d`.
        if let Some(last) = norm.chars().last().filter(char::is_ascii_alphabetic)
            && let Some(u) = unit(&last.to_string())
            && let Some(n) = norm.strip_suffix(last)
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
        {
            taken[i] = true;
            return Some(format!("{n}{u}"));
        }
        // `30 minutes`, `6 시간`.
        if let Some(n) = tokens[i].digits()
            && let Some(next) = tokens.get(i + 1)
            && !taken[i + 1]
            && let Some(u) = unit(&next.norm)
        {
            taken[i] = true;
            taken[i + 1] = true;
            return Some(format!("{n}{u}"));
        }
        if matches!(norm, "today" | "오늘") {
            taken[i] = true;
            return Some("1d".into());
        }
        // `the last hour`, `an hour`: one of the unit after a word that
        // says "a span ending now".
        if matches!(norm, "hour" | "minute" | "day" | "week")
            && i > 0
            && matches!(
                tokens[i - 1].norm.as_str(),
                "last" | "past" | "an" | "a" | "the" | "this" | "recent"
            )
        {
            taken[i] = true;
            return unit(norm).map(|u| format!("1{u}"));
        }
    }
    None
}

/// `2026-12-10`, `today`, `tomorrow`, `오늘`, `내일`, `모레`.
fn date(norm: &str, today: NaiveDate) -> Option<String> {
    let days = match norm {
        "today" | "오늘" => 0,
        "tomorrow" | "내일" => 1,
        "모레" => 2,
        _ => {
            return NaiveDate::parse_from_str(norm, "%Y-%m-%d")
                .ok()
                .map(|d| d.to_string());
        }
    };
    today
        .checked_add_days(Days::new(days))
        .map(|d| d.to_string())
}

/// `$1,200.50`, `1200`, `€5` → `1200.50`, `1200`, `5`.
fn amount(norm: &str) -> Option<String> {
    let digits = norm.trim_start_matches(['$', '€', '£', '₩', '¥']);
    let plain: String = digits.chars().filter(|&c| c != ',').collect();
    let ok = !plain.is_empty()
        && plain.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && plain.bytes().filter(|&b| b == b'.').count() <= 1
        && plain.as_bytes()[0].is_ascii_digit();
    ok.then_some(plain)
}

/// Free text: a quoted part; else what follows the first comma or colon;
/// else what follows the last slot's word (from the template's own word
/// before this slot, `for`, when it was said; else past the words naming
/// the command and words that mean nothing).
fn free_text(
    said: &str,
    tokens: &[Token],
    taken: &mut [bool],
    parts: &[Part],
    name: &str,
    own: &dyn Fn(&str) -> bool,
) -> Option<String> {
    if let Some(v) = take_one(tokens, taken, |t| {
        (t.kind == Kind::Quoted).then(|| t.text.clone())
    }) {
        return Some(v);
    }
    let delimiter = tokens
        .iter()
        .position(|t| t.kind == Kind::Punct && matches!(t.norm.as_str(), "," | ":" | ";"));
    let from = match delimiter {
        Some(d) => d + 1,
        None => {
            let last = (0..tokens.len()).rev().find(|&i| taken[i])?;
            let mut from = last + 1;
            let lead = word_before(parts, name).map(str::to_lowercase);
            match lead.and_then(|lead| (from..tokens.len()).find(|&i| tokens[i].norm == lead)) {
                Some(at) => from = at + 1,
                None => {
                    while from < tokens.len()
                        && !taken[from]
                        && (is_stop(&tokens[from].norm) || own(&tokens[from].norm))
                    {
                        from += 1;
                    }
                }
            }
            from
        }
    };
    // What is left from there on, less what other slots took, as said.
    let mut text = String::new();
    let mut previous_end = None;
    for i in from..tokens.len() {
        if taken[i] {
            previous_end = None;
            continue;
        }
        let t = &tokens[i];
        if let Some(end) = previous_end {
            text.push_str(&said[end..t.start]);
        } else if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&said[t.start..t.end]);
        previous_end = Some(t.end);
        taken[i] = true;
    }
    let trimmed = text.trim_matches(|c: char| c.is_whitespace() || ",.:;!?".contains(c));
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// The last word of the template text right before slot `name` inside its
/// group (`for` in `[for {reason}]`).
fn word_before<'a>(parts: &'a [Part], name: &str) -> Option<&'a str> {
    for part in parts {
        if let Part::Group(inner) = part {
            for pair in inner.windows(2) {
                if let [Part::Text(text), Part::Slot(slot)] = pair
                    && slot == name
                {
                    return text.split_whitespace().last();
                }
            }
            if let Some(w) = word_before(inner, name) {
                return Some(w);
            }
        }
    }
    None
}

/// Whether `norm` is a word of a phrase whose words are `words`.
pub fn is_own(words: &[String], norm: &str) -> bool {
    words.iter().any(|w| similarity(norm, w) >= MATCH)
}
