//! `clock`: the time from the host's [`Clock`] — the wall clock in
//! production, virtual time under the test kit.

use std::sync::Arc;

use wasmtime::component::Linker;

use super::{Capability, Ctx, CtxOf, Host, NoConfig, Services, ctx};
use crate::contract::bindings::clock;
use crate::contract::time::Clock as Time;

pub struct Clock(Time);

pub struct ClockState(Time);

impl Clock {
    /// The host's time, which WASI's wall clock follows too (see
    /// `capabilities::wasi`).
    pub fn time(&self) -> &Time {
        &self.0
    }
}

impl Capability for Clock {
    const NAME: &'static str = "clock";
    const DEFAULT_GRANTED: bool = true;
    type AppConfig = NoConfig;
    type AppState = ();
    type InstanceState = ClockState;

    fn new(services: &Services) -> Self {
        Clock(services.clock.clone())
    }

    fn load(&self, _: &Arc<str>, _: &NoConfig) -> Result<(), String> {
        Ok(())
    }

    fn instance(&self, _: &Arc<()>) -> ClockState {
        ClockState(self.0.clone())
    }

    fn link<T: Host>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        clock::add_to_linker::<T, CtxOf<ClockState>>(linker, ctx::<T, Clock>)
    }
}

impl clock::Host for Ctx<'_, ClockState> {
    fn now_ms(&mut self) -> u64 {
        self.state.0.now_ms()
    }
}
