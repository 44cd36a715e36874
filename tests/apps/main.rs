//! The shipped apps (`apps/*`): each app's scenarios run through the test
//! kit, and the end-to-end tests that need more than a scenario — real
//! `botyard serve`, both Slack transports, a `kill -9` — in one module per
//! app. One test binary for all of them, so the suite links it once.

#[path = "../support/mod.rs"]
mod support;

mod poll;
mod scenarios;
mod testkit;
mod unicorn;
