//! The wasmtime engines and the epoch ticker that enforces deadlines.
//!
//! Wasm stack size is an engine-wide setting in wasmtime, and so is how a
//! pooled instance's memory is reset, which suits small and large memory
//! images differently (see [`Image`]). So apps get an engine per (stack size,
//! image kind), created on first use and shared by every app alike. Memory
//! caps are per store (see `limits::MemoryCap`) and need no engine of their own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::state::HostState;
use crate::capabilities;

/// How often the epoch advances: the resolution of every deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Concurrent instances one engine's pool holds; past it instantiation fails
/// fast with a clear error instead of exhausting the host.
const POOL_INSTANCES: u32 = 1000;

/// Memory and table bytes per slot kept mapped between instances, so fresh
/// instances start warm instead of faulting their pages in again. Only pages
/// an instance dirtied stay resident, so a Rust guest keeps a few hundred KiB
/// per slot; JS and Python runtimes dirty several MiB per call, which is why
/// this is large: it took the JS starter from 1000 to ~875 µs and the Python
/// one from 2550 to ~1650 µs per invocation (`cargo bench --bench languages`).
const KEEP_RESIDENT: usize = 64 << 20;

/// How big an app's initial memory image is, which decides how a used pool
/// slot is reset for the next instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Image {
    /// Compiled languages: reset only the pages an instance wrote, found by
    /// scanning the page tables (PAGEMAP_SCAN).
    Small,
    /// Interpreters with a snapshot of many MiB (CPython): a call writes to
    /// so many pages of it that the write-protect fault PAGEMAP_SCAN needs per
    /// written page costs more than copying the whole image back, which the
    /// background task that drops used instances does (`runtime::spares`).
    /// Measured: the Python starter's call on a ready instance 923 -> 261 µs
    /// median, while a Rust guest is slower this way (51 -> 72 µs).
    Large,
}

/// Components at least this big are [`Image::Large`]: the componentize-py
/// ones (18 MB), not Rust (~0.1 MB) or QuickJS (~1.7 MB) ones.
const LARGE_COMPONENT_BYTES: usize = 8 << 20;

impl Image {
    pub fn of_component(bytes: &[u8]) -> Image {
        if bytes.len() >= LARGE_COMPONENT_BYTES {
            Image::Large
        } else {
            Image::Small
        }
    }
}

/// An engine with the linker that provides every capability. Grants are
/// enforced at load by checking a component's imports, so one linker serves
/// all apps.
#[derive(Clone)]
pub struct EngineSlot {
    pub engine: Engine,
    pub linker: Arc<Linker<HostState>>,
}

type Slots = Arc<Mutex<HashMap<(usize, Image), EngineSlot>>>;

/// Engines keyed by wasm stack size and image kind, all ticked by one OS thread.
pub struct Engines {
    slots: Slots,
}

impl Engines {
    /// Starts the epoch ticker thread; it ends when the `Engines` is dropped.
    pub fn new() -> Self {
        let slots: Slots = Arc::default();
        let weak = Arc::downgrade(&slots);
        thread::Builder::new()
            .name("botyard-epoch".into())
            .spawn(move || tick_epochs(weak))
            .expect("spawning the epoch ticker thread");
        Engines { slots }
    }

    /// The engine for apps with this wasm stack size and image kind.
    pub fn for_app(&self, wasm_stack_bytes: usize, image: Image) -> wasmtime::Result<EngineSlot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = slots.get(&(wasm_stack_bytes, image)) {
            return Ok(slot.clone());
        }
        let engine = Engine::new(&engine_config(wasm_stack_bytes, image))?;
        let mut linker = Linker::new(&engine);
        capabilities::link_all(&mut linker)?;
        capabilities::wasi::link(&mut linker)?;
        let slot = EngineSlot {
            engine,
            linker: Arc::new(linker),
        };
        slots.insert((wasm_stack_bytes, image), slot.clone());
        Ok(slot)
    }
}

impl Default for Engines {
    fn default() -> Self {
        Self::new()
    }
}

fn engine_config(wasm_stack_bytes: usize, image: Image) -> Config {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(POOL_INSTANCES)
        .total_core_instances(POOL_INSTANCES)
        .total_memories(POOL_INSTANCES)
        .total_tables(POOL_INSTANCES)
        .total_stacks(POOL_INSTANCES)
        // The per-app cap is enforced by the store's limiter; the pool only
        // bounds the largest cap an app may be configured with.
        .max_memory_size(4 << 30)
        // Reset a freed instance's memory by memset instead of giving the
        // pages back to the OS: the next instance would fault them all in again.
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT)
        // Where the kernel can say which pages an instance dirtied, reset
        // only those (Linux ≥ 6.7; ignored elsewhere) — for small images.
        .pagemap_scan(match image {
            Image::Small => Enabled::Auto,
            Image::Large => Enabled::No,
        });
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .max_wasm_stack(wasm_stack_bytes)
        // Host functions and the fiber's own frames need room beyond the wasm stack.
        .async_stack_size(wasm_stack_bytes + (1 << 20))
        .memory_init_cow(true)
        // Explicit bounds checks instead of guard pages: a reused pool slot
        // then keeps its read/write region, so neither instantiation nor the
        // guest's first memory.grow needs an mprotect (and the TLB-shootdown
        // IPIs that come with it). Measured: about -12 µs per invocation.
        .signals_based_traps(false)
        .memory_guard_size(0)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

fn tick_epochs(slots: Weak<Mutex<HashMap<(usize, Image), EngineSlot>>>) {
    // A plain OS thread, not a tokio task: a busy async runtime must never
    // delay the tick that stops a runaway guest.
    while let Some(slots) = slots.upgrade() {
        for slot in slots.lock().unwrap_or_else(|p| p.into_inner()).values() {
            slot.engine.increment_epoch();
        }
        drop(slots);
        thread::sleep(EPOCH_TICK);
    }
}
