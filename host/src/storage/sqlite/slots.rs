//! Socket Mode slots on one machine: SQLite is one process's, so there is
//! nobody to share Slack's connections with. Every request is granted (up
//! to Slack's 10), nothing is written to the database, and the store says
//! it is not [`shared`](crate::storage::SlotStore::shared), so Socket Mode
//! runs exactly as it does without slots. What is held is remembered in
//! memory only, for [`SlotStore::slot_leases`].

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::storage::{SLACK_SOCKET_SLOTS, SlotGrant, SlotHolder, SlotStore, StorageError};

/// The slots this process holds: how many, and whether the spare.
#[derive(Default)]
pub(super) struct OneProcess {
    held: Mutex<(u32, bool)>,
}

impl OneProcess {
    fn held(&self) -> std::sync::MutexGuard<'_, (u32, bool)> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl SlotStore for OneProcess {
    fn shared(&self) -> bool {
        false
    }

    fn capacity(&self) -> u32 {
        SLACK_SOCKET_SLOTS
    }

    async fn lease_slots(&self, want: u32, lease: Duration) -> Result<SlotGrant, StorageError> {
        let granted = want.min(SLACK_SOCKET_SLOTS);
        self.held().0 = granted;
        Ok(SlotGrant {
            slots: (0..granted).collect(),
            valid_for: lease,
        })
    }

    async fn lease_spare(&self, lease: Duration) -> Result<Option<Duration>, StorageError> {
        self.held().1 = true;
        Ok(Some(lease))
    }

    async fn release_spare(&self) -> Result<(), StorageError> {
        self.held().1 = false;
        Ok(())
    }

    async fn release_slots(&self) -> Result<(), StorageError> {
        *self.held() = (0, false);
        Ok(())
    }

    async fn slot_leases(&self) -> Result<Vec<SlotHolder>, StorageError> {
        let (count, spare) = *self.held();
        let holder = |slot, spare| SlotHolder {
            slot,
            replica: "local".into(),
            mine: true,
            spare,
        };
        let mut slots: Vec<SlotHolder> = (0..count).map(|slot| holder(slot, false)).collect();
        if spare {
            slots.push(holder(SLACK_SOCKET_SLOTS, true));
        }
        Ok(slots)
    }
}
