//! `schedule`: one-off ticks an app asks for at run time, written into the
//! invocation's unit of work. Recurring ticks are declared in `describe` and
//! need no import.

use std::sync::Arc;

use wasmtime::component::Linker;

use super::{Capability, Ctx, CtxOf, Host, NoConfig, Services, ctx};
use crate::contract::bindings::schedule;

/// Longest schedule name; names are keys in the app's schedule namespace.
const MAX_NAME_BYTES: usize = 200;

pub struct Schedule;

pub struct ScheduleState;

impl Capability for Schedule {
    const NAME: &'static str = "schedule";
    const DEFAULT_GRANTED: bool = true;
    type AppConfig = NoConfig;
    type AppState = ();
    type InstanceState = ScheduleState;

    fn new(_: &Services) -> Self {
        Schedule
    }

    fn load(&self, _: &Arc<str>, _: &NoConfig) -> Result<(), String> {
        Ok(())
    }

    fn instance(&self, _: &Arc<()>) -> ScheduleState {
        ScheduleState
    }

    fn link<T: Host>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        schedule::add_to_linker::<T, CtxOf<ScheduleState>>(linker, ctx::<T, Schedule>)
    }
}

impl schedule::Host for Ctx<'_, ScheduleState> {
    async fn once(&mut self, name: String, at_ms: u64) -> Result<(), String> {
        if name.is_empty() || name.len() > MAX_NAME_BYTES {
            return Err(format!("schedule name must be 1..={MAX_NAME_BYTES} bytes"));
        }
        let at_ms = i64::try_from(at_ms).map_err(|_| "at-ms is out of range".to_string())?;
        let app = self.invocation.app.clone();
        let unit = self.invocation.unit().map_err(|e| e.to_string())?;
        unit.schedule_once(&app, &name, at_ms)
            .await
            .map_err(|e| e.to_string())
    }

    async fn cancel(&mut self, name: String) -> bool {
        let app = self.invocation.app.clone();
        let cancelled = match self.invocation.unit() {
            Ok(unit) => unit.cancel_schedule(&app, &name).await,
            Err(e) => Err(e),
        };
        cancelled.unwrap_or_else(|e| {
            tracing::error!(app = &*app, error = %e, "cancelling a schedule failed");
            false
        })
    }
}
