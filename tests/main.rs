//! Every end-to-end test, in one test binary (`cargo test --test suite`).
//!
//! One binary rather than one per file: the host's generics are
//! monomorphized and the whole host linked once, not once per test file,
//! which is most of a cold `cargo test`. Each file below is a module; run
//! one area with `cargo test --test suite <module>::` (e.g. `storage::`),
//! or with nextest, `cargo nextest run -p botyard --test suite <module>::`.
//!
//! The modules share one process: a test that needs a process of its own
//! (process-wide metrics, a writer killed with SIGKILL) runs as a child of
//! this binary ([`support::rerun`]; [`support::alone`] for the first kind).

mod support;

mod apps;
mod audit;
mod authoring;
mod chaos;
mod cli;
mod delivery;
mod emulator;
mod emulator_cluster;
mod flows;
mod fuzz;
mod github_standin;
mod guests;
mod hot_reload;
mod http;
mod js;
mod netns;
mod ops;
mod permissions;
mod plain_words;
mod publish;
mod python;
mod quotas;
mod receiver;
mod sandbox;
mod scheduler;
mod secrets;
mod serve;
mod sigv4;
mod slack_calls;
mod slack_clients;
mod socket_mode;
mod starters;
mod storage;
mod umbrella;
mod webhooks;
mod workbench;
