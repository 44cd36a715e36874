//! `botyard webhook <app>/<name> --file payload.json`: sends one delivery
//! by hand to a running host, signed or authenticated the way the operator
//! configured that webhook — as GitHub, Alertmanager or the tracker would
//! send it — so a handler can be tried without the real sender.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::{Cli, load_config};
use crate::config::webhooks::Verify;
use crate::inbound::webhooks::verify::{GITHUB_SIGNATURE, github_signature};

pub(super) struct Send<'a> {
    pub target: &'a str,
    pub file: &'a Path,
    pub url: &'a str,
    pub content_type: &'a str,
    pub delivery_id: Option<&'a str>,
    pub headers: &'a [String],
}

pub(super) async fn send(cli: &Cli, send: Send<'_>) -> Result<ExitCode> {
    let (app, name) = send
        .target
        .split_once('/')
        .filter(|(a, n)| !a.is_empty() && !n.is_empty() && !n.contains('/'))
        .with_context(|| format!("`{}` is not <app>/<webhook>, e.g. ci/github", send.target))?;
    let config = load_config(cli)?;
    let hook = config.webhook(app, name).with_context(|| {
        format!(
            "no webhook `{name}` is configured for app `{app}` in {}; add [apps.{app}.webhooks.{name}] with verify = \"github\" | \"bearer\" | \"basic\" | \"none\"",
            cli.config.display()
        )
    })?;
    let body = if send.file == Path::new("-") {
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut body).context("reading stdin")?;
        body
    } else {
        std::fs::read(send.file).with_context(|| format!("reading {}", send.file.display()))?
    };
    let url = format!("{}/hooks/{app}/{name}", send.url.trim_end_matches('/'));
    let mut request = reqwest::Client::new()
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, send.content_type);
    for header in send.headers {
        let (key, value) = header
            .split_once(':')
            .with_context(|| format!("--header `{header}` is not `Name: value`"))?;
        request = request.header(key.trim(), value.trim());
    }
    if let (Some(id), Some(header)) = (send.delivery_id, &hook.delivery_header) {
        request = request.header(header, id);
    }
    request = match &hook.verify {
        Verify::Github { secret } => {
            request.header(GITHUB_SIGNATURE, github_signature(secret.expose(), &body))
        }
        Verify::Bearer { token } => request.bearer_auth(token.expose()),
        Verify::Basic { username, password } => {
            request.basic_auth(username.expose(), Some(password.expose()))
        }
        Verify::None => request,
    };
    let response = request.body(body).send().await.with_context(|| {
        format!("sending to {url}; is `botyard dev` (or `serve`, then pass --url) running?")
    })?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("{} {}", status.as_u16(), text.trim());
    if !status.is_success() {
        bail!("the host refused the delivery ({status})");
    }
    Ok(ExitCode::SUCCESS)
}
