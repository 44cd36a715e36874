//! Per-app resource limits, as configured. The runtime enforces them (the
//! epoch deadline, the memory cap, the engine's stack size, the ready
//! instances), and the capabilities, storage and the webhook receiver the
//! quotas ([`Quotas`]); here they are only values every layer can name.

use std::time::Duration;

use serde::Deserialize;

/// Limits one invocation runs under. Defaults suit chat commands: long
/// enough for real work past Slack's 3 s acknowledgement (the reply then goes
/// through `response_url`), short enough that a stuck app frees its slot fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time from instantiation to the handler's return.
    pub deadline: Duration,
    /// Largest linear memory (bytes) an instance may grow to.
    pub memory_bytes: usize,
    /// Wasm stack (bytes); recursion past it traps.
    pub wasm_stack_bytes: usize,
    /// Fresh instances kept ready ahead of requests (see the runtime's
    /// `spares`); 0 instantiates on each request instead, holding nothing
    /// while idle. `None`: decided per app version at load, from what making
    /// one instance costs.
    pub ready_instances: Option<usize>,
    /// How much the app may keep and how fast it may call out.
    pub quotas: Quotas,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline: Duration::from_secs(5),
            memory_bytes: 64 << 20,
            wasm_stack_bytes: 512 << 10,
            ready_instances: None,
            quotas: Quotas::default(),
        }
    }
}

/// One of an app's quotas. Its name is its key in `botyard.toml` and its
/// `quota` label on `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Quota {
    /// Bytes of keys and values in the app's store.
    StoreBytes,
    /// Keys in the app's store.
    StoreKeys,
    /// Slack Web API calls (queued or asked) in any 60 seconds.
    SlackCallsPerMinute,
    /// Outbound HTTP requests in any 60 seconds.
    HttpRequestsPerMinute,
    /// Webhook deliveries recorded for the app (pending, done or dead).
    WebhookDeliveriesKept,
}

impl Quota {
    pub const ALL: [Quota; 5] = [
        Quota::StoreBytes,
        Quota::StoreKeys,
        Quota::SlackCallsPerMinute,
        Quota::HttpRequestsPerMinute,
        Quota::WebhookDeliveriesKept,
    ];

    /// `store_bytes`, `store_keys`, `slack_calls_per_minute`,
    /// `http_requests_per_minute`, `webhook_deliveries_kept`.
    pub fn name(self) -> &'static str {
        match self {
            Quota::StoreBytes => "store_bytes",
            Quota::StoreKeys => "store_keys",
            Quota::SlackCallsPerMinute => "slack_calls_per_minute",
            Quota::HttpRequestsPerMinute => "http_requests_per_minute",
            Quota::WebhookDeliveriesKept => "webhook_deliveries_kept",
        }
    }
}

/// Per-app quotas: what one app may take of what every app shares (the
/// disk, the bot token's Slack rate limits, the network), so a hack-day app
/// looping on `store.set` cannot fill the disk or get the whole host
/// throttled by Slack. Over one, the app gets a typed error and everything
/// else carries on. 0 means unlimited (to take a capability away, revoke
/// its grant instead).
///
/// The defaults are sized for chat apps (see `docs/operating.md`,
/// "Quotas"): far above what an ordinary app uses, low enough that a
/// runaway one is stopped within a minute and its footprint stays small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// Bytes of keys and values the app's store may hold.
    pub store_bytes: u64,
    /// Keys the app's store may hold.
    pub store_keys: u64,
    /// Slack calls in any 60 seconds.
    pub slack_calls_per_minute: u32,
    /// Outbound HTTP requests in any 60 seconds.
    pub http_requests_per_minute: u32,
    /// Webhook deliveries kept; past it the oldest settled ones go.
    pub webhook_deliveries_kept: u32,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            // Sixty-four 1 MiB values, or tens of thousands of ordinary
            // records; ten runaway apps at the cap still take under 1 GiB.
            store_bytes: 64 << 20,
            // Bounds the rows (and index) of apps writing small values
            // under ever new keys, which bytes alone would let grow long.
            store_keys: 100_000,
            // Twice chat.postMessage's one per second per channel, above
            // the 100 calls one invocation may make, and short of what
            // would get the bot token every app shares throttled by Slack.
            slack_calls_per_minute: 120,
            // Ten a second: any polling or API-driven app, not a tight loop.
            http_requests_per_minute: 600,
            // Days of history for a busy GitHub organisation at a few
            // hundred MiB at most (payloads are 5–30 KiB).
            webhook_deliveries_kept: 10_000,
        }
    }
}

impl Quotas {
    /// No quota at all: what a unit of work writing outside any
    /// invocation (the host's own writes, tests) is held to.
    pub const UNLIMITED: Quotas = Quotas {
        store_bytes: 0,
        store_keys: 0,
        slack_calls_per_minute: 0,
        http_requests_per_minute: 0,
        webhook_deliveries_kept: 0,
    };

    /// The limit of `quota`; 0: unlimited.
    pub fn limit(&self, quota: Quota) -> u64 {
        match quota {
            Quota::StoreBytes => self.store_bytes,
            Quota::StoreKeys => self.store_keys,
            Quota::SlackCallsPerMinute => self.slack_calls_per_minute.into(),
            Quota::HttpRequestsPerMinute => self.http_requests_per_minute.into(),
            Quota::WebhookDeliveriesKept => self.webhook_deliveries_kept.into(),
        }
    }
}

/// `n` bytes for people: `512 bytes`, `1.5 KiB`, `63.9 MiB`, `2 GiB`.
pub fn bytes_shown(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let shown = format!("{value:.1}");
    let shown = shown.strip_suffix(".0").unwrap_or(&shown);
    format!("{shown} {}", UNITS[unit])
}

/// Limits as written in `botyard.toml` or `<app>.toml`: each one optional,
/// falling back to the layer below. The quotas are the operator's alone:
/// `botyard.toml` may set them, `<app>.toml` may not (see
/// [`LimitOverrides::quotas_set`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    pub deadline_ms: Option<u64>,
    pub memory_mib: Option<u64>,
    pub wasm_stack_kib: Option<u64>,
    pub ready_instances: Option<u64>,
    pub store_bytes: Option<u64>,
    pub store_keys: Option<u64>,
    pub slack_calls_per_minute: Option<u64>,
    pub http_requests_per_minute: Option<u64>,
    pub webhook_deliveries_kept: Option<u64>,
}

/// Bounds on configured limits: beyond them a typo would silently disable
/// the sandbox's protection (or make every app fail at once).
const DEADLINE_MS: std::ops::RangeInclusive<u64> = 10..=600_000;
const MEMORY_MIB: std::ops::RangeInclusive<u64> = 1..=4096;
const WASM_STACK_KIB: std::ops::RangeInclusive<u64> = 64..=16_384;
const READY_INSTANCES: std::ops::RangeInclusive<u64> = 0..=8;
/// Stored counts are SQL integers.
const STORE: std::ops::RangeInclusive<u64> = 0..=i64::MAX as u64;
/// A per-minute window remembers each call in it, so its memory grows with
/// the limit: at most ~1.6 MB per app here.
const PER_MINUTE: std::ops::RangeInclusive<u64> = 0..=100_000;
const DELIVERIES_KEPT: std::ops::RangeInclusive<u64> = 0..=10_000_000;

impl LimitOverrides {
    /// The quotas these overrides set, by name.
    pub fn quotas_set(&self) -> Vec<&'static str> {
        [
            (Quota::StoreBytes, self.store_bytes),
            (Quota::StoreKeys, self.store_keys),
            (Quota::SlackCallsPerMinute, self.slack_calls_per_minute),
            (Quota::HttpRequestsPerMinute, self.http_requests_per_minute),
            (Quota::WebhookDeliveriesKept, self.webhook_deliveries_kept),
        ]
        .into_iter()
        .filter_map(|(quota, value)| value.map(|_| quota.name()))
        .collect()
    }

    pub fn apply(&self, base: Limits) -> Result<Limits, String> {
        fn check(
            name: &str,
            value: u64,
            range: std::ops::RangeInclusive<u64>,
        ) -> Result<u64, String> {
            if range.contains(&value) {
                Ok(value)
            } else {
                Err(format!(
                    "{name} = {value} is out of range {}..={}",
                    range.start(),
                    range.end()
                ))
            }
        }
        let mut limits = base;
        if let Some(ms) = self.deadline_ms {
            limits.deadline = Duration::from_millis(check("deadline_ms", ms, DEADLINE_MS)?);
        }
        if let Some(mib) = self.memory_mib {
            limits.memory_bytes = (check("memory_mib", mib, MEMORY_MIB)? as usize) << 20;
        }
        if let Some(kib) = self.wasm_stack_kib {
            limits.wasm_stack_bytes =
                (check("wasm_stack_kib", kib, WASM_STACK_KIB)? as usize) << 10;
        }
        if let Some(n) = self.ready_instances {
            limits.ready_instances = Some(check("ready_instances", n, READY_INSTANCES)? as usize);
        }
        let quotas = &mut limits.quotas;
        if let Some(n) = self.store_bytes {
            quotas.store_bytes = check("store_bytes", n, STORE)?;
        }
        if let Some(n) = self.store_keys {
            quotas.store_keys = check("store_keys", n, STORE)?;
        }
        if let Some(n) = self.slack_calls_per_minute {
            quotas.slack_calls_per_minute = check("slack_calls_per_minute", n, PER_MINUTE)? as u32;
        }
        if let Some(n) = self.http_requests_per_minute {
            quotas.http_requests_per_minute =
                check("http_requests_per_minute", n, PER_MINUTE)? as u32;
        }
        if let Some(n) = self.webhook_deliveries_kept {
            quotas.webhook_deliveries_kept =
                check("webhook_deliveries_kept", n, DELIVERIES_KEPT)? as u32;
        }
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_over_defaults_and_reject_nonsense() {
        let base = Limits::default();
        let o = LimitOverrides {
            deadline_ms: Some(250),
            memory_mib: None,
            wasm_stack_kib: Some(128),
            ready_instances: Some(0),
            ..Default::default()
        };
        let l = o.apply(base).unwrap();
        assert_eq!(l.deadline, Duration::from_millis(250));
        assert_eq!(l.memory_bytes, base.memory_bytes);
        assert_eq!(l.wasm_stack_bytes, 128 << 10);
        assert_eq!(l.ready_instances, Some(0));
        assert_eq!(base.ready_instances, None, "decided at load unless set");
        let bad = LimitOverrides {
            memory_mib: Some(0),
            ..Default::default()
        };
        assert!(bad.apply(base).unwrap_err().contains("memory_mib"));
        let bad = LimitOverrides {
            ready_instances: Some(9),
            ..Default::default()
        };
        assert!(bad.apply(base).unwrap_err().contains("ready_instances"));
    }

    #[test]
    fn bytes_are_shown_for_people() {
        assert_eq!(bytes_shown(512), "512 bytes");
        assert_eq!(bytes_shown(1536), "1.5 KiB");
        assert_eq!(bytes_shown(64 << 20), "64 MiB");
        assert_eq!(bytes_shown((64 << 20) - (100 << 10)), "63.9 MiB");
        assert_eq!(bytes_shown(3 << 30), "3 GiB");
    }

    #[test]
    fn quotas_default_sanely_override_and_zero_is_unlimited() {
        let base = Limits::default();
        assert_eq!(base.quotas.store_bytes, 64 << 20);
        assert_eq!(base.quotas.limit(Quota::SlackCallsPerMinute), 120);
        let o = LimitOverrides {
            store_bytes: Some(8 << 20),
            http_requests_per_minute: Some(0),
            ..Default::default()
        };
        assert_eq!(o.quotas_set(), ["store_bytes", "http_requests_per_minute"]);
        let l = o.apply(base).unwrap();
        assert_eq!(l.quotas.store_bytes, 8 << 20);
        assert_eq!(l.quotas.http_requests_per_minute, 0, "0: unlimited");
        assert_eq!(l.quotas.store_keys, base.quotas.store_keys);
        assert!(LimitOverrides::default().quotas_set().is_empty());
        let bad = LimitOverrides {
            slack_calls_per_minute: Some(1_000_000),
            ..Default::default()
        };
        assert!(
            bad.apply(base)
                .unwrap_err()
                .contains("slack_calls_per_minute")
        );
        for quota in Quota::ALL {
            assert_eq!(Quotas::UNLIMITED.limit(quota), 0, "{}", quota.name());
        }
    }
}
