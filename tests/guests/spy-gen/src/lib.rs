//! Test guest: the template the `/spy` umbrella tests and bench generate
//! many apps from. Built once; each generated app is a copy of the built
//! component with [`MARKER`]'s two digits patched (same length, so the
//! binary stays valid): copy `07` is app `spy-gen-07`, the area `gen07` of
//! `/spy` with six verbs — `/spy gen07 list|show|start|stop|restart|status`
//! — each answering which app and subcommand it is and the text it got.
//! Twenty copies are 120 subcommands from 20 apps without 20 builds.

use botyard_sdk::prelude::*;

/// Patched by the tests: `SPYGEN-INDEX=<two digits>;` appears once in the
/// component. Read with a volatile load so the compiler cannot fold it
/// into the code, where a patch would not reach it.
#[used]
#[no_mangle]
static MARKER: [u8; 16] = *b"SPYGEN-INDEX=00;";

const VERBS: [&str; 6] = ["list", "show", "start", "stop", "restart", "status"];

fn index() -> String {
    // SAFETY: MARKER is a plain static of bytes, valid for reads.
    let bytes = unsafe { core::ptr::read_volatile(&MARKER) };
    String::from_utf8_lossy(&bytes[13..15]).into_owned()
}

fn app() -> App {
    let n = index();
    let mut app = App::new(
        format!("spy-gen-{n}"),
        format!("Generated area {n}: six verbs"),
    );
    for verb in VERBS {
        app = app.command(
            format!("/spy gen{n} {verb}"),
            spec(format!("{verb} things of area {n}")).usage("[target]"),
            answer,
        );
    }
    app
}

fn answer(request: CommandRequest) -> Result<Reply, String> {
    Ok(Reply::ephemeral(format!(
        "spy-gen-{} {} [{}]",
        index(),
        request.subcommand.unwrap_or_default(),
        request.text
    )))
}

export_app!(app);
