//! `botyard test <app>`: build an app and run its scenarios through the
//! test kit ([`crate::testkit`]); one line per scenario.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};

use super::{Cli, build_options};
use crate::authoring;
use crate::testkit::{self, KitError, RunOptions, TestApp};

pub(super) async fn test(cli: &Cli, app: &str, only: Option<&str>) -> Result<ExitCode> {
    let dir = resolve(cli, app)?;
    let opts = RunOptions::new(build_options(cli).data_dir);
    // Scenario files first: a typo is reported before minutes of building.
    if let Err(e) = testkit::load_dir(&dir) {
        eprintln!("botyard test: {e}");
        return Ok(ExitCode::from(2));
    }
    eprintln!("botyard test: building {} …", dir.display());
    let built = {
        let (dir, opts) = (dir.clone(), opts.clone());
        tokio::task::spawn_blocking(move || TestApp::from_dir(&dir, &opts)).await?
    };
    let app = match built {
        Ok(app) => app,
        Err(e) => bail!("{e}"),
    };
    let outcomes = match testkit::run_app(&app, &opts, only).await {
        Ok(outcomes) => outcomes,
        Err(
            e
            @ (KitError::Scenario(_) | KitError::NoScenarios(_) | KitError::NoSuchScenario { .. }),
        ) => {
            eprintln!("botyard test: {e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => bail!("{e}"),
    };
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    for outcome in &outcomes {
        println!("{outcome}");
    }
    println!(
        "{} scenario(s): {} passed, {failed} failed",
        outcomes.len(),
        outcomes.len() - failed
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A directory as given, else a shipped app (`apps/<id>`), else a project
/// `botyard new` registered in this data directory.
fn resolve(cli: &Cli, app: &str) -> Result<PathBuf> {
    let given = Path::new(app);
    if given.is_dir() {
        return Ok(given.to_path_buf());
    }
    let shipped = Path::new("apps").join(app);
    if shipped.is_dir() {
        return Ok(shipped);
    }
    if let Some(project) = authoring::registered_projects(&cli.data_dir)
        .into_iter()
        .find(|p| p.id == app)
    {
        return Ok(project.dir);
    }
    bail!(
        "no app `{app}`: give its source directory (e.g. apps/poll or ./standup), the id of an app in apps/, or of a project made with `botyard new` (with the same --data-dir)"
    )
}
