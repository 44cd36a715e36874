//! Test guest: `/sleep <ms>` busy-waits on the host clock for `ms`
//! milliseconds, then replies "slept <ms>" — well-behaved but slow, for tests
//! of the 3-second answer and of one slow app not slowing the others.

use botyard_sdk::prelude::*;

fn app() -> App {
    App::new("sleeper", "Answers slowly").command(
        "/sleep",
        spec("Busy-wait, then answer").usage("<ms>"),
        sleep,
    )
}

fn sleep(request: CommandRequest) -> Result<Reply, String> {
    let ms: u64 = request
        .text
        .trim()
        .parse()
        .map_err(|_| "usage: /sleep <ms>".to_string())?;
    let start = clock::now_ms();
    while clock::now_ms().saturating_sub(start) < ms {}
    Ok(Reply::in_channel(format!("slept {ms}")))
}

export_app!(app);
