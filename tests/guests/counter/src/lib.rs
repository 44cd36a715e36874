//! Test guest: `/count` answers how many calls its instance has served, from
//! a counter in linear memory. Always 1 when every call gets a fresh instance.

use botyard_sdk::prelude::*;
use core::sync::atomic::{AtomicU32, Ordering};

static CALLS: AtomicU32 = AtomicU32::new(0);

fn app() -> App {
    App::new("counter", "Counts the calls its instance served").command(
        "/count",
        "How many calls this instance served",
        count,
    )
}

fn count(_: CommandRequest) -> Result<Reply, String> {
    let n = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
    Ok(Reply::ephemeral(n.to_string()))
}

export_app!(app);
