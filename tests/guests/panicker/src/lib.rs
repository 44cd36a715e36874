//! Test guest: `/panic` panics, which traps the instance; the host must report
//! it to the user and keep serving.

wit_bindgen::generate!({ world: "app", path: "../../../wit" });

use botyard::app::types::*;
use exports::botyard::app::handler::Guest;

struct Panicker;

impl Guest for Panicker {
    fn describe() -> AppInfo {
        AppInfo {
            name: "panicker".into(),
            description: "Panics on /panic".into(),
            commands: vec![CommandSpec {
                name: "/panic".into(),
                description: "Always panics".into(),
                usage: "".into(),
            }],
            subcommands: vec![],
            events: vec![],
            schedules: vec![],
        }
    }

    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        if request.command != "/panic" {
            return Err(format!("unknown command {}", request.command));
        }
        panic!("panicker was asked to panic");
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

export!(Panicker);
