//! Requests the end-to-end tests send straight to the runtime, and the
//! checks every guest language's SDK test guest (`kit`) must pass alike.

use botyard::contract::bindings::types::{
    ActionRequest, ActionResponse, CommandRequest, InvocationContext, MessageRef, ViewResponse,
    ViewSubmission,
};
use botyard::contract::request::{Request, Response};
use botyard::routing::Apps;
use serde_json::{Value, json};

use super::reply_text;

/// User `user` in channel C1.
pub fn context(user: &str) -> InvocationContext {
    InvocationContext {
        user_id: user.into(),
        channel_id: "C1".into(),
        trigger_id: None,
    }
}

/// `user` clicks `action_id` on message C1/1.0, with their id as the value.
pub fn click(action_id: &str, user: &str) -> Request {
    Request::Action(ActionRequest {
        action_id: action_id.into(),
        block_id: None,
        value: Some(user.into()),
        message: Some(MessageRef {
            channel: "C1".into(),
            ts: "1.0".into(),
        }),
        context: context(user),
    })
}

/// `/<app> <text>` as U1, straight to app `app`.
pub async fn command(runtime: &Apps, app: &str, text: &str) -> Response {
    let request = Request::Command(CommandRequest {
        command: format!("/{app}"),
        subcommand: None,
        text: text.into(),
        context: context("U1"),
    });
    runtime.invoke(app, request).await.unwrap().1.response
}

/// The section-and-button blocks hello-rust sends, for `text` and `user`.
pub fn hello_blocks(text: &str, user: &str) -> Value {
    json!([
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "elements": [{
            "type": "button", "action_id": "count",
            "text": {"type": "plain_text", "text": "Click me"}, "value": user,
        }]},
    ])
}

/// The modal the SDK test guests (`tests/guests-js/kit`, `tests/guests-python/kit`)
/// build with every Block Kit builder: both SDKs must produce exactly this.
pub fn kit_order_modal() -> Value {
    let plain = |t: &str| json!({"type": "plain_text", "text": t});
    let mrkdwn = |t: &str| json!({"type": "mrkdwn", "text": t});
    json!({
        "type": "modal", "title": plain("Order"),
        "blocks": [
            {"type": "header", "text": plain("Lunch")},
            {"type": "section", "text": mrkdwn("*Pick*"), "fields": [mrkdwn("a"), plain("b")],
             "accessory": {"type": "button", "action_id": "go", "text": plain("Go")}, "block_id": "s"},
            {"type": "context", "elements": [mrkdwn("small"),
                {"type": "image", "image_url": "https://x/i.png", "alt_text": "i"}]},
            {"type": "divider"},
            {"type": "image", "image_url": "https://x/m.png", "alt_text": "menu", "title": plain("Menu")},
            {"type": "actions", "elements": [
                {"type": "button", "action_id": "yes", "text": plain("Yes"), "value": "1", "style": "primary"},
                {"type": "static_select", "action_id": "pick",
                 "options": [{"text": plain("A"), "value": "a"}, {"text": plain("b"), "value": "b"},
                             {"text": plain("C"), "value": "c", "description": plain("see")}],
                 "placeholder": plain("Choose"), "initial_option": {"text": plain("b"), "value": "b"}},
                {"type": "users_select", "action_id": "who", "placeholder": plain("Someone")},
                {"type": "datepicker", "action_id": "day", "initial_date": "2025-06-01"},
            ]},
            {"type": "input", "label": plain("Name"),
             "element": {"type": "plain_text_input", "action_id": "name", "multiline": true,
                         "placeholder": plain("Ada")},
             "block_id": "n", "optional": true, "hint": plain("yours")},
        ],
        "callback_id": "order", "submit": plain("Send"), "close": plain("Cancel"),
        "private_metadata": "m",
    })
}

/// The `kit` guest's modal: submitted without a name it answers a field
/// error; with one, a replacement view thanking them.
pub async fn check_kit_modal_submissions(runtime: &Apps) {
    let submit = |name: Option<&str>| {
        let value = name.map_or(Value::Null, |n| json!(n));
        Request::ViewSubmission(ViewSubmission {
            callback_id: "order".into(),
            view_id: "V1".into(),
            values: json!({"n": {"name": {"type": "plain_text_input", "value": value}}})
                .to_string(),
            private_metadata: "m".into(),
            context: context("U1"),
        })
    };
    let (_, invocation) = runtime.invoke("kit", submit(None)).await.unwrap();
    match invocation.response {
        Response::ViewSubmission(ViewResponse::Errors(errors)) => {
            let errors: Vec<(&str, &str)> = errors
                .iter()
                .map(|e| (e.block_id.as_str(), e.message.as_str()))
                .collect();
            assert_eq!(errors, [("n", "Say your name")]);
        }
        other => panic!("{other:?}"),
    }
    let (_, invocation) = runtime.invoke("kit", submit(Some("Ada"))).await.unwrap();
    let Response::ViewSubmission(ViewResponse::Update(view)) = invocation.response else {
        panic!("{:?}", invocation.response)
    };
    let view: Value = serde_json::from_str(&view).unwrap();
    assert_eq!(view["blocks"][0]["text"]["text"], "Thanks, Ada");
}

/// A hello starter app `hello` whose U1 has said hello once already: calls
/// and clicks count per user, and a click rewrites the message with
/// hello-rust's blocks.
pub async fn check_hello_counts_and_clicks(runtime: &Apps) {
    assert_eq!(
        reply_text(runtime, "/hello", "U1").await.unwrap(),
        "Hello, <@U1>! You have said hello 2 time(s)."
    );
    assert_eq!(
        reply_text(runtime, "/hello", "U2").await.unwrap(),
        "Hello, <@U2>! You have said hello 1 time(s)."
    );

    for (user, clicks) in [("U1", 1), ("U1", 2), ("U2", 1)] {
        let (_, invocation) = runtime.invoke("hello", click("count", user)).await.unwrap();
        let Response::Action(ActionResponse::Update(message)) = invocation.response else {
            panic!(
                "a click should update the message: {:?}",
                invocation.response
            )
        };
        let text = format!("<@{user}> clicked {clicks} time(s).");
        assert_eq!(message.text, text);
        let blocks: Value = serde_json::from_str(message.blocks.as_deref().unwrap()).unwrap();
        assert_eq!(blocks, hello_blocks(&text, user));
    }
}
