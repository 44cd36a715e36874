//! Test guest: `describe` panics, so this version must fail to load and the
//! version before it (if any) must keep serving.

wit_bindgen::generate!({ world: "app", path: "../../../wit" });

use botyard::app::types::*;
use exports::botyard::app::handler::Guest;

struct BadDescribe;

impl Guest for BadDescribe {
    fn describe() -> AppInfo {
        panic!("bad-describe refuses to describe itself");
    }

    fn on_command(_: CommandRequest) -> Result<Option<Reply>, String> {
        Ok(None)
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

export!(BadDescribe);
