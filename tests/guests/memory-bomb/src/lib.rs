//! Test guest: `/bomb` allocates 1 MiB chunks without bound and keeps them, so
//! the host's memory limit must stop it.

use botyard_sdk::prelude::*;
use core::hint::black_box;

const CHUNK: usize = 1 << 20;

fn app() -> App {
    App::new("memory-bomb", "Allocates without bound on /bomb").command(
        "/bomb",
        "Eats all memory",
        bomb,
    )
}

fn bomb(_: CommandRequest) -> Result<(), String> {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    loop {
        // Filled with non-zero bytes so every page is really written.
        let chunk = vec![0xA5u8; CHUNK];
        kept.push(black_box(chunk));
        black_box(&mut kept);
    }
}

export_app!(app);
