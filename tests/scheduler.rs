//! Scheduled ticks: one-offs fire once when due, cron schedules fire on their
//! occurrences, and a tick missed while the host was down fires once, not once
//! per missed occurrence.

use std::sync::Arc;

use crate::support::TestHost;
use botyard::capabilities::Invocation;
use botyard::contract::bindings::types::{AppInfo, ScheduleSpec};
use botyard::contract::description::Description;
use botyard::contract::request::{Request, Response};
use botyard::contract::time::now_ms;
use botyard::inbound::scheduler::fire_due;
use botyard::routing::Apps;
use botyard::runtime::app::NativeApp;
use futures_util::future::BoxFuture;

/// Counts the ticks it receives per schedule name in its store.
struct TickCounter;

impl NativeApp for TickCounter {
    fn describe(&self) -> Description {
        let info = AppInfo {
            name: "ticker".into(),
            description: "counts ticks".into(),
            commands: vec![],
            subcommands: vec![],
            events: vec![],
            schedules: vec![ScheduleSpec {
                name: "every-minute".into(),
                cron: "* * * * *".into(),
            }],
        };
        Description {
            info,
            shortcuts: vec![],
            webhooks: vec![],
            settings: vec![],
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
            invocation
                .unit()
                .map_err(|e| e.to_string())?
                .increment(&app, &format!("ticks/{}", tick.name), 1)
                .await
                .map_err(|e| e.to_string())?;
            Ok(Response::Done)
        })
    }
}

async fn ticks(host: &Apps, name: &str) -> Option<String> {
    host.storage()
        .kv_get("ticker", &format!("ticks/{name}"))
        .await
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_offs_and_cron_schedules_fire_when_due() {
    let host = TestHost::new("", &[]);
    let runtime = host.start().await;
    runtime
        .install_native("ticker", Arc::new(TickCounter))
        .unwrap();
    let now = now_ms() / 60_000 * 60_000; // on a minute boundary

    // A one-off in the future does not fire early; once due it fires once.
    let mut unit = runtime.storage().begin();
    unit.schedule_once("ticker", "reminder", (now + 5_000) as i64)
        .await
        .unwrap();
    unit.commit().await.unwrap();
    fire_due(&runtime, now).await; // also registers the cron schedule, from now
    assert_eq!(ticks(&runtime, "reminder").await, None);
    assert_eq!(
        ticks(&runtime, "every-minute").await,
        None,
        "a new cron schedule starts counting now"
    );
    fire_due(&runtime, now + 5_000).await;
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

    // Ten minutes "down": one catch-up tick, not ten.
    fire_due(&runtime, now + 11 * 60_000).await;
    fire_due(&runtime, now + 11 * 60_000 + 1_000).await;
    assert_eq!(ticks(&runtime, "every-minute").await.as_deref(), Some("2"));
}
