//! `clock`: wall-clock time from the host.

use std::sync::Arc;

use wasmtime::component::Linker;

use super::{Capability, Ctx, CtxOf, Host, NoConfig, Services, ctx};
use crate::contract::bindings::clock;
use crate::contract::time::now_ms;

pub struct Clock;

pub struct ClockState;

impl Capability for Clock {
    const NAME: &'static str = "clock";
    const DEFAULT_GRANTED: bool = true;
    type AppConfig = NoConfig;
    type AppState = ();
    type InstanceState = ClockState;

    fn new(_: &Services) -> Self {
        Clock
    }

    fn load(&self, _: &Arc<str>, _: &NoConfig) -> Result<(), String> {
        Ok(())
    }

    fn instance(&self, _: &Arc<()>) -> ClockState {
        ClockState
    }

    fn link<T: Host>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        clock::add_to_linker::<T, CtxOf<ClockState>>(linker, ctx::<T, Clock>)
    }
}

impl clock::Host for Ctx<'_, ClockState> {
    fn now_ms(&mut self) -> u64 {
        now_ms()
    }
}
