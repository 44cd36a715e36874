//! `store`: the app's private key-value namespace. The namespace is the app
//! id the host assigned, never a name the guest supplies, so no app can
//! reach another's keys. Writes go into the invocation's unit of work and
//! are committed with the rest of what the invocation did.
//!
//! **Quotas.** The unit holds every write to the app's `store_bytes` and
//! `store_keys` (the runtime sets them on it, so a native app is held too):
//! a write past one is refused, writing nothing, and the guest gets
//! `too-large` with a message saying which quota, how full the store is and
//! what to do. Writes that shrink or delete always pass.

use std::sync::Arc;

use wasmtime::component::Linker;

use super::quota::Meter;
use super::{Capability, Ctx, CtxOf, Host, NoConfig, Services, ctx};
use crate::contract::bindings::store::{self, StoreError};
use crate::contract::limits::Quota;
use crate::storage::StorageError;

/// Most keys `list-keys` returns in one call, whatever the guest asks for.
const MAX_LIST: u32 = 1000;

pub struct Store {
    meter: Arc<Meter>,
}

/// Everything lives in the invocation's unit; the meter hears of quotas.
pub struct StoreState {
    meter: Arc<Meter>,
}

impl Capability for Store {
    const NAME: &'static str = "store";
    const DEFAULT_GRANTED: bool = true;
    type AppConfig = NoConfig;
    type AppState = ();
    type InstanceState = StoreState;

    fn new(services: &Services) -> Self {
        Store {
            meter: services.quotas.clone(),
        }
    }

    fn load(&self, _: &Arc<str>, _: &NoConfig) -> Result<(), String> {
        Ok(())
    }

    fn instance(&self, _: &Arc<()>) -> StoreState {
        StoreState {
            meter: self.meter.clone(),
        }
    }

    fn link<T: Host>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        store::add_to_linker::<T, CtxOf<StoreState>>(linker, ctx::<T, Store>)
    }
}

impl From<StorageError> for StoreError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotANumber { .. } => StoreError::NotANumber,
            StorageError::TooLarge { .. } | StorageError::OverQuota { .. } => {
                StoreError::TooLarge(err.to_string())
            }
            other => {
                tracing::error!(error = %other, "store call failed");
                StoreError::Unavailable(other.to_string())
            }
        }
    }
}

impl Ctx<'_, StoreState> {
    /// What a write came to, told to the meter: a refusal for a quota is
    /// reported; after a write, the app's use of its store is shown on
    /// `/metrics` (measured at most every second: one read).
    async fn wrote<T>(&mut self, result: Result<T, StorageError>) -> Result<T, StoreError> {
        let quotas = self.invocation.quotas;
        let app = self.invocation.app.clone();
        match &result {
            Err(
                error @ StorageError::OverQuota {
                    quota, used, limit, ..
                },
            ) => {
                self.state
                    .meter
                    .refused(&app, *quota, *used, *limit, &error.to_string());
            }
            Ok(_)
                if (quotas.store_bytes > 0 || quotas.store_keys > 0)
                    && self.state.meter.due(&app, Quota::StoreBytes) =>
            {
                if let Ok(usage) = self.invocation.unit()?.usage(&app).await {
                    let meter = &self.state.meter;
                    meter.usage(
                        &app,
                        Quota::StoreBytes,
                        usage.store_bytes,
                        quotas.store_bytes,
                    );
                    meter.usage(&app, Quota::StoreKeys, usage.store_keys, quotas.store_keys);
                }
            }
            _ => {}
        }
        Ok(result?)
    }
}

impl store::Host for Ctx<'_, StoreState> {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, StoreError> {
        let app = self.invocation.app.clone();
        Ok(self.invocation.unit()?.get(&app, &key).await?)
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), StoreError> {
        let app = self.invocation.app.clone();
        let result = self.invocation.unit()?.set(&app, &key, &value).await;
        self.wrote(result).await
    }

    async fn delete(&mut self, key: String) -> Result<bool, StoreError> {
        let app = self.invocation.app.clone();
        let result = self.invocation.unit()?.delete(&app, &key).await;
        self.wrote(result).await
    }

    async fn list_keys(&mut self, prefix: String, limit: u32) -> Result<Vec<String>, StoreError> {
        let app = self.invocation.app.clone();
        Ok(self
            .invocation
            .unit()?
            .list(&app, &prefix, limit.min(MAX_LIST))
            .await?)
    }

    async fn increment(&mut self, key: String, delta: i64) -> Result<i64, StoreError> {
        let app = self.invocation.app.clone();
        let result = self.invocation.unit()?.increment(&app, &key, delta).await;
        self.wrote(result).await
    }

    async fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    ) -> Result<bool, StoreError> {
        let app = self.invocation.app.clone();
        let result = self
            .invocation
            .unit()?
            .compare_and_swap(&app, &key, expected.as_deref(), new.as_deref())
            .await;
        self.wrote(result).await
    }
}
