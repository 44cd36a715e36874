//! Host capabilities: one file per imported WIT interface, each holding its
//! host implementation and its per-invocation state (Spin's "factors" are the
//! model). A capability is granted per app in `botyard.toml`; an app whose
//! component imports an interface it was not granted is refused at load.

pub mod clock;
pub mod log;
pub mod schedule;
pub mod slack;
pub mod store;
pub mod wasi;

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::runtime::limits::MemoryCap;
use crate::storage::Storage;

/// One importable interface of `botyard:app`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    Slack,
    Store,
    Schedule,
    Log,
    Clock,
}

impl Capability {
    pub const ALL: [Capability; 5] = [
        Capability::Slack,
        Capability::Store,
        Capability::Schedule,
        Capability::Log,
        Capability::Clock,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Capability::Slack => "slack",
            Capability::Store => "store",
            Capability::Schedule => "schedule",
            Capability::Log => "log",
            Capability::Clock => "clock",
        }
    }

    /// The capability a component import name refers to
    /// (`botyard:app/store@0.1.0` → `store`). `types` carries no functions and
    /// is not a capability.
    pub fn from_import(import: &str) -> Option<Capability> {
        let rest = import.strip_prefix("botyard:app/")?;
        let interface = rest.split('@').next().unwrap_or(rest);
        interface.parse().ok()
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Capability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown capability `{s}`; botyard provides: {}",
                    Capability::ALL.map(Capability::name).join(", ")
                )
            })
    }
}

/// The set of capabilities an app may import.
pub type Grants = BTreeSet<Capability>;

/// What every invocation's store holds: the app's identity and one state per
/// capability. Created fresh for each invocation and dropped with it.
pub struct HostState {
    /// The app's id (its file stem): the namespace of everything it owns.
    pub app: Arc<str>,
    pub storage: Storage,
    pub slack: slack::SlackState,
    pub log: log::LogState,
    pub memory: MemoryCap,
    /// Built on the guest's first WASI call (see [`wasi`]).
    pub wasi: Option<wasi::WasiState>,
}

impl HostState {
    pub fn new(
        app: Arc<str>,
        storage: Storage,
        slack: slack::SlackState,
        logs: log::AppLogs,
        memory: MemoryCap,
    ) -> Self {
        HostState {
            app,
            storage,
            slack,
            log: log::LogState::new(logs),
            memory,
            wasi: None,
        }
    }
}

/// `types` has no functions, but bindgen still asks for its (empty) trait.
impl crate::runtime::bindings::types::Host for HostState {}
