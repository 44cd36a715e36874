//! Inbound: where requests come from — Slack over HTTP ([`http`]) or Socket
//! Mode ([`socket_mode`]), other systems' webhooks ([`webhooks`]), and time
//! ([`scheduler`]). Each Slack payload is
//! parsed once into a typed request ([`payload`]), then [`dispatch`] routes
//! it through the routing table to the runtime and answers Slack in time
//! ([`answer`]: in the acknowledgement, or queued for `response_url`).
//! [`ops`] answers the operator's side: metrics, health and readiness.

pub mod answer;
pub mod body;
pub mod dispatch;
pub mod http;
pub mod inbox;
pub mod mentions;
pub mod ops;
pub mod payload;
pub mod scheduler;
pub mod socket_mode;
pub mod webhooks;
