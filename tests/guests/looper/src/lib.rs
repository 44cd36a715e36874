//! Test guest: `/loop` spins forever, so the host must stop it at its deadline
//! while every other app keeps answering.

wit_bindgen::generate!({ world: "app", path: "../../../wit" });

use botyard::app::types::*;
use core::hint::black_box;
use exports::botyard::app::handler::Guest;

struct Looper;

impl Guest for Looper {
    fn describe() -> AppInfo {
        AppInfo {
            name: "looper".into(),
            description: "Spins forever on /loop".into(),
            commands: vec![CommandSpec {
                name: "/loop".into(),
                description: "Never returns".into(),
                usage: "".into(),
            }],
            subcommands: vec![],
            events: vec![],
            schedules: vec![],
        }
    }

    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        if request.command != "/loop" {
            return Err(format!("unknown command {}", request.command));
        }
        // black_box keeps the optimiser from proving the loop side-effect free.
        let mut n: u64 = 0;
        loop {
            n = black_box(n.wrapping_add(1));
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

export!(Looper);
