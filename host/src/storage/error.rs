//! Storage errors, the same whatever the backend: callers never see a
//! driver's error type. Each message says what went wrong and what to do
//! about it, because some reach app authors (too large, not a number) and
//! others reach operators (schema too new, I/O, the database away).

use std::path::PathBuf;

use crate::contract::limits::{Quota, bytes_shown};

/// Everything that can go wrong in [`super::Storage`].
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The backend failed: the database is unreachable, the disk is full …
    /// The text is the driver's, with what to check.
    #[error("database error: {0}")]
    Backend(String),

    /// A write of this unit was lost with a shared commit that failed (a
    /// backend that commits several units together); nothing of the unit
    /// can be relied on, so it must be treated as not done.
    #[error(
        "the invocation's writes were lost when a commit failed: {0}; nothing was kept, try again"
    )]
    Lost(String),

    /// The work this unit was doing was taken over by another process
    /// (this one's lease ran out: it was paused, or cut off); nothing of
    /// the unit may be kept, since the other process does it.
    #[error(
        "another botyard process took this work over after its lease ran out; nothing of this run was kept"
    )]
    Overtaken,

    /// The delivery this unit answered was done already (Slack delivered it
    /// again); nothing of the unit may be kept, or it would be done twice.
    #[error("this delivery from Slack was already done; nothing of this repeat was kept")]
    Repeated,

    #[error(
        "the value at key {key:?} is not a decimal integer, so it cannot be incremented; set it to a number first or use another key"
    )]
    NotANumber { key: String },

    #[error(
        "incrementing key {key:?} would overflow a 64-bit integer; reset the key or use a smaller delta"
    )]
    Overflow { key: String },

    #[error("{what} is {actual} bytes, over the limit of {limit} bytes; store less or split it up")]
    TooLarge {
        what: &'static str,
        limit: usize,
        actual: usize,
    },

    /// A write would take `app` past one of its quotas (see
    /// [`super::Unit::set_quotas`]); nothing was written.
    #[error("{}", over_quota(.app, *.quota, *.used, *.limit, *.adding))]
    OverQuota {
        app: String,
        quota: Quota,
        /// What the app uses now.
        used: u64,
        limit: u64,
        /// What the refused write would have added.
        adding: u64,
    },

    #[error(
        "database schema version {found} is newer than this botyard ({supported}); upgrade botyard"
    )]
    SchemaTooNew { found: u32, supported: u32 },

    #[error(
        "cannot prepare the database location {path}: {source}; check that the directory exists or can be created and is writable"
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What an app is told when a write would take it past a quota: which
/// quota, how far it is, and what to do.
fn over_quota(app: &str, quota: Quota, used: u64, limit: u64, adding: u64) -> String {
    let name = quota.name();
    let raise = format!("ask the operator to raise [apps.{app}] {name} in botyard.toml");
    match quota {
        Quota::StoreBytes => format!(
            "store quota exceeded: app `{app}` uses {} of its {} ({name}) and this write needs {} more; delete keys, or {raise}",
            bytes_shown(used),
            bytes_shown(limit),
            bytes_shown(adding),
        ),
        Quota::StoreKeys => format!(
            "store quota exceeded: app `{app}` has {used} keys, as many as it may ({name} = {limit}); delete keys, or {raise}"
        ),
        Quota::WebhookDeliveriesKept => format!(
            "app `{app}` has {used} webhook deliveries waiting to run, as many as it may keep ({name} = {limit}); try again later"
        ),
        Quota::SlackCallsPerMinute | Quota::HttpRequestsPerMinute => {
            format!("app `{app}` is over its quota {name} = {limit} ({used} used); {raise}")
        }
    }
}
