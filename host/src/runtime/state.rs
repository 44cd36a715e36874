//! What a wasmtime store holds for one instance: the memory cap, the
//! capabilities' per-instance states, the invocation they share, and WASI.

use wasmtime_wasi::{WasiCtxView, WasiView};

use super::memory::MemoryCap;
use crate::capabilities::wasi::WasiState;
use crate::capabilities::{self, Invocation, States};

pub struct HostState {
    pub memory: MemoryCap,
    pub invocation: Invocation,
    pub states: States,
    /// Built on the guest's first WASI call.
    pub wasi: Option<WasiState>,
    /// The host's time: WASI's wall clock (`Date.now()`, `time.time()`)
    /// follows it when it is virtual.
    pub clock: crate::contract::time::Clock,
}

impl capabilities::Host for HostState {
    fn parts(&mut self) -> (&mut States, &mut Invocation) {
        (&mut self.states, &mut self.invocation)
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiState::view(&mut self.wasi, &self.clock)
    }
}
