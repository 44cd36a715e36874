//! Routing: which app version answers what. It keeps the set of serving app
//! versions — loaded from the apps directory, hot-reloaded, the last good
//! one kept, or published into the database for every replica — with the
//! one routing table derived from them, swapped
//! atomically; resolves requests through that table and hands them to the
//! runtime; and derives the Slack app manifest from what the apps declare.

pub mod answer;
pub mod approvals;
pub mod apps;
pub mod manifest;
pub mod overview;
pub mod plain_words;
pub mod published;
pub mod table;
pub mod versions;
pub mod watcher;

pub use apps::{Apps, CallContext, CallError, CommandAnswer, Reloaded, Snapshot};
