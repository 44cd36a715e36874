//! The shipped apps (`apps/*`): each app's scenarios run through the test
//! kit, and the end-to-end tests that need more than a scenario — real
//! `botyard serve`, both Slack transports, a `kill -9` — in one module per
//! app.

mod approvals;
mod github;
mod health;
mod helpdesk;
mod poll;
mod scenarios;
mod servers;
mod stores;
mod support;
mod tasks;
mod testkit;
mod unicorn;
