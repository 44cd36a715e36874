//! An app as its operator sees it, beyond its commands: the settings it
//! declares and what it reads for each, its webhooks and how they are
//! verified, what it may reach over HTTP, its quotas and how much of each it
//! uses. One reading for `botyard apps` and the workbench, so both say the
//! same — and neither ever shows a secret (webhook and HTTP credentials are
//! named by kind only).

use serde_json::{Value, json};

use super::Apps;
use crate::capabilities::quota::limit_shown;
use crate::contract::limits::{Quota, bytes_shown};
use crate::runtime::app::AppVersion;

/// The settings a version declares, with what it reads for each: the
/// operator's value (`source: "set"`), the declared default (`"default"`),
/// or nothing (`"unset"`).
pub fn settings(apps: &Apps, version: &AppVersion) -> Vec<Value> {
    let values = version.states.settings.as_deref();
    let config = apps.config();
    let operator = config
        .apps
        .get(&*version.id)
        .map(|a| &a.capabilities.settings);
    version
        .description
        .settings
        .iter()
        .map(|spec| {
            let value = values.and_then(|v| v.get(&spec.name));
            let source = match value {
                None => "unset",
                Some(_) if operator.is_some_and(|o| o.contains_key(&spec.name)) => "set",
                Some(_) => "default",
            };
            json!({
                "name": spec.name,
                "description": spec.description,
                "required": spec.required,
                "default": spec.default,
                "value": value,
                "source": source,
            })
        })
        .collect()
}

/// The webhooks a version declares: where they are served, and how the
/// operator verifies them (`verify: null`: not configured, so refused).
pub fn webhooks(apps: &Apps, version: &AppVersion) -> Vec<Value> {
    version
        .description
        .webhooks
        .iter()
        .map(|w| {
            json!({
                "name": w.name,
                "description": w.description,
                "path": format!("/hooks/{}/{}", version.id, w.name),
                "verify": apps.config().webhook(&version.id, &w.name).map(|c| c.verify.kind()),
            })
        })
        .collect()
}

/// The HTTP allow-list, as the operator wrote it (empty unless granted).
pub fn http(version: &AppVersion) -> Vec<String> {
    version
        .states
        .http
        .as_ref()
        .map(|h| h.allowed())
        .unwrap_or_default()
}

/// The shortcuts a version declares, as declared (the callback id without
/// the app's namespace).
pub fn shortcuts(version: &AppVersion) -> Vec<Value> {
    version
        .description
        .shortcuts
        .iter()
        .map(|s| {
            json!({
                "callback_id": s.callback_id,
                "name": s.name,
                "description": s.description,
                "kind": crate::contract::description::shortcut_kind_name(s.kind),
            })
        })
        .collect()
}

/// The app's quotas and what it uses of each: `name` (its key in
/// `botyard.toml`), `limit` (0: unlimited), `used` (the store's bytes and
/// keys and the deliveries kept, from storage; calls in the last minute as
/// this host counted them), `per_minute`, whether it is `full` (the next
/// write or call past it is refused), and `text` for people.
pub async fn quotas(apps: &Apps, version: &AppVersion) -> Vec<Value> {
    let usage = apps.storage().usage(&version.id).await.unwrap_or_else(|e| {
        tracing::warn!(app = &*version.id, error = %e, "reading what the app uses failed");
        Default::default()
    });
    let meter = apps.runtime().quotas();
    Quota::ALL
        .into_iter()
        .map(|quota| {
            let limit = version.limits.quotas.limit(quota);
            let per_minute = matches!(
                quota,
                Quota::SlackCallsPerMinute | Quota::HttpRequestsPerMinute
            );
            let used = match quota {
                Quota::StoreBytes => usage.store_bytes,
                Quota::StoreKeys => usage.store_keys,
                Quota::WebhookDeliveriesKept => usage.webhook_deliveries,
                Quota::SlackCallsPerMinute | Quota::HttpRequestsPerMinute => {
                    meter.in_last_minute(&version.id, quota)
                }
            };
            let used_shown = match quota {
                Quota::StoreBytes => bytes_shown(used),
                _ => used.to_string(),
            };
            let text = match (limit, per_minute) {
                (0, true) => format!("{used_shown} in the last minute (unlimited)"),
                (0, false) => format!("{used_shown} (unlimited)"),
                (_, true) => format!(
                    "{used_shown} of {} in the last minute",
                    limit_shown(quota, limit)
                ),
                (_, false) => format!("{used_shown} of {}", limit_shown(quota, limit)),
            };
            json!({
                "name": quota.name(),
                "limit": limit,
                "used": used,
                "per_minute": per_minute,
                "full": limit > 0 && used >= limit,
                "text": text,
            })
        })
        .collect()
}
