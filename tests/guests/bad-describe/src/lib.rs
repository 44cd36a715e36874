//! Test guest: registers `/bad` twice, so its `describe` fails (the SDK
//! refuses contradictory registrations by trapping), this version must fail
//! to load, and the version before it (if any) must keep serving.

use botyard_sdk::prelude::*;

fn app() -> App {
    App::new("bad-describe", "Registers one command twice")
        .command("/bad", "The first registration", bad)
        .command("/bad", "The second registration", bad)
}

fn bad(_: CommandRequest) -> Result<(), String> {
    Ok(())
}

export_app!(app);
