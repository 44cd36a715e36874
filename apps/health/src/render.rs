//! Every text the app shows: the alert's message (which is updated in
//! place as the alert changes), its thread's story lines, the SMS, and
//! `/spy health`.

use botyard_sdk::prelude::*;

use crate::model::{clock_time, duration, Alert, CheckState, Source};

/// The alert's message: state, title, what is wrong, and Acknowledge while
/// someone should.
pub fn alert(a: &Alert, window_ms: u64) -> Message {
    let head = headline(a, window_ms);
    let mut body = head.clone();
    if !a.detail.is_empty() {
        body.push_str(&format!("\n{}", a.detail));
    }
    let source = match a.source {
        Source::Check => "URL check",
        Source::Alertmanager => "Alertmanager",
    };
    let mut context = vec![
        format!("{source} · alert #{}", a.id),
        format!("since {}", clock_time(a.opened_ms)),
    ];
    if let Some(link) = &a.link {
        context.push(format!("<{link}|source>"));
    }
    if a.step_done >= 1 {
        context.push(if a.step_done >= 2 {
            "on-call and leads paged by SMS".to_string()
        } else {
            "on-call paged by SMS".to_string()
        });
    }
    let mut blocks = vec![Block::section(body), Block::context(context)];
    if a.acked_by.is_none() && (a.firing || a.flapping) {
        blocks.push(Block::actions([Element::button("Acknowledge", "ack")
            .value(a.id.to_string())
            .primary()]));
    }
    Message::new(head).with_blocks(blocks)
}

fn headline(a: &Alert, window_ms: u64) -> String {
    let acked = a
        .acked_by
        .as_ref()
        .map(|u| format!(" — acknowledged by <@{u}>"))
        .unwrap_or_default();
    if a.flapping {
        let now = if a.firing { "down now" } else { "up now" };
        return format!(
            "🔁 *FLAPPING* · {} — down {} times in {}, {now}{acked}",
            a.title,
            a.downs.len(),
            duration(window_ms)
        );
    }
    if !a.firing {
        let down_for = a
            .downs
            .last()
            .map(|&d| duration(a.changed_ms.saturating_sub(d)))
            .unwrap_or_default();
        return format!("✅ *RESOLVED* · {} — was down {down_for}{acked}", a.title);
    }
    match &a.acked_by {
        Some(u) => format!("🟠 *ACKNOWLEDGED* by <@{u}> · {}", a.title),
        None => format!("🔴 *FIRING* · {}", a.title),
    }
}

/// The first line of the story.
pub fn story_down(a: &Alert, now: u64) -> String {
    format!("🔴 {} — failed: {}", clock_time(now), a.detail)
}

pub fn story_again(a: &Alert, now: u64, downs: usize, window_ms: u64) -> String {
    format!(
        "🔴 {} — down again ({downs} times in {}): {}",
        clock_time(now),
        duration(window_ms),
        a.detail
    )
}

pub fn story_flapping(now: u64, downs: usize, window_ms: u64) -> String {
    format!(
        "🔁 {} — flapping: down {downs} times in {}. It stays this one alert; its ups and downs go in this thread only.",
        clock_time(now),
        duration(window_ms)
    )
}

pub fn story_recovered(a: &Alert, now: u64) -> String {
    let since = a.downs.last().copied().unwrap_or(a.opened_ms);
    format!(
        "✅ {} — recovered after {}",
        clock_time(now),
        duration(now.saturating_sub(since))
    )
}

pub fn story_acked(user: &str, now: u64) -> String {
    format!(
        "✋ {} — acknowledged by <@{user}>; no more SMS for this alert",
        clock_time(now)
    )
}

/// `alice (…0001)`: whom, without the whole number in the channel.
pub fn whom(name: &str, phone: &str) -> String {
    let tail: String = phone
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{name} (…{tail})")
}

pub fn story_sms(now: u64, who: &str, role: &str, unacked_ms: u64, sid: &str) -> String {
    format!(
        "📱 {} — SMS sent to {who}, {role}: unacknowledged for {} (Twilio {sid})",
        clock_time(now),
        duration(unacked_ms)
    )
}

pub fn story_sms_failed(now: u64, who: &str, why: &str) -> String {
    format!("⚠️ {} — SMS to {who} failed: {why}", clock_time(now))
}

/// What the SMS says (kept under one 160-character segment when it can).
pub fn sms(a: &Alert, channel: &str, unacked_ms: u64) -> String {
    let mut text = format!(
        "[health] {} unacknowledged for {}: {}",
        if a.flapping { "FLAPPING" } else { "FIRING" },
        duration(unacked_ms),
        a.title
    );
    if !a.detail.is_empty() {
        text.push_str(&format!(" — {}", a.detail));
    }
    let tail = format!(" Acknowledge in Slack {channel} (alert #{}).", a.id);
    let room = 320usize.saturating_sub(tail.chars().count());
    if text.chars().count() > room {
        text = text
            .chars()
            .take(room.saturating_sub(1))
            .collect::<String>()
            + "…";
    }
    text + &tail
}

/// One line of `/spy health` per check.
pub fn check_line(name: &str, url: &str, every_s: u64, state: Option<&CheckState>) -> String {
    match state {
        None => format!("⏳ `{name}` — not checked yet ({url}, every {every_s}s)"),
        Some(s) if s.last_ms == 0 => {
            format!("⏳ `{name}` — not checked yet ({url}, every {every_s}s)")
        }
        Some(s) => {
            let icon = if s.down {
                "🔴"
            } else if s.fails > 0 {
                "🟡"
            } else {
                "✅"
            };
            let state = if s.down {
                "down"
            } else if s.fails > 0 {
                "failing"
            } else {
                "up"
            };
            format!(
                "{icon} `{name}` {state} — {} at {} ({url}, every {every_s}s)",
                s.last,
                clock_time(s.last_ms)
            )
        }
    }
}

/// One line of `/spy health` per open alert.
pub fn open_line(a: &Alert) -> String {
    let who = match &a.acked_by {
        Some(u) => format!("acknowledged by <@{u}>"),
        None => "unacknowledged".to_string(),
    };
    let state = if a.flapping { "🔁" } else { "🔴" };
    format!(
        "{state} #{} {} — since {}, {who}",
        a.id,
        a.title,
        clock_time(a.opened_ms)
    )
}
