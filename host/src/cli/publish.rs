//! `botyard publish` and `botyard unpublish`: an app version into the
//! database for every replica (see [`crate::routing::published`]), checked
//! first the way a reload checks it, so a broken one reaches no replica;
//! or, with `--cluster-config`, the cluster-wide part of the configuration,
//! checked first the way a replica parses it.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::{Cli, build_options, load_config, tool_host};
use crate::authoring::SourceApp;
use crate::build::build_guest;
use crate::config::storage::StorageConfig;
use crate::host::open_storage;
use crate::routing::published::{self, POLL_EVERY, short};

/// Publishes the component at `path` (a `.wasm` file, or an app's source
/// directory, built first as `botyard build` builds it) as app `name`
/// (default: the file's stem or the directory's name).
pub(super) async fn publish(
    cli: &Cli,
    path: &Path,
    name: Option<&str>,
    as_json: bool,
) -> Result<ExitCode> {
    let (id, component) = if path.is_dir() {
        let app = SourceApp::from_dir(path);
        let (dir, opts) = (path.to_path_buf(), build_options(cli));
        let built = tokio::task::spawn_blocking(move || build_guest(&dir, &opts))
            .await
            .context("the build panicked")?
            .with_context(|| format!("building {}", path.display()))?;
        (app.id, built)
    } else if path.is_file() {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        (stem, path.to_path_buf())
    } else {
        bail!(
            "{} is neither a component (.wasm) nor an app's source directory",
            path.display()
        );
    };
    let id = name.map_or(id, str::to_string);
    let bytes = std::fs::read(&component)
        .with_context(|| format!("cannot read {}", component.display()))?;
    let host = tool_host(cli).await?.start().await?;
    let apps = host.apps();
    // What the replicas run besides it, for the command-conflict check.
    published::sync(apps, None)
        .await
        .context("reading the published apps")?;
    let hash = crate::storage::content_hash(&bytes);
    let before = apps
        .storage()
        .published
        .published()
        .await
        .context("reading the published apps")?;
    let changed = !before.iter().any(|p| p.app == id && p.hash == hash);
    let published = published::publish(apps, &id, bytes).await?;
    let cluster = matches!(apps.config().storage, StorageConfig::Postgres(_));
    if as_json {
        println!(
            "{}",
            json!({
                "app": published.app,
                "hash": published.hash,
                "size": published.size,
                "changed": changed,
                "poll_seconds": POLL_EVERY.as_secs(),
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    let who = who_follows(cluster);
    if changed {
        println!(
            "published {} {} ({} bytes); {who} picks it up within {} s (plus its compile); \
             `botyard apps` shows what each runs",
            published.app,
            short(&published.hash),
            published.size,
            POLL_EVERY.as_secs()
        );
    } else {
        println!(
            "{} {} is already the published version; nothing changed",
            published.app,
            short(&published.hash)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Stops publishing app `id`: replicas hand it back to their apps
/// directory (a file of that name loads again; otherwise the app goes).
pub(super) async fn unpublish(cli: &Cli, id: &str) -> Result<ExitCode> {
    let config = load_config(cli)?;
    let storage = open_storage(&config, &cli.data_dir, true).await?;
    let removed = storage
        .published
        .unpublish(id)
        .await
        .with_context(|| format!("unpublishing `{id}`"))?;
    if !removed {
        bail!("`{id}` is not published; `botyard apps` lists what is");
    }
    println!(
        "unpublished {id}; replicas drop it (or load their apps directory's {id}.wasm) within {} s",
        POLL_EVERY.as_secs()
    );
    Ok(ExitCode::SUCCESS)
}

/// Publishes the TOML file at `path` as the cluster-wide configuration:
/// checked first (only `limits`, `apps`, `permissions`, `audit`; valid
/// configuration), refused with why and nothing written otherwise. Each
/// replica applies it over its own botyard.toml within the poll interval.
pub(super) async fn publish_config(cli: &Cli, path: &Path, as_json: bool) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let config = load_config(cli)?;
    let cluster = matches!(config.storage, StorageConfig::Postgres(_));
    let storage = open_storage(&config, &cli.data_dir, true).await?;
    let hash = crate::storage::content_hash(text.as_bytes());
    let before = storage
        .published
        .published_config()
        .await
        .context("reading the published configuration")?;
    let changed = before.is_none_or(|b| b.hash != hash);
    let published = published::publish_config(storage.published.as_ref(), &text)
        .await
        .with_context(|| format!("publishing {}", path.display()))?;
    if as_json {
        println!(
            "{}",
            json!({
                "config": published.hash,
                "size": text.len(),
                "changed": changed,
                "poll_seconds": POLL_EVERY.as_secs(),
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    let who = who_follows(cluster);
    if changed {
        println!(
            "published configuration {} ({} bytes); {who} applies it over its own botyard.toml \
             within {} s; `botyard cluster status` shows what each applies",
            short(&published.hash),
            text.len(),
            POLL_EVERY.as_secs()
        );
    } else {
        println!(
            "configuration {} is already the published one; nothing changed",
            short(&published.hash)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Stops publishing the configuration: replicas go back to their own
/// botyard.toml alone.
pub(super) async fn unpublish_config(cli: &Cli) -> Result<ExitCode> {
    let config = load_config(cli)?;
    let storage = open_storage(&config, &cli.data_dir, true).await?;
    let removed = storage
        .published
        .unpublish_config()
        .await
        .context("unpublishing the configuration")?;
    if !removed {
        bail!("no configuration is published; `botyard cluster status` shows what is");
    }
    println!(
        "unpublished the configuration; replicas go back to their own botyard.toml within {} s",
        POLL_EVERY.as_secs()
    );
    Ok(ExitCode::SUCCESS)
}

/// Who picks up what is published: every replica on PostgreSQL, the one
/// `botyard serve` on SQLite.
fn who_follows(cluster: bool) -> &'static str {
    if cluster {
        "every replica"
    } else {
        "`botyard serve` on this machine"
    }
}
