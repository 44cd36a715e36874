//! Test guest: `/panic` panics, which traps the instance; the host must report
//! it to the user and keep serving.

use botyard_sdk::prelude::*;

fn app() -> App {
    App::new("panicker", "Panics on /panic").command("/panic", "Always panics", panic_now)
}

fn panic_now(_: CommandRequest) -> Result<(), String> {
    panic!("panicker was asked to panic");
}

export_app!(app);
