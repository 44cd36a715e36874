//! Test guest: `/loop` spins forever, so the host must stop it at its deadline
//! while every other app keeps answering.

use botyard_sdk::prelude::*;
use core::hint::black_box;

fn app() -> App {
    App::new("looper", "Spins forever on /loop").command("/loop", "Never returns", spin)
}

fn spin(_: CommandRequest) -> Result<(), String> {
    // black_box keeps the optimiser from proving the loop side-effect free.
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

export_app!(app);
