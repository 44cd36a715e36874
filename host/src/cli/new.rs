//! `botyard new`: an app from the starter for its language, built and
//! installed, answering at once.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{Cli, Lang, build_options, host, load_config};
use crate::authoring::rebuild::build_and_install;
use crate::authoring::scaffold::scaffold;
use crate::authoring::{self, SourceApp};

pub(super) async fn new_app(cli: &Cli, name: &str, lang: Lang, parent: &Path) -> Result<ExitCode> {
    let opts = build_options(cli);
    let dir = parent.join(name);
    let files = scaffold(name, lang.into(), &dir, &opts.data_dir)?;
    for file in &files {
        eprintln!("  created {}", file.display());
    }
    let app = SourceApp::from_dir(&dir);
    authoring::register_project(&cli.data_dir, &app)
        .with_context(|| format!("recording the project in {}", cli.data_dir.display()))?;
    eprintln!("botyard new: building {name} …");
    let installed = build_and_install(&app, &opts, &load_config(cli)?.apps_dir)?;
    eprintln!("botyard new: installed {}", installed.display());
    // Loading now compiles it into the cache (a minute for a Python app on a
    // small machine), so the first `botyard call` answers at once, and a load
    // error shows up here.
    eprintln!("botyard new: compiling {name} …");
    let host = host(cli)?.start().await?;
    if let Some(error) = host
        .apps()
        .snapshot()
        .apps
        .get(name)
        .and_then(|entry| entry.last_error.clone())
    {
        anyhow::bail!("{name} was built but does not load: {}", error.message);
    }
    println!(
        "{name} is ready. Try it:\n  botyard call \"/{name}\"\n  botyard dev      # the workbench; saving {} rebuilds it\n  botyard test {name}   # runs scenarios/*.toml (docs/testing.md)",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
