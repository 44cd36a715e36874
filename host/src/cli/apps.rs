//! `botyard apps`: every app, its version, commands, grants, quotas and
//! store use, and last error; for an app published into the database
//! (`botyard publish`), the published version and what each replica
//! reports it runs; in text, the published configuration and the version
//! each replica applies.

use serde_json::{Value, json};

use crate::capabilities;
use crate::routing::Apps;
use crate::routing::overview;
use crate::routing::published::{self, short};
use crate::runtime::app::AppCode;
use crate::storage::{PublishedApp, ReplicaApp};

/// Prints the loaded apps, as text or JSON.
pub(super) async fn print(apps: &Apps, as_json: bool) {
    // The published apps load here too, so their commands and grants show.
    if let Err(e) = published::sync(apps, None).await {
        eprintln!("warning: cannot read the published apps: {e}");
    }
    let store = &apps.storage().published;
    let (published, running) = match (store.published().await, store.running().await) {
        (Ok(published), Ok(running)) => (published, running),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("warning: cannot read the published apps: {e}");
            (Vec::new(), Vec::new())
        }
    };
    let config = match store.published_config().await {
        Ok(config) => config,
        Err(e) => {
            eprintln!("warning: cannot read the published configuration: {e}");
            None
        }
    };
    let snapshot = apps.snapshot();
    let mut quotas = std::collections::BTreeMap::new();
    for (id, entry) in &snapshot.apps {
        if let Some(version) = &entry.current {
            quotas.insert(id.clone(), overview::quotas(apps, version).await);
        }
    }
    let rows: Vec<Value> = snapshot
        .apps
        .iter()
        .map(|(id, entry)| {
            let current = entry.current.as_ref();
            let mut commands: Vec<String> = current
                .map(|v| v.description.info.commands.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            if let Some(v) = current {
                commands.extend(v.description.info.subcommands.iter().map(|s| format!("{} {}", s.umbrella, s.name)));
            }
            json!({
                "id": id.to_string(),
                "name": current.map(|v| v.description.info.name.clone()),
                "version": current.map(|v| v.hash.to_string()),
                "code": current.and_then(|v| v.code_source()),
                "instances": current.and_then(|v| match &v.code {
                    AppCode::Wasm(code) => Some(json!({
                        "ready": code.ready,
                        "instantiation_us": code.instantiation.as_micros() as u64,
                    })),
                    AppCode::Native(_) => None,
                }),
                "commands": commands,
                "grants": capabilities::ordered(&current.map_or_else(|| apps.config().grants_for(id), |v| v.grants.clone())),
                "triggers": current.map(|v| v.triggers().names()).unwrap_or_default(),
                "shortcuts": current.map(|v| v.description.shortcuts.iter().map(|s| s.callback_id.clone()).collect::<Vec<_>>()).unwrap_or_default(),
                "settings": current.map(|v| overview::settings(apps, v)).unwrap_or_default(),
                "webhooks": current.map(|v| overview::webhooks(apps, v)).unwrap_or_default(),
                "http": current.map(|v| overview::http(v)).unwrap_or_default(),
                "quotas": quotas.get(id).cloned().unwrap_or_default(),
                "last_error": entry.last_error.as_ref().map(|e| e.message.clone()),
                "published": published_state(id, &published, &running),
            })
        })
        .collect();
    if as_json {
        println!("{}", Value::Array(rows));
        return;
    }
    super::cluster::print_config(config.as_ref(), &running);
    if rows.is_empty() {
        println!(
            "no apps in {} and none published",
            apps.config().apps_dir.display()
        );
        return;
    }
    for row in rows {
        let version = row["version"]
            .as_str()
            .map(|h| &h[..12])
            .unwrap_or("not loaded");
        println!("{}  {version}", row["id"].as_str().unwrap_or(""));
        let list = |v: &Value| {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        };
        println!("  commands:   {}", list(&row["commands"]));
        println!("  grants:     {}", list(&row["grants"]));
        if !list(&row["shortcuts"]).is_empty() {
            println!("  shortcuts:  {}", list(&row["shortcuts"]));
        }
        for setting in row["settings"].as_array().into_iter().flatten() {
            let name = setting["name"].as_str().unwrap_or("");
            let shown = match (setting["value"].as_str(), setting["source"].as_str()) {
                (Some(value), Some("default")) => format!("{value} (default)"),
                (Some(value), _) => value.to_string(),
                (None, _) if setting["required"] == true => "MISSING (required)".to_string(),
                (None, _) => "unset".to_string(),
            };
            println!("  setting:    {name} = {shown}");
        }
        for hook in row["webhooks"].as_array().into_iter().flatten() {
            let verify = match hook["verify"].as_str() {
                Some(kind) => format!("verify {kind}"),
                None => "NOT CONFIGURED: add [apps.<id>.webhooks.<name>] to botyard.toml".into(),
            };
            println!(
                "  webhook:    POST {} ({verify})",
                hook["path"].as_str().unwrap_or("")
            );
        }
        if !list(&row["http"]).is_empty() {
            println!("  http:       {}", list(&row["http"]));
        }
        let quotas = row["quotas"].as_array().cloned().unwrap_or_default();
        let quota = |name: &str| quotas.iter().find(|q| q["name"] == name);
        if let (Some(bytes), Some(keys)) = (quota("store_bytes"), quota("store_keys")) {
            let full = if bytes["full"] == true || keys["full"] == true {
                " — FULL: writes that grow it are refused"
            } else {
                ""
            };
            println!(
                "  store:      {} (store_bytes), {} keys (store_keys){full}",
                bytes["text"].as_str().unwrap_or(""),
                keys["text"].as_str().unwrap_or("")
            );
        }
        if !quotas.is_empty() {
            // The store's are shown with its use above; a per-minute count
            // is this process's own (none here), so only its limit is shown.
            let limits: Vec<String> = quotas
                .iter()
                .filter(|q| !matches!(q["name"].as_str(), Some("store_bytes" | "store_keys")))
                .map(|q| {
                    let limit = match q["limit"].as_u64() {
                        Some(0) | None => "unlimited".to_string(),
                        Some(n) => n.to_string(),
                    };
                    let kept = match q["name"].as_str() {
                        Some("webhook_deliveries_kept") => format!(" ({} kept)", q["used"]),
                        _ => String::new(),
                    };
                    format!("{} = {limit}{kept}", q["name"].as_str().unwrap_or(""))
                })
                .collect();
            println!("  quotas:     {}", limits.join(", "));
        }
        if let Some(code) = row["code"].as_str() {
            println!("  code:       {code}");
        }
        if let Some(ready) = row["instances"]["ready"].as_u64() {
            let made_in = row["instances"]["instantiation_us"].as_u64().unwrap_or(0);
            let how = match ready {
                0 => "made on demand".to_string(),
                n => format!("{n} made ahead"),
            };
            println!("  instances:  {how} (one takes {made_in} µs to make)");
        }
        if let Some(err) = row["last_error"].as_str() {
            println!("  last error: {err}");
        }
        print_published(&row["published"]);
    }
}

/// The published version of app `id` and each replica's report of it, or
/// null when it is not published.
fn published_state(id: &str, published: &[PublishedApp], running: &[ReplicaApp]) -> Value {
    let Some(current) = published.iter().find(|p| p.app == id) else {
        return Value::Null;
    };
    let replicas: Vec<Value> = running
        .iter()
        .filter(|r| r.app == id)
        .map(|r| {
            json!({
                "replica": r.replica,
                "hash": r.hash,
                "state": if r.hash.as_deref() == Some(current.hash.as_str()) && r.error.is_none() {
                    "loaded"
                } else if r.error.is_some() {
                    "error"
                } else {
                    "behind"
                },
                "error": r.error,
                "alive": r.alive,
                "at_ms": r.at_ms,
            })
        })
        .collect();
    json!({
        "hash": current.hash,
        "size": current.size,
        "published_ms": current.published_ms,
        "replicas": replicas,
    })
}

/// The text lines for [`published_state`]: one per replica.
fn print_published(state: &Value) {
    let Some(hash) = state["hash"].as_str() else {
        return;
    };
    let replicas = state["replicas"].as_array().cloned().unwrap_or_default();
    println!(
        "  published:  {} ({} replica(s) reported)",
        short(hash),
        replicas.len()
    );
    for r in &replicas {
        let runs = r["hash"].as_str().map_or("nothing", short);
        let stopped = if r["alive"] == false {
            " (stopped)"
        } else {
            ""
        };
        let state = match (r["state"].as_str(), r["error"].as_str()) {
            (Some("loaded"), _) => "loaded".to_string(),
            (_, Some(error)) => format!("ERROR: {error}"),
            _ => "behind".to_string(),
        };
        println!(
            "  replica:    {}  {runs}  {state}{stopped}",
            r["replica"].as_str().unwrap_or("")
        );
    }
}
