//! An app as its operator sees it, beyond its commands: the settings it
//! declares and what it reads for each, its webhooks and how they are
//! verified, what it may reach over HTTP. One reading for `botyard apps` and
//! the workbench, so both say the same — and neither ever shows a secret
//! (webhook and HTTP credentials are named by kind only).

use serde_json::{Value, json};

use super::Apps;
use crate::runtime::app::AppVersion;

/// The settings a version declares, with what it reads for each: the
/// operator's value (`source: "set"`), the declared default (`"default"`),
/// or nothing (`"unset"`).
pub fn settings(apps: &Apps, version: &AppVersion) -> Vec<Value> {
    let values = version.states.settings.as_deref();
    let operator = apps
        .config()
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
