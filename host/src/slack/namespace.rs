//! Namespaced `action_id`s and `callback_id`s: how a click or a modal
//! submission finds its way back to the app that posted it, and only to it.
//!
//! Whenever an app's blocks or views leave the host (a reply, an update via
//! `response_url`, any `slack` call), every `action_id` and the view's
//! `callback_id` get the posting app's id and [`SEPARATOR`] in front:
//! `count` posted by `hello` becomes `hello.count`. App ids are `[a-z0-9-]`,
//! so the first separator always ends the app id. The host always prefixes
//! with the app that is *posting*, so an app that writes another app's prefix
//! into its own ids (`hello.count` posted by `evil` becomes
//! `evil.hello.count`) only ever reaches itself.

use serde_json::Value;
use thiserror::Error;

use super::blocks::{self, MAX_ID_LEN};

/// Between the app id and the app's own id. App ids cannot contain it.
pub const SEPARATOR: char = '.';

/// Longest app id the loader accepts (see `runtime::app`).
const MAX_APP_ID_LEN: usize = 64;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NamespaceError {
    #[error(
        "{field} `{id}` is {len} characters; with the host's `{app}{SEPARATOR}` prefix it would be {prefixed}, over Slack's {MAX_ID_LEN}; keep it to {max} characters"
    )]
    TooLong {
        field: &'static str,
        app: String,
        id: String,
        len: usize,
        prefixed: usize,
        max: usize,
    },
}

/// `app` + [`SEPARATOR`] + `id`, or an error naming the limit if the result
/// would break Slack's 255-character limit.
pub fn prefix(app: &str, id: &str) -> Result<String, NamespaceError> {
    prefix_field("action_id", app, id)
}

fn prefix_field(field: &'static str, app: &str, id: &str) -> Result<String, NamespaceError> {
    let app_len = app.chars().count() + 1;
    let len = id.chars().count();
    if app_len + len > MAX_ID_LEN {
        return Err(NamespaceError::TooLong {
            field,
            app: app.into(),
            id: id.into(),
            len,
            prefixed: app_len + len,
            max: MAX_ID_LEN.saturating_sub(app_len),
        });
    }
    Ok(format!("{app}{SEPARATOR}{id}"))
}

/// `(app, original)` of a namespaced id, or `None` when the id carries no
/// well-formed app prefix (the host did not post it).
pub fn split(id: &str) -> Option<(&str, &str)> {
    let (app, original) = id.split_once(SEPARATOR)?;
    let valid_app = !app.is_empty()
        && app.len() <= MAX_APP_ID_LEN
        && app
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid_app.then_some((app, original))
}

/// Prefixes every `action_id` anywhere inside `blocks` (a block array, a
/// single block or element) with `app`.
pub fn namespace_blocks(app: &str, blocks: &mut Value) -> Result<(), NamespaceError> {
    match blocks {
        Value::Object(map) => {
            if let Some(Value::String(id)) = map.get_mut("action_id") {
                *id = prefix(app, id)?;
            }
            map.iter_mut()
                .filter(|(key, _)| key.as_str() != "action_id")
                .try_for_each(|(_, inner)| namespace_blocks(app, inner))
        }
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|inner| namespace_blocks(app, inner)),
        _ => Ok(()),
    }
}

/// Prefixes a view's `callback_id` and every `action_id` in its blocks. A view
/// without a `callback_id` gets an empty one (`hello.`), so its submission
/// still comes back to the app.
pub fn namespace_view(app: &str, view: &mut Value) -> Result<(), NamespaceError> {
    if let Some(map) = view.as_object_mut() {
        let callback_id = match map.get("callback_id") {
            Some(Value::String(id)) => id.as_str(),
            _ => "",
        };
        let prefixed = prefix_field("callback_id", app, callback_id)?;
        map.insert("callback_id".into(), Value::String(prefixed));
        if let Some(blocks) = map.get_mut("blocks") {
            namespace_blocks(app, blocks)?;
        }
    }
    Ok(())
}

/// Parses a message's blocks, checks Slack's limits and namespaces them for
/// `app`: what every path that sends an app's message blocks to Slack uses.
pub fn message_blocks(app: &str, raw: &str) -> Result<Value, String> {
    let mut blocks = blocks::parse_message_blocks(raw)?;
    namespace_blocks(app, &mut blocks).map_err(|e| e.to_string())?;
    Ok(blocks)
}

/// Parses a view, checks Slack's limits and namespaces it for `app`.
pub fn view(app: &str, raw: &str) -> Result<Value, String> {
    let mut view = blocks::parse_view(raw)?;
    namespace_view(app, &mut view).map_err(|e| e.to_string())?;
    Ok(view)
}

/// A submitted view's `state.values` (`{block_id: {action_id: state}}`) with
/// `app`'s prefix taken off the action ids, so the app sees the ids it wrote.
pub fn strip_state_values(app: &str, values: &Value) -> Value {
    let Some(blocks) = values.as_object() else {
        return values.clone();
    };
    let stripped = blocks
        .iter()
        .map(|(block_id, actions)| {
            let actions = match actions.as_object() {
                Some(actions) => Value::Object(
                    actions
                        .iter()
                        .map(|(action_id, state)| {
                            let key = match split(action_id) {
                                Some((owner, original)) if owner == app => original,
                                _ => action_id.as_str(),
                            };
                            (key.to_string(), state.clone())
                        })
                        .collect(),
                ),
                None => actions.clone(),
            };
            (block_id.clone(), actions)
        })
        .collect();
    Value::Object(stripped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prefixes_and_splits_back() {
        let id = prefix("hello", "count").unwrap();
        assert_eq!(id, "hello.count");
        assert_eq!(split(&id), Some(("hello", "count")));
        assert_eq!(split("hello."), Some(("hello", "")));
        assert_eq!(split("poll-2.vote.yes"), Some(("poll-2", "vote.yes")));
    }

    #[test]
    fn an_app_writing_another_apps_prefix_only_reaches_itself() {
        let id = prefix("evil", "hello.count").unwrap();
        assert_eq!(split(&id), Some(("evil", "hello.count")));
    }

    #[test]
    fn ids_without_a_well_formed_app_prefix_do_not_split() {
        for id in [
            "count",
            ".count",
            "Hello.count",
            "he llo.count",
            "h_1.count",
            "",
        ] {
            assert_eq!(split(id), None, "{id:?}");
        }
        let long_app = format!("{}.x", "a".repeat(65));
        assert_eq!(split(&long_app), None);
    }

    #[test]
    fn the_limit_holds_after_prefixing() {
        let fits = "x".repeat(255 - "hello.".len());
        assert_eq!(prefix("hello", &fits).unwrap().chars().count(), 255);
        let err = prefix("hello", &format!("{fits}x")).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("256") && message.contains("255") && message.contains("249"),
            "{message}"
        );
    }

    #[test]
    fn namespaces_every_action_id_in_blocks() {
        let mut blocks = json!([
            {"type": "section", "text": {"type": "mrkdwn", "text": "action_id"},
             "accessory": {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "A"}}},
            {"type": "actions", "block_id": "b1", "elements": [
                {"type": "button", "action_id": "b"},
                {"type": "static_select", "action_id": "c", "options": []},
                {"type": "button", "url": "https://example.com"}
            ]},
            {"type": "input", "element": {"type": "plain_text_input", "action_id": "d"}}
        ]);
        namespace_blocks("poll", &mut blocks).unwrap();
        assert_eq!(blocks[0]["accessory"]["action_id"], "poll.a");
        assert_eq!(blocks[0]["text"]["text"], "action_id");
        assert_eq!(blocks[1]["block_id"], "b1", "block ids stay as written");
        assert_eq!(blocks[1]["elements"][0]["action_id"], "poll.b");
        assert_eq!(blocks[1]["elements"][1]["action_id"], "poll.c");
        assert!(blocks[1]["elements"][2].get("action_id").is_none());
        assert_eq!(blocks[2]["element"]["action_id"], "poll.d");
    }

    #[test]
    fn message_blocks_checks_limits_after_prefixing() {
        let ok = r#"[{"type":"actions","elements":[{"type":"button","action_id":"go"}]}]"#;
        assert_eq!(
            message_blocks("hello", ok).unwrap()[0]["elements"][0]["action_id"],
            "hello.go"
        );
        let long = format!(
            r#"[{{"type":"actions","elements":[{{"type":"button","action_id":"{}"}}]}}]"#,
            "x".repeat(250)
        );
        let err = message_blocks("hello", &long).unwrap_err();
        assert!(err.contains("action_id") && err.contains("255"), "{err}");
        assert!(message_blocks("hello", "nope").is_err());
    }

    #[test]
    fn namespaces_views_and_gives_them_a_callback_id() {
        let raw = r#"{"type":"modal","callback_id":"order","title":{"type":"plain_text","text":"Order"},
            "blocks":[{"type":"input","block_id":"qty","element":{"type":"number_input","action_id":"n","is_decimal_allowed":false},"label":{"type":"plain_text","text":"Qty"}}]}"#;
        let v = view("lunch", raw).unwrap();
        assert_eq!(v["callback_id"], "lunch.order");
        assert_eq!(v["blocks"][0]["element"]["action_id"], "lunch.n");
        let bare = view("lunch", r#"{"type":"home","blocks":[]}"#).unwrap();
        assert_eq!(bare["callback_id"], "lunch.");
        let long = format!(
            r#"{{"type":"home","callback_id":"{}","blocks":[]}}"#,
            "c".repeat(250)
        );
        assert!(view("lunch", &long).unwrap_err().contains("callback_id"));
    }

    #[test]
    fn strips_the_apps_own_prefix_from_submitted_values() {
        let values = json!({
            "qty": {"lunch.n": {"type": "number_input", "value": "2"}},
            "other": {"evil.n": {"value": "x"}, "raw": {"value": "y"}}
        });
        let stripped = strip_state_values("lunch", &values);
        assert_eq!(stripped["qty"]["n"]["value"], "2");
        assert_eq!(stripped["other"]["evil.n"]["value"], "x");
        assert_eq!(stripped["other"]["raw"]["value"], "y");
    }
}
