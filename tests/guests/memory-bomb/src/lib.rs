//! Test guest: `/bomb` allocates 1 MiB chunks without bound and keeps them, so
//! the host's memory limit must stop it.

wit_bindgen::generate!({ world: "app", path: "../../../wit" });

use botyard::app::types::*;
use core::hint::black_box;
use exports::botyard::app::handler::Guest;

struct MemoryBomb;

const CHUNK: usize = 1 << 20;

impl Guest for MemoryBomb {
    fn describe() -> AppInfo {
        AppInfo {
            name: "memory-bomb".into(),
            description: "Allocates without bound on /bomb".into(),
            commands: vec![CommandSpec {
                name: "/bomb".into(),
                description: "Eats all memory".into(),
                usage: "".into(),
            }],
            subcommands: vec![],
            events: vec![],
            schedules: vec![],
        }
    }

    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        if request.command != "/bomb" {
            return Err(format!("unknown command {}", request.command));
        }
        let mut kept: Vec<Vec<u8>> = Vec::new();
        loop {
            // Filled with non-zero bytes so every page is really written.
            let chunk = vec![0xA5u8; CHUNK];
            kept.push(black_box(chunk));
            black_box(&mut kept);
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

export!(MemoryBomb);
