//! Slack's documented Block Kit limits, checked before anything is queued so
//! an app author gets a clear error instead of a silent Slack failure.

use serde_json::Value;

pub const MAX_MESSAGE_BLOCKS: usize = 50;
pub const MAX_VIEW_BLOCKS: usize = 100;
pub const MAX_MESSAGE_TEXT: usize = 40_000;
pub const MAX_SECTION_TEXT: usize = 3000;
pub const MAX_HEADER_TEXT: usize = 150;
pub const MAX_ID_LEN: usize = 255;
pub const MAX_VIEW_TITLE: usize = 24;
pub const MAX_PRIVATE_METADATA: usize = 3000;

pub fn check_message_text(text: &str) -> Result<(), String> {
    let chars = text.chars().count();
    if chars > MAX_MESSAGE_TEXT {
        return Err(format!(
            "message text is {chars} characters; Slack allows {MAX_MESSAGE_TEXT}"
        ));
    }
    Ok(())
}

/// Parses and checks a message's `blocks` JSON array.
pub fn parse_message_blocks(raw: &str) -> Result<Value, String> {
    let blocks: Value =
        serde_json::from_str(raw).map_err(|e| format!("blocks are not valid JSON: {e}"))?;
    check_blocks(&blocks, MAX_MESSAGE_BLOCKS, "a message")?;
    Ok(blocks)
}

/// Parses and checks a view (modal or App Home) JSON object.
pub fn parse_view(raw: &str) -> Result<Value, String> {
    let view: Value =
        serde_json::from_str(raw).map_err(|e| format!("view is not valid JSON: {e}"))?;
    let kind = view.get("type").and_then(Value::as_str);
    match kind {
        Some("modal") => {
            let title = view
                .pointer("/title/text")
                .and_then(Value::as_str)
                .unwrap_or("");
            if title.is_empty() {
                return Err("a modal needs `title.text`".into());
            }
            check_len("modal title", title, MAX_VIEW_TITLE)?;
        }
        Some("home") => {}
        _ => return Err("a view needs `\"type\": \"modal\"` or `\"type\": \"home\"`".into()),
    }
    for (field, limit) in [
        ("callback_id", MAX_ID_LEN),
        ("private_metadata", MAX_PRIVATE_METADATA),
    ] {
        if let Some(value) = view.get(field).and_then(Value::as_str) {
            check_len(field, value, limit)?;
        }
    }
    let blocks = view.get("blocks").ok_or("a view needs a `blocks` array")?;
    check_blocks(blocks, MAX_VIEW_BLOCKS, "a view")?;
    Ok(view)
}

fn check_blocks(blocks: &Value, max: usize, holder: &str) -> Result<(), String> {
    let list = blocks.as_array().ok_or("blocks must be a JSON array")?;
    if list.len() > max {
        return Err(format!(
            "{holder} has {} blocks; Slack allows {max}",
            list.len()
        ));
    }
    for (index, block) in list.iter().enumerate() {
        check_block(block).map_err(|e| format!("block {index}: {e}"))?;
    }
    Ok(())
}

fn check_block(block: &Value) -> Result<(), String> {
    let kind = block
        .get("type")
        .and_then(Value::as_str)
        .ok_or("every block needs a `type`")?;
    match kind {
        "section" => {
            if let Some(text) = block.pointer("/text/text").and_then(Value::as_str) {
                check_len("section text", text, MAX_SECTION_TEXT)?;
            }
        }
        "header" => {
            let text = block
                .pointer("/text/text")
                .and_then(Value::as_str)
                .unwrap_or("");
            check_len("header text", text, MAX_HEADER_TEXT)?;
        }
        _ => {}
    }
    check_ids(block)
}

/// Every `action_id` and `block_id` anywhere inside a block is at most 255 chars.
fn check_ids(value: &Value) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if let ("action_id" | "block_id", Value::String(id)) = (key.as_str(), inner) {
                    check_len(key, id, MAX_ID_LEN)?;
                }
                check_ids(inner)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(check_ids),
        _ => Ok(()),
    }
}

fn check_len(what: &str, text: &str, limit: usize) -> Result<(), String> {
    let chars = text.chars().count();
    if chars > limit {
        return Err(format!(
            "{what} is {chars} characters; Slack allows {limit}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> String {
        serde_json::json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}).to_string()
    }

    #[test]
    fn accepts_a_button_message() {
        let raw = r#"[{"type":"section","text":{"type":"mrkdwn","text":"hi"}},
            {"type":"actions","elements":[{"type":"button","action_id":"go","text":{"type":"plain_text","text":"Go"}}]}]"#;
        assert_eq!(
            parse_message_blocks(raw).unwrap().as_array().unwrap().len(),
            2
        );
    }

    #[test]
    fn rejects_too_many_blocks_naming_the_limit() {
        let raw = format!("[{}]", vec![section("x"); 51].join(","));
        let err = parse_message_blocks(&raw).unwrap_err();
        assert!(err.contains("51 blocks") && err.contains("50"), "{err}");
    }

    #[test]
    fn rejects_long_section_text_and_long_action_ids() {
        let err = parse_message_blocks(&format!("[{}]", section(&"a".repeat(3001)))).unwrap_err();
        assert!(
            err.contains("section text") && err.contains("3000"),
            "{err}"
        );
        let raw = format!(
            r#"[{{"type":"actions","elements":[{{"type":"button","action_id":"{}"}}]}}]"#,
            "x".repeat(256)
        );
        assert!(
            parse_message_blocks(&raw)
                .unwrap_err()
                .contains("action_id")
        );
    }

    #[test]
    fn rejects_non_json_and_untyped_blocks() {
        assert!(
            parse_message_blocks("not json")
                .unwrap_err()
                .contains("not valid JSON")
        );
        assert!(
            parse_message_blocks(r#"[{"text":"x"}]"#)
                .unwrap_err()
                .contains("type")
        );
    }

    #[test]
    fn checks_views() {
        let ok = r#"{"type":"modal","title":{"type":"plain_text","text":"Vote"},"blocks":[]}"#;
        assert!(parse_view(ok).is_ok());
        let long_title = r#"{"type":"modal","title":{"type":"plain_text","text":"This title is far too long for Slack"},"blocks":[]}"#;
        assert!(parse_view(long_title).unwrap_err().contains("modal title"));
        assert!(parse_view(r#"{"type":"popup","blocks":[]}"#).is_err());
        let many = format!(
            r#"{{"type":"home","blocks":[{}]}}"#,
            vec![section("x"); 101].join(",")
        );
        assert!(parse_view(&many).unwrap_err().contains("100"));
    }
}
