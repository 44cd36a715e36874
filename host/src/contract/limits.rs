//! Per-app resource limits, as configured. The runtime enforces them (the
//! epoch deadline, the memory cap, the engine's stack size, the ready
//! instances); here they are only values every layer can name.

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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline: Duration::from_secs(5),
            memory_bytes: 64 << 20,
            wasm_stack_bytes: 512 << 10,
            ready_instances: None,
        }
    }
}

/// Limits as written in `botyard.toml` or `<app>.toml`: each one optional,
/// falling back to the layer below.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    pub deadline_ms: Option<u64>,
    pub memory_mib: Option<u64>,
    pub wasm_stack_kib: Option<u64>,
    pub ready_instances: Option<u64>,
}

/// Bounds on configured limits: beyond them a typo would silently disable
/// the sandbox's protection (or make every app fail at once).
const DEADLINE_MS: std::ops::RangeInclusive<u64> = 10..=600_000;
const MEMORY_MIB: std::ops::RangeInclusive<u64> = 1..=4096;
const WASM_STACK_KIB: std::ops::RangeInclusive<u64> = 64..=16_384;
const READY_INSTANCES: std::ops::RangeInclusive<u64> = 0..=8;

impl LimitOverrides {
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
}
