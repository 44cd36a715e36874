//! `botyard call`: a slash command through its app with no Slack at all.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::contract::bindings::types::{Message, Reply, Visibility};
use crate::contract::request::Response;
use crate::routing::{Apps, CallContext, CommandAnswer};

/// Runs `line` as typed in Slack and prints the reply and the Slack calls
/// the app made (recorded in the outbox; nothing is sent).
pub(super) async fn call(
    apps: &Apps,
    line: &str,
    ctx: &CallContext,
    as_json: bool,
) -> Result<ExitCode> {
    let answer = match apps.call_command(line, ctx).await {
        Ok(answer) => answer,
        Err(e) => {
            if as_json {
                println!("{}", json!({ "ok": false, "error": e.to_string() }));
            } else {
                eprintln!("error: {e}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let (app, version, reply, calls, duration_us) = match answer {
        CommandAnswer::Help(text) => {
            let reply = Reply {
                visibility: Visibility::Ephemeral,
                message: Message { text, blocks: None },
            };
            (
                "botyard".to_string(),
                "host".to_string(),
                Some(reply),
                vec![],
                0,
            )
        }
        CommandAnswer::App { app, invocation } => {
            let Response::Command(reply) = invocation.response else {
                unreachable!("a command gets a command response")
            };
            let first = invocation.slack_calls.first().copied().unwrap_or(i64::MAX);
            let calls = apps
                .storage()
                .outbox
                .entries(
                    Some(&app.id),
                    first - 1,
                    invocation.slack_calls.len() as u32 * 2 + 100,
                )
                .await
                .context("reading the outbox")?
                .into_iter()
                .filter(|e| invocation.slack_calls.contains(&e.id))
                .map(|e| json!({ "id": e.id, "method": e.method, "payload": e.payload }))
                .collect();
            (
                app.id.to_string(),
                app.short_hash().to_string(),
                reply,
                calls,
                invocation.duration.as_micros(),
            )
        }
    };
    let reply_json = reply.as_ref().map(|r| {
        let blocks = r.message.blocks.as_deref().and_then(|b| serde_json::from_str::<Value>(b).ok());
        json!({
            "visibility": match r.visibility { Visibility::Ephemeral => "ephemeral", Visibility::InChannel => "in_channel" },
            "text": r.message.text,
            "blocks": blocks,
        })
    });
    if as_json {
        let out = json!({ "ok": true, "app": app, "version": version, "reply": reply_json, "slack_calls": calls, "duration_us": duration_us });
        println!("{out}");
    } else {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{app} ({version}) answered in {:.2} ms",
            duration_us as f64 / 1000.0
        )?;
        match &reply_json {
            Some(r) => {
                writeln!(
                    out,
                    "reply ({}): {}",
                    r["visibility"].as_str().unwrap_or(""),
                    r["text"].as_str().unwrap_or("")
                )?;
                if !r["blocks"].is_null() {
                    writeln!(out, "  blocks: {}", r["blocks"])?;
                }
            }
            None => writeln!(out, "no reply (acknowledged silently)")?,
        }
        if !calls.is_empty() {
            writeln!(
                out,
                "slack calls (recorded in the outbox; no Slack connected):"
            )?;
            for c in &calls {
                writeln!(
                    out,
                    "  {} {}",
                    c["method"].as_str().unwrap_or(""),
                    c["payload"]
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
