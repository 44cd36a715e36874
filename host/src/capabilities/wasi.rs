//! WASI 0.2 for guests whose toolchains need it (componentize-qjs and
//! componentize-py import it), with no ambient authority: every WASI
//! interface is linked so those components load, but the context grants
//! nothing — no preopened directories (so no file opens), no environment,
//! no arguments, stdin closed, sockets denied (TCP, UDP and name lookup off,
//! every address refused). Clocks and random are allowed. stdout and stderr
//! are captured and become the app's log lines.
//!
//! The context is built on the guest's first WASI call, so apps that import
//! no WASI (Rust guests) pay nothing for it.
//!
//! WASI is not a grant: it is linked for every app because it reaches
//! nothing. So it is not on the [`Capability`](super::Capability) list; the
//! runtime's store data holds an `Option<WasiState>` and implements
//! `WasiView` through [`WasiState::view`].

use wasmtime::component::Linker;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView};

use std::time::Duration;

use wasmtime_wasi::HostWallClock;

use super::Invocation;
use crate::contract::bindings::log::Level;
use crate::contract::time::Clock;

/// What one invocation may write to stdout and to stderr; past it writes fail,
/// as a full pipe would.
const STDIO_CAPACITY: usize = 64 * 1024;

/// Per-invocation WASI state.
pub struct WasiState {
    ctx: WasiCtx,
    table: ResourceTable,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
}

/// WASI's wall clock on a virtual [`Clock`], so `Date.now()` in JavaScript
/// and `time.time()` in Python agree with `clock.now-ms` under the test kit.
struct VirtualWallClock(Clock);

impl HostWallClock for VirtualWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_micros(1)
    }

    fn now(&self) -> Duration {
        Duration::from_micros(self.0.now_micros())
    }
}

impl WasiState {
    fn new(clock: &Clock) -> Self {
        let stdout = MemoryOutputPipe::new(STDIO_CAPACITY);
        let stderr = MemoryOutputPipe::new(STDIO_CAPACITY);
        // The builder's defaults are already closed (stdin, env, args,
        // preopens, addresses); the sockets are switched off explicitly so a
        // future default cannot open them.
        let mut builder = WasiCtx::builder();
        builder
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }));
        // The system clock stays WASI's own; only a virtual one is swapped in.
        if clock.is_manual() {
            builder.wall_clock(VirtualWallClock(clock.clone()));
        }
        let ctx = builder.build();
        WasiState {
            ctx,
            table: ResourceTable::new(),
            stdout,
            stderr,
        }
    }
}

/// Whether a component import is part of WASI (linked for every app).
pub fn is_wasi_import(name: &str) -> bool {
    name.starts_with("wasi:")
}

/// Links WASI 0.2 for every app (it grants nothing; see the module docs).
pub fn link<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)
}

impl WasiState {
    /// The WASI view of `slot`, building the context on first use.
    pub fn view<'a>(slot: &'a mut Option<WasiState>, clock: &Clock) -> WasiCtxView<'a> {
        let wasi = slot.get_or_insert_with(|| WasiState::new(clock));
        WasiCtxView {
            ctx: &mut wasi.ctx,
            table: &mut wasi.table,
        }
    }

    /// Turns what the guest wrote to stdout (info) and stderr (warn) into
    /// its log lines; called once the invocation is over, whatever its
    /// outcome.
    pub fn flush(slot: &mut Option<WasiState>, invocation: &mut Invocation) {
        let Some(wasi) = slot.take() else {
            return;
        };
        for (pipe, level) in [(&wasi.stdout, Level::Info), (&wasi.stderr, Level::Warn)] {
            let text = String::from_utf8_lossy(&pipe.contents()).into_owned();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                invocation.log.write(level, line.to_string());
            }
        }
    }
}
