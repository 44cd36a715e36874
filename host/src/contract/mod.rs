//! The contract floor: what every layer of the host speaks, and nothing else.
//!
//! Everything above builds on these types — the WIT bindings of
//! `botyard:app`, what the host asks an app to do ([`request`]), grants,
//! limits, time, retry pacing and secrets — so that no lower layer ever has
//! to import a higher one to name a type. Nothing here knows about Slack,
//! storage or wasmtime instances, and the only I/O is reading a secret's
//! reference.

pub mod bindings;
pub mod description;
pub mod grants;
pub mod limits;
pub mod phrases;
pub mod request;
pub mod retry;
pub mod secret;
pub mod time;
