//! Test guest: `/peek <key>` shows what its own store holds under `<key>`
//! ("absent" if nothing) and `/put <key> <value>` sets it — used to prove an
//! app never sees another app's keys.

wit_bindgen::generate!({ world: "app", path: "../../../wit" });

use botyard::app::{store, types::*};
use exports::botyard::app::handler::Guest;

struct Peeker;

impl Guest for Peeker {
    fn describe() -> AppInfo {
        AppInfo {
            name: "peeker".into(),
            description: "Reads and writes its own store".into(),
            commands: vec![
                CommandSpec {
                    name: "/peek".into(),
                    description: "Show a key's value".into(),
                    usage: "<key>".into(),
                },
                CommandSpec {
                    name: "/put".into(),
                    description: "Set a key".into(),
                    usage: "<key> <value>".into(),
                },
            ],
            subcommands: vec![],
            events: vec![],
            schedules: vec![],
        }
    }

    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        let text = request.text.trim();
        match request.command.as_str() {
            "/peek" => {
                if text.is_empty() {
                    return Err("usage: /peek <key>".into());
                }
                let value = store::get(text).map_err(|e| format!("{e:?}"))?;
                Ok(reply(match value {
                    Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    None => "absent".into(),
                }))
            }
            "/put" => {
                let Some((key, value)) = text.split_once(' ') else {
                    return Err("usage: /put <key> <value>".into());
                };
                let value = value.trim();
                store::set(key, value.as_bytes()).map_err(|e| format!("{e:?}"))?;
                Ok(reply(format!("{key} = {value}")))
            }
            other => Err(format!("unknown command {other}")),
        }
    }

    fn on_action(_: ActionRequest) -> Result<ActionResponse, String> {
        Ok(ActionResponse::None)
    }

    fn on_view_submission(_: ViewSubmission) -> Result<ViewResponse, String> {
        Ok(ViewResponse::Close)
    }

    fn on_event(_: Event) -> Result<(), String> {
        Ok(())
    }

    fn on_tick(_: Tick) -> Result<(), String> {
        Ok(())
    }
}

fn reply(text: String) -> Option<Reply> {
    Some(Reply {
        visibility: Visibility::InChannel,
        message: Message { text, blocks: None },
    })
}

export!(Peeker);
