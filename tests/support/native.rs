//! A native handler with hello-rust's logic, for benchmarks.

use botyard::capabilities::Invocation;
use botyard::contract::bindings::types::{AppInfo, CommandSpec, Message, Reply, Visibility};
use botyard::contract::description::Description;
use botyard::contract::request::{Request, Response};
use botyard::runtime::app::NativeApp;
use futures_util::future::BoxFuture;

/// examples/hello-rust's `/hello`, written natively: the baseline the
/// benchmarks compare the guest with, through the same dispatch path.
pub struct NativeHello;

impl NativeApp for NativeHello {
    fn describe(&self) -> Description {
        Description {
            info: AppInfo {
                name: "hello-native".into(),
                description: "Native baseline".into(),
                commands: vec![CommandSpec {
                    name: "/hello-native".into(),
                    description: "Say hello".into(),
                    usage: "[name]".into(),
                }],
                subcommands: vec![],
                events: vec![],
                schedules: vec![],
            },
            shortcuts: vec![],
            webhooks: vec![],
            settings: vec![],
            phrases: vec![],
        }
    }

    fn handle<'a>(
        &'a self,
        invocation: &'a mut Invocation,
        request: Request,
    ) -> BoxFuture<'a, Result<Response, String>> {
        Box::pin(async move {
            let Request::Command(request) = request else {
                return Err("commands only".into());
            };
            let user = &request.context.user_id;
            let app = invocation.app.clone();
            let count = invocation
                .unit()
                .map_err(|e| e.to_string())?
                .increment(&app, &format!("calls/{user}"), 1)
                .await
                .map_err(|e| e.to_string())?;
            let name = if request.text.is_empty() {
                format!("<@{user}>")
            } else {
                request.text.clone()
            };
            let text = format!("Hello, {name}! You have said hello {count} time(s).");
            let blocks = serde_json::json!([
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                {"type": "actions", "elements": [{"type": "button", "action_id": "count", "text": {"type": "plain_text", "text": "Click me"}, "value": user}]}
            ]);
            Ok(Response::Command(Some(Reply {
                visibility: Visibility::InChannel,
                message: Message {
                    text,
                    blocks: Some(blocks.to_string()),
                },
            })))
        })
    }
}
