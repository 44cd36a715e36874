//! Test guest: `/bomb` allocates 1 MiB chunks without bound and keeps them, so
//! the host's memory limit must stop it.

use botyard_sdk::prelude::*;
use core::hint::black_box;

struct MemoryBomb;

const CHUNK: usize = 1 << 20;

impl App for MemoryBomb {
    fn describe() -> AppInfo {
        AppInfo::new("memory-bomb", "Allocates without bound on /bomb").command(
            "/bomb",
            "Eats all memory",
            "",
        )
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
}

export_app!(MemoryBomb);
