//! Test guest: `/recurse` recurses without bound, so the host must turn the
//! stack overflow into a clean error.

use botyard_sdk::prelude::*;
use core::hint::black_box;

struct DeepRecursion;

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

impl App for DeepRecursion {
    fn describe() -> AppInfo {
        AppInfo::new("deep-recursion", "Overflows its stack on /recurse").command(
            "/recurse",
            "Never bottoms out",
            "",
        )
    }

    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        if request.command != "/recurse" {
            return Err(format!("unknown command {}", request.command));
        }
        let depth = recurse(0);
        Ok(Some(Reply::in_channel(format!("bottomed out at {depth}"))))
    }
}

export_app!(DeepRecursion);
