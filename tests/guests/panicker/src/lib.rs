//! Test guest: `/panic` panics, which traps the instance; the host must report
//! it to the user and keep serving.

use botyard_sdk::prelude::*;

struct Panicker;

impl App for Panicker {
    fn describe() -> AppInfo {
        AppInfo::new("panicker", "Panics on /panic").command("/panic", "Always panics", "")
    }

    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        if request.command != "/panic" {
            return Err(format!("unknown command {}", request.command));
        }
        panic!("panicker was asked to panic");
    }
}

export_app!(Panicker);
