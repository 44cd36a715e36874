//! The storage conformance suite: what every backend must do, run against
//! each one (SQLite, and PostgreSQL on a real server started for the
//! test). A new backend adds one entry to [`backends!`] and passes
//! everything here, as SQLite and PostgreSQL do. What only a cluster
//! backend promises (replicas whose heartbeat lapsed) is tested for
//! PostgreSQL alone, in [`postgres_replicas`].

use std::sync::Arc;
use std::time::Duration;

use botyard::contract::limits::{Quota, Quotas};
use botyard::contract::time::now_ms;
use botyard::storage::{
    AuditQuery, Claim, DeliveryOutcome, DeliveryStatus, DueTick, InvocationRecord, MAX_KEY_BYTES,
    MAX_VALUE_BYTES, NewCall, NewDelivery, NewInbound, OutboxStatus, Outcome, OutcomeKind,
    Received, Settlement, Storage, StorageError, TickRun, TickSource,
};
use botyard::storage::{ClaimedHead, LaneHold};
use serde_json::json;

/// The real PostgreSQL the tests start.
use crate::support::postgres as pg;

/// A backend under test: a fresh, empty store, and a way to open it again
/// (a restart) or alongside (a second process on the same data).
trait Backend: Send + Sync + 'static {
    fn storage(&self) -> Storage;
    /// Drops nothing; opens the same data again, as a restart would.
    fn reopen(&self) -> Storage;
}

struct Sqlite {
    dir: tempfile::TempDir,
    first: Storage,
}

impl Sqlite {
    fn new() -> Sqlite {
        let dir = tempfile::tempdir().unwrap();
        let first = Storage::open(&dir.path().join("botyard.db")).unwrap();
        Sqlite { dir, first }
    }
}

impl Backend for Sqlite {
    fn storage(&self) -> Storage {
        self.first.clone()
    }

    fn reopen(&self) -> Storage {
        Storage::open(&self.dir.path().join("botyard.db")).unwrap()
    }
}

/// A fresh database on the test process's PostgreSQL server. Every handle
/// is the same replica name, `reopen` a new incarnation of it: a restart,
/// so the claims of the handle before it are orphans (rule (a) of
/// `release_orphaned`), as they are for SQLite's next open.
struct Postgres {
    url: String,
    first: Storage,
}

impl Postgres {
    fn new() -> Postgres {
        let url = pg::database();
        let first = connect_postgres(postgres_options(&url, "conformance"));
        Postgres { url, first }
    }
}

impl Backend for Postgres {
    fn storage(&self) -> Storage {
        self.first.clone()
    }

    fn reopen(&self) -> Storage {
        connect_postgres(postgres_options(&self.url, "conformance"))
    }
}

fn postgres_options(url: &str, replica: &str) -> botyard::storage::postgres::Options {
    botyard::storage::postgres::Options::new(url, replica)
}

/// Connects from synchronous code running on the test's (multi-threaded)
/// runtime, as [`Backend`]'s methods are.
fn connect_postgres(options: botyard::storage::postgres::Options) -> Storage {
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(Storage::connect_postgres(options))
    })
    .unwrap()
}

/// Runs every conformance test against every backend.
macro_rules! backends {
    ($($backend:ident: $make:expr),* $(,)?) => {
        $(
            #[allow(non_snake_case)]
            mod $backend {
                use super::*;
                conformance!(
                    $make;
                    get_set_delete_roundtrip,
                    apps_cannot_see_each_others_keys,
                    list_matches_percent_and_underscore_literally,
                    list_is_byte_ordered_and_limited,
                    increment_counts_from_zero_and_stores_ascii,
                    increment_of_non_number_fails_and_leaves_value,
                    increment_overflow_fails_and_leaves_value,
                    increment_is_atomic_across_units_and_handles,
                    compare_and_swap_semantics,
                    concurrent_compare_and_swaps_have_one_winner,
                    too_large_key_or_value_is_rejected_and_nothing_written,
                    data_survives_reopen,
                    a_units_writes_are_kept_once_committed,
                    a_unit_reads_its_own_writes,
                    enqueue_and_read_back,
                    entries_filter_by_app_and_cursor_in_id_order,
                    claims_settle_once,
                    a_claim_is_exclusive_until_its_lease_runs_out,
                    an_overtaken_claim_cannot_settle,
                    claims_of_a_deliverer_that_died_are_released,
                    pending_survives_reopen,
                    committing_queued_calls_wakes_delivery,
                    only_each_lanes_head_is_claimed_in_order,
                    concurrent_claimers_take_each_head_once_and_lanes_in_order,
                    lane_holds_pace_posts_and_retries_for_every_claimer,
                    an_attempt_that_ended_unknown_comes_back_in_doubt,
                    due_schedules_are_taken_once_in_time_order,
                    schedule_once_upserts_and_cancel,
                    due_schedules_taken_once_across_concurrent_callers,
                    cron_fires_are_claimed_by_compare_and_set,
                    cron_last_fire_survives_reopen,
                    due_ticks_are_claimed_into_the_inbox_in_one_commit,
                    a_claimed_tick_whose_taker_died_is_taken_over,
                    due_ticks_are_claimed_once_across_concurrent_claimers,
                    audit_is_newest_first_with_outcomes_roundtripped,
                    audit_query_filters_by_app_user_time_and_outcome,
                    audit_retention_removes_old_rows_and_nothing_newer,
                    inbox_takes_a_key_once_and_all_of_a_delivery_together,
                    inbox_work_is_done_in_the_invocations_unit,
                    work_done_on_time_is_recorded_once_in_its_unit,
                    expired_inbox_work_is_taken_over_and_the_first_taker_fenced,
                    inbox_takeover_leaves_out_what_the_looker_runs,
                    inbox_claims_of_a_stopped_process_are_released,
                    done_inbox_work_is_forgotten_after_retention,
                    a_webhook_delivery_is_recorded_once_per_delivery_id,
                    a_delivery_is_claimed_once_and_settled_with_its_claim,
                    a_failed_delivery_waits_for_its_retry_time,
                    a_dead_delivery_is_kept_and_can_be_replayed,
                    a_delivery_is_settled_in_the_handlers_unit,
                    deliveries_survive_reopen_and_orphaned_claims_are_released,
                    concurrent_runners_claim_each_delivery_once,
                    recording_a_delivery_wakes_its_runner,
                    settled_deliveries_are_forgotten,
                    store_quotas_refuse_growth_and_let_shrinking_through,
                    units_at_once_cannot_pass_a_store_quota_together,
                    store_usage_is_counted_once_and_survives_reopen,
                    deliveries_kept_make_room_by_the_oldest_settled,
                    published_versions_are_content_addressed_and_retired,
                    replicas_report_what_they_run_of_published_apps,
                    published_apps_survive_reopen,
                    the_published_configuration_is_one_document_named_by_its_hash,
                    the_published_configuration_survives_reopen,
                    socket_slots_are_leased_renewed_and_released,
                );
            }
        )*
    };
}

macro_rules! conformance {
    ($make:expr; $($test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::$test(Arc::new($make)).await;
            }
        )*
    };
}

backends! {
    sqlite: Sqlite::new(),
    postgres: Postgres::new(),
}

// --- helpers: one committed unit per call ---------------------------------

async fn delete(s: &Storage, app: &str, key: &str) -> Result<bool, StorageError> {
    let mut u = s.begin();
    let r = u.delete(app, key).await?;
    u.commit().await?;
    Ok(r)
}

async fn cas(
    s: &Storage,
    app: &str,
    key: &str,
    expected: Option<&[u8]>,
    new: Option<&[u8]>,
) -> Result<bool, StorageError> {
    let mut u = s.begin();
    let r = u.compare_and_swap(app, key, expected, new).await?;
    u.commit().await?;
    Ok(r)
}

async fn enqueue(s: &Storage, app: &str, method: &str, status: OutboxStatus) -> i64 {
    s.enqueue(NewCall {
        app,
        method,
        payload: &json!({"channel": "C1", "text": method}),
        status,
    })
    .await
    .unwrap()
}

async fn once(s: &Storage, app: &str, name: &str, at: i64) {
    let mut u = s.begin();
    u.schedule_once(app, name, at).await.unwrap();
    u.commit().await.unwrap();
}

async fn cancel(s: &Storage, app: &str, name: &str) -> bool {
    let mut u = s.begin();
    let r = u.cancel_schedule(app, name).await.unwrap();
    u.commit().await.unwrap();
    r
}

fn tick(app: &str, name: &str, due_ms: i64) -> DueTick {
    DueTick {
        app: app.into(),
        name: name.into(),
        due_ms,
    }
}

async fn get(s: &Storage, app: &str, key: &str) -> Option<Vec<u8>> {
    s.kv_get(app, key).await.unwrap()
}

// --- key-value ------------------------------------------------------------

async fn get_set_delete_roundtrip(b: Arc<impl Backend>) {
    let s = b.storage();
    assert_eq!(get(&s, "a", "k").await, None);
    s.kv_set("a", "k", b"one").await.unwrap();
    assert_eq!(get(&s, "a", "k").await.as_deref(), Some(&b"one"[..]));
    s.kv_set("a", "k", b"two").await.unwrap();
    assert_eq!(get(&s, "a", "k").await.as_deref(), Some(&b"two"[..]));
    s.kv_set("a", "empty", b"").await.unwrap();
    assert_eq!(get(&s, "a", "empty").await.as_deref(), Some(&b""[..]));
    assert!(delete(&s, "a", "k").await.unwrap());
    assert!(!delete(&s, "a", "k").await.unwrap());
    assert_eq!(get(&s, "a", "k").await, None);
}

async fn apps_cannot_see_each_others_keys(b: Arc<impl Backend>) {
    let s = b.storage();
    s.kv_set("alpha", "secret/token", b"a").await.unwrap();
    s.kv_set("alpha", "votes", b"5").await.unwrap();
    s.kv_set("beta", "secret/mine", b"b").await.unwrap();

    assert_eq!(get(&s, "beta", "secret/token").await, None);
    assert_eq!(
        s.kv_list("beta", "", 100).await.unwrap(),
        vec!["secret/mine"]
    );
    assert_eq!(
        s.kv_list("beta", "secret/", 100).await.unwrap(),
        vec!["secret/mine"]
    );
    assert_eq!(
        s.kv_list("alpha", "", 100).await.unwrap(),
        vec!["secret/token", "votes"]
    );
    // Apps whose names share a prefix stay apart too.
    s.kv_set("alphabet", "votes", b"x").await.unwrap();
    assert_eq!(s.kv_list("alpha", "v", 100).await.unwrap(), vec!["votes"]);

    assert!(!delete(&s, "beta", "votes").await.unwrap());
    assert_eq!(s.kv_increment("beta", "votes", 1).await.unwrap(), 1);
    assert!(
        cas(&s, "beta", "secret/token", None, Some(b"b2"))
            .await
            .unwrap()
    );
    assert_eq!(get(&s, "alpha", "votes").await.as_deref(), Some(&b"5"[..]));
    assert_eq!(
        get(&s, "alpha", "secret/token").await.as_deref(),
        Some(&b"a"[..])
    );
}

async fn list_matches_percent_and_underscore_literally(b: Arc<impl Backend>) {
    let s = b.storage();
    for key in ["a%b", "axb", "a_c", "abc", "a", "b%"] {
        s.kv_set("app", key, b"1").await.unwrap();
    }
    assert_eq!(s.kv_list("app", "a%", 100).await.unwrap(), vec!["a%b"]);
    assert_eq!(s.kv_list("app", "a_", 100).await.unwrap(), vec!["a_c"]);
    assert!(s.kv_list("app", "%", 100).await.unwrap().is_empty());
    assert!(s.kv_list("app", "_", 100).await.unwrap().is_empty());
}

async fn list_is_byte_ordered_and_limited(b: Arc<impl Backend>) {
    let s = b.storage();
    for key in ["b", "é", "a", "B", "ab", "a\u{10FFFF}", "\u{10FFFF}x"] {
        s.kv_set("app", key, b"1").await.unwrap();
    }
    assert_eq!(
        s.kv_list("app", "", 100).await.unwrap(),
        vec!["B", "a", "ab", "a\u{10FFFF}", "b", "é", "\u{10FFFF}x"]
    );
    assert_eq!(s.kv_list("app", "", 2).await.unwrap(), vec!["B", "a"]);
    assert!(s.kv_list("app", "", 0).await.unwrap().is_empty());
    assert_eq!(
        s.kv_list("app", "a", 100).await.unwrap(),
        vec!["a", "ab", "a\u{10FFFF}"]
    );
    assert_eq!(
        s.kv_list("app", "a\u{10FFFF}", 100).await.unwrap(),
        vec!["a\u{10FFFF}"]
    );
    assert_eq!(
        s.kv_list("app", "\u{10FFFF}", 100).await.unwrap(),
        vec!["\u{10FFFF}x"]
    );
}

async fn increment_counts_from_zero_and_stores_ascii(b: Arc<impl Backend>) {
    let s = b.storage();
    assert_eq!(s.kv_increment("app", "n", 5).await.unwrap(), 5);
    assert_eq!(s.kv_increment("app", "n", -7).await.unwrap(), -2);
    assert_eq!(get(&s, "app", "n").await.as_deref(), Some(&b"-2"[..]));
    s.kv_set("app", "m", b"41").await.unwrap();
    assert_eq!(s.kv_increment("app", "m", 1).await.unwrap(), 42);
    assert_eq!(s.kv_increment("app", "m", 0).await.unwrap(), 42);
}

async fn increment_of_non_number_fails_and_leaves_value(b: Arc<impl Backend>) {
    let s = b.storage();
    for bad in [&b"hello"[..], b"", b" 1", b"1.5", b"\xff"] {
        s.kv_set("app", "k", bad).await.unwrap();
        let err = s.kv_increment("app", "k", 1).await.unwrap_err();
        assert!(
            matches!(&err, StorageError::NotANumber { key } if key == "k"),
            "{err:?}"
        );
        assert_eq!(get(&s, "app", "k").await.as_deref(), Some(bad));
    }
}

async fn increment_overflow_fails_and_leaves_value(b: Arc<impl Backend>) {
    let s = b.storage();
    s.kv_set("app", "k", i64::MAX.to_string().as_bytes())
        .await
        .unwrap();
    let err = s.kv_increment("app", "k", 1).await.unwrap_err();
    assert!(matches!(err, StorageError::Overflow { .. }), "{err:?}");
    assert_eq!(
        get(&s, "app", "k").await.unwrap(),
        i64::MAX.to_string().as_bytes()
    );
    assert_eq!(
        s.kv_increment("app", "low", i64::MIN).await.unwrap(),
        i64::MIN
    );
    assert!(matches!(
        s.kv_increment("app", "low", -1).await,
        Err(StorageError::Overflow { .. })
    ));
}

async fn increment_is_atomic_across_units_and_handles(b: Arc<impl Backend>) {
    const TASKS: usize = 8;
    const PER_TASK: usize = 200;
    let shared = b.storage();
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            // Half share one handle, half have their own, as a second
            // process (e.g. `botyard call`) would.
            let storage = if i % 2 == 0 {
                shared.clone()
            } else {
                b.reopen()
            };
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                for _ in 0..PER_TASK {
                    storage.kv_increment("app", "count", 1).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let total = (TASKS * PER_TASK) as i64;
    let stored = get(&shared, "app", "count").await.unwrap();
    assert_eq!(String::from_utf8(stored).unwrap(), total.to_string());
}

async fn compare_and_swap_semantics(b: Arc<impl Backend>) {
    let s = b.storage();
    // Absent: expecting a value fails, expecting absence succeeds.
    assert!(!cas(&s, "app", "k", Some(b"x"), Some(b"y")).await.unwrap());
    assert_eq!(get(&s, "app", "k").await, None);
    assert!(cas(&s, "app", "k", None, Some(b"v1")).await.unwrap());
    assert_eq!(get(&s, "app", "k").await.as_deref(), Some(&b"v1"[..]));
    // Present: expecting absence fails, a mismatch fails, a match swaps.
    assert!(!cas(&s, "app", "k", None, Some(b"zz")).await.unwrap());
    assert!(!cas(&s, "app", "k", Some(b"v0"), Some(b"zz")).await.unwrap());
    assert_eq!(get(&s, "app", "k").await.as_deref(), Some(&b"v1"[..]));
    assert!(cas(&s, "app", "k", Some(b"v1"), Some(b"v2")).await.unwrap());
    assert_eq!(get(&s, "app", "k").await.as_deref(), Some(&b"v2"[..]));
    // Delete: mismatch keeps it, match removes it.
    assert!(!cas(&s, "app", "k", Some(b"v1"), None).await.unwrap());
    assert!(get(&s, "app", "k").await.is_some());
    assert!(cas(&s, "app", "k", Some(b"v2"), None).await.unwrap());
    assert_eq!(get(&s, "app", "k").await, None);
    // An empty value is present, not absent.
    s.kv_set("app", "e", b"").await.unwrap();
    assert!(!cas(&s, "app", "e", None, Some(b"x")).await.unwrap());
    assert!(cas(&s, "app", "e", Some(b""), Some(b"x")).await.unwrap());
}

async fn concurrent_compare_and_swaps_have_one_winner(b: Arc<impl Backend>) {
    let s = b.storage();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = if i % 2 == 0 { s.clone() } else { b.reopen() };
            tokio::spawn(async move {
                cas(&s, "app", "decision", None, Some(format!("{i}").as_bytes()))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.unwrap());
    }
    assert_eq!(winners, 1, "exactly one decision is taken");
}

async fn too_large_key_or_value_is_rejected_and_nothing_written(b: Arc<impl Backend>) {
    let s = b.storage();
    let long_key = "k".repeat(MAX_KEY_BYTES + 1);
    let big_value = vec![b'v'; MAX_VALUE_BYTES + 1];

    let err = s.kv_set("app", &long_key, b"v").await.unwrap_err();
    assert!(
        matches!(err, StorageError::TooLarge { what: "key", limit: MAX_KEY_BYTES, actual } if actual == MAX_KEY_BYTES + 1),
        "{err:?}"
    );
    let err = s.kv_set("app", "k", &big_value).await.unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::TooLarge {
                what: "value",
                limit: MAX_VALUE_BYTES,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        s.kv_increment("app", &long_key, 1).await,
        Err(StorageError::TooLarge { .. })
    ));
    assert!(matches!(
        cas(&s, "app", "k", None, Some(&big_value)).await,
        Err(StorageError::TooLarge { .. })
    ));
    assert!(matches!(
        cas(&s, "app", &long_key, None, Some(b"v")).await,
        Err(StorageError::TooLarge { .. })
    ));
    assert!(s.kv_list("app", "", 100).await.unwrap().is_empty());
    assert!(err.to_string().contains("1048576"), "{err}");

    // Exactly at the limits is fine.
    let max_key = "k".repeat(MAX_KEY_BYTES);
    s.kv_set("app", &max_key, &big_value[..MAX_VALUE_BYTES])
        .await
        .unwrap();
    assert_eq!(
        get(&s, "app", &max_key).await.map(|v| v.len()),
        Some(MAX_VALUE_BYTES)
    );
}

async fn data_survives_reopen(b: Arc<impl Backend>) {
    let s = b.storage();
    s.kv_set("app", "greeting", b"hello").await.unwrap();
    s.kv_increment("app", "count", 3).await.unwrap();
    let s = b.reopen();
    assert_eq!(
        get(&s, "app", "greeting").await.as_deref(),
        Some(&b"hello"[..])
    );
    assert_eq!(s.kv_increment("app", "count", 1).await.unwrap(), 4);
}

// --- units of work ----------------------------------------------------------

async fn a_units_writes_are_kept_once_committed(b: Arc<impl Backend>) {
    let s = b.storage();
    let mut unit = s.begin();
    unit.set("app", "k", b"v").await.unwrap();
    let call = unit
        .enqueue(NewCall {
            app: "app",
            method: "chat.postMessage",
            payload: &json!({"channel": "C1", "text": "hi"}),
            status: OutboxStatus::Pending,
        })
        .await
        .unwrap();
    unit.schedule_once("app", "later", 10).await.unwrap();
    unit.record(&record("app", 1, Outcome::Ok)).await.unwrap();
    unit.commit().await.unwrap();
    // Another handle on the same data sees all of it.
    let other = b.reopen();
    assert_eq!(get(&other, "app", "k").await.as_deref(), Some(&b"v"[..]));
    let entries = other.outbox.entries(Some("app"), 0, 10).await.unwrap();
    assert_eq!(entries.iter().map(|e| e.id).collect::<Vec<_>>(), vec![call]);
    assert_eq!(
        other.schedules.take_due(10).await.unwrap(),
        vec![tick("app", "later", 10)]
    );
    assert_eq!(other.audit.recent(Some("app"), 10).await.unwrap().len(), 1);
    // A unit that wrote nothing commits for free.
    s.begin().commit().await.unwrap();
}

async fn a_unit_reads_its_own_writes(b: Arc<impl Backend>) {
    let s = b.storage();
    let mut unit = s.begin();
    unit.set("app", "a", b"1").await.unwrap();
    assert_eq!(
        unit.get("app", "a").await.unwrap().as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(unit.increment("app", "n", 2).await.unwrap(), 2);
    assert_eq!(unit.increment("app", "n", 2).await.unwrap(), 4);
    assert_eq!(unit.list("app", "", 10).await.unwrap(), vec!["a", "n"]);
    unit.commit().await.unwrap();
}

// --- outbox -----------------------------------------------------------------

async fn enqueue_and_read_back(b: Arc<impl Backend>) {
    let s = b.storage();
    let before = now_ms() as i64;
    let payload = json!({"channel": "C1", "text": "hi", "blocks": [{"type": "divider"}]});
    let id = s
        .enqueue(NewCall {
            app: "poll",
            method: "chat.postMessage",
            payload: &payload,
            status: OutboxStatus::Pending,
        })
        .await
        .unwrap();
    let entries = s.outbox.entries(None, 0, 10).await.unwrap();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e.id, id);
    assert!(e.created_ms >= before && e.created_ms <= now_ms() as i64);
    assert_eq!(e.app, "poll");
    assert_eq!(e.method, "chat.postMessage");
    assert_eq!(e.payload, payload);
    assert_eq!(e.status, OutboxStatus::Pending);
    assert_eq!(e.attempts, 0);
    assert_eq!(e.last_error, None);
    assert_eq!(e.result, None);
}

async fn entries_filter_by_app_and_cursor_in_id_order(b: Arc<impl Backend>) {
    let s = b.storage();
    let a1 = enqueue(&s, "a", "m1", OutboxStatus::Local).await;
    let b1 = enqueue(&s, "b", "m2", OutboxStatus::Pending).await;
    let a2 = enqueue(&s, "a", "m3", OutboxStatus::Local).await;
    assert!(a1 < b1 && b1 < a2);
    let ids =
        |v: Vec<botyard::storage::OutboxEntry>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let o = &s.outbox;
    assert_eq!(ids(o.entries(None, 0, 10).await.unwrap()), vec![a1, b1, a2]);
    assert_eq!(ids(o.entries(None, a1, 10).await.unwrap()), vec![b1, a2]);
    assert_eq!(ids(o.entries(None, 0, 1).await.unwrap()), vec![a1]);
    assert_eq!(
        ids(o.entries(Some("a"), 0, 10).await.unwrap()),
        vec![a1, a2]
    );
    assert_eq!(ids(o.entries(Some("a"), a1, 10).await.unwrap()), vec![a2]);
    assert_eq!(ids(o.entries(Some("b"), 0, 10).await.unwrap()), vec![b1]);
    assert_eq!(
        ids(o.pending(10).await.unwrap()),
        vec![b1],
        "local entries are never pending"
    );
}

const LEASE: Duration = Duration::from_secs(60);

async fn claims_settle_once(b: Arc<impl Backend>) {
    let s = b.storage();
    let o = &s.outbox;
    let ok = enqueue(&s, "a", "chat.postMessage", OutboxStatus::Pending).await;
    let bad = enqueue(&s, "a", "chat.postMessage", OutboxStatus::Pending).await;
    let local = enqueue(&s, "a", "chat.postMessage", OutboxStatus::Local).await;
    let pending_ids = || async {
        o.pending(10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(pending_ids().await, vec![ok, bad]);

    let claim_bad = o.claim(bad, LEASE).await.unwrap().expect("claimable");
    assert!(
        o.settle(&claim_bad, Settlement::Retry("ratelimited".into()))
            .await
            .unwrap()
    );
    let claim_ok = o.claim(ok, LEASE).await.unwrap().expect("claimable");
    let slack_answer = json!({"ok": true, "ts": "1700000000.000100"});
    assert!(
        o.settle(&claim_ok, Settlement::Delivered(slack_answer.clone()))
            .await
            .unwrap()
    );
    assert_eq!(
        pending_ids().await,
        vec![bad],
        "a retried entry is pending again"
    );
    let claim_bad = o
        .claim(bad, LEASE)
        .await
        .unwrap()
        .expect("claimable again after a retry");
    assert!(
        o.settle(&claim_bad, Settlement::Failed("channel_not_found".into()))
            .await
            .unwrap()
    );
    assert!(pending_ids().await.is_empty());

    // Settled and local entries cannot be claimed or changed any more.
    assert_eq!(o.claim(ok, LEASE).await.unwrap(), None);
    assert_eq!(o.claim(local, LEASE).await.unwrap(), None);
    assert_eq!(o.claim(9999, LEASE).await.unwrap(), None);
    assert!(
        !o.settle(&claim_ok, Settlement::Failed("late".into()))
            .await
            .unwrap()
    );

    let all = o.entries(None, 0, 10).await.unwrap();
    assert_eq!(all[0].status, OutboxStatus::Delivered);
    assert_eq!(all[0].attempts, 1);
    assert_eq!(all[0].result.as_ref(), Some(&slack_answer));
    assert_eq!(all[0].last_error, None);
    assert_eq!(all[1].status, OutboxStatus::Failed);
    assert_eq!(all[1].attempts, 2);
    assert_eq!(all[1].last_error.as_deref(), Some("channel_not_found"));
    assert_eq!(all[1].result, None);
    assert_eq!(all[2].status, OutboxStatus::Local);
    assert_eq!(all[2].attempts, 0);
}

async fn a_claim_is_exclusive_until_its_lease_runs_out(b: Arc<impl Backend>) {
    let s = b.storage();
    let other = b.reopen();
    let id = enqueue(&s, "a", "chat.postMessage", OutboxStatus::Pending).await;
    let first = s
        .outbox
        .claim(id, Duration::from_millis(300))
        .await
        .unwrap()
        .expect("the first claim wins");
    assert_eq!(other.outbox.claim(id, LEASE).await.unwrap(), None, "held");
    assert_eq!(
        s.outbox.claim(id, LEASE).await.unwrap(),
        None,
        "held, even for its holder"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let second = other
        .outbox
        .claim(id, LEASE)
        .await
        .unwrap()
        .expect("claimable once the lease ran out");
    assert!(second.token > first.token);
}

async fn an_overtaken_claim_cannot_settle(b: Arc<impl Backend>) {
    let s = b.storage();
    let id = enqueue(&s, "a", "chat.postMessage", OutboxStatus::Pending).await;
    let stalled = s
        .outbox
        .claim(id, Duration::from_millis(100))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fresh = b.reopen().outbox.claim(id, LEASE).await.unwrap().unwrap();
    // The deliverer that stalled past its lease wakes up: nothing it says counts.
    assert!(
        !s.outbox
            .settle(&stalled, Settlement::Failed("stale".into()))
            .await
            .unwrap()
    );
    assert!(
        s.outbox
            .settle(&fresh, Settlement::Delivered(json!({"ok": true})))
            .await
            .unwrap()
    );
    let forged = Claim {
        token: fresh.token + 1,
        ..fresh
    };
    assert!(
        !s.outbox
            .settle(&forged, Settlement::Failed("x".into()))
            .await
            .unwrap()
    );
    let e = &s.outbox.entries(None, 0, 1).await.unwrap()[0];
    assert_eq!(
        (e.status, e.last_error.as_deref()),
        (OutboxStatus::Delivered, None)
    );
}

async fn claims_of_a_deliverer_that_died_are_released(b: Arc<impl Backend>) {
    let dead = b.storage();
    let id = enqueue(&dead, "a", "chat.postMessage", OutboxStatus::Pending).await;
    let kept = enqueue(&dead, "a", "chat.postMessage", OutboxStatus::Pending).await;
    dead.outbox.claim(id, LEASE).await.unwrap().unwrap();
    // The delivering host is killed holding the claim; the next one starts.
    let next = b.reopen();
    assert_eq!(
        next.outbox.claim(id, LEASE).await.unwrap(),
        None,
        "still leased"
    );
    assert_eq!(next.outbox.release_orphaned().await.unwrap(), 1);
    let claim = next
        .outbox
        .claim(id, LEASE)
        .await
        .unwrap()
        .expect("released");
    // Its own claims are not orphans.
    assert_eq!(next.outbox.release_orphaned().await.unwrap(), 0);
    assert!(
        next.outbox
            .settle(&claim, Settlement::Delivered(json!({"ok": true})))
            .await
            .unwrap()
    );
    assert!(next.outbox.claim(kept, LEASE).await.unwrap().is_some());
}

async fn pending_survives_reopen(b: Arc<impl Backend>) {
    let s = b.storage();
    let id = s
        .enqueue(NewCall {
            app: "a",
            method: "chat.postMessage",
            payload: &json!({"text": "vote"}),
            status: OutboxStatus::Pending,
        })
        .await
        .unwrap();
    let s = b.reopen();
    let pending = s.outbox.pending(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, id);
    assert_eq!(pending[0].payload, json!({"text": "vote"}));
    for status in [
        OutboxStatus::Pending,
        OutboxStatus::Local,
        OutboxStatus::Delivered,
        OutboxStatus::Failed,
    ] {
        assert_eq!(OutboxStatus::parse(status.as_str()), Some(status));
    }
}

async fn committing_queued_calls_wakes_delivery(b: Arc<impl Backend>) {
    let s = b.storage();
    let woken = s.outbox_wakeup.wait();
    let waiter = tokio::spawn(woken);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!waiter.is_finished(), "nothing queued yet");
    let mut unit = s.begin();
    unit.enqueue(NewCall {
        app: "a",
        method: "chat.postMessage",
        payload: &json!({}),
        status: OutboxStatus::Pending,
    })
    .await
    .unwrap();
    unit.commit().await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("delivery is woken when the unit commits")
        .unwrap();
}

// --- outbox lanes -------------------------------------------------------------

const PACED: [&str; 1] = ["chat.postMessage"];

async fn enqueue_to(s: &Storage, method: &str, payload: serde_json::Value) -> i64 {
    s.enqueue(NewCall {
        app: "a",
        method,
        payload: &payload,
        status: OutboxStatus::Pending,
    })
    .await
    .unwrap()
}

async fn heads(s: &Storage, limit: u32) -> Vec<ClaimedHead> {
    s.outbox
        .claim_heads(limit, LEASE, &PACED)
        .await
        .unwrap()
        .claimed
}

fn ids(heads: &[ClaimedHead]) -> Vec<i64> {
    heads.iter().map(|h| h.entry.id).collect()
}

async fn delivered(s: &Storage, head: &ClaimedHead, hold: LaneHold) {
    assert!(
        s.outbox
            .settle_head(
                &head.claim,
                &head.lane,
                Settlement::Delivered(json!({"ok": true})),
                hold
            )
            .await
            .unwrap()
    );
}

async fn only_each_lanes_head_is_claimed_in_order(b: Arc<impl Backend>) {
    let s = b.storage();
    let other = b.reopen();
    let post = |ch: &str, text: &str| json!({"channel": ch, "text": text});
    let c1a = enqueue_to(&s, "chat.postMessage", post("C1", "a")).await;
    let c1b = enqueue_to(&s, "chat.update", post("C1", "b")).await;
    let c2 = enqueue_to(&s, "chat.postMessage", post("C2", "c")).await;
    let view = enqueue_to(&s, "views.open", json!({"trigger_id": "t", "view": {}})).await;
    let file = enqueue_to(&s, "files.upload", json!({"channel_id": "C2"})).await;
    s.enqueue(NewCall {
        app: "a",
        method: "chat.postMessage",
        payload: &post("C3", "recorded only"),
        status: OutboxStatus::Local,
    })
    .await
    .unwrap();

    let first = heads(&s, 10).await;
    assert_eq!(
        ids(&first),
        [c1a, c2, view],
        "one head per lane, oldest first"
    );
    let lanes: Vec<_> = first.iter().map(|h| h.lane.as_str()).collect();
    assert_eq!(lanes, ["C1", "C2", "app:a"]);
    assert!(first.iter().all(|h| !h.in_doubt));
    assert!(heads(&other, 10).await.is_empty(), "every head is claimed");

    // Settling a head makes the next entry of its lane the head, whoever
    // claims next; a failed head lets its lane go on too.
    delivered(&s, &first[0], LaneHold::default()).await;
    assert!(
        s.outbox
            .settle_head(
                &first[1].claim,
                &first[1].lane,
                Settlement::Failed("channel_not_found".into()),
                LaneHold::default()
            )
            .await
            .unwrap()
    );
    let next = heads(&other, 10).await;
    assert_eq!(ids(&next), [c1b, file], "a file shares its channel's lane");
    // A head given back is claimable again, and was no attempt.
    assert!(
        other
            .outbox
            .release(&next[0].claim, &next[0].lane, LaneHold::default())
            .await
            .unwrap()
    );
    let again = heads(&s, 10).await;
    assert_eq!(ids(&again), [c1b]);
    assert_eq!(again[0].entry.attempts, 0);
    assert!(again[0].claim.token > next[0].claim.token);
    assert!(
        !other
            .outbox
            .release(&next[0].claim, &next[0].lane, LaneHold::default())
            .await
            .unwrap(),
        "an overtaken claim gives nothing back"
    );
}

async fn concurrent_claimers_take_each_head_once_and_lanes_in_order(b: Arc<impl Backend>) {
    use std::collections::{HashMap, HashSet};
    use std::sync::Mutex;
    let s = b.storage();
    let mut expected: HashMap<String, Vec<i64>> = HashMap::new();
    for i in 0..4 {
        for lane in 0..6 {
            let channel = format!("C{lane}");
            let id = enqueue_to(&s, "chat.update", json!({"channel": channel, "i": i})).await;
            expected.entry(channel).or_default().push(id);
        }
    }
    let in_flight = Arc::new(Mutex::new(HashSet::<String>::new()));
    let seen = Arc::new(Mutex::new(HashMap::<String, Vec<i64>>::new()));
    let claimers = [s.clone(), b.reopen(), b.reopen()].map(|handle| {
        let (in_flight, seen) = (in_flight.clone(), seen.clone());
        tokio::spawn(async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            loop {
                let claimed = heads(&handle, 3).await;
                if claimed.is_empty() {
                    if handle.outbox.pending_summary().await.unwrap().0 == 0 {
                        return;
                    }
                    assert!(std::time::Instant::now() < deadline, "stuck");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                for head in &claimed {
                    assert!(
                        in_flight.lock().unwrap().insert(head.lane.clone()),
                        "lane {} claimed twice at once",
                        head.lane
                    );
                    seen.lock()
                        .unwrap()
                        .entry(head.lane.clone())
                        .or_default()
                        .push(head.entry.id);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
                for head in &claimed {
                    in_flight.lock().unwrap().remove(&head.lane);
                    delivered(&handle, head, LaneHold::default()).await;
                }
            }
        })
    });
    for claimer in claimers {
        claimer.await.unwrap();
    }
    assert_eq!(
        *seen.lock().unwrap(),
        expected,
        "each once, in id order per lane"
    );
}

async fn lane_holds_pace_posts_and_retries_for_every_claimer(b: Arc<impl Backend>) {
    let s = b.storage();
    let other = b.reopen();
    let post = |text: &str| json!({"channel": "C1", "text": text});
    let p1 = enqueue_to(&s, "chat.postMessage", post("1")).await;
    let p2 = enqueue_to(&s, "chat.postMessage", post("2")).await;
    let update = enqueue_to(&s, "chat.update", post("3")).await;

    let first = heads(&s, 10).await;
    assert_eq!(ids(&first), [p1]);
    let paced_until = now_ms() as i64 + 400;
    let hold = LaneHold {
        post_not_before_ms: Some(paced_until),
        ..LaneHold::default()
    };
    delivered(&s, &first[0], hold).await;
    // The next post waits for the lane, for the other claimer too, which
    // is told when to look again.
    let found = other.outbox.claim_heads(10, LEASE, &PACED).await.unwrap();
    assert!(found.claimed.is_empty(), "{found:?}");
    assert_eq!(found.next_ms, Some(paced_until));
    // Unpaced, the same head may go.
    let unpaced = other.outbox.claim_heads(10, LEASE, &[]).await.unwrap();
    assert_eq!(ids(&unpaced.claimed), [p2]);
    assert!(
        other
            .outbox
            .release(&unpaced.claimed[0].claim, "C1", LaneHold::default())
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    let second = heads(&other, 10).await;
    assert_eq!(ids(&second), [p2], "due once the hold passed");

    // A retry wait holds every head of the lane, paced or not.
    let retry_until = now_ms() as i64 + 400;
    assert!(
        other
            .outbox
            .settle_head(
                &second[0].claim,
                "C1",
                Settlement::Retry("ratelimited".into()),
                LaneHold {
                    try_not_before_ms: Some(retry_until),
                    ..LaneHold::default()
                }
            )
            .await
            .unwrap()
    );
    let held = s.outbox.claim_heads(10, LEASE, &[]).await.unwrap();
    assert!(held.claimed.is_empty(), "{held:?}");
    assert_eq!(held.next_ms, Some(retry_until));
    // A hold never moves earlier.
    s.outbox
        .release(
            &second[0].claim,
            "C1",
            LaneHold {
                try_not_before_ms: Some(1),
                post_not_before_ms: Some(1),
            },
        )
        .await
        .unwrap();
    assert!(heads(&s, 10).await.is_empty());
    tokio::time::sleep(Duration::from_millis(450)).await;
    let retried = heads(&s, 10).await;
    assert_eq!(ids(&retried), [p2]);
    assert_eq!(retried[0].entry.attempts, 1);
    assert!(!retried[0].in_doubt, "a retry knew its outcome");
    delivered(&s, &retried[0], LaneHold::default()).await;
    assert_eq!(ids(&heads(&s, 10).await), [update]);
}

async fn an_attempt_that_ended_unknown_comes_back_in_doubt(b: Arc<impl Backend>) {
    let s = b.storage();
    let id = enqueue_to(&s, "chat.postMessage", json!({"channel": "C1"})).await;
    let claim = |s: Storage, lease: Duration| async move {
        let mut claimed = s
            .outbox
            .claim_heads(1, lease, &PACED)
            .await
            .unwrap()
            .claimed;
        assert_eq!(ids(&claimed), [id]);
        claimed.remove(0)
    };
    let first = claim(s.clone(), Duration::from_millis(100)).await;
    assert!(!first.in_doubt, "never tried");
    // Its holder vanished after sending, perhaps: the lease runs out.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = claim(s.clone(), LEASE).await;
    assert!(second.in_doubt, "an unsettled claim ran out");
    assert!(
        s.outbox
            .settle_head(
                &second.claim,
                "C1",
                Settlement::Unclear("timed out".into()),
                LaneHold::default()
            )
            .await
            .unwrap()
    );
    let third = claim(s.clone(), LEASE).await;
    assert!(third.in_doubt, "settled unclear");
    assert_eq!(third.entry.attempts, 1);
    assert_eq!(third.entry.last_error.as_deref(), Some("timed out"));
    // Looked and found nothing: a plain retry clears the doubt.
    s.outbox
        .settle_head(
            &third.claim,
            "C1",
            Settlement::Retry("503".into()),
            LaneHold::default(),
        )
        .await
        .unwrap();
    let fourth = claim(s.clone(), LEASE).await;
    assert!(!fourth.in_doubt);
    // The deliverer is killed holding it; the next one takes it over.
    let next = b.reopen();
    assert_eq!(next.outbox.release_orphaned().await.unwrap(), 1);
    let fifth = claim(next.clone(), LEASE).await;
    assert!(fifth.in_doubt, "an orphaned claim may have sent");
    next.outbox
        .release(&fifth.claim, "C1", LaneHold::default())
        .await
        .unwrap();
    assert!(!claim(next, LEASE).await.in_doubt, "given back unsent");
}

// --- schedules --------------------------------------------------------------

async fn due_schedules_are_taken_once_in_time_order(b: Arc<impl Backend>) {
    let s = b.storage();
    once(&s, "poll", "close", 300).await;
    once(&s, "lunch", "menu", 100).await;
    once(&s, "poll", "remind", 200).await;
    once(&s, "poll", "later", 1_000).await;
    let take = |now| {
        let s = s.clone();
        async move { s.schedules.take_due(now).await.unwrap() }
    };
    assert!(take(50).await.is_empty());
    assert_eq!(
        take(300).await,
        vec![
            tick("lunch", "menu", 100),
            tick("poll", "remind", 200),
            tick("poll", "close", 300)
        ]
    );
    assert!(take(300).await.is_empty());
    assert_eq!(take(5_000).await, vec![tick("poll", "later", 1_000)]);
    assert!(take(i64::MAX).await.is_empty());
}

async fn schedule_once_upserts_and_cancel(b: Arc<impl Backend>) {
    let s = b.storage();
    once(&s, "poll", "close", 100).await;
    once(&s, "poll", "close", 500).await;
    once(&s, "other", "close", 100).await;
    assert!(cancel(&s, "other", "close").await);
    assert!(!cancel(&s, "other", "close").await);
    assert!(s.schedules.take_due(499).await.unwrap().is_empty());
    // What the test kit's virtual time jumps to: a read, taking nothing.
    assert_eq!(s.schedules.next_once_due().await.unwrap(), Some(500));
    assert_eq!(
        s.schedules.take_due(500).await.unwrap(),
        vec![tick("poll", "close", 500)]
    );
    assert_eq!(s.schedules.next_once_due().await.unwrap(), None);
}

async fn due_schedules_taken_once_across_concurrent_callers(b: Arc<impl Backend>) {
    let s = b.storage();
    let mut unit = s.begin();
    for i in 0..200 {
        unit.schedule_once("app", &format!("t{i}"), i)
            .await
            .unwrap();
    }
    unit.commit().await.unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let s = if i % 2 == 0 { s.clone() } else { b.reopen() };
            tokio::spawn(async move {
                let mut taken = Vec::new();
                for now in 0..50 {
                    taken.extend(s.schedules.take_due(now * 4).await.unwrap());
                }
                taken
            })
        })
        .collect();
    let mut names = Vec::new();
    for task in tasks {
        names.extend(task.await.unwrap().into_iter().map(|t| t.name));
    }
    names.extend(
        s.schedules
            .take_due(i64::MAX)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name),
    );
    names.sort();
    let mut expected: Vec<String> = (0..200).map(|i| format!("t{i}")).collect();
    expected.sort();
    assert_eq!(names, expected, "every tick exactly once");
}

async fn cron_fires_are_claimed_by_compare_and_set(b: Arc<impl Backend>) {
    let s = b.storage();
    let sc = &s.schedules;
    assert_eq!(sc.last_cron_fire("lunch", "menu").await.unwrap(), None);
    assert!(sc.advance_cron("lunch", "menu", None, 1_000).await.unwrap());
    assert!(
        !sc.advance_cron("lunch", "menu", None, 1_500).await.unwrap(),
        "already started"
    );
    assert_eq!(
        sc.last_cron_fire("lunch", "menu").await.unwrap(),
        Some(1_000)
    );
    assert!(
        !sc.advance_cron("lunch", "menu", Some(999), 2_000)
            .await
            .unwrap()
    );
    assert!(
        sc.advance_cron("lunch", "menu", Some(1_000), 2_000)
            .await
            .unwrap()
    );
    assert_eq!(
        sc.last_cron_fire("lunch", "menu").await.unwrap(),
        Some(2_000)
    );
    // Many schedulers racing for one occurrence: one wins.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = if i % 2 == 0 { s.clone() } else { b.reopen() };
            tokio::spawn(async move {
                s.schedules
                    .advance_cron("lunch", "menu", Some(2_000), 3_000)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);
    assert_eq!(sc.last_cron_fire("other", "menu").await.unwrap(), None);
}

async fn cron_last_fire_survives_reopen(b: Arc<impl Backend>) {
    let s = b.storage();
    s.schedules
        .advance_cron("lunch", "menu", None, 1_000)
        .await
        .unwrap();
    s.schedules
        .advance_cron("other", "menu", None, 7)
        .await
        .unwrap();
    once(&s, "lunch", "once", 10).await;
    let s = b.reopen();
    assert_eq!(
        s.schedules.last_cron_fire("lunch", "menu").await.unwrap(),
        Some(1_000)
    );
    assert_eq!(
        s.schedules.last_cron_fire("other", "menu").await.unwrap(),
        Some(7)
    );
    assert_eq!(
        s.schedules.last_cron_fire("lunch", "nope").await.unwrap(),
        None
    );
    // All of them in one read, as the scheduler asks every second.
    let all = s.schedules.cron_fires().await.unwrap();
    let mut all: Vec<_> = all.into_iter().collect();
    all.sort();
    assert_eq!(
        all,
        [
            (("lunch".to_string(), "menu".to_string()), 1_000),
            (("other".to_string(), "menu".to_string()), 7)
        ]
    );
    assert_eq!(
        s.schedules.take_due(10).await.unwrap(),
        vec![tick("lunch", "once", 10)]
    );
}

/// A tick's run as the scheduler claims it: keyed by app, schedule and due
/// time, the key as its body.
fn tick_run<'a>(
    app: &'a str,
    name: &'a str,
    due_ms: i64,
    source: TickSource,
    key: &'a str,
) -> TickRun<'a> {
    TickRun {
        app,
        name,
        due_ms,
        source,
        key,
        body: key.as_bytes(),
    }
}

fn tick_key(app: &str, name: &str, due_ms: i64) -> String {
    format!("tick:{app}/{name}/{due_ms}")
}

async fn claim_tick(
    s: &Storage,
    app: &str,
    name: &str,
    due_ms: i64,
    source: TickSource,
) -> Option<Claim> {
    let key = tick_key(app, name, due_ms);
    s.schedules
        .claim_tick(
            tick_run(app, name, due_ms, source, &key),
            now_ms() as i64,
            LEASE,
        )
        .await
        .unwrap()
}

async fn due_ticks_are_claimed_into_the_inbox_in_one_commit(b: Arc<impl Backend>) {
    let s = b.storage();
    let sc = &s.schedules;

    // One-offs: read, then claimed one by one, earliest first.
    once(&s, "poll", "close", 300).await;
    once(&s, "poll", "remind", 200).await;
    once(&s, "poll", "later", 1_000).await;
    assert_eq!(
        sc.due_once(300, 10).await.unwrap(),
        vec![tick("poll", "remind", 200), tick("poll", "close", 300)]
    );
    assert_eq!(
        sc.due_once(300, 1).await.unwrap(),
        vec![tick("poll", "remind", 200)]
    );
    let claim = claim_tick(&s, "poll", "remind", 200, TickSource::Once)
        .await
        .expect("a due one-off is claimed");
    assert_eq!(claim.token, 1);
    // Off its schedule and into the inbox, pending, claimed: together.
    assert_eq!(
        sc.due_once(300, 10).await.unwrap(),
        vec![tick("poll", "close", 300)]
    );
    assert!(
        s.inbox
            .seen(&tick_key("poll", "remind", 200))
            .await
            .unwrap()
    );
    assert_eq!(s.inbox.pending_count().await.unwrap(), 1);
    // Claimed once: a second claimer finds it gone.
    assert_eq!(
        claim_tick(&s, "poll", "remind", 200, TickSource::Once).await,
        None
    );
    // A one-off moved since it was read is not claimed at its old time,
    // nor is a cancelled one.
    once(&s, "poll", "close", 400).await;
    assert_eq!(
        claim_tick(&s, "poll", "close", 300, TickSource::Once).await,
        None
    );
    assert_eq!(sc.next_once_due().await.unwrap(), Some(400));
    assert!(cancel(&s, "poll", "close").await);
    assert_eq!(
        claim_tick(&s, "poll", "close", 400, TickSource::Once).await,
        None
    );
    assert!(!s.inbox.seen(&tick_key("poll", "close", 300)).await.unwrap());
    assert!(!s.inbox.seen(&tick_key("poll", "close", 400)).await.unwrap());
    // The run is settled like any inbox work, in the tick's unit.
    let mut unit = s.begin();
    unit.set("poll", "reminded", b"yes").await.unwrap();
    assert!(unit.settle_inbound(&claim).await.unwrap());
    unit.commit().await.unwrap();
    assert_eq!(s.inbox.pending_count().await.unwrap(), 0);
    // The same one-off scheduled again for the same due time: its run row
    // is there, so it comes off its schedule and runs nothing.
    once(&s, "poll", "remind", 200).await;
    assert_eq!(
        claim_tick(&s, "poll", "remind", 200, TickSource::Once).await,
        None
    );
    assert!(
        sc.due_once(1_000, 10)
            .await
            .unwrap()
            .iter()
            .all(|t| t.name != "remind")
    );
    assert_eq!(s.inbox.pending_count().await.unwrap(), 0);

    // Cron: the last fire time moves by compare-and-set to the occurrence.
    sc.advance_cron("lunch", "menu", None, 1_000).await.unwrap();
    let first = claim_tick(
        &s,
        "lunch",
        "menu",
        2_000,
        TickSource::Cron { after: 1_000 },
    )
    .await
    .expect("the occurrence after the last fire time is claimed");
    assert_eq!(
        sc.last_cron_fire("lunch", "menu").await.unwrap(),
        Some(2_000)
    );
    assert!(
        s.inbox
            .seen(&tick_key("lunch", "menu", 2_000))
            .await
            .unwrap()
    );
    assert_ne!(first.id, claim.id);
    // A claimer that read the old fire time changes nothing.
    assert_eq!(
        claim_tick(
            &s,
            "lunch",
            "menu",
            2_000,
            TickSource::Cron { after: 1_000 }
        )
        .await,
        None
    );
    assert_eq!(
        claim_tick(
            &s,
            "lunch",
            "menu",
            3_000,
            TickSource::Cron { after: 1_000 }
        )
        .await,
        None
    );
    assert!(
        !s.inbox
            .seen(&tick_key("lunch", "menu", 3_000))
            .await
            .unwrap()
    );
    assert_eq!(
        sc.last_cron_fire("lunch", "menu").await.unwrap(),
        Some(2_000)
    );
    // Catch-up passes over occurrences: from 2 000 straight to 5 000.
    assert!(
        claim_tick(
            &s,
            "lunch",
            "menu",
            5_000,
            TickSource::Cron { after: 2_000 }
        )
        .await
        .is_some()
    );
    assert_eq!(
        sc.last_cron_fire("lunch", "menu").await.unwrap(),
        Some(5_000)
    );
    // A schedule never started has nothing to move.
    assert_eq!(
        claim_tick(
            &s,
            "lunch",
            "other",
            2_000,
            TickSource::Cron { after: 1_000 }
        )
        .await,
        None
    );
    assert_eq!(sc.last_cron_fire("lunch", "other").await.unwrap(), None);
    // A due time whose run row exists already moves the schedule and runs
    // nothing.
    let key = tick_key("lunch", "menu", 6_000);
    s.inbox
        .take(&[inbound(&key, "lunch")], now_ms() as i64, LEASE)
        .await
        .unwrap();
    assert_eq!(
        claim_tick(
            &s,
            "lunch",
            "menu",
            6_000,
            TickSource::Cron { after: 5_000 }
        )
        .await,
        None
    );
    assert_eq!(
        sc.last_cron_fire("lunch", "menu").await.unwrap(),
        Some(6_000)
    );
    assert_eq!(s.inbox.pending_count().await.unwrap(), 3);

    // All of it was committed: another handle sees it.
    let r = b.reopen();
    assert_eq!(
        r.schedules.last_cron_fire("lunch", "menu").await.unwrap(),
        Some(6_000)
    );
    assert!(
        r.inbox
            .seen(&tick_key("lunch", "menu", 5_000))
            .await
            .unwrap()
    );
    assert_eq!(
        r.schedules.due_once(i64::MAX, 10).await.unwrap(),
        vec![tick("poll", "later", 1_000)]
    );
}

async fn a_claimed_tick_whose_taker_died_is_taken_over(b: Arc<impl Backend>) {
    let s = b.storage();
    once(&s, "poll", "close", 100).await;
    // The taker claims with a short lease, then dies before running it.
    let key = tick_key("poll", "close", 100);
    let now = now_ms() as i64;
    let claim = s
        .schedules
        .claim_tick(
            tick_run("poll", "close", 100, TickSource::Once, &key),
            now,
            Duration::from_millis(100),
        )
        .await
        .unwrap()
        .unwrap();
    drop(s);
    // Another process: nothing to claim from the schedule, the run to take
    // over from the inbox once the lease ran out — not before.
    let other = b.reopen();
    assert!(
        other
            .schedules
            .due_once(i64::MAX, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        other
            .inbox
            .claim_expired(now, LEASE, 10, &[])
            .await
            .unwrap()
            .is_empty()
    );
    let taken = other
        .inbox
        .claim_expired(now + 200, LEASE, 10, &[])
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    let (item, over) = &taken[0];
    assert_eq!(
        (item.key.as_str(), item.app.as_str()),
        (key.as_str(), "poll")
    );
    assert_eq!(item.body, key.as_bytes());
    assert_eq!((over.id, over.token), (claim.id, 2));
    let mut unit = other.begin();
    assert!(unit.settle_inbound(over).await.unwrap());
    unit.commit().await.unwrap();
    assert_eq!(other.inbox.pending_count().await.unwrap(), 0);
}

async fn due_ticks_are_claimed_once_across_concurrent_claimers(b: Arc<impl Backend>) {
    const ONCE: i64 = 100;
    const OCCURRENCES: i64 = 40;
    let s = b.storage();
    let mut unit = s.begin();
    for i in 0..ONCE {
        unit.schedule_once("app", &format!("t{i}"), i)
            .await
            .unwrap();
    }
    unit.commit().await.unwrap();
    s.schedules
        .advance_cron("app", "cron", None, 0)
        .await
        .unwrap();
    let other = b.reopen();
    // Eight claimers on two handles, each doing what a scheduler does:
    // read what is due, claim it, and for cron claim the occurrence after
    // the last fire time it read.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = if i % 2 == 0 { s.clone() } else { other.clone() };
            tokio::spawn(async move {
                let mut won = Vec::new();
                for now in (0..ONCE).step_by(10) {
                    for t in s.schedules.due_once(now, 1_000).await.unwrap() {
                        if claim_tick(&s, &t.app, &t.name, t.due_ms, TickSource::Once)
                            .await
                            .is_some()
                        {
                            won.push(t.name);
                        }
                    }
                }
                loop {
                    let last = s
                        .schedules
                        .last_cron_fire("app", "cron")
                        .await
                        .unwrap()
                        .unwrap();
                    if last >= OCCURRENCES * 1_000 {
                        break;
                    }
                    let due = last + 1_000;
                    if claim_tick(&s, "app", "cron", due, TickSource::Cron { after: last })
                        .await
                        .is_some()
                    {
                        won.push(format!("cron@{due}"));
                    }
                }
                won
            })
        })
        .collect();
    let mut won = Vec::new();
    for task in tasks {
        won.extend(task.await.unwrap());
    }
    for t in s.schedules.due_once(i64::MAX, 1_000).await.unwrap() {
        if claim_tick(&s, &t.app, &t.name, t.due_ms, TickSource::Once)
            .await
            .is_some()
        {
            won.push(t.name);
        }
    }
    won.sort();
    let mut expected: Vec<String> = (0..ONCE)
        .map(|i| format!("t{i}"))
        .chain((1..=OCCURRENCES).map(|k| format!("cron@{}", k * 1_000)))
        .collect();
    expected.sort();
    assert_eq!(won, expected, "every due tick claimed exactly once");
    // And each has exactly one run, waiting in the inbox.
    assert_eq!(
        s.inbox.pending_count().await.unwrap(),
        (ONCE + OCCURRENCES) as u64
    );
}

// --- audit ------------------------------------------------------------------

fn record(app: &str, at_ms: i64, outcome: Outcome) -> InvocationRecord {
    InvocationRecord {
        at_ms,
        app: app.into(),
        version: "abc123".into(),
        kind: "command".into(),
        user: "U1".into(),
        channel: "C1".into(),
        detail: format!("/{app} run {at_ms}"),
        duration_us: 42,
        outcome,
    }
}

async fn audit_is_newest_first_with_outcomes_roundtripped(b: Arc<impl Backend>) {
    let s = b.storage();
    let first = record("poll", 1_000, Outcome::Ok);
    let second = record(
        "unicorn",
        2_000,
        Outcome::Failed("trap: unreachable".into()),
    );
    let third = record("poll", 3_000, Outcome::Ok);
    for r in [&first, &second, &third] {
        let mut unit = s.begin();
        unit.record(r).await.unwrap();
        unit.commit().await.unwrap();
    }
    let a = &s.audit;
    assert_eq!(
        a.recent(None, 10).await.unwrap(),
        vec![third.clone(), second.clone(), first.clone()]
    );
    assert_eq!(
        a.recent(None, 2).await.unwrap(),
        vec![third.clone(), second.clone()]
    );
    assert_eq!(
        a.recent(Some("poll"), 10).await.unwrap(),
        vec![third, first]
    );
    assert_eq!(a.recent(Some("unicorn"), 10).await.unwrap(), vec![second]);
    assert!(a.recent(Some("nobody"), 10).await.unwrap().is_empty());
}

async fn record_all(s: &Storage, records: &[InvocationRecord]) {
    let mut unit = s.begin();
    for r in records {
        unit.record(r).await.unwrap();
    }
    unit.commit().await.unwrap();
}

async fn audit_query_filters_by_app_user_time_and_outcome(b: Arc<impl Backend>) {
    let s = b.storage();
    let by = |user: &str, r: InvocationRecord| InvocationRecord {
        user: user.into(),
        ..r
    };
    let rows = [
        by("U1", record("poll", 1_000, Outcome::Ok)),
        by("U2", record("poll", 2_000, Outcome::Failed("boom".into()))),
        by(
            "U1",
            record("deploy", 3_000, Outcome::Refused("not allowed".into())),
        ),
        by("U2", record("deploy", 4_000, Outcome::Ok)),
        by("U1", record("poll", 5_000, Outcome::Ok)),
    ];
    // Stored out of time order: the newest *start* comes first.
    record_all(&s, &[rows[1].clone(), rows[0].clone()]).await;
    record_all(&s, &rows[2..]).await;
    let query = |q: AuditQuery| {
        let s = s.clone();
        async move {
            s.audit
                .query(&q)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.at_ms)
                .collect::<Vec<_>>()
        }
    };
    let all = AuditQuery::default();
    assert_eq!(
        query(all.clone()).await,
        [5_000, 4_000, 3_000, 2_000, 1_000]
    );
    let q = AuditQuery {
        limit: 2,
        ..all.clone()
    };
    assert_eq!(query(q).await, [5_000, 4_000]);
    let q = AuditQuery {
        app: Some("poll".into()),
        ..all.clone()
    };
    assert_eq!(query(q).await, [5_000, 2_000, 1_000]);
    let q = AuditQuery {
        user: Some("U1".into()),
        ..all.clone()
    };
    assert_eq!(query(q).await, [5_000, 3_000, 1_000]);
    let q = AuditQuery {
        since_ms: Some(3_000),
        ..all.clone()
    };
    assert_eq!(query(q).await, [5_000, 4_000, 3_000]);
    for (outcome, expected) in [
        (OutcomeKind::Ok, vec![5_000, 4_000, 1_000]),
        (OutcomeKind::Failed, vec![2_000]),
        (OutcomeKind::Refused, vec![3_000]),
    ] {
        let q = AuditQuery {
            outcome: Some(outcome),
            ..all.clone()
        };
        assert_eq!(query(q).await, expected, "{outcome:?}");
    }
    let q = AuditQuery {
        app: Some("poll".into()),
        user: Some("U1".into()),
        since_ms: Some(1_001),
        outcome: Some(OutcomeKind::Ok),
        limit: 10,
    };
    assert_eq!(query(q).await, [5_000]);
    let q = AuditQuery {
        app: Some("nobody".into()),
        ..all.clone()
    };
    assert!(query(q).await.is_empty());
    // Each outcome comes back with its message.
    let q = AuditQuery {
        app: Some("deploy".into()),
        ..all
    };
    assert_eq!(
        s.audit.query(&q).await.unwrap(),
        [rows[3].clone(), rows[2].clone()]
    );
}

async fn audit_retention_removes_old_rows_and_nothing_newer(b: Arc<impl Backend>) {
    let s = b.storage();
    // More old rows than one batch of any reasonable backend, so the count
    // adds up across batches.
    let old: Vec<InvocationRecord> = (0..2_500)
        .map(|i| record("poll", 1_000 + i % 999, Outcome::Ok))
        .collect();
    record_all(&s, &old).await;
    let kept = [
        record("poll", 2_000, Outcome::Ok),
        record("deploy", 2_001, Outcome::Failed("boom".into())),
        record("poll", 9_000, Outcome::Refused("no".into())),
    ];
    record_all(&s, &kept).await;
    record_all(&s, &[record("deploy", 1_999, Outcome::Ok)]).await;
    assert_eq!(s.audit.prune_before(1_000).await.unwrap(), 0);
    assert_eq!(s.audit.prune_before(2_000).await.unwrap(), 2_501);
    let left = s
        .audit
        .query(&AuditQuery {
            limit: 10_000,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(left, [kept[2].clone(), kept[1].clone(), kept[0].clone()]);
    assert_eq!(s.audit.prune_before(2_000).await.unwrap(), 0);
    // And it stays done across a restart.
    assert_eq!(
        b.reopen().audit.recent(None, 10_000).await.unwrap().len(),
        3
    );
}

// --- inbox ------------------------------------------------------------------

fn inbound<'a>(key: &'a str, app: &'a str) -> NewInbound<'a> {
    NewInbound {
        key,
        app,
        body: key.as_bytes(),
    }
}

async fn inbox_takes_a_key_once_and_all_of_a_delivery_together(b: Arc<impl Backend>) {
    let s = b.storage();
    let now = now_ms() as i64;
    assert!(!s.inbox.seen("event:Ev1/a").await.unwrap());
    let first = s
        .inbox
        .take(
            &[inbound("event:Ev1/a", "a"), inbound("event:Ev1/b", "b")],
            now,
            LEASE,
        )
        .await
        .unwrap();
    assert!(
        first.iter().all(|c| c.is_some_and(|c| c.token == 1)),
        "{first:?}"
    );
    assert_ne!(first[0].unwrap().id, first[1].unwrap().id);
    // Slack's retry, and one more app subscribing since: only the new one.
    let again = s
        .inbox
        .take(
            &[
                inbound("event:Ev1/a", "a"),
                inbound("event:Ev1/b", "b"),
                inbound("event:Ev1/c", "c"),
            ],
            now,
            LEASE,
        )
        .await
        .unwrap();
    assert_eq!(again[..2], [None, None]);
    assert!(again[2].is_some());
    assert!(s.inbox.seen("event:Ev1/a").await.unwrap());
    assert_eq!(s.inbox.pending_count().await.unwrap(), 3);
    // Known across reopening too.
    let r = b.reopen();
    assert_eq!(
        r.inbox
            .take(&[inbound("event:Ev1/a", "a")], now, LEASE)
            .await
            .unwrap(),
        [None]
    );
}

async fn inbox_work_is_done_in_the_invocations_unit(b: Arc<impl Backend>) {
    let s = b.storage();
    let now = now_ms() as i64;
    let claim = s
        .inbox
        .take(&[inbound("k1", "a")], now, LEASE)
        .await
        .unwrap()[0]
        .unwrap();
    let mut unit = s.begin();
    unit.set("a", "x", b"2").await.unwrap();
    assert!(unit.settle_inbound(&claim).await.unwrap());
    unit.commit().await.unwrap();
    assert_eq!(s.inbox.pending_count().await.unwrap(), 0);
    // Done work is never claimed again, however old.
    let later = now + 3_600_000;
    assert!(
        s.inbox
            .claim_expired(later, LEASE, 10, &[])
            .await
            .unwrap()
            .is_empty()
    );
    // A second settle finds nothing to settle.
    let mut unit = s.begin();
    assert!(!unit.settle_inbound(&claim).await.unwrap());
    drop(unit);
}

async fn work_done_on_time_is_recorded_once_in_its_unit(b: Arc<impl Backend>) {
    let s = b.storage();
    let now = now_ms() as i64;
    let mut unit = s.begin();
    unit.set("a", "vote", b"1").await.unwrap();
    assert!(unit.record_inbound(inbound("click:1", "a")).await.unwrap());
    unit.commit().await.unwrap();
    assert!(s.inbox.seen("click:1").await.unwrap());
    // Done: nothing pending, nothing to take over, a repeat is not taken.
    assert_eq!(s.inbox.pending_count().await.unwrap(), 0);
    assert!(
        s.inbox
            .claim_expired(now + 3_600_000, LEASE, 10, &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.inbox
            .take(&[inbound("click:1", "a")], now, LEASE)
            .await
            .unwrap(),
        [None]
    );
    // A repeat run finds the key: its unit must not be kept.
    let mut again = s.begin();
    assert!(!again.record_inbound(inbound("click:1", "a")).await.unwrap());
    drop(again);
    // A key taken in first (a late click) is not recorded over either.
    s.inbox
        .take(&[inbound("click:2", "a")], now, LEASE)
        .await
        .unwrap();
    let mut late = s.begin();
    assert!(!late.record_inbound(inbound("click:2", "a")).await.unwrap());
    drop(late);
    assert_eq!(s.inbox.pending_count().await.unwrap(), 1);
    // A unit begun before the first one committed still finds its key once it has.
    let mut first = s.begin();
    let mut second = s.begin();
    assert!(first.record_inbound(inbound("click:3", "a")).await.unwrap());
    first.commit().await.unwrap();
    assert!(
        !second
            .record_inbound(inbound("click:3", "a"))
            .await
            .unwrap()
    );
    drop(second);
}

async fn expired_inbox_work_is_taken_over_and_the_first_taker_fenced(b: Arc<impl Backend>) {
    let s = b.storage();
    let now = now_ms() as i64;
    let short = Duration::from_millis(100);
    let first = s
        .inbox
        .take(&[inbound("k1", "a")], now, short)
        .await
        .unwrap()[0]
        .unwrap();
    // Still held: nobody takes it.
    assert!(
        s.inbox
            .claim_expired(now, LEASE, 10, &[])
            .await
            .unwrap()
            .is_empty()
    );
    // Its taker stalls past the lease; another process claims it.
    let other = b.reopen();
    let later = now + 200;
    let taken = other
        .inbox
        .claim_expired(later, LEASE, 10, &[])
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    let (item, second) = &taken[0];
    assert_eq!(
        (item.key.as_str(), item.app.as_str(), &item.body[..]),
        ("k1", "a", &b"k1"[..])
    );
    assert_eq!(second.token, 2);
    // Held again: a third looker finds nothing.
    assert!(
        s.inbox
            .claim_expired(later, LEASE, 10, &[])
            .await
            .unwrap()
            .is_empty()
    );
    // The first taker wakes: its settle is refused.
    let mut stale = s.begin();
    assert!(!stale.settle_inbound(&first).await.unwrap());
    drop(stale);
    let mut unit = other.begin();
    assert!(unit.settle_inbound(second).await.unwrap());
    unit.commit().await.unwrap();
    assert_eq!(s.inbox.pending_count().await.unwrap(), 0);
}

async fn inbox_takeover_leaves_out_what_the_looker_runs(b: Arc<impl Backend>) {
    let s = b.storage();
    let now = now_ms() as i64;
    let short = Duration::from_millis(1);
    let claims = s
        .inbox
        .take(&[inbound("k1", "a"), inbound("k2", "a")], now, short)
        .await
        .unwrap();
    let running = claims[0].unwrap().id;
    let taken = s
        .inbox
        .claim_expired(now + 10, LEASE, 10, &[running])
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].0.key, "k2");
}

async fn inbox_claims_of_a_stopped_process_are_released(b: Arc<impl Backend>) {
    let s = b.storage();
    let now = now_ms() as i64;
    s.inbox
        .take(&[inbound("k1", "a")], now, LEASE)
        .await
        .unwrap();
    // The process is killed; a new one starts on the same data. Its own
    // claims are not orphans.
    assert_eq!(s.inbox.release_orphaned().await.unwrap(), 0);
    let restarted = b.reopen();
    assert_eq!(restarted.inbox.release_orphaned().await.unwrap(), 1);
    let taken = restarted
        .inbox
        .claim_expired(now, LEASE, 10, &[])
        .await
        .unwrap();
    assert_eq!(taken.len(), 1, "taken over at once, not after the lease");
}

async fn done_inbox_work_is_forgotten_after_retention(b: Arc<impl Backend>) {
    let s = b.storage();
    let now = now_ms() as i64;
    let claims = s
        .inbox
        .take(&[inbound("done", "a"), inbound("pending", "a")], now, LEASE)
        .await
        .unwrap();
    let mut unit = s.begin();
    unit.settle_inbound(&claims[0].unwrap()).await.unwrap();
    unit.commit().await.unwrap();
    assert_eq!(s.inbox.forget_before(now).await.unwrap(), 0);
    assert_eq!(
        s.inbox.forget_before(now + 1).await.unwrap(),
        1,
        "only done work goes"
    );
    assert!(!s.inbox.seen("done").await.unwrap());
    assert!(s.inbox.seen("pending").await.unwrap());
}

// --- durability across kill -9 ------------------------------------------------

/// The child side of [`nothing_acknowledged_is_lost_on_kill_9`]: commits
/// units as fast as it can, each a key, a queued call and an audit row, and
/// prints the number of each one it acknowledges (after its commit), until
/// killed.
fn child_writes_until_killed(open: impl AsyncFnOnce() -> Storage) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = open().await;
        let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
        // Several writers at once, so commits are shared and each unit's
        // acknowledgement may ride on another's commit.
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let s = s.clone();
                let next = next.clone();
                tokio::spawn(async move {
                    loop {
                        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let mut unit = s.begin();
                        unit.set("app", &format!("k{n}"), b"v").await.unwrap();
                        unit.enqueue(NewCall {
                            app: "app",
                            method: "chat.postMessage",
                            payload: &json!({"n": n}),
                            status: OutboxStatus::Pending,
                        })
                        .await
                        .unwrap();
                        unit.record(&record("app", n as i64, Outcome::Ok))
                            .await
                            .unwrap();
                        unit.commit().await.unwrap();
                        println!("acked {n}");
                    }
                })
            })
            .collect();
        // The writers loop until the process is killed.
        futures_util::future::join_all(writers).await;
    });
}

#[test]
fn nothing_acknowledged_is_lost_on_kill_9() {
    if let Ok(path) = std::env::var("BOTYARD_STORAGE_CHILD") {
        child_writes_until_killed(async || Storage::open(std::path::Path::new(&path)).unwrap());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("botyard.db");
    let acked = acknowledged_until_killed(
        "nothing_acknowledged_is_lost_on_kill_9",
        "BOTYARD_STORAGE_CHILD",
        path.to_str().unwrap(),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(all_acknowledged_are_kept(
        Storage::open(&path).unwrap(),
        &acked,
    ));
}

/// [`nothing_acknowledged_is_lost_on_kill_9`] on PostgreSQL, harder: the
/// writer is killed, and so is the database server (SIGKILL to the
/// postmaster, no shutdown checkpoint), on a server with PostgreSQL's
/// durable defaults (`fsync` on); after its crash recovery, everything
/// acknowledged is there.
#[test]
fn nothing_acknowledged_is_lost_on_kill_9_of_writer_and_postgres() {
    if let Ok(url) = std::env::var("BOTYARD_STORAGE_CHILD_POSTGRES") {
        child_writes_until_killed(async || {
            Storage::connect_postgres(postgres_options(&url, "writer"))
                .await
                .unwrap()
        });
        return;
    }
    let mut server = pg::Server::start_durable();
    let url = server.url("postgres");
    let acked = acknowledged_until_killed(
        "nothing_acknowledged_is_lost_on_kill_9_of_writer_and_postgres",
        "BOTYARD_STORAGE_CHILD_POSTGRES",
        &url,
    );
    server.crash();
    server.restart();
    let url = server.url("postgres");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = Storage::connect_postgres(postgres_options(&url, "checker"))
            .await
            .unwrap();
        all_acknowledged_are_kept(s, &acked).await;
    });
}

/// Runs this test binary's `test` as a child writing through the storage
/// `env` names (by `value`), reads 2000 acknowledgements, then kills it
/// (SIGKILL: no destructors, no flush) and returns what it acknowledged.
fn acknowledged_until_killed(test: &str, env: &str, value: &str) -> Vec<u64> {
    use std::io::{BufRead, BufReader};
    let mut child = crate::support::rerun(module_path!(), test)
        .arg("--test-threads=1")
        .env(env, value)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while acked.len() < 2_000 {
        let Some(Ok(line)) = lines.next() else {
            child.kill().ok();
            panic!("the writer stopped after {} acknowledgements", acked.len())
        };
        if let Some(n) = line.strip_prefix("acked ") {
            acked.push(n.parse::<u64>().unwrap());
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    acked
}

/// Every key, queued call and audit row of `acked` is in `s`.
async fn all_acknowledged_are_kept(s: Storage, acked: &[u64]) {
    let keys: std::collections::HashSet<String> = s
        .kv_list("app", "", 1_000_000)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let outbox: std::collections::HashSet<u64> = s
        .outbox
        .entries(Some("app"), 0, 1_000_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.payload["n"].as_u64().unwrap())
        .collect();
    let audit: std::collections::HashSet<i64> = s
        .audit
        .recent(Some("app"), 1_000_000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.at_ms)
        .collect();
    for n in acked {
        assert!(
            keys.contains(&format!("k{n}")),
            "acknowledged key k{n} was lost"
        );
        assert!(outbox.contains(n), "acknowledged call {n} was lost");
        assert!(
            audit.contains(&(*n as i64)),
            "acknowledged audit row {n} was lost"
        );
    }
}

// --- webhook deliveries -------------------------------------------------------

async fn receive(s: &Storage, app: &str, hook: &str, delivery_id: &str, body: &[u8]) -> Received {
    let headers = vec![("x-github-event".to_string(), "push".to_string())];
    let mut unit = s.begin();
    let received = unit
        .receive(NewDelivery {
            app,
            hook,
            delivery_id,
            content_type: "application/json",
            headers: &headers,
            body,
        })
        .await
        .unwrap();
    unit.commit().await.unwrap();
    received
}

fn new_id(received: Received) -> i64 {
    match received {
        Received::New(id) => id,
        Received::Duplicate(id) => panic!("delivery {id} was a duplicate"),
    }
}

async fn settle(s: &Storage, claim: &Claim, outcome: DeliveryOutcome) -> bool {
    let mut unit = s.begin();
    let settled = unit.settle_delivery(claim, outcome).await.unwrap();
    unit.commit().await.unwrap();
    settled
}

async fn a_webhook_delivery_is_recorded_once_per_delivery_id(b: Arc<impl Backend>) {
    let s = b.storage();
    let first = new_id(receive(&s, "ci", "github", "d-1", b"{\"a\":1}").await);
    assert_eq!(
        receive(&s, "ci", "github", "d-1", b"other").await,
        Received::Duplicate(first)
    );
    // The same id to another webhook, or another app, is another delivery.
    let other_hook = new_id(receive(&s, "ci", "alerts", "d-1", b"x").await);
    let other_app = new_id(receive(&s, "ops", "github", "d-1", b"y").await);
    assert!(first < other_hook && other_hook < other_app);

    let listed = s.webhooks.deliveries(None, 10).await.unwrap();
    let ids: Vec<i64> = listed.iter().map(|d| d.id).collect();
    assert_eq!(ids, [other_app, other_hook, first], "newest first");
    assert!(
        listed.iter().all(|d| d.body.is_empty()),
        "listings leave bodies out"
    );
    let ci: Vec<i64> = s
        .webhooks
        .deliveries(Some("ci"), 10)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ci, [other_hook, first]);

    let d = s.webhooks.delivery(first).await.unwrap().unwrap();
    assert_eq!(
        d.body, b"{\"a\":1}",
        "the first body is kept, not the redelivery's"
    );
    assert_eq!(d.body_bytes, 7);
    assert_eq!(
        (d.app.as_str(), d.hook.as_str(), d.delivery_id.as_str()),
        ("ci", "github", "d-1")
    );
    assert_eq!(
        d.headers,
        [("x-github-event".to_string(), "push".to_string())]
    );
    assert_eq!(d.content_type, "application/json");
    assert_eq!(
        (d.status, d.attempts, d.last_error.clone()),
        (DeliveryStatus::Pending, 0, None)
    );
    assert!(
        s.webhooks
            .delivery(other_app + 100)
            .await
            .unwrap()
            .is_none()
    );
}

async fn a_delivery_is_claimed_once_and_settled_with_its_claim(b: Arc<impl Backend>) {
    let s = b.storage();
    let id = new_id(receive(&s, "ci", "github", "d-1", b"body").await);
    let now = now_ms() as i64;
    let claimed = s.webhooks.claim_due(now, LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let (delivery, claim) = &claimed[0];
    assert_eq!((delivery.id, delivery.body.as_slice()), (id, &b"body"[..]));
    assert!(
        s.webhooks
            .claim_due(now, LEASE, 10)
            .await
            .unwrap()
            .is_empty(),
        "held"
    );
    assert!(settle(&s, claim, DeliveryOutcome::Done).await);
    assert!(
        !settle(&s, claim, DeliveryOutcome::Done).await,
        "settled once"
    );
    let d = s.webhooks.delivery(id).await.unwrap().unwrap();
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Done, 1));
    assert!(d.settled_ms.is_some());
    assert!(
        s.webhooks
            .claim_due(now_ms() as i64 + 60_000, LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.webhooks.next_due().await.unwrap(), None);
}

async fn a_failed_delivery_waits_for_its_retry_time(b: Arc<impl Backend>) {
    let s = b.storage();
    let id = new_id(receive(&s, "ci", "github", "d-1", b"").await);
    let now = now_ms() as i64;
    let (_, claim) = s.webhooks.claim_due(now, LEASE, 1).await.unwrap().remove(0);
    let retry_at = now + 10_000;
    assert!(
        settle(
            &s,
            &claim,
            DeliveryOutcome::Retry {
                error: "boom".into(),
                at_ms: retry_at
            }
        )
        .await
    );
    assert_eq!(s.webhooks.next_due().await.unwrap(), Some(retry_at));
    assert!(
        s.webhooks
            .claim_due(now + 1, LEASE, 1)
            .await
            .unwrap()
            .is_empty(),
        "not yet"
    );
    let (again, claim2) = s
        .webhooks
        .claim_due(retry_at, LEASE, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (again.id, again.attempts, again.last_error.as_deref()),
        (id, 1, Some("boom"))
    );
    assert!(
        !settle(&s, &claim, DeliveryOutcome::Done).await,
        "the old claim is overtaken"
    );
    assert!(settle(&s, &claim2, DeliveryOutcome::Done).await);
    let d = s.webhooks.delivery(id).await.unwrap().unwrap();
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Done, 2));
}

async fn a_dead_delivery_is_kept_and_can_be_replayed(b: Arc<impl Backend>) {
    let s = b.storage();
    let id = new_id(receive(&s, "ci", "github", "d-1", b"x").await);
    let now = now_ms() as i64;
    let (_, claim) = s.webhooks.claim_due(now, LEASE, 1).await.unwrap().remove(0);
    assert!(settle(&s, &claim, DeliveryOutcome::Dead("gave up".into())).await);
    let d = s.webhooks.delivery(id).await.unwrap().unwrap();
    assert_eq!(
        (d.status, d.last_error.as_deref()),
        (DeliveryStatus::Dead, Some("gave up"))
    );
    assert!(
        s.webhooks
            .claim_due(now + 60_000, LEASE, 1)
            .await
            .unwrap()
            .is_empty()
    );

    assert!(s.webhooks.replay(id, now).await.unwrap());
    let d = s.webhooks.delivery(id).await.unwrap().unwrap();
    assert_eq!(
        (d.status, d.attempts, d.settled_ms),
        (DeliveryStatus::Pending, 0, None)
    );
    let (again, held) = s.webhooks.claim_due(now, LEASE, 1).await.unwrap().remove(0);
    assert_eq!(again.id, id);
    assert!(
        !s.webhooks.replay(id, now).await.unwrap(),
        "not while it runs"
    );
    assert!(
        !s.webhooks.replay(id + 1000, now).await.unwrap(),
        "no such delivery"
    );
    assert!(settle(&s, &held, DeliveryOutcome::Done).await);
}

async fn a_delivery_is_settled_in_the_handlers_unit(b: Arc<impl Backend>) {
    let s = b.storage();
    let id = new_id(receive(&s, "ci", "github", "d-1", b"x").await);
    let (_, claim) = s
        .webhooks
        .claim_due(now_ms() as i64, LEASE, 1)
        .await
        .unwrap()
        .remove(0);
    let mut unit = s.begin();
    unit.set("ci", "seen", b"d-1").await.unwrap();
    assert!(
        unit.settle_delivery(&claim, DeliveryOutcome::Done)
            .await
            .unwrap()
    );
    unit.commit().await.unwrap();
    assert_eq!(get(&s, "ci", "seen").await.as_deref(), Some(&b"d-1"[..]));
    let d = b.reopen().webhooks.delivery(id).await.unwrap().unwrap();
    assert_eq!(
        d.status,
        DeliveryStatus::Done,
        "kept with the handler's writes"
    );
}

async fn deliveries_survive_reopen_and_orphaned_claims_are_released(b: Arc<impl Backend>) {
    let dead = b.storage();
    let id = new_id(receive(&dead, "ci", "github", "d-1", b"kept").await);
    let now = now_ms() as i64;
    assert_eq!(
        dead.webhooks.claim_due(now, LEASE, 1).await.unwrap().len(),
        1
    );
    // The runner is killed holding the claim; the next host starts.
    let next = b.reopen();
    assert!(
        next.webhooks
            .claim_due(now, LEASE, 1)
            .await
            .unwrap()
            .is_empty(),
        "still leased"
    );
    assert_eq!(next.webhooks.release_orphaned().await.unwrap(), 1);
    let (d, claim) = next
        .webhooks
        .claim_due(now, LEASE, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!((d.id, d.body.as_slice()), (id, &b"kept"[..]));
    assert_eq!(
        next.webhooks.release_orphaned().await.unwrap(),
        0,
        "its own claims stay"
    );
    assert!(settle(&next, &claim, DeliveryOutcome::Done).await);
    assert_eq!(
        receive(&next, "ci", "github", "d-1", b"again").await,
        Received::Duplicate(id),
        "delivery ids are remembered across restarts"
    );
}

async fn concurrent_runners_claim_each_delivery_once(b: Arc<impl Backend>) {
    let s = b.storage();
    for n in 0..40 {
        receive(&s, "ci", "github", &format!("d-{n}"), b"").await;
    }
    let now = now_ms() as i64;
    let mut runners = Vec::new();
    for r in 0..4 {
        let s = if r % 2 == 0 { b.storage() } else { b.reopen() };
        runners.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = s.webhooks.claim_due(now, LEASE, 3).await.unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|(d, _)| d.id));
            }
        }));
    }
    let mut all = Vec::new();
    for r in runners {
        all.extend(r.await.unwrap());
    }
    let total = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!((total, all.len()), (40, 40), "each claimed exactly once");
}

async fn recording_a_delivery_wakes_its_runner(b: Arc<impl Backend>) {
    let s = b.storage();
    let waiter = tokio::spawn(s.webhook_wakeup.wait());
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!waiter.is_finished(), "nothing recorded yet");
    receive(&s, "ci", "github", "d-1", b"").await;
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the runner is woken when the delivery commits")
        .unwrap();
}

async fn settled_deliveries_are_forgotten(b: Arc<impl Backend>) {
    let s = b.storage();
    let done = new_id(receive(&s, "ci", "github", "d-1", b"").await);
    let pending = new_id(receive(&s, "ci", "github", "d-2", b"").await);
    let now = now_ms() as i64;
    let claimed = s.webhooks.claim_due(now, LEASE, 1).await.unwrap();
    assert_eq!(claimed[0].0.id, done);
    assert!(settle(&s, &claimed[0].1, DeliveryOutcome::Done).await);
    assert_eq!(
        s.webhooks
            .forget_settled_before(now - 60_000)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.webhooks
            .forget_settled_before(now_ms() as i64 + 1)
            .await
            .unwrap(),
        1
    );
    assert!(s.webhooks.delivery(done).await.unwrap().is_none());
    assert!(
        s.webhooks.delivery(pending).await.unwrap().is_some(),
        "pending ones stay"
    );
    // A forgotten delivery id counts as new again.
    assert!(matches!(
        receive(&s, "ci", "github", "d-1", b"").await,
        Received::New(_)
    ));
}

// --- quotas -----------------------------------------------------------------

fn store_quotas(bytes: u64, keys: u64) -> Quotas {
    Quotas {
        store_bytes: bytes,
        store_keys: keys,
        ..Quotas::UNLIMITED
    }
}

/// Writes through one committed unit held to `quotas`.
async fn held<T>(
    s: &Storage,
    quotas: Quotas,
    write: impl AsyncFnOnce(&mut dyn botyard::storage::Unit) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    let mut unit = s.begin();
    unit.set_quotas(quotas);
    let result = write(&mut *unit).await;
    unit.commit().await.unwrap();
    result
}

fn over(result: Result<impl std::fmt::Debug, StorageError>, quota: Quota) -> (u64, u64) {
    match result {
        Err(StorageError::OverQuota {
            quota: q,
            used,
            adding,
            ..
        }) if q == quota => (used, adding),
        other => panic!("expected {} refused, got {other:?}", quota.name()),
    }
}

async fn store_quotas_refuse_growth_and_let_shrinking_through(b: Arc<impl Backend>) {
    let s = b.storage();
    // Keys count their UTF-8 bytes: `k1` and a 40-byte value take 42.
    let q = store_quotas(100, 3);
    held(&s, q, async |u| u.set("app", "k1", &[1; 40]).await)
        .await
        .unwrap();
    held(&s, q, async |u| u.set("app", "k2", &[2; 40]).await)
        .await
        .unwrap();
    let (used, adding) = over(
        held(&s, q, async |u| u.set("app", "k3", &[3; 40]).await).await,
        Quota::StoreBytes,
    );
    assert_eq!((used, adding), (84, 42));
    assert_eq!(get(&s, "app", "k3").await, None, "a refusal writes nothing");
    let message = held(&s, q, async |u| u.set("app", "k3", &[3; 40]).await)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("app `app` uses 84 bytes of its 100 bytes (store_bytes)")
            && message.contains("[apps.app] store_bytes"),
        "{message}"
    );
    // Growing a value counts its growth; shrinking always passes, even over.
    over(
        held(&s, q, async |u| u.set("app", "k1", &[1; 57]).await).await,
        Quota::StoreBytes,
    );
    held(&s, q, async |u| u.set("app", "k1", &[1; 56]).await)
        .await
        .unwrap();
    held(&s, store_quotas(10, 0), async |u| {
        u.set("app", "k1", &[1; 5]).await
    })
    .await
    .unwrap();
    // Increments and swaps count; a delete frees, by swap or by delete.
    held(&s, q, async |u| u.increment("app", "n", 7).await)
        .await
        .unwrap();
    over(
        held(&s, q, async |u| u.increment("app", "m", 1).await).await,
        Quota::StoreKeys,
    );
    over(
        held(&s, q, async |u| {
            u.compare_and_swap("app", "m", None, Some(b"x")).await
        })
        .await,
        Quota::StoreKeys,
    );
    assert!(
        held(&s, q, async |u| u
            .compare_and_swap("app", "n", Some(b"7"), None)
            .await)
        .await
        .unwrap()
    );
    assert!(
        held(&s, q, async |u| u
            .compare_and_swap("app", "m", None, Some(b"x"))
            .await)
        .await
        .unwrap()
    );
    assert!(
        held(&s, q, async |u| u.delete("app", "m").await)
            .await
            .unwrap()
    );
    // Each app is held to its own use (`app` has 49 bytes); a unit with
    // no quotas is held to none.
    held(&s, q, async |u| u.set("other", "big", &[0; 95]).await)
        .await
        .unwrap();
    s.kv_set("app", "k9", &[0; 1000]).await.unwrap();
    let usage = s.usage("app").await.unwrap();
    assert_eq!(
        (usage.store_bytes, usage.store_keys),
        (2 + 5 + 2 + 40 + 2 + 1000, 3)
    );
}

async fn units_at_once_cannot_pass_a_store_quota_together(b: Arc<impl Backend>) {
    let s = b.storage();
    // Each write takes 32 bytes; 100 allows three of them.
    let writers: Vec<_> = (0..10)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut unit = s.begin();
                unit.set_quotas(store_quotas(100, 0));
                let result = unit.set("app", &format!("k{i}"), &[0; 30]).await;
                unit.commit().await.unwrap();
                result.is_ok()
            })
        })
        .collect();
    let mut kept = 0;
    for writer in writers {
        kept += usize::from(writer.await.unwrap());
    }
    assert_eq!(kept, 3);
    let usage = b.reopen().usage("app").await.unwrap();
    assert_eq!((usage.store_bytes, usage.store_keys), (96, 3));
}

async fn store_usage_is_counted_once_and_survives_reopen(b: Arc<impl Backend>) {
    let s = b.storage();
    assert_eq!(s.usage("app").await.unwrap(), Default::default());
    s.kv_set("app", "é", b"12").await.unwrap();
    s.kv_set("app", "b", b"").await.unwrap();
    s.kv_increment("app", "n", 12).await.unwrap();
    s.kv_set("app", "b", b"1234").await.unwrap();
    delete(&s, "app", "nothing").await.unwrap();
    let usage = s.usage("app").await.unwrap();
    assert_eq!((usage.store_bytes, usage.store_keys), (4 + 5 + 3, 3));
    let s = b.reopen();
    assert_eq!(s.usage("app").await.unwrap(), usage);
    let refused = held(&s, store_quotas(13, 0), async |u| {
        u.set("app", "c", b"xx").await
    })
    .await;
    assert_eq!(over(refused, Quota::StoreBytes), (12, 3));
    delete(&s, "app", "é").await.unwrap();
    held(&s, store_quotas(13, 0), async |u| {
        u.set("app", "c", b"xx").await
    })
    .await
    .unwrap();
    assert_eq!(s.usage("app").await.unwrap().store_bytes, 5 + 3 + 3);
}

async fn deliveries_kept_make_room_by_the_oldest_settled(b: Arc<impl Backend>) {
    let s = b.storage();
    let kept = Quotas {
        webhook_deliveries_kept: 2,
        ..Quotas::UNLIMITED
    };
    let received = async |id: &str| {
        held(&s, kept, async |u| {
            u.receive(NewDelivery {
                app: "ci",
                hook: "github",
                delivery_id: id,
                content_type: "application/json",
                headers: &[],
                body: b"{}",
            })
            .await
        })
        .await
    };
    let first = new_id(received("d-1").await.unwrap());
    new_id(received("d-2").await.unwrap());
    // Both pending: nothing can make room, and nothing is written.
    let (used, _) = over(received("d-3").await, Quota::WebhookDeliveriesKept);
    assert_eq!(used, 2);
    assert_eq!(s.webhooks.deliveries(None, 10).await.unwrap().len(), 2);
    // A redelivery of one kept is recognised whatever the quota.
    assert_eq!(received("d-1").await.unwrap(), Received::Duplicate(first));
    // Once the oldest is settled, it makes room for the next.
    let claimed = s
        .webhooks
        .claim_due(now_ms() as i64, LEASE, 1)
        .await
        .unwrap();
    assert_eq!(claimed[0].0.id, first);
    assert!(settle(&s, &claimed[0].1, DeliveryOutcome::Done).await);
    let third = new_id(received("d-3").await.unwrap());
    let ids: Vec<i64> = s
        .webhooks
        .deliveries(None, 10)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], third);
    assert!(!ids.contains(&first), "the oldest settled went");
    assert_eq!(s.usage("ci").await.unwrap().webhook_deliveries, 2);
    // Without a quota, nothing is pruned.
    receive(&s, "ci", "github", "d-4", b"").await;
    assert_eq!(s.usage("ci").await.unwrap().webhook_deliveries, 3);
}

// --- PostgreSQL replicas ------------------------------------------------------

/// What only a cluster backend promises: `release_orphaned` frees the claims
/// of replicas that stopped — a replica whose heartbeat lapsed — and not
/// those of replicas still alive under other names. SQLite, one process's
/// file, frees every claim not made through its own handle instead (the
/// suite's `claims_of_a_deliverer_that_died_are_released`), so this holds
/// for PostgreSQL alone.
mod postgres_replicas {
    use super::*;
    use botyard::storage::postgres::Options;

    /// A replica named `name` heartbeating every `heartbeat`.
    pub(super) async fn replica(url: &str, name: &str, heartbeat: Duration) -> Storage {
        Storage::connect_postgres(Options {
            heartbeat,
            ..Options::new(url, name)
        })
        .await
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn claims_of_a_replica_whose_heartbeat_lapsed_are_freed_and_a_live_ones_kept() {
        let url = pg::database();
        // `a` and `b` beat every 200 ms, so another replica may take either
        // for stopped after 3 × 200 ms + 1 s of silence; `c` beats at the
        // default 2 s, which changes nothing about how it judges them.
        let beat = Duration::from_millis(200);
        let a = replica(&url, "a", beat).await;
        let b = replica(&url, "b", beat).await;
        let c = replica(&url, "c", botyard::storage::postgres::DEFAULT_HEARTBEAT).await;
        let of_a = enqueue(&a, "app", "chat.postMessage", OutboxStatus::Pending).await;
        let of_b = enqueue(&a, "app", "chat.postMessage", OutboxStatus::Pending).await;
        a.outbox.claim(of_a, LEASE).await.unwrap().unwrap();
        b.outbox.claim(of_b, LEASE).await.unwrap().unwrap();
        let hook_a = new_id(receive(&a, "ci", "github", "d-a", b"a").await);
        let hook_b = new_id(receive(&a, "ci", "github", "d-b", b"b").await);
        let now = now_ms() as i64;
        let claimed = a.webhooks.claim_due(now, LEASE, 1).await.unwrap();
        assert_eq!(claimed[0].0.id, hook_a);
        let claimed = b.webhooks.claim_due(now, LEASE, 1).await.unwrap();
        assert_eq!(claimed[0].0.id, hook_b);

        // All alive: nobody's claims are orphans.
        assert_eq!(c.outbox.release_orphaned().await.unwrap(), 0);
        assert_eq!(c.webhooks.release_orphaned().await.unwrap(), 0);

        // `a` stops (its heartbeat with it); at first it is only late.
        drop(a);
        assert_eq!(c.outbox.release_orphaned().await.unwrap(), 0, "not yet");
        tokio::time::sleep(Duration::from_millis(2_200)).await;

        // Its heartbeat lapsed: its claims are freed, `b`'s (alive) kept.
        assert_eq!(c.outbox.release_orphaned().await.unwrap(), 1);
        assert_eq!(c.webhooks.release_orphaned().await.unwrap(), 1);
        assert!(c.outbox.claim(of_a, LEASE).await.unwrap().is_some());
        assert_eq!(c.outbox.claim(of_b, LEASE).await.unwrap(), None, "b's");
        let claimed = c.webhooks.claim_due(now, LEASE, 10).await.unwrap();
        let ids: Vec<i64> = claimed.iter().map(|(d, _)| d.id).collect();
        assert_eq!(ids, [hook_a], "only the stopped replica's delivery");
        // `b` itself frees nothing of its own, nor of `c`, which is alive.
        assert_eq!(b.outbox.release_orphaned().await.unwrap(), 0);
        assert_eq!(b.webhooks.release_orphaned().await.unwrap(), 0);
    }

    /// Several replicas starting at once on an empty database migrate it
    /// once, by a row lock on the version row, and all of them work.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replicas_starting_at_once_migrate_once() {
        let url = pg::database();
        let starts: Vec<_> = (0..6)
            .map(|i| {
                let url = url.clone();
                tokio::spawn(async move {
                    replica(&url, &format!("r{i}"), Duration::from_secs(2)).await
                })
            })
            .collect();
        let mut replicas = Vec::new();
        for start in starts {
            replicas.push(start.await.unwrap());
        }
        for (i, s) in replicas.iter().enumerate() {
            assert_eq!(s.kv_increment("app", "n", 1).await.unwrap(), i as i64 + 1);
            s.check().await.unwrap();
        }
    }

    /// Where the data is, as messages show it: hosts and database, never the
    /// password; and an unreachable server is reported with what to check.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn location_hides_the_password_and_an_unreachable_server_says_what_to_check() {
        let url = pg::database();
        let s = replica(&url, "shown", Duration::from_secs(2)).await;
        let port = pg::shared().port();
        assert!(
            s.location()
                .starts_with(&format!("postgres://postgres@127.0.0.1:{port}/test_")),
            "{}",
            s.location()
        );
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let unreachable =
            format!("postgres://bot:hunter2@127.0.0.1:{closed},127.0.0.1:{closed}/yard");
        let error = Storage::connect_postgres(Options::new(unreachable, "r"))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(&format!("127.0.0.1:{closed},127.0.0.1:{closed}/yard"))
                && error.contains("check that the server is running"),
            "{error}"
        );
        assert!(!error.contains("hunter2"), "{error}");
    }

    /// `[storage] backend = "postgres"` in botyard.toml: the host stores
    /// there (the URL read from a file by reference), not in the data
    /// directory; a database nobody answers for fails the start with where
    /// it looked and what to check, never the password.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_host_configured_for_postgres_keeps_its_data_there() {
        use botyard::config::Config;
        use botyard::host::Host;
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("database-url");
        let config = |url: &str| {
            std::fs::write(&secret, url).unwrap();
            let text = format!(
                "[storage]\nbackend = \"postgres\"\nurl = \"${{file:{}}}\"\nreplica = \"host-1\"\n",
                secret.display()
            );
            Config::parse(&text, dir.path(), &dir.path().join("apps")).unwrap()
        };
        std::fs::create_dir_all(dir.path().join("apps")).unwrap();

        let url = pg::database();
        let host = Host::builder(config(&url), dir.path())
            .start()
            .await
            .unwrap();
        let storage = host.apps().storage().clone();
        assert!(
            storage
                .location()
                .starts_with("postgres://postgres@127.0.0.1:")
        );
        storage.kv_set("app", "k", b"v").await.unwrap();
        host.shutdown().await;
        assert!(!dir.path().join("botyard.db").exists(), "not in SQLite");
        let again = replica(&url, "reader", Duration::from_secs(2)).await;
        assert_eq!(get(&again, "app", "k").await.as_deref(), Some(&b"v"[..]));

        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let refused = Host::builder(
            config(&format!("postgres://bot:hunter2@127.0.0.1:{closed}/yard")),
            dir.path(),
        )
        .start()
        .await
        .err()
        .expect("nothing listens there")
        .to_string();
        assert!(
            refused.contains(&format!("127.0.0.1:{closed}/yard"))
                && refused.contains("[storage]")
                && refused.contains("check that the server is running"),
            "{refused}"
        );
        assert!(!refused.contains("hunter2"), "{refused}");
    }

    /// Two units that each hold one app's store and want the other's
    /// deadlock; PostgreSQL breaks it by aborting one. That one is told
    /// clearly, its commit fails and keeps nothing of it; the other commits.
    /// (SQLite runs units in one shared transaction: they cannot deadlock.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_deadlock_between_units_fails_one_clearly_and_keeps_nothing_of_it() {
        let url = pg::database();
        let s = replica(&url, "r", Duration::from_secs(2)).await;
        let mut one = s.begin();
        let mut two = s.begin();
        // Each holds one key's row, then wants the other's.
        one.set("a", "k1", b"one").await.unwrap();
        two.set("a", "k2", b"two").await.unwrap();
        let (first, second) = tokio::join!(one.set("a", "k2", b"one"), two.set("a", "k1", b"two"));
        let (loser, lost, kept, winner) = match (first, second) {
            (Err(e), Ok(())) => (e, one, two, "two"),
            (Ok(()), Err(e)) => (e, two, one, "one"),
            other => panic!("expected one of them aborted, got {other:?}"),
        };
        let message = loser.to_string();
        assert!(
            message.contains("deadlock") && message.contains("nothing of it was kept"),
            "{message}"
        );
        assert!(matches!(lost.commit().await, Err(StorageError::Lost(_))));
        kept.commit().await.unwrap();
        for key in ["k1", "k2"] {
            assert_eq!(
                s.kv_get("a", key).await.unwrap().as_deref(),
                Some(winner.as_bytes()),
                "both keys from the survivor"
            );
        }
        let usage = s.usage("a").await.unwrap();
        assert_eq!(
            (usage.store_bytes, usage.store_keys),
            (2 * (2 + winner.len() as u64), 2),
            "the lost unit's writes are not counted"
        );
    }

    /// Writers of one app's store do not wait for each other (each locks
    /// only its key), yet a quota still holds across them and across
    /// replicas: growth is reserved while its unit runs, stops counting
    /// when the unit rolls back, and becomes use when it commits.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn units_of_one_app_write_side_by_side_and_reservations_hold_the_quota() {
        let url = pg::database();
        let a = replica(&url, "a", Duration::from_secs(2)).await;
        let b = replica(&url, "b", Duration::from_secs(2)).await;
        let q = store_quotas(100, 0);
        // Each 40-byte value under a 2-byte key takes 42.
        let mut open = a.begin();
        open.set_quotas(q);
        open.set("app", "k1", &[1; 40]).await.unwrap();
        // Another replica's unit writes and commits while `open` runs.
        let other = async {
            let mut unit = b.begin();
            unit.set_quotas(q);
            unit.set("app", "k2", &[2; 40]).await?;
            unit.commit().await
        };
        tokio::time::timeout(Duration::from_secs(5), other)
            .await
            .expect("a unit of the same app must not wait for one still running")
            .unwrap();
        // 42 committed + 42 reserved by `open`: a third does not fit.
        let (used, adding) = over(
            held(&b, q, async |u| u.set("app", "k3", &[3; 40]).await).await,
            Quota::StoreBytes,
        );
        assert_eq!((used, adding), (84, 42));
        // Rolled back, `open`'s reservation stops counting at once.
        drop(open);
        tokio::time::sleep(Duration::from_millis(200)).await;
        held(&b, q, async |u| u.set("app", "k3", &[3; 40]).await)
            .await
            .unwrap();
        assert_eq!(get(&a, "app", "k1").await, None);
        let usage = a.usage("app").await.unwrap();
        assert_eq!((usage.store_bytes, usage.store_keys), (84, 2));
        // Committed, a reservation becomes use once, not twice.
        let mut unit = a.begin();
        unit.set_quotas(store_quotas(150, 0));
        unit.set("app", "k4", &[4; 40]).await.unwrap();
        unit.commit().await.unwrap();
        let (used, _) = over(
            held(&b, store_quotas(150, 0), async |u| {
                u.set("app", "k5", &[5; 40]).await
            })
            .await,
            Quota::StoreBytes,
        );
        assert_eq!(used, 126);
    }

    /// Increments of one key from many units on two replicas at once, the
    /// key created by whichever comes first: none is lost.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_increments_on_two_replicas_lose_nothing() {
        let url = pg::database();
        let a = replica(&url, "a", Duration::from_secs(2)).await;
        let b = replica(&url, "b", Duration::from_secs(2)).await;
        let writers: Vec<_> = (0..40)
            .map(|i| {
                let s = if i % 2 == 0 { a.clone() } else { b.clone() };
                tokio::spawn(async move {
                    let mut unit = s.begin();
                    unit.set_quotas(store_quotas(1_000, 10));
                    unit.increment("app", "n", 1).await.unwrap();
                    unit.increment("app", "m", 2).await.unwrap();
                    unit.commit().await.unwrap();
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        assert_eq!(
            a.kv_get("app", "n").await.unwrap().as_deref(),
            Some(&b"40"[..])
        );
        assert_eq!(
            a.kv_get("app", "m").await.unwrap().as_deref(),
            Some(&b"80"[..])
        );
        let usage = b.usage("app").await.unwrap();
        assert_eq!((usage.store_bytes, usage.store_keys), (1 + 2 + 1 + 2, 2));
    }

    /// The audit row goes with `COMMIT` in one round trip; an audit row the
    /// database refuses (a NUL in the app's name: PostgreSQL text cannot
    /// hold one) must still fail the whole unit — PostgreSQL answers the
    /// `COMMIT` sent behind it by rolling back, which is no error — and a
    /// unit that wrote only its audit row keeps it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_audit_row_fails_its_unit_and_one_alone_is_kept() {
        let url = pg::database();
        let s = replica(&url, "r", Duration::from_secs(2)).await;
        let mut unit = s.begin();
        unit.set("app", "k", b"v").await.unwrap();
        unit.record(&record("bad\0app", 1_000, Outcome::Ok))
            .await
            .unwrap();
        match unit.commit().await {
            Err(StorageError::Lost(why)) => {
                assert!(why.contains("nothing of it was kept"), "{why}")
            }
            other => panic!("expected the unit lost, got {other:?}"),
        }
        assert_eq!(s.kv_get("app", "k").await.unwrap(), None);

        let mut unit = s.begin();
        unit.record(&record("app", 2_000, Outcome::Ok))
            .await
            .unwrap();
        unit.commit().await.unwrap();
        let mut unit = s.begin();
        unit.set("app", "k", b"v").await.unwrap();
        unit.record(&record("app", 3_000, Outcome::Ok))
            .await
            .unwrap();
        unit.commit().await.unwrap();
        let kept = s.audit.recent(Some("app"), 10).await.unwrap();
        let times: Vec<i64> = kept.iter().map(|r| r.at_ms).collect();
        assert_eq!(times, [3_000, 2_000]);
        assert_eq!(
            s.kv_get("app", "k").await.unwrap().as_deref(),
            Some(&b"v"[..])
        );
    }

    /// Another replica's commit wakes this one (LISTEN/NOTIFY); when the
    /// listening connection is cut, it comes back by itself, wakes its
    /// waiters once (work may have come meanwhile) and hears again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn another_replicas_commit_wakes_this_one_and_the_listener_comes_back() {
        let url = pg::database();
        let dbname = url.rsplit('/').next().unwrap().to_string();
        let a = replica(&url, "a", Duration::from_secs(2)).await;
        let b = replica(&url, "b", Duration::from_secs(2)).await;
        let within = Duration::from_secs(5);

        let woken = tokio::spawn(a.outbox_wakeup.wait());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!woken.is_finished(), "nothing queued yet");
        enqueue(&b, "app", "chat.postMessage", OutboxStatus::Pending).await;
        tokio::time::timeout(within, woken)
            .await
            .expect("b's commit wakes a's delivery")
            .unwrap();
        let woken = tokio::spawn(a.webhook_wakeup.wait());
        receive(&b, "ci", "github", "d-1", b"").await;
        tokio::time::timeout(within, woken)
            .await
            .expect("b's delivery wakes a's runner")
            .unwrap();

        let cut = pg::shared().sql(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = '{dbname}' AND application_name = 'botyard a'
               AND query LIKE 'LISTEN%'"
        ));
        assert_eq!(cut, "t", "a's listening connection was found and cut");
        tokio::time::timeout(within, a.outbox_wakeup.wait())
            .await
            .expect("back, it wakes its waiters once");
        let woken = tokio::spawn(a.outbox_wakeup.wait());
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!woken.is_finished(), "once only");
        enqueue(&b, "app", "chat.postMessage", OutboxStatus::Pending).await;
        tokio::time::timeout(within, woken)
            .await
            .expect("and hears b again")
            .unwrap();
    }

    /// A primary with a synchronous standby: everything committed through a
    /// multi-host URL is there after the standby is promoted and the
    /// primary killed, and the same URL finds the new primary.
    #[test]
    fn committed_writes_survive_failover_to_a_synchronous_standby() {
        let (mut primary, standby) = pg::start_primary_with_standby();
        let url = pg::multi_host_url(&[&primary, &standby], "postgres");
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let s = replica(&url, "before", Duration::from_secs(2)).await;
            for i in 0..50 {
                s.kv_set("app", &format!("k{i}"), b"v").await.unwrap();
            }
            enqueue(&s, "app", "chat.postMessage", OutboxStatus::Pending).await;
        });
        primary.crash();
        standby.promote();
        rt.block_on(async {
            let s = replica(&url, "after", Duration::from_secs(2)).await;
            assert_eq!(s.kv_list("app", "", 100).await.unwrap().len(), 50);
            assert_eq!(s.outbox.pending(10).await.unwrap().len(), 1);
            s.kv_set("app", "after-failover", b"v").await.unwrap();
        });
    }
}

// --- published apps (`botyard publish`) ------------------------------------

async fn published_versions_are_content_addressed_and_retired(b: Arc<impl Backend>) {
    let s = b.storage();
    let store = &s.published;
    assert!(store.published().await.unwrap().is_empty());
    let v1 = store.publish("hello", b"version one").await.unwrap();
    assert_eq!(v1.hash, botyard::storage::content_hash(b"version one"));
    assert_eq!((v1.app.as_str(), v1.size), ("hello", 11));
    assert_eq!(store.published().await.unwrap(), std::slice::from_ref(&v1));
    assert_eq!(
        store.component(&v1.hash).await.unwrap().as_deref(),
        Some(&b"version one"[..])
    );
    // Publishing again moves the name; the version no app points at goes.
    let v2 = store.publish("hello", b"version two").await.unwrap();
    let current = store.published().await.unwrap();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].hash, v2.hash);
    assert!(store.component(&v1.hash).await.unwrap().is_none());
    // The same bytes under another name are one version, kept while any
    // app points at it.
    let other = store.publish("other", b"version two").await.unwrap();
    assert_eq!(other.hash, v2.hash);
    assert!(store.unpublish("hello").await.unwrap());
    assert!(!store.unpublish("hello").await.unwrap());
    let names: Vec<String> = store
        .published()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.app)
        .collect();
    assert_eq!(names, ["other"]);
    assert!(store.component(&v2.hash).await.unwrap().is_some());
    assert!(store.unpublish("other").await.unwrap());
    assert!(store.component(&v2.hash).await.unwrap().is_none());
}

async fn replicas_report_what_they_run_of_published_apps(b: Arc<impl Backend>) {
    let s = b.storage();
    let store = &s.published;
    let v1 = store.publish("hello", b"one").await.unwrap();
    store
        .report("hello", None, Some("not loaded yet"))
        .await
        .unwrap();
    store.report("hello", Some(&v1.hash), None).await.unwrap();
    let running = store.running().await.unwrap();
    assert_eq!(running.len(), 1, "a report replaces the previous one");
    assert_eq!(running[0].app, "hello");
    assert_eq!(running[0].hash.as_deref(), Some(v1.hash.as_str()));
    assert_eq!(running[0].error, None);
    assert!(running[0].at_ms > 0);
    // Unpublishing forgets the reports with the app.
    store.unpublish("hello").await.unwrap();
    assert!(store.running().await.unwrap().is_empty());
}

async fn published_apps_survive_reopen(b: Arc<impl Backend>) {
    let v1 = b
        .storage()
        .published
        .publish("hello", b"kept")
        .await
        .unwrap();
    let s = b.reopen();
    assert_eq!(
        s.published.published().await.unwrap(),
        std::slice::from_ref(&v1)
    );
    assert_eq!(
        s.published.component(&v1.hash).await.unwrap().as_deref(),
        Some(&b"kept"[..])
    );
}

// --- the published configuration (`botyard publish --cluster-config`) -----

async fn the_published_configuration_is_one_document_named_by_its_hash(b: Arc<impl Backend>) {
    use botyard::storage::CONFIG_REPORT_NAME;
    let s = b.storage();
    let store = &s.published;
    assert!(store.published_config().await.unwrap().is_none());
    assert!(
        !store.unpublish_config().await.unwrap(),
        "nothing to unpublish"
    );
    let one = "[limits]\ndeadline_ms = 1000\n";
    let v1 = store.publish_config(one).await.unwrap();
    assert_eq!(v1.hash, botyard::storage::content_hash(one.as_bytes()));
    assert_eq!(v1.text, one);
    assert!(v1.published_ms > 0);
    assert_eq!(store.published_config().await.unwrap(), Some(v1.clone()));
    // Publishing again replaces it: one current document.
    let two = "[permissions]\n";
    let v2 = store.publish_config(two).await.unwrap();
    assert_ne!(v2.hash, v1.hash);
    assert_eq!(store.published_config().await.unwrap(), Some(v2.clone()));
    // Replicas report it beside the apps they run, under its own name.
    let app = store.publish("hello", b"one").await.unwrap();
    store.report("hello", Some(&app.hash), None).await.unwrap();
    store
        .report(CONFIG_REPORT_NAME, Some(&v1.hash), Some("invalid here"))
        .await
        .unwrap();
    store
        .report(CONFIG_REPORT_NAME, Some(&v2.hash), None)
        .await
        .unwrap();
    let running = store.running().await.unwrap();
    let config: Vec<_> = running
        .iter()
        .filter(|r| r.app == CONFIG_REPORT_NAME)
        .collect();
    assert_eq!(config.len(), 1, "a report replaces the previous one");
    assert_eq!(config[0].hash.as_deref(), Some(v2.hash.as_str()));
    assert_eq!(config[0].error, None);
    // Unpublishing forgets it and its reports; the apps stay.
    assert!(store.unpublish_config().await.unwrap());
    assert!(store.published_config().await.unwrap().is_none());
    let running = store.running().await.unwrap();
    assert_eq!(running.len(), 1, "{running:?}");
    assert_eq!(running[0].app, "hello");
    assert_eq!(store.published().await.unwrap(), std::slice::from_ref(&app));
    assert!(!store.unpublish_config().await.unwrap());
}

async fn the_published_configuration_survives_reopen(b: Arc<impl Backend>) {
    let text = "[audit]\nkeep_days = 7\n";
    let v1 = b.storage().published.publish_config(text).await.unwrap();
    let s = b.reopen();
    assert_eq!(s.published.published_config().await.unwrap(), Some(v1));
}

// --- Socket Mode slots -----------------------------------------------------

/// Leasing Slack's Socket Mode slots, as every backend must: what is asked
/// is granted up to the capacity, renewing keeps the same slots, asking for
/// fewer gives the rest back, and releasing lets them all go.
async fn socket_slots_are_leased_renewed_and_released(b: Arc<impl Backend>) {
    use botyard::storage::SLACK_SOCKET_SLOTS;
    let slots = b.storage().slots;
    let capacity = slots.capacity();
    assert!((1..=SLACK_SOCKET_SLOTS).contains(&capacity), "{capacity}");
    let lease = Duration::from_secs(30);
    let first = slots.lease_slots(4, lease).await.unwrap();
    assert_eq!(first.slots.len(), 4, "{first:?}");
    assert!(first.slots.windows(2).all(|w| w[0] < w[1]), "{first:?}");
    assert!(first.slots.iter().all(|&slot| slot < SLACK_SOCKET_SLOTS));
    assert!(
        first.valid_for > Duration::ZERO && first.valid_for <= lease,
        "{first:?}"
    );
    let mine = |held: Vec<botyard::storage::SlotHolder>| -> Vec<u32> {
        held.into_iter()
            .filter(|h| h.mine && !h.spare)
            .map(|h| h.slot)
            .collect()
    };
    assert_eq!(mine(slots.slot_leases().await.unwrap()), first.slots);

    // Renewing keeps the same slots; asking for fewer gives the rest back.
    let again = slots.lease_slots(4, lease).await.unwrap();
    assert_eq!(again.slots, first.slots);
    let fewer = slots.lease_slots(2, lease).await.unwrap();
    assert_eq!(fewer.slots, first.slots[..2]);
    assert_eq!(mine(slots.slot_leases().await.unwrap()), fewer.slots);

    // More than there are: the capacity, never more than Slack's 10.
    let all = slots
        .lease_slots(SLACK_SOCKET_SLOTS + 1, lease)
        .await
        .unwrap();
    assert_eq!(all.slots.len(), capacity as usize, "{all:?}");

    // The spare, for a refresh, is there to borrow and give back.
    assert!(slots.lease_spare(lease).await.unwrap().is_some());
    assert!(
        slots
            .slot_leases()
            .await
            .unwrap()
            .iter()
            .any(|h| h.spare && h.mine)
    );
    slots.release_spare().await.unwrap();
    assert!(!slots.slot_leases().await.unwrap().iter().any(|h| h.spare));

    slots.release_slots().await.unwrap();
    assert!(mine(slots.slot_leases().await.unwrap()).is_empty());
}

/// What only a cluster promises of the slots: replicas share Slack's 10
/// (nine steady and one spare), and a stopped replica's slots are taken
/// by the others.
mod postgres_socket_slots {
    use super::postgres_replicas::replica;
    use super::*;
    use botyard::storage::postgres::Options;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replicas_share_ten_slots_and_a_stopped_ones_are_taken() {
        let url = pg::database();
        let lease = Duration::from_secs(60);
        let beat = Duration::from_millis(200);
        let a = replica(&url, "a", beat).await;
        let b = replica(&url, "b", beat).await;
        let c = replica(&url, "c", beat).await;
        assert_eq!(a.slots.capacity(), 9, "one of Slack's 10 kept spare");
        let of_a = a.slots.lease_slots(4, lease).await.unwrap();
        let of_b = b.slots.lease_slots(4, lease).await.unwrap();
        let of_c = c.slots.lease_slots(4, lease).await.unwrap();
        assert_eq!(
            (of_a.slots.len(), of_b.slots.len(), of_c.slots.len()),
            (4, 4, 1),
            "{of_a:?} {of_b:?} {of_c:?}"
        );
        let mut every: Vec<u32> = [&of_a, &of_b, &of_c]
            .iter()
            .flat_map(|g| g.slots.clone())
            .collect();
        every.sort_unstable();
        every.dedup();
        assert_eq!(every.len(), 9, "no slot held twice: {every:?}");
        // A grant is never counted on past the holder's heartbeat bound.
        assert!(
            of_a.valid_for <= 3 * beat + Duration::from_secs(1),
            "{of_a:?}"
        );

        // The spare is one replica's at a time.
        assert!(a.slots.lease_spare(lease).await.unwrap().is_some());
        assert_eq!(b.slots.lease_spare(lease).await.unwrap(), None);
        a.slots.release_spare().await.unwrap();
        assert!(b.slots.lease_spare(lease).await.unwrap().is_some());
        b.slots.release_spare().await.unwrap();

        // `a` stops cleanly: its slots are released, and `c` takes them.
        a.slots.release_slots().await.unwrap();
        assert_eq!(c.slots.lease_slots(4, lease).await.unwrap().slots.len(), 4);

        // `b` is killed: its leases stand, but once its heartbeat lapses its
        // slots (and the spare it held) are free, long before the leases end.
        assert!(b.slots.lease_spare(lease).await.unwrap().is_some());
        drop(b);
        let d = replica(&url, "d", beat).await;
        assert_eq!(d.slots.lease_slots(9, lease).await.unwrap().slots.len(), 1);
        tokio::time::sleep(3 * beat + Duration::from_millis(2_000)).await;
        assert_eq!(d.slots.lease_slots(9, lease).await.unwrap().slots.len(), 5);
        assert!(d.slots.lease_spare(lease).await.unwrap().is_some());

        // A restart of `c` (same name) takes over what the old `c` held.
        let c2 = replica(&url, "c", beat).await;
        let of_c2 = c2.slots.lease_slots(4, lease).await.unwrap();
        assert_eq!(of_c2.slots.len(), 4, "{of_c2:?}");
        let holders = d.slots.slot_leases().await.unwrap();
        assert_eq!(holders.len(), 10, "{holders:?}");
        assert!(holders.iter().all(|h| h.replica == "c" || h.replica == "d"));

        // An observer holds nothing and says why.
        let observer = Storage::connect_postgres(Options {
            observer: true,
            ..Options::new(&url, "observer")
        })
        .await
        .unwrap();
        let error = observer.slots.lease_slots(1, lease).await.unwrap_err();
        assert!(error.to_string().contains("observer"), "{error}");
        drop(c);
    }
}
