//! The memory cap: the store's `ResourceLimiter`, enforcing an app's
//! `memory_mib` limit on every instance.

use thiserror::Error;

/// Raised (as a trap) when a guest tries to grow memory past its cap. A trap
/// rather than a failed `memory.grow` so the cause is reported exactly instead
/// of as whatever the guest's allocator does on failure.
#[derive(Debug, Error)]
#[error("tried to grow memory to {requested} bytes, over its limit of {limit} bytes")]
pub struct MemoryLimitExceeded {
    pub requested: usize,
    pub limit: usize,
}

/// The store's `ResourceLimiter`.
pub struct MemoryCap {
    limit: usize,
}

/// Tables hold function references; no real app needs more.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl MemoryCap {
    pub fn new(limit: usize) -> Self {
        MemoryCap { limit }
    }
}

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                requested: desired,
                limit: self.limit,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
