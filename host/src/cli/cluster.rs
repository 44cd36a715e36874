//! `botyard cluster status`: who shares the database, whether each replica
//! is alive, what leases it holds, and how much work waits. It connects as
//! an observer (registers nothing, claims nothing), so it is safe to run
//! on a replica's own machine while it serves. Published apps show with
//! what each replica reports it runs of them, and the published
//! configuration with the version each replica applies (its reports are
//! the `running` rows of app `botyard.toml`); on PostgreSQL, who holds
//! Slack's Socket Mode connection slots.

use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;

use crate::routing::published::short;
use crate::storage::{
    CONFIG_REPORT_NAME, PublishedConfig, ReplicaApp, ReplicaStatus, SLACK_SOCKET_SLOTS, SlotHolder,
    Storage,
};

/// Prints the cluster's state: a table, or one JSON object.
pub(super) async fn status(storage: &Storage, json: bool) -> Result<ExitCode> {
    let replicas = storage
        .cluster
        .replicas()
        .await
        .context("listing the replicas")?;
    let inbox = storage
        .inbox
        .pending_count()
        .await
        .context("counting the inbox")?;
    let (outbox, oldest_ms) = storage
        .outbox
        .pending_summary()
        .await
        .context("counting the outbox")?;
    let webhooks = storage
        .webhooks
        .pending_count()
        .await
        .context("counting webhook deliveries")?;
    let published = storage
        .published
        .published()
        .await
        .context("reading the published apps")?;
    let running = storage
        .published
        .running()
        .await
        .context("reading what the replicas run")?;
    let config = storage
        .published
        .published_config()
        .await
        .context("reading the published configuration")?;
    let slots = if storage.slots.shared() {
        storage
            .slots
            .slot_leases()
            .await
            .context("reading the Socket Mode slots")?
    } else {
        Vec::new()
    };
    let now = crate::contract::time::now_ms() as i64;
    let oldest_s = oldest_ms.map(|at| (now - at).max(0) as f64 / 1000.0);
    if json {
        let body = json!({
            "storage": storage.location(),
            "replicas": replicas,
            "inbox_pending": inbox,
            "outbox_pending": outbox,
            "outbox_oldest_seconds": oldest_s,
            "webhooks_pending": webhooks,
            "published": published,
            "config": config,
            "running": running,
            "socket_slots": slots.iter().map(|s| json!({
                "slot": s.slot,
                "replica": s.replica,
                "spare": s.spare,
            })).collect::<Vec<_>>(),
        });
        println!("{body}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("storage: {}", storage.location());
    if replicas.is_empty() {
        println!(
            "replicas: none registered — SQLite is one machine's; several replicas share \
             [storage] backend = \"postgres\" (docs/operating.md, \"Storage backends\")"
        );
    } else {
        println!(
            "{:<20} {:>11}  {:<7}  {:>10}  {:>10}  leases inbox/outbox/webhooks",
            "replica", "incarnation", "state", "heartbeat", "up"
        );
        for r in &replicas {
            println!("{}", row(r));
        }
    }
    let oldest = oldest_s.map_or(String::new(), |s| format!(", oldest {s:.1} s"));
    println!(
        "inbox: {inbox} pending; outbox: {outbox} pending{oldest}; webhooks: {webhooks} pending"
    );
    for app in &published {
        println!("published app {} {}", app.app, short(&app.hash));
        for r in running.iter().filter(|r| r.app == app.app) {
            let runs = r.hash.as_deref().map_or("nothing", short);
            let state = match &r.error {
                None if r.hash.as_deref() == Some(app.hash.as_str()) => "loaded".to_string(),
                None => "behind".to_string(),
                Some(error) => format!("ERROR: {error}"),
            };
            let stopped = if r.alive == Some(false) {
                " (stopped)"
            } else {
                ""
            };
            println!("  {:<20} {runs}  {state}{stopped}", r.replica);
        }
    }
    print_config(config.as_ref(), &running);
    if storage.slots.shared() {
        println!("{}", slots_line(&slots));
    }
    Ok(ExitCode::SUCCESS)
}

/// Who holds Slack's Socket Mode connections: "socket mode: 7 of 10 slots
/// held — bot-a 3 (+ spare), bot-b 4". HTTP-mode replicas hold none.
fn slots_line(slots: &[SlotHolder]) -> String {
    let mut by: std::collections::BTreeMap<&str, (u32, bool)> = Default::default();
    for s in slots {
        let held = by.entry(s.replica.as_str()).or_default();
        if s.spare {
            held.1 = true;
        } else {
            held.0 += 1;
        }
    }
    let holders: Vec<String> = by
        .iter()
        .map(|(replica, (n, spare))| {
            format!("{replica} {n}{}", if *spare { " (+ spare)" } else { "" })
        })
        .collect();
    let detail = if holders.is_empty() {
        String::new()
    } else {
        format!(" — {}", holders.join(", "))
    };
    format!(
        "socket mode: {} of {SLACK_SOCKET_SLOTS} slots held{detail}",
        slots.len()
    )
}

/// The published configuration, if any, and the version each replica
/// reports it applies (or why it does not): for `cluster status` and
/// `botyard apps`. Never the configuration's text.
pub(super) fn print_config(config: Option<&PublishedConfig>, running: &[ReplicaApp]) {
    let Some(config) = config else {
        return;
    };
    println!("published configuration {}", short(&config.hash));
    for r in running.iter().filter(|r| r.app == CONFIG_REPORT_NAME) {
        let applies = r.hash.as_deref().map_or("its own file only", short);
        let state = match &r.error {
            None if r.hash.as_deref() == Some(config.hash.as_str()) => "applied".to_string(),
            None => "behind".to_string(),
            Some(error) => format!("ERROR: {error}"),
        };
        let stopped = if r.alive == Some(false) {
            " (stopped)"
        } else {
            ""
        };
        println!("  {:<20} {applies}  {state}{stopped}", r.replica);
    }
}

fn row(r: &ReplicaStatus) -> String {
    let ago = |ms: i64| format!("{:.1} s", (r.now_ms - ms).max(0) as f64 / 1000.0);
    format!(
        "{:<20} {:>11}  {:<7}  {:>10}  {:>10}  {}/{}/{}",
        r.replica,
        r.incarnation,
        if r.alive { "alive" } else { "stopped" },
        ago(r.heartbeat_ms),
        ago(r.started_ms),
        r.inbox_leases,
        r.outbox_leases,
        r.webhook_leases
    )
}
