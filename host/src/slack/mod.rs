//! Slack: Block Kit checks, command routing, namespaced ids, request
//! signatures and the HTTP receiver. (Socket Mode and Web API delivery build
//! on these.)

pub mod blocks;
pub mod delivery;
pub mod manifest;
pub mod namespace;
pub mod receiver;
pub mod router;
pub mod signature;
pub mod socket_mode;
pub mod web_api;
