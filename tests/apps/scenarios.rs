//! Every shipped app's scenarios (`apps/*/scenarios/*.toml`) and the
//! starters' (`examples/hello-*/scenarios`), run through the test kit as a
//! library call, so the guests are built once for the whole binary. A new
//! app's scenarios are picked up without touching this file.

use std::path::PathBuf;

use botyard::authoring::SourceApp;
use botyard::testkit::{self, RunOptions, TestApp};

use crate::support;

/// Every app directory under `apps/` and `examples/` with a `scenarios/` folder.
fn apps_with_scenarios() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for home in ["apps", "examples"] {
        let Ok(entries) = std::fs::read_dir(support::repo_root().join(home)) else {
            continue;
        };
        dirs.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join("scenarios").is_dir()),
        );
    }
    dirs.sort();
    dirs
}

/// The app in `dir`, built with the suite's shared build directory.
pub fn test_app(dir: &std::path::Path) -> TestApp {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    TestApp {
        id: SourceApp::from_dir(dir).id,
        dir: dir.to_path_buf(),
        component: support::guest_component(&name),
    }
}

pub fn options() -> RunOptions {
    RunOptions::new(support::shared_build_dir())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_apps_scenarios_pass() {
    let dirs = apps_with_scenarios();
    for starter in ["hello-rust", "hello-js", "hello-python"] {
        assert!(
            dirs.iter().any(|d| d.ends_with(starter)),
            "the starter {starter} has no scenarios/: `botyard new` apps must come with one"
        );
    }
    let mut failures = Vec::new();
    let mut ran = 0;
    for dir in &dirs {
        let app = test_app(dir);
        match testkit::run_app(&app, &options(), None).await {
            Ok(outcomes) => {
                for outcome in outcomes {
                    ran += 1;
                    if !outcome.passed() {
                        failures.push(outcome.to_string());
                    }
                }
            }
            Err(e) => failures.push(format!("{}: {e}", dir.display())),
        }
    }
    assert!(ran >= 3, "only {ran} scenarios ran");
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
