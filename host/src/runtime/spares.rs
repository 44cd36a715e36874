//! Fresh instances made ahead of the requests that use them.
//!
//! For interpreted guests instantiation is a large share of an invocation:
//! a componentize-py component wires thousands of functions between a dozen
//! core modules every time it is instantiated. So an app version whose
//! instances are costly to make keeps a few ready (`ready_instances`; unset,
//! two when making one takes over 50 µs, else none — see `Runtime::load`),
//! made by a background task after an invocation takes one; used stores are
//! dropped there too. Every instance still serves
//! exactly one invocation and is never reused: isolation is unchanged, only
//! the waiting moves off the request's path.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::{Instance, InstancePre};
use wasmtime::{Store, UpdateDeadline};

use super::memory::MemoryCap;
use super::state::HostState;
use crate::capabilities::log::AppLogs;
use crate::capabilities::{AppStates, Capabilities, Invocation};
use crate::contract::bindings::handler;

/// An instantiated app in its own store, not yet called.
pub struct Prepared {
    pub store: Store<HostState>,
    pub instance: Instance,
    /// The required `handler` export, looked up ahead too.
    pub handler: handler::Guest,
}

/// The ready instances of one app version.
#[derive(Default)]
pub struct Spares {
    /// Ready instances, and how many more are being made.
    ready: Mutex<(Vec<Prepared>, usize)>,
}

impl Spares {
    /// A ready instance, if one is waiting.
    pub fn take(&self) -> Option<Prepared> {
        self.lock().0.pop()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<Prepared>, usize)> {
        self.ready.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claims the making of one more instance if fewer than `target` are
    /// ready or being made, so a burst of requests does not start a burst
    /// of instantiations competing with the requests themselves.
    fn claim(&self, target: usize) -> bool {
        let mut ready = self.lock();
        let wanted = ready.0.len() + ready.1 < target;
        ready.1 += usize::from(wanted);
        wanted
    }

    /// In the background: drops `used` (resetting a pooled instance is not
    /// free either), then tops the ready instances up to `recipe.ready`. A failure to
    /// instantiate is left for the next request to meet and report.
    pub fn replenish(self: &Arc<Self>, used: Store<HostState>, recipe: Recipe) {
        let spares = Arc::clone(self);
        tokio::spawn(async move {
            drop(used);
            while spares.claim(recipe.ready) {
                let prepared = recipe.prepare().await;
                let mut ready = spares.lock();
                ready.1 -= 1;
                match prepared {
                    Ok(prepared) => ready.0.push(prepared),
                    Err(e) => {
                        tracing::debug!(app = &*recipe.app, error = %format!("{e:#}"), "preparing an instance failed");
                        return;
                    }
                }
            }
        });
    }
}

/// What making an instance of an app version takes.
#[derive(Clone)]
pub struct Recipe {
    pub app: Arc<str>,
    /// The version's hash.
    pub version: Arc<str>,
    pub pre: InstancePre<HostState>,
    pub handler: handler::GuestIndices,
    pub engine: wasmtime::Engine,
    pub capabilities: Arc<Capabilities>,
    pub states: Arc<AppStates>,
    pub logs: AppLogs,
    pub memory_bytes: usize,
    /// Bounds instantiation itself (start functions are guest code).
    pub deadline: Duration,
    /// How many to keep ready (the app's `ready_instances`).
    pub ready: usize,
}

impl Recipe {
    /// A new store with the app instantiated in it.
    pub async fn prepare(&self) -> wasmtime::Result<Prepared> {
        let state = HostState {
            memory: MemoryCap::new(self.memory_bytes),
            invocation: Invocation::new(self.app.clone(), self.version.clone(), self.logs.clone()),
            states: self.capabilities.instance(&self.states),
            wasi: None,
            clock: self.capabilities.clock.time().clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.memory);
        set_deadline(&mut store, self.deadline);
        let instance = self.pre.instantiate_async(&mut store).await?;
        let handler = self.handler.load(&mut store, &instance)?;
        Ok(Prepared {
            store,
            instance,
            handler,
        })
    }
}

/// Stops the guest once `limit` has passed from now. At every epoch tick
/// before that the guest yields to the executor, so a runaway guest cannot
/// hold a worker thread other apps need.
pub fn set_deadline(store: &mut Store<HostState>, limit: Duration) {
    let deadline_at = Instant::now() + limit;
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        Ok(if Instant::now() >= deadline_at {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now()))
        })
    });
}
