//! Test guest: `/loop` spins forever, so the host must stop it at its deadline
//! while every other app keeps answering.

use botyard_sdk::prelude::*;
use core::hint::black_box;

struct Looper;

impl App for Looper {
    fn describe() -> AppInfo {
        AppInfo::new("looper", "Spins forever on /loop").command("/loop", "Never returns", "")
    }

    fn on_command(request: CommandRequest) -> Result<Option<Reply>, String> {
        if request.command != "/loop" {
            return Err(format!("unknown command {}", request.command));
        }
        // black_box keeps the optimiser from proving the loop side-effect free.
        let mut n: u64 = 0;
        loop {
            n = black_box(n.wrapping_add(1));
        }
    }
}

export_app!(Looper);
