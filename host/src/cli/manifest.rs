//! `botyard manifest`: the Slack app manifest for the loaded apps.

use std::process::ExitCode;

use anyhow::Result;

use super::{Cli, host};
use crate::inbound::http::ReceiverConfig;
use crate::routing::manifest::{self, ManifestOptions};

/// Prints the manifest as JSON, or YAML; with `url` (the public base URL of
/// `botyard serve` in HTTP mode) Slack is given request URLs, without it
/// Socket Mode.
pub(super) async fn print(cli: &Cli, yaml: bool, url: Option<&str>) -> Result<ExitCode> {
    let host = host(cli)?.start().await?;
    let mut options = ManifestOptions::default();
    if let Some(base) = url {
        let paths = ReceiverConfig::new("unused");
        options.connection = manifest::Connection::Http(manifest::RequestUrls::new(
            base,
            &paths.commands_path,
            &paths.events_path,
            &paths.interactivity_path,
        ));
    }
    let value = manifest::manifest(&host.apps().snapshot(), &options);
    if yaml {
        print!("{}", manifest::to_yaml(&value));
    } else {
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(ExitCode::SUCCESS)
}
