//! Slack, outbound and protocol: the Web API client and durable delivery of
//! the outbox, `response_url` posts, every answer's JSON shape, Block Kit
//! limits, namespaced ids and request signatures. (Slack's requests *into*
//! the host are [`crate::inbound`]'s.)

pub mod blocks;
pub mod delivery;
pub mod json;
pub mod namespace;
pub mod response_url;
pub mod signature;
pub mod web_api;
