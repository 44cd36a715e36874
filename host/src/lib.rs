//! botyard: a Slack bot host where every command and workplace app is a
//! sandboxed, hot-reloadable WebAssembly component.
//!
//! Data flows one way: Slack (or `botyard call`) → [`slack::router`] →
//! [`runtime`] → app → [`capabilities`] → [`storage`] / Slack Web API.

pub mod authoring;
pub mod build;
pub mod capabilities;
pub mod cli;
pub mod config;
pub mod emulator;
pub mod runtime;
pub mod slack;
pub mod storage;
pub mod workbench;
