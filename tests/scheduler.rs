//! Scheduled ticks: one-offs fire once when due, cron schedules fire on their
//! occurrences, and each (schedule, due time) runs exactly once — however
//! many schedulers share the database, and even when the one that claimed it
//! dies before running it. Occurrences missed while the host was down fire
//! once each, oldest first, within the catch-up limits.
//!
//! Time is driven by hand: `fire_due(apps, now)` is what the scheduler's
//! loop does every second, at a `now` the test picks, so "two hours down"
//! takes no time. Leases are on the wall clock, as in production.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use botyard::capabilities::Invocation;
use botyard::contract::bindings::types::{AppInfo, ScheduleSpec};
use botyard::contract::description::Description;
use botyard::contract::request::{Request, Response};
use botyard::contract::time::now_ms;
use botyard::inbound::inbox;
use botyard::inbound::scheduler::{CATCH_UP_MAX, CATCH_UP_WINDOW, fire_due};
use botyard::routing::Apps;
use botyard::runtime::app::NativeApp;
use botyard::runtime::hooks::{Call, Hook, Refusal};
use botyard::storage::Storage;
use futures_util::future::BoxFuture;

use crate::support::TestHost;
use crate::support::postgres as pg;

const SECOND: u64 = 1_000;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;
/// 2026-01-01T00:00:00Z: on every boundary cron cares about, for tests
/// whose time is all virtual.
const T0: u64 = 1_767_225_600_000;

/// Records every tick it receives in its store: how many per schedule
/// (`ticks/<name>`), how many per schedule and due time
/// (`runs/<name>/<due_ms>`), and in which order (`order/<n>`).
struct Ticker {
    schedules: Vec<(String, String)>,
}

impl Ticker {
    fn new(schedules: &[(&str, &str)]) -> Arc<Ticker> {
        Arc::new(Ticker {
            schedules: schedules
                .iter()
                .map(|(name, cron)| (name.to_string(), cron.to_string()))
                .collect(),
        })
    }

    fn every_minute() -> Arc<Ticker> {
        Ticker::new(&[("every-minute", "* * * * *")])
    }
}

impl NativeApp for Ticker {
    fn describe(&self) -> Description {
        let info = AppInfo {
            name: "ticker".into(),
            description: "counts ticks".into(),
            commands: vec![],
            subcommands: vec![],
            events: vec![],
            schedules: self
                .schedules
                .iter()
                .map(|(name, cron)| ScheduleSpec {
                    name: name.clone(),
                    cron: cron.clone(),
                })
                .collect(),
        };
        Description {
            info,
            shortcuts: vec![],
            webhooks: vec![],
            settings: vec![],
            phrases: vec![],
        }
    }

    fn handle<'a>(
        &'a self,
        invocation: &'a mut Invocation,
        request: Request,
    ) -> BoxFuture<'a, Result<Response, String>> {
        Box::pin(async move {
            let Request::Tick(tick) = request else {
                return Err("ticks only".into());
            };
            let app = invocation.app.clone();
            let unit = invocation.unit().map_err(|e| e.to_string())?;
            let fail = |e: botyard::storage::StorageError| e.to_string();
            unit.increment(&app, &format!("ticks/{}", tick.name), 1)
                .await
                .map_err(fail)?;
            unit.increment(&app, &format!("runs/{}/{}", tick.name, tick.due_ms), 1)
                .await
                .map_err(fail)?;
            let n = unit.increment(&app, "seq", 1).await.map_err(fail)?;
            let what = format!("{}@{}", tick.name, tick.due_ms);
            unit.set(&app, &format!("order/{n:06}"), what.as_bytes())
                .await
                .map_err(fail)?;
            Ok(Response::Done)
        })
    }
}

async fn read(storage: &Storage, key: &str) -> Option<String> {
    storage
        .kv_get("ticker", key)
        .await
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}

async fn ticks(host: &Apps, name: &str) -> Option<String> {
    read(host.storage(), &format!("ticks/{name}")).await
}

/// Every run recorded, as (`<name>/<due_ms>`, how many times it ran).
async fn runs(storage: &Storage) -> Vec<(String, String)> {
    let keys = storage.kv_list("ticker", "runs/", 10_000).await.unwrap();
    let mut runs = Vec::new();
    for key in keys {
        let count = read(storage, &key).await.unwrap();
        runs.push((key["runs/".len()..].to_string(), count));
    }
    runs
}

/// The ticks in the order they ran, `<name>@<due_ms>`.
async fn order(storage: &Storage) -> Vec<String> {
    let mut order = Vec::new();
    for key in storage.kv_list("ticker", "order/", 10_000).await.unwrap() {
        order.push(read(storage, &key).await.unwrap());
    }
    order
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_offs_and_cron_schedules_fire_when_due() {
    let host = TestHost::new("", &[]);
    let runtime = host.start().await;
    runtime
        .install_native("ticker", Ticker::every_minute())
        .unwrap();
    let now = now_ms() / 60_000 * 60_000; // on a minute boundary

    // A one-off in the future does not fire early; once due it fires once.
    let mut unit = runtime.storage().begin();
    unit.schedule_once("ticker", "reminder", (now + 5_000) as i64)
        .await
        .unwrap();
    unit.commit().await.unwrap();
    assert_eq!(fire_due(&runtime, now).await, 0); // registers the cron schedule, from now
    assert_eq!(ticks(&runtime, "reminder").await, None);
    assert_eq!(
        ticks(&runtime, "every-minute").await,
        None,
        "a new cron schedule starts counting now"
    );
    assert_eq!(fire_due(&runtime, now + 5_000).await, 1);
    assert_eq!(ticks(&runtime, "reminder").await.as_deref(), Some("1"));
    // It went through the inbox under its schedule and due time, done in
    // its own unit: a process that died mid-tick leaves it to another.
    let inbox = &runtime.storage().inbox;
    let key = format!("tick:ticker/reminder/{}", now + 5_000);
    assert!(inbox.seen(&key).await.unwrap(), "{key} not taken in");
    assert_eq!(inbox.pending_count().await.unwrap(), 0);

    // The next minute boundary fires the cron schedule, once.
    fire_due(&runtime, now + 59_000).await;
    assert_eq!(ticks(&runtime, "every-minute").await, None);
    fire_due(&runtime, now + 60_000).await;
    fire_due(&runtime, now + 61_000).await;
    assert_eq!(ticks(&runtime, "every-minute").await.as_deref(), Some("1"));
    assert_eq!(
        ticks(&runtime, "reminder").await.as_deref(),
        Some("1"),
        "a one-off fires only once"
    );

    // Five minutes "down": each missed occurrence fires once, oldest first.
    assert_eq!(fire_due(&runtime, now + 6 * 60_000).await, 5);
    assert_eq!(fire_due(&runtime, now + 6 * 60_000 + 1_000).await, 0);
    assert_eq!(ticks(&runtime, "every-minute").await.as_deref(), Some("6"));
    let cron: Vec<String> = order(runtime.storage())
        .await
        .into_iter()
        .filter(|t| t.starts_with("every-minute@"))
        .collect();
    let expected: Vec<String> = (1..=6)
        .map(|k| format!("every-minute@{}", now + k * 60_000))
        .collect();
    assert_eq!(cron, expected);
}

/// (c) After downtime, each missed occurrence fires once, oldest first, up to
/// the limits: within [`CATCH_UP_WINDOW`], at most [`CATCH_UP_MAX`] per
/// schedule; older ones are skipped for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_cron_occurrences_catch_up_once_each_within_the_limit() {
    assert_eq!(
        CATCH_UP_WINDOW,
        Duration::from_secs(3600),
        "the test's arithmetic"
    );
    assert_eq!(CATCH_UP_MAX, 10, "the test's arithmetic");
    let host = TestHost::new("", &[]);
    let apps = host
        .builder()
        .native(
            "ticker",
            Ticker::new(&[("every-minute", "* * * * *"), ("hourly", "0 * * * *")]),
        )
        .start()
        .await
        .unwrap()
        .apps()
        .clone();
    let storage = apps.storage().clone();
    assert_eq!(fire_due(&apps, T0).await, 0, "schedules start counting");

    // Two hours and a half-minute down. Every minute: 120 missed, 60 within
    // the hour, the newest ten fire. Hourly: T0+1h is older than the hour,
    // T0+2h fires.
    let now = T0 + 2 * HOUR + 30 * SECOND;
    assert_eq!(fire_due(&apps, now).await, CATCH_UP_MAX + 1);
    assert_eq!(
        fire_due(&apps, now).await,
        0,
        "nothing fires twice, and what was skipped stays skipped"
    );
    assert_eq!(fire_due(&apps, now + 20 * SECOND).await, 0);
    let mut expected: Vec<(String, String)> = (111..=120)
        .map(|k| (format!("every-minute/{}", T0 + k * MINUTE), "1".to_string()))
        .collect();
    expected.push((format!("hourly/{}", T0 + 2 * HOUR), "1".to_string()));
    expected.sort();
    assert_eq!(runs(&storage).await, expected);
    // Oldest first.
    let ran = order(&storage).await;
    let minutes: Vec<&String> = ran
        .iter()
        .filter(|t| t.starts_with("every-minute@"))
        .collect();
    let mut sorted = minutes.clone();
    sorted.sort_by_key(|t| t["every-minute@".len()..].parse::<u64>().unwrap());
    assert_eq!(minutes, sorted);

    // A short outage is caught up whole: four minutes, four ticks.
    assert_eq!(fire_due(&apps, T0 + 2 * HOUR + 4 * MINUTE).await, 4);
    assert_eq!(ticks(&apps, "every-minute").await.as_deref(), Some("14"));
    assert_eq!(ticks(&apps, "hourly").await.as_deref(), Some("1"));

    // Down two days: every hourly occurrence but the last hour's is too old;
    // every minute catches up ten.
    let now = T0 + 50 * HOUR + 5 * MINUTE;
    assert_eq!(fire_due(&apps, now).await, CATCH_UP_MAX + 1);
    assert_eq!(ticks(&apps, "hourly").await.as_deref(), Some("2"));
    assert_eq!(
        read(&storage, &format!("runs/hourly/{}", T0 + 50 * HOUR))
            .await
            .as_deref(),
        Some("1")
    );
    assert_eq!(ticks(&apps, "every-minute").await.as_deref(), Some("24"));
    assert_eq!(storage.inbox.pending_count().await.unwrap(), 0);
}

/// Three replicas' hosts on one PostgreSQL database.
async fn cluster(url: &str, ticker: &Arc<Ticker>) -> Vec<(TestHost, Arc<Apps>)> {
    let mut hosts = Vec::new();
    for replica in ["a", "b", "c"] {
        let storage =
            Storage::connect_postgres(botyard::storage::postgres::Options::new(url, replica))
                .await
                .unwrap();
        let host = TestHost::new("", &[]);
        let apps = host
            .builder()
            .storage(storage)
            .native("ticker", ticker.clone())
            .start()
            .await
            .unwrap()
            .apps()
            .clone();
        hosts.push((host, apps));
    }
    hosts
}

/// (a) Three schedulers on one database, fifty schedules every five seconds,
/// a minute of virtual time in steps of their own: every due time runs
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_schedulers_fire_each_due_time_exactly_once() {
    const SCHEDULES: u64 = 50;
    const RUN: u64 = 60 * SECOND;
    const EVERY: u64 = 5 * SECOND;
    let names: Vec<String> = (0..SCHEDULES).map(|i| format!("s{i:02}")).collect();
    let specs: Vec<(&str, &str)> = names
        .iter()
        .map(|n| (n.as_str(), "*/5 * * * * *"))
        .collect();
    let ticker = Ticker::new(&specs);
    let url = pg::database();
    let hosts = cluster(&url, &ticker).await;
    let start = T0;
    assert_eq!(
        fire_due(&hosts[0].1, start).await,
        0,
        "schedules start counting"
    );

    // Each scheduler polls at its own pace, all at once.
    let tasks: Vec<_> = hosts
        .iter()
        .zip([SECOND, 2 * SECOND, 3 * SECOND])
        .map(|((_, apps), step)| {
            let apps = apps.clone();
            tokio::spawn(async move {
                let mut fired = 0;
                let mut now = start;
                while now < start + RUN {
                    now = (now + step).min(start + RUN);
                    fired += fire_due(&apps, now).await;
                }
                fired
            })
        })
        .collect();
    let mut fired = 0;
    for task in tasks {
        fired += task.await.unwrap();
    }
    // Whatever the last one left is fired now.
    fired += fire_due(&hosts[1].1, start + RUN).await;

    let occurrences = RUN / EVERY;
    assert_eq!(fired as u64, SCHEDULES * occurrences);
    let mut expected: Vec<(String, String)> = names
        .iter()
        .flat_map(|name| {
            (1..=occurrences)
                .map(move |k| (format!("{name}/{}", start + k * EVERY), "1".to_string()))
        })
        .collect();
    expected.sort();
    let storage = hosts[2].1.storage();
    assert_eq!(
        runs(storage).await,
        expected,
        "each (schedule, due time) once"
    );
    assert_eq!(storage.inbox.pending_count().await.unwrap(), 0);
    // Nothing more is due at the end, for any of them.
    for (_, apps) in &hosts {
        assert_eq!(fire_due(apps, start + RUN).await, 0);
    }
}

/// Lets nothing run: the process that claimed the tick "dies" here, between
/// the claim and the app.
struct Stall(AtomicBool);

#[async_trait]
impl Hook for Stall {
    async fn before(&self, call: &Call<'_>) -> Result<(), Refusal> {
        if !matches!(call.request, Request::Tick(_)) {
            return Ok(()); // loading the app asks it to describe itself
        }
        self.0.store(true, Ordering::SeqCst);
        std::future::pending().await
    }
}

/// (b) A tick claimed by a process that dies before running it is run, once,
/// by another process when the claim's lease runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tick_claimed_by_a_process_that_died_is_run_by_another() {
    let url = pg::database();
    let connect = |replica: &str| {
        Storage::connect_postgres(botyard::storage::postgres::Options::new(&url, replica))
    };
    let ticker = Ticker::new(&[]);

    // Replica "a" claims a due one-off, and stalls before the app runs.
    let a_dir = TestHost::new("", &[]);
    let stall = Arc::new(Stall(AtomicBool::new(false)));
    let a = a_dir
        .builder()
        .storage(connect("a").await.unwrap())
        .native("ticker", ticker.clone())
        .hook(stall.clone())
        .start()
        .await
        .unwrap();
    let due = now_ms();
    let mut unit = a.apps().storage().begin();
    unit.schedule_once("ticker", "reminder", due as i64)
        .await
        .unwrap();
    unit.commit().await.unwrap();
    let apps = a.apps().clone();
    let firing = tokio::spawn(async move { fire_due(&apps, due).await });
    let storage = a.apps().storage().clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !stall.0.load(Ordering::SeqCst) {
        assert!(!firing.is_finished(), "the tick never reached the app");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the tick never fired"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Claimed and taken in, one commit: off the schedule, pending in the inbox.
    assert_eq!(storage.inbox.pending_count().await.unwrap(), 1);
    assert_eq!(storage.schedules.next_once_due().await.unwrap(), None);
    // "a" dies.
    firing.abort();
    assert!(firing.await.unwrap_err().is_cancelled());
    drop((a, storage));

    // Replica "b" runs the scheduler (and with it the inbox's takeover).
    let b_dir = TestHost::new("", &[]);
    let b = b_dir
        .builder()
        .storage(connect("b").await.unwrap())
        .native("ticker", ticker.clone())
        .schedule()
        .start()
        .await
        .unwrap();
    let storage = b.apps().storage().clone();
    // Its own look finds nothing to claim: the tick is "a"'s run now.
    assert_eq!(fire_due(b.apps(), now_ms()).await, 0);
    let key = format!("runs/reminder/{due}");
    let deadline = tokio::time::Instant::now() + inbox::LEASE * 4;
    while read(&storage, &key).await.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the tick was never taken over"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = tokio::time::Instant::now() + inbox::LEASE;
    while storage.inbox.pending_count().await.unwrap() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "never settled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Once: a few more takeover rounds run nothing more.
    tokio::time::sleep(inbox::TAKEOVER_EVERY * 3).await;
    assert_eq!(read(&storage, &key).await.as_deref(), Some("1"));
    assert_eq!(read(&storage, "ticks/reminder").await.as_deref(), Some("1"));
}
