//! Slack's Socket Mode slots, leased by the replicas (migration 4,
//! `socket_slots`: one row per slot Slack allows).
//!
//! Slack refuses an app's eleventh socket, counted across every process, so
//! replicas that each opened their `[slack] connections` would pass 10 as
//! soon as a third one starts. Instead a replica connects only on slots it
//! leases here. Slots 0–8 are *steady*: held for as long as a replica keeps
//! renewing them. Slot 9 is the *spare*: a slot replacing its socket (Slack
//! asked it to reconnect) borrows it for as long as it holds two sockets,
//! so opening the new socket before closing the old one never makes an
//! eleventh. Leases are on the database's clock (`botyard_now_ms()`), like
//! heartbeats, so the replicas' clocks need not agree.
//!
//! A slot is **free** when nobody holds it, its lease ran out, or its
//! holder is taken for stopped by the rules of [`super::replicas`]: a later
//! incarnation of the same name started, or its heartbeat is older than
//! three of its periods and [`MARGIN`]. A grant says how long it may be
//! counted on: the lease, or less if this replica's heartbeat would lapse
//! sooner (others may take its slots then).

use std::time::Duration;

use async_trait::async_trait;

use super::replicas::MARGIN;
use super::{Db, execute, query, query_one};
use crate::storage::{SLACK_SOCKET_SLOTS, SlotGrant, SlotHolder, SlotStore, StorageError};

/// The slot kept for refreshes; the steady ones are below it.
const SPARE: i32 = SLACK_SOCKET_SLOTS as i32 - 1;

/// SQL true when slot row `s` may be taken by incarnation `$1` of name `$2`
/// (`$3`: [`MARGIN`] in ms). A holder may miss three heartbeats, as in
/// `replicas.rs`.
const FREE: &str = "(s.held_by IS NULL OR s.held_until_ms < botyard_now_ms()
     OR NOT EXISTS (
         SELECT 1 FROM replicas r
         WHERE r.incarnation = s.held_by
           AND r.heartbeat_ms >= botyard_now_ms() - (3 * r.heartbeat_every_ms + $3)
           AND NOT (r.replica = $2 AND r.incarnation < $1)))";

/// SQL for how long (ms) incarnation `me` may count on a lease of `lease`
/// ms taken now (`margin`: [`MARGIN`]; each a placeholder): never past when
/// its heartbeat would lapse.
fn valid_for(me: &str, margin: &str, lease: &str) -> String {
    format!(
        "(SELECT LEAST({lease}::bigint,
             coalesce(max(r.heartbeat_ms + 3 * r.heartbeat_every_ms + {margin})
                      - botyard_now_ms(), 0))
         FROM replicas r WHERE r.incarnation = {me})"
    )
}

impl Db {
    /// This incarnation, unless it is an observer (which must hold nothing).
    fn holder(&self) -> Result<i64, StorageError> {
        if self.incarnation == 0 {
            return Err(StorageError::Backend(
                "an observer connection cannot lease Socket Mode slots; connect as a replica"
                    .into(),
            ));
        }
        Ok(self.incarnation)
    }
}

fn millis(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

#[async_trait]
impl SlotStore for Db {
    fn shared(&self) -> bool {
        true
    }

    fn capacity(&self) -> u32 {
        SPARE as u32
    }

    async fn lease_slots(&self, want: u32, lease: Duration) -> Result<SlotGrant, StorageError> {
        let me = self.holder()?;
        let want = i64::from(want.min(self.capacity()));
        let margin = millis(MARGIN);
        let lease = millis(lease);
        let replica = self.replica.as_str();
        let (slots, valid_for) = autocommit!(self, |c| {
            // Renew what is still ours (a lease that ran out untaken is
            // ours again); give back what is over `want`.
            let mut held: Vec<i32> = query(
                c,
                "UPDATE socket_slots SET held_until_ms = botyard_now_ms() + $2
                 WHERE held_by = $1 AND slot < $3 RETURNING slot",
                &[&me, &lease, &SPARE],
            )
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
            held.sort_unstable();
            if held.len() as i64 > want {
                let extra: Vec<i32> = held.split_off(want as usize);
                execute(
                    c,
                    "UPDATE socket_slots SET held_by = NULL, held_replica = NULL,
                         held_until_ms = 0
                     WHERE held_by = $1 AND slot = ANY($2)",
                    &[&me, &extra],
                )
                .await?;
            }
            let missing = want - held.len() as i64;
            if missing > 0 {
                let taken = query(
                    c,
                    &format!(
                        "UPDATE socket_slots SET held_by = $1, held_replica = $2,
                             held_until_ms = botyard_now_ms() + $4
                         WHERE slot IN (
                             SELECT s.slot FROM socket_slots s
                             WHERE s.slot < $5 AND s.held_by IS DISTINCT FROM $1 AND {FREE}
                             ORDER BY s.slot LIMIT $6 FOR UPDATE SKIP LOCKED)
                         RETURNING slot"
                    ),
                    &[&me, &replica, &margin, &lease, &SPARE, &missing],
                )
                .await?;
                for row in taken {
                    held.push(row.try_get(0)?);
                }
                held.sort_unstable();
            }
            let valid = query_one(
                c,
                &format!("SELECT {}", valid_for("$1", "$2", "$3")),
                &[&me, &margin, &lease],
            )
            .await?;
            let valid_for: i64 = valid.try_get(0)?;
            Ok::<_, StorageError>((held, valid_for))
        })?;
        Ok(SlotGrant {
            slots: slots.into_iter().map(|slot| slot as u32).collect(),
            valid_for: Duration::from_millis(valid_for.max(0) as u64),
        })
    }

    async fn lease_spare(&self, lease: Duration) -> Result<Option<Duration>, StorageError> {
        let me = self.holder()?;
        let margin = millis(MARGIN);
        let lease = millis(lease);
        let replica = self.replica.as_str();
        let row = autocommit!(self, |c| {
            super::query_opt(
                c,
                &format!(
                    "UPDATE socket_slots s SET held_by = $1, held_replica = $2,
                         held_until_ms = botyard_now_ms() + $4
                     WHERE s.slot = $5 AND (s.held_by = $1 OR {FREE})
                     RETURNING {}",
                    valid_for("$1", "$3", "$4")
                ),
                &[&me, &replica, &margin, &lease, &SPARE],
            )
            .await
        })?;
        match row {
            Some(row) => {
                let valid_for: i64 = row.try_get(0)?;
                Ok(Some(Duration::from_millis(valid_for.max(0) as u64)))
            }
            None => Ok(None),
        }
    }

    async fn release_spare(&self) -> Result<(), StorageError> {
        let me = self.holder()?;
        autocommit!(self, |c| {
            execute(
                c,
                "UPDATE socket_slots SET held_by = NULL, held_replica = NULL, held_until_ms = 0
                 WHERE held_by = $1 AND slot = $2",
                &[&me, &SPARE],
            )
            .await
        })?;
        Ok(())
    }

    async fn release_slots(&self) -> Result<(), StorageError> {
        let me = self.holder()?;
        autocommit!(self, |c| {
            execute(
                c,
                "UPDATE socket_slots SET held_by = NULL, held_replica = NULL, held_until_ms = 0
                 WHERE held_by = $1",
                &[&me],
            )
            .await
        })?;
        Ok(())
    }

    async fn slot_leases(&self) -> Result<Vec<SlotHolder>, StorageError> {
        let margin = millis(MARGIN);
        let me = self.incarnation;
        let rows = autocommit!(self, |c| {
            query(
                c,
                "SELECT s.slot, coalesce(s.held_replica, ''), s.held_by = $1 FROM socket_slots s
                     WHERE s.held_by IS NOT NULL AND s.held_until_ms >= botyard_now_ms()
                       AND EXISTS (
                           SELECT 1 FROM replicas r
                           WHERE r.incarnation = s.held_by
                             AND r.heartbeat_ms >= botyard_now_ms()
                                 - (3 * r.heartbeat_every_ms + $2)
                             AND NOT EXISTS (SELECT 1 FROM replicas l
                                             WHERE l.replica = r.replica
                                               AND l.incarnation > r.incarnation))
                     ORDER BY s.slot",
                &[&me, &margin],
            )
            .await
        })?;
        rows.iter()
            .map(|row| {
                let slot: i32 = row.try_get(0)?;
                Ok(SlotHolder {
                    slot: slot as u32,
                    replica: row.try_get(1)?,
                    mine: row.try_get(2)?,
                    spare: slot == SPARE,
                })
            })
            .collect()
    }
}
