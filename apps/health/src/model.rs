//! The alert's life, without I/O: what a firing or a resolution does to an
//! alert (post, reopen, mark flapping, nothing), when a URL check counts as
//! down or up, and who an escalation step pages. `lib.rs` reads and writes
//! the store and Slack around these decisions; the unit tests below hold
//! them to the README.

use serde::{Deserialize, Serialize};

/// Where an alert came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// One of the app's URL checks (`checks` setting).
    Check,
    /// Prometheus Alertmanager's webhook.
    Alertmanager,
}

/// A message in Slack: the alert's, whose thread tells its story.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
}

/// One alert, as `alert/<id>` stores it. The same alert (same key) going
/// down again within the flap window is this same record, reopened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub id: u64,
    /// `check:<name>` or `am:<fingerprint>`.
    pub key: String,
    pub source: Source,
    /// One line: `api` is down, `HighLatency (critical)`.
    pub title: String,
    /// What is wrong now: the check's answer, the alert's summary.
    pub detail: String,
    /// Where to look (the checked URL, Alertmanager's generatorURL).
    pub link: Option<String>,
    pub firing: bool,
    /// Slack user id of who acknowledged it.
    pub acked_by: Option<String>,
    pub message: Option<Posted>,
    /// When it first went down.
    pub opened_ms: u64,
    /// When it last went down or up.
    pub changed_ms: u64,
    /// When it went down, within the flap window (the latest last).
    pub downs: Vec<u64>,
    pub flapping: bool,
    /// Escalation steps done: 0 none, 1 on-call paged, 2 leads paged.
    pub step_done: u8,
    /// The escalation step pending, and when it is due.
    pub pending: Option<(u8, u64)>,
}

/// The knobs of grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flap {
    /// Going down this many times within `window_ms` is flapping.
    pub count: usize,
    pub window_ms: u64,
}

/// What a firing does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fired {
    /// A new alert: post a new message.
    New,
    /// Already firing: keep the message (the detail may be refreshed).
    Still,
    /// Down again within the window, not (yet) flapping: the same
    /// message, reopened; the thread says so, shown in the channel too.
    Again { downs: usize },
    /// Down again, and now flapping: the message is marked, the channel
    /// hears it once.
    StartsFlapping { downs: usize },
    /// Down again while flapping: only the thread hears it.
    StillFlapping { downs: usize },
}

/// What happens to `previous` (the latest alert of the key) when the key
/// fires at `now`.
pub fn fire(previous: Option<&Alert>, now: u64, flap: Flap) -> Fired {
    let Some(alert) = previous else {
        return Fired::New;
    };
    if alert.firing {
        return Fired::Still;
    }
    if alert.message.is_none() || now.saturating_sub(alert.changed_ms) > flap.window_ms {
        return Fired::New;
    }
    let downs = recent_downs(&alert.downs, now, flap.window_ms) + 1;
    if downs >= flap.count.max(2) {
        if alert.flapping {
            Fired::StillFlapping { downs }
        } else {
            Fired::StartsFlapping { downs }
        }
    } else {
        Fired::Again { downs }
    }
}

/// How many of `downs` fall within `window_ms` before `now`.
pub fn recent_downs(downs: &[u64], now: u64, window_ms: u64) -> usize {
    downs
        .iter()
        .filter(|&&t| now.saturating_sub(t) <= window_ms)
        .count()
}

impl Alert {
    /// A new alert, firing since `now`.
    pub fn new(id: u64, key: &str, source: Source, now: u64) -> Alert {
        Alert {
            id,
            key: key.to_string(),
            source,
            title: String::new(),
            detail: String::new(),
            link: None,
            firing: true,
            acked_by: None,
            message: None,
            opened_ms: now,
            changed_ms: now,
            downs: vec![now],
            flapping: false,
            step_done: 0,
            pending: None,
        }
    }

    /// Applies a firing `outcome` at `now`.
    pub fn reopen(&mut self, outcome: &Fired, now: u64, flap: Flap) {
        if matches!(outcome, Fired::New | Fired::Still) {
            return;
        }
        self.firing = true;
        self.changed_ms = now;
        self.downs
            .retain(|&t| now.saturating_sub(t) <= flap.window_ms);
        self.downs.push(now);
        if matches!(
            outcome,
            Fired::StartsFlapping { .. } | Fired::StillFlapping { .. }
        ) {
            self.flapping = true;
        }
    }

    /// Resolves it at `now`; `false` when it was not firing (nothing to do).
    pub fn resolve(&mut self, now: u64) -> bool {
        if !self.firing {
            return false;
        }
        self.firing = false;
        self.changed_ms = now;
        true
    }

    /// Whether an escalation step due now should page: not acknowledged,
    /// not done already, and the alert still a problem — firing, or
    /// flapping (a flapping alert that happens to be up right now is still
    /// unhandled).
    pub fn should_page(&self, step: u8) -> bool {
        self.acked_by.is_none() && self.step_done < step && (self.firing || self.flapping)
    }

    /// The next escalation step to schedule, if any: step 1 `m_ms` after
    /// `now`, step 2 `l_ms` after; none once acknowledged, both done, or
    /// one is pending already.
    pub fn next_step(&self, now: u64, m_ms: u64, l_ms: u64) -> Option<(u8, u64)> {
        if self.acked_by.is_some() || self.pending.is_some() || !self.firing {
            return None;
        }
        match self.step_done {
            0 => Some((1, now + m_ms)),
            1 => Some((2, now + l_ms)),
            _ => None,
        }
    }
}

/// A URL check's state, as `check/<name>` stores it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckState {
    /// Failures in a row.
    pub fails: u32,
    /// Whether the check counts as down (after `fail_after` failures).
    pub down: bool,
    /// When it is next due.
    pub next_ms: u64,
    /// What the last try found, in words.
    pub last: String,
    /// When it was last tried.
    pub last_ms: u64,
}

/// What one try of a check changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing worth telling.
    None,
    /// It just went down (the `fail_after`-th failure in a row).
    Down,
    /// It was down and answered as expected.
    Up,
}

impl CheckState {
    /// Records one try at `now`: `ok` or not, `what` it found.
    pub fn record(&mut self, ok: bool, what: String, now: u64, fail_after: u32) -> Transition {
        self.last = what;
        self.last_ms = now;
        if ok {
            self.fails = 0;
            if self.down {
                self.down = false;
                return Transition::Up;
            }
            return Transition::None;
        }
        self.fails = self.fails.saturating_add(1);
        if !self.down && self.fails >= fail_after.max(1) {
            self.down = true;
            return Transition::Down;
        }
        Transition::None
    }
}

/// A person to page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub phone: String,
}

/// Whether `phone` is an E.164 number: `+`, then 2 to 15 digits, the
/// first not 0.
pub fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// A duration in words: `45s`, `12m`, `2h 05m`, `1d 3h`.
pub fn duration(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// `HH:MM UTC` of a Unix time in milliseconds.
pub fn clock_time(ms: u64) -> String {
    let minutes = ms / 60_000 % (24 * 60);
    format!("{:02}:{:02} UTC", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;
    const FLAP: Flap = Flap {
        count: 3,
        window_ms: 30 * MIN,
    };

    fn posted(mut a: Alert) -> Alert {
        a.message = Some(Posted {
            channel: "C1".into(),
            ts: "1.0".into(),
        });
        a
    }

    #[test]
    fn a_key_never_seen_or_long_resolved_is_a_new_alert() {
        assert_eq!(fire(None, 0, FLAP), Fired::New);
        let mut a = posted(Alert::new(1, "check:api", Source::Check, 0));
        assert_eq!(fire(Some(&a), MIN, FLAP), Fired::Still);
        assert!(a.resolve(2 * MIN));
        assert!(!a.resolve(3 * MIN), "resolving twice does nothing");
        assert_eq!(fire(Some(&a), 2 * MIN + 31 * MIN, FLAP), Fired::New);
    }

    #[test]
    fn down_again_within_the_window_reopens_then_flaps() {
        let mut a = posted(Alert::new(1, "check:api", Source::Check, 0));
        a.resolve(MIN);
        let again = fire(Some(&a), 2 * MIN, FLAP);
        assert_eq!(again, Fired::Again { downs: 2 });
        a.reopen(&again, 2 * MIN, FLAP);
        assert!(a.firing && !a.flapping);
        a.resolve(3 * MIN);
        let third = fire(Some(&a), 4 * MIN, FLAP);
        assert_eq!(third, Fired::StartsFlapping { downs: 3 });
        a.reopen(&third, 4 * MIN, FLAP);
        assert!(a.flapping);
        a.resolve(5 * MIN);
        assert_eq!(
            fire(Some(&a), 6 * MIN, FLAP),
            Fired::StillFlapping { downs: 4 }
        );
        // Downs older than the window do not count.
        let mut b = posted(Alert::new(2, "check:db", Source::Check, 0));
        b.resolve(25 * MIN);
        let o = fire(Some(&b), 40 * MIN, FLAP);
        assert_eq!(o, Fired::Again { downs: 1 });
        b.reopen(&o, 40 * MIN, FLAP);
        assert_eq!(b.downs, vec![40 * MIN]);
    }

    #[test]
    fn escalation_pages_only_unacknowledged_problems_once_per_step() {
        let mut a = Alert::new(1, "am:abc", Source::Alertmanager, 0);
        assert_eq!(a.next_step(0, 5 * MIN, 10 * MIN), Some((1, 5 * MIN)));
        assert!(a.should_page(1));
        a.step_done = 1;
        assert!(!a.should_page(1), "one SMS per person per step");
        assert_eq!(a.next_step(5 * MIN, 5 * MIN, 10 * MIN), Some((2, 15 * MIN)));
        a.acked_by = Some("U1".into());
        assert!(!a.should_page(2));
        assert_eq!(a.next_step(5 * MIN, 5 * MIN, 10 * MIN), None);
        let mut b = Alert::new(2, "am:def", Source::Alertmanager, 0);
        b.resolve(MIN);
        assert!(!b.should_page(1), "resolved, not flapping");
        b.flapping = true;
        assert!(b.should_page(1), "flapping is still a problem");
    }

    #[test]
    fn a_check_is_down_after_k_failures_in_a_row_and_up_on_the_first_success() {
        let mut s = CheckState::default();
        assert_eq!(s.record(false, "503".into(), 1, 2), Transition::None);
        assert_eq!(s.record(true, "200".into(), 2, 2), Transition::None);
        assert_eq!(s.record(false, "503".into(), 3, 2), Transition::None);
        assert_eq!(s.record(false, "503".into(), 4, 2), Transition::Down);
        assert_eq!(s.record(false, "503".into(), 5, 2), Transition::None);
        assert_eq!(s.record(true, "200".into(), 6, 2), Transition::Up);
        assert_eq!(s.record(false, "x".into(), 7, 1), Transition::Down);
    }

    #[test]
    fn phone_numbers_are_e164() {
        assert!(is_e164("+15551230001"));
        assert!(is_e164("+447700900123"));
        for bad in [
            "15551230001",
            "+",
            "+0123",
            "+1 555 123",
            "+1234567890123456",
            "+1-555",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn durations_and_times_read_well() {
        assert_eq!(duration(45_000), "45s");
        assert_eq!(duration(12 * MIN), "12m");
        assert_eq!(duration(125 * MIN), "2h 05m");
        assert_eq!(duration(27 * 60 * MIN), "1d 3h");
        assert_eq!(clock_time(1_767_603_600_000 + 5 * MIN), "09:05 UTC");
    }
}
