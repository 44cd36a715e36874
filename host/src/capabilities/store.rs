//! `store`: the app's private key-value namespace. The namespace is the app
//! id the host assigned, never a name the guest supplies, so no app can
//! reach another's keys. Writes go into the invocation's unit of work and
//! are committed with the rest of what the invocation did.

use std::sync::Arc;

use wasmtime::component::Linker;

use super::{Capability, Ctx, CtxOf, Host, NoConfig, Services, ctx};
use crate::contract::bindings::store::{self, StoreError};
use crate::storage::StorageError;

/// Most keys `list-keys` returns in one call, whatever the guest asks for.
const MAX_LIST: u32 = 1000;

pub struct Store;

/// Nothing per instance: everything lives in the invocation's unit.
pub struct StoreState;

impl Capability for Store {
    const NAME: &'static str = "store";
    const DEFAULT_GRANTED: bool = true;
    type AppConfig = NoConfig;
    type AppState = ();
    type InstanceState = StoreState;

    fn new(_: &Services) -> Self {
        Store
    }

    fn load(&self, _: &Arc<str>, _: &NoConfig) -> Result<(), String> {
        Ok(())
    }

    fn instance(&self, _: &Arc<()>) -> StoreState {
        StoreState
    }

    fn link<T: Host>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        store::add_to_linker::<T, CtxOf<StoreState>>(linker, ctx::<T, Store>)
    }
}

impl From<StorageError> for StoreError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotANumber { .. } => StoreError::NotANumber,
            StorageError::TooLarge { .. } => StoreError::TooLarge(err.to_string()),
            other => {
                tracing::error!(error = %other, "store call failed");
                StoreError::Unavailable(other.to_string())
            }
        }
    }
}

impl store::Host for Ctx<'_, StoreState> {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, StoreError> {
        let app = self.invocation.app.clone();
        Ok(self.invocation.unit()?.get(&app, &key).await?)
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), StoreError> {
        let app = self.invocation.app.clone();
        Ok(self.invocation.unit()?.set(&app, &key, &value).await?)
    }

    async fn delete(&mut self, key: String) -> Result<bool, StoreError> {
        let app = self.invocation.app.clone();
        Ok(self.invocation.unit()?.delete(&app, &key).await?)
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
        Ok(self.invocation.unit()?.increment(&app, &key, delta).await?)
    }

    async fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    ) -> Result<bool, StoreError> {
        let app = self.invocation.app.clone();
        Ok(self
            .invocation
            .unit()?
            .compare_and_swap(&app, &key, expected.as_deref(), new.as_deref())
            .await?)
    }
}
