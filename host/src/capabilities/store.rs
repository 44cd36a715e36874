//! `store`: the app's private key-value namespace. The namespace is the app id
//! the host assigned, never a name the guest supplies, so no app can reach
//! another's keys.

use super::HostState;
use crate::runtime::bindings::store::{self, StoreError};
use crate::storage::StorageError;

/// Most keys `list-keys` returns in one call, whatever the guest asks for.
const MAX_LIST: u32 = 1000;

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

impl store::Host for HostState {
    fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.storage.kv_get(&self.app, &key)?)
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), StoreError> {
        Ok(self.storage.kv_set(&self.app, &key, &value)?)
    }

    fn delete(&mut self, key: String) -> Result<bool, StoreError> {
        Ok(self.storage.kv_delete(&self.app, &key)?)
    }

    fn list_keys(&mut self, prefix: String, limit: u32) -> Result<Vec<String>, StoreError> {
        Ok(self
            .storage
            .kv_list(&self.app, &prefix, limit.min(MAX_LIST))?)
    }

    fn increment(&mut self, key: String, delta: i64) -> Result<i64, StoreError> {
        Ok(self.storage.kv_increment(&self.app, &key, delta)?)
    }

    fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    ) -> Result<bool, StoreError> {
        Ok(self.storage.kv_compare_and_swap(
            &self.app,
            &key,
            expected.as_deref(),
            new.as_deref(),
        )?)
    }
}
