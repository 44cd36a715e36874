//! The app test kit behind `botyard test`: runs an app's scenarios
//! (`<app>/scenarios/*.toml`, the format is `docs/testing.md`) against a
//! private host and the Slack emulator, on virtual time.
//!
//! Why in-process, over the emulator: a scenario then goes through exactly
//! what real Slack exercises — signed requests, the routing table, the
//! outbox and its delivery, `response_url` — while staying hermetic (its own
//! SQLite file in a temporary directory, its own workspace) and fast.
//!
//! Why virtual time: schedules are the part of an app hardest to test by
//! hand. The host and the emulator share one manual
//! [`Clock`](crate::contract::time::Clock) (what `clock.now-ms` answers,
//! message timestamps, when cron and one-off ticks are due); the kit does not
//! start the host's polling scheduler but fires due ticks itself, jumping
//! from one due time to the next, so `wait = "6h"` takes milliseconds.
//! Infrastructure — request signatures, outbox leases and retry pacing, the
//! audit log — stays on real time: no app can see it, and the emulator's
//! signatures must stay fresh to the receiver.
//!
//! ```no_run
//! # async fn demo() -> Result<(), botyard::testkit::KitError> {
//! use botyard::testkit::{self, RunOptions};
//! let app = testkit::TestApp::from_dir("apps/poll".as_ref(), &RunOptions::new(".botyard"))?;
//! for outcome in testkit::run_app(&app, &RunOptions::new(".botyard"), None).await? {
//!     println!("{outcome}");
//! }
//! # Ok(()) }
//! ```

mod http;
mod scenario;
mod world;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use thiserror::Error;

pub use scenario::{Scenario, ScenarioError, StandIn, load, load_dir, parse, parse_duration};

use crate::authoring::SourceApp;
use crate::build::{BuildError, BuildOptions, build_guest};

/// How scenarios are run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where toolchains, build caches and compiled components live (shared
    /// between scenarios and with `dev`).
    pub build_dir: PathBuf,
    /// How long one step may take to settle, in real time.
    pub settle_timeout: Duration,
}

impl RunOptions {
    pub fn new(build_dir: impl Into<PathBuf>) -> RunOptions {
        RunOptions {
            build_dir: build_dir.into(),
            settle_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Error)]
pub enum KitError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("building {dir}: {source}")]
    Build { dir: PathBuf, source: BuildError },
    #[error("{0} has no scenarios: add scenarios/<name>.toml (see docs/testing.md)")]
    NoScenarios(PathBuf),
    #[error("no scenario named `{name}` in {dir}; it has: {have}")]
    NoSuchScenario {
        name: String,
        dir: PathBuf,
        have: String,
    },
}

/// An app to test: its id, its source and the component built from it.
#[derive(Debug, Clone)]
pub struct TestApp {
    pub id: String,
    pub dir: PathBuf,
    pub component: PathBuf,
}

impl TestApp {
    /// Builds the app in `dir` (any language) the way `botyard dev` does.
    pub fn from_dir(dir: &Path, opts: &RunOptions) -> Result<TestApp, KitError> {
        let source = SourceApp::from_dir(dir);
        let build = BuildOptions {
            data_dir: opts.build_dir.clone(),
            release: true,
        };
        let component = build_guest(dir, &build).map_err(|source| KitError::Build {
            dir: dir.to_path_buf(),
            source,
        })?;
        Ok(TestApp {
            id: source.id,
            dir: dir.to_path_buf(),
            component,
        })
    }
}

/// How one scenario went.
#[derive(Debug)]
pub struct Outcome {
    pub app: String,
    pub scenario: String,
    pub file: PathBuf,
    pub elapsed: Duration,
    pub failure: Option<Failure>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            None => write!(
                f,
                "ok     {}/{} ({} ms)",
                self.app,
                self.scenario,
                self.elapsed.as_millis()
            ),
            Some(failure) => write!(f, "FAILED {}/{} {failure}", self.app, self.scenario),
        }
    }
}

/// Why a scenario failed: the step, what was expected, what happened.
#[derive(Debug, Clone)]
pub struct Failure {
    pub file: PathBuf,
    pub line: usize,
    /// The step as written, briefly.
    pub step: String,
    pub expected: String,
    /// What the person did see (or what went wrong), one entry a line.
    pub saw: Vec<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "({}:{}): {}", self.file.display(), self.line, self.step)?;
        writeln!(f, "  expected: {}", self.expected)?;
        if self.saw.is_empty() {
            write!(f, "  saw: nothing")
        } else {
            write!(f, "  saw:")?;
            for line in &self.saw {
                write!(f, "\n    {line}")?;
            }
            Ok(())
        }
    }
}

/// Runs `scenario` against `app` in a world of its own.
pub async fn run_scenario(app: &TestApp, scenario: &Scenario, opts: &RunOptions) -> Outcome {
    let started = Instant::now();
    // The HTTP stand-in first: its address goes into the scenario (`{http}`).
    let stand_in = match http::StandInServer::start(&scenario.http).await {
        Ok(stand_in) => stand_in,
        Err(e) => {
            return Outcome {
                app: app.id.clone(),
                scenario: scenario.name.clone(),
                file: scenario.file.clone(),
                elapsed: started.elapsed(),
                failure: Some(Failure {
                    file: scenario.file.clone(),
                    line: 1,
                    step: "setting up the scenario".into(),
                    expected: "a loopback port for the HTTP stand-in".into(),
                    saw: vec![e.to_string()],
                }),
            };
        }
    };
    let rewritten;
    let scenario = match &stand_in {
        Some(server) => {
            rewritten = http::with_base(scenario, &server.base);
            &rewritten
        }
        None => scenario,
    };
    let failure = match world::World::start(app, scenario, opts).await {
        Ok(mut world) => {
            let result = world.run(scenario).await;
            world.stop().await;
            result.err()
        }
        Err(failure) => Some(failure),
    };
    drop(stand_in);
    Outcome {
        app: app.id.clone(),
        scenario: scenario.name.clone(),
        file: scenario.file.clone(),
        elapsed: started.elapsed(),
        failure,
    }
}

/// Runs every scenario of `app` (or only the one named `only`), in name order.
pub async fn run_app(
    app: &TestApp,
    opts: &RunOptions,
    only: Option<&str>,
) -> Result<Vec<Outcome>, KitError> {
    let mut scenarios = load_dir(&app.dir)?;
    if scenarios.is_empty() {
        return Err(KitError::NoScenarios(app.dir.clone()));
    }
    if let Some(name) = only {
        let have = scenarios
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        scenarios.retain(|s| s.name == name);
        if scenarios.is_empty() {
            return Err(KitError::NoSuchScenario {
                name: name.to_string(),
                dir: app.dir.clone(),
                have,
            });
        }
    }
    let mut outcomes = Vec::new();
    for scenario in &scenarios {
        outcomes.push(run_scenario(app, scenario, opts).await);
    }
    Ok(outcomes)
}
