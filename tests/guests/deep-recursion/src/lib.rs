//! Test guest: `/recurse` recurses without bound, so the host must turn the
//! stack overflow into a clean error.

use botyard_sdk::prelude::*;
use core::hint::black_box;

fn app() -> App {
    App::new("deep-recursion", "Overflows its stack on /recurse").command(
        "/recurse",
        "Never bottoms out",
        bottom_out,
    )
}

/// Not a tail call (the result is used after the call) and a frame the
/// optimiser cannot shrink away, so every level really costs stack.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 8]);
    if black_box(depth) == u64::MAX {
        return 0;
    }
    recurse(black_box(depth + 1)).wrapping_add(frame[black_box(3)])
}

fn bottom_out(_: CommandRequest) -> Result<Reply, String> {
    let depth = recurse(0);
    Ok(Reply::in_channel(format!("bottomed out at {depth}")))
}

export_app!(app);
