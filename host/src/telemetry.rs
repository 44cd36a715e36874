//! What the host counts, named once: every metric `/metrics` shows is
//! recorded through a function here, so names, labels and units cannot drift
//! between the places that record them, and a newcomer finds them all in one
//! file.
//!
//! Recording goes through the `metrics` crate's facade: with no recorder
//! installed (a test building a host, `botyard call`) each call is a no-op;
//! `serve` and `dev` install the Prometheus recorder ([`install`]) and serve
//! [`render`] at `GET /metrics`. The recorder is process-wide, as a process
//! is what Prometheus scrapes.
//!
//! This module is layer 0: every layer may record, and it names no other.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder for this process (once; later calls
/// return the same handle). Until then, recording costs nothing.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                &[
                    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                    0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            )
            .expect("static bucket list is not empty")
            .install_recorder()
            // Another recorder in this process (a test harness's own):
            // build a handle that is not the global one, so `/metrics`
            // still answers, if only with what this module records to it.
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle());
        describe();
        // Histograms keep their samples until drained: drain them here so
        // a host nobody scrapes does not grow (the exporter's own upkeep
        // task only comes with its HTTP listener, which is not used).
        let upkept = handle.clone();
        let upkeep = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkept.run_upkeep();
                }
            });
        if let Err(e) = upkeep {
            tracing::warn!(error = %e, "cannot start the metrics upkeep thread");
        }
        handle
    })
}

/// How often recorded histograms are drained into their buckets.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The Prometheus text exposition of everything recorded so far, or `None`
/// when [`install`] was never called.
pub fn render() -> Option<String> {
    HANDLE.get().map(|h| h.render())
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "botyard_invocations_total",
        "App invocations by app, kind and outcome (ok, failed, refused, stopped)"
    );
    describe_histogram!(
        "botyard_invocation_duration_seconds",
        Unit::Seconds,
        "How long invocations took, by app and kind"
    );
    describe_counter!(
        "botyard_sandbox_stops_total",
        "Invocations the sandbox stopped, by app and cause (deadline, memory, stack, crash)"
    );
    describe_gauge!("botyard_outbox_depth", "Slack calls waiting in the outbox");
    describe_gauge!(
        "botyard_outbox_oldest_age_seconds",
        Unit::Seconds,
        "Age of the oldest Slack call waiting in the outbox"
    );
    describe_counter!(
        "botyard_slack_api_calls_total",
        "Slack Web API answers by method and status (ok, Slack's error code, http_<status>, unreachable, bad_response); each attempt counts"
    );
    describe_counter!(
        "botyard_slack_rate_limited_total",
        "Slack Web API answers of 429, by method"
    );
    describe_counter!(
        "botyard_webhook_deliveries_total",
        "Webhook deliveries by app, hook and outcome (received, refused, done, retry, dead)"
    );
    describe_gauge!(
        "botyard_webhook_deliveries_pending",
        "Webhook deliveries recorded and not yet done or dead (waiting, retrying or running)"
    );
    describe_counter!(
        "botyard_reloads_total",
        "App loads by app and outcome (loaded, unchanged, removed, failed)"
    );
    describe_counter!(
        "botyard_permission_denials_total",
        "Invocations the permission rules refused, by app"
    );
    describe_counter!(
        "botyard_quota_refusals_total",
        "Calls refused because an app was over a quota, by app and quota"
    );
    describe_gauge!(
        "botyard_quota_usage_ratio",
        "An app's use of a quota, 0..1 (1: at the limit), by app and quota"
    );
}

/// An invocation ended: `outcome` is `ok`, `failed`, `refused` or `stopped`.
pub fn invocation(app: &str, kind: &'static str, outcome: &'static str, took: Duration) {
    counter!("botyard_invocations_total", "app" => app.to_string(), "kind" => kind, "outcome" => outcome)
        .increment(1);
    histogram!("botyard_invocation_duration_seconds", "app" => app.to_string(), "kind" => kind)
        .record(took.as_secs_f64());
}

/// The sandbox stopped an invocation: `cause` is `deadline`, `memory`,
/// `stack` or `crash`.
pub fn sandbox_stop(app: &str, cause: &'static str) {
    counter!("botyard_sandbox_stops_total", "app" => app.to_string(), "cause" => cause)
        .increment(1);
}

/// The outbox as last measured: calls waiting, and the oldest one's age.
pub fn outbox(depth: u64, oldest: Option<Duration>) {
    gauge!("botyard_outbox_depth").set(depth as f64);
    gauge!("botyard_outbox_oldest_age_seconds").set(oldest.map_or(0.0, |d| d.as_secs_f64()));
}

/// A Slack Web API call answered: `status` is `ok`, Slack's error code,
/// `http_<code>`, `unreachable` (no answer) or `bad_response` (not Slack's
/// JSON); a 429 also counts as rate limited. Each attempt of a retried call
/// counts.
pub fn slack_call(method: &str, status: &str) {
    counter!("botyard_slack_api_calls_total", "method" => method.to_string(), "status" => status.to_string())
        .increment(1);
    if status == "http_429" || status == "ratelimited" {
        counter!("botyard_slack_rate_limited_total", "method" => method.to_string()).increment(1);
    }
}

/// Webhook deliveries as last measured: recorded, not yet done or dead.
pub fn webhooks_pending(pending: u64) {
    gauge!("botyard_webhook_deliveries_pending").set(pending as f64);
}

/// A webhook delivery moved: `outcome` is `received`, `refused`, `done`,
/// `retry` or `dead`.
pub fn webhook(app: &str, hook: &str, outcome: &'static str) {
    counter!("botyard_webhook_deliveries_total", "app" => app.to_string(), "hook" => hook.to_string(), "outcome" => outcome)
        .increment(1);
}

/// A load of `app` ended: `outcome` is `loaded`, `unchanged`, `removed` or
/// `failed`.
pub fn reload(app: &str, outcome: &'static str) {
    counter!("botyard_reloads_total", "app" => app.to_string(), "outcome" => outcome).increment(1);
}

/// The permission rules refused an invocation of `app`.
pub fn permission_denied(app: &str) {
    counter!("botyard_permission_denials_total", "app" => app.to_string()).increment(1);
}

/// `app` was refused a call for being over `quota` (`store_bytes`,
/// `store_keys`, `slack_calls_per_minute`, `http_requests_per_minute`,
/// `webhook_deliveries_kept`).
pub fn quota_refused(app: &str, quota: &'static str) {
    counter!("botyard_quota_refusals_total", "app" => app.to_string(), "quota" => quota)
        .increment(1);
}

/// How much of `quota` `app` uses, as a fraction of its limit.
pub fn quota_usage(app: &str, quota: &'static str, used: f64, limit: f64) {
    let ratio = if limit > 0.0 { used / limit } else { 0.0 };
    gauge!("botyard_quota_usage_ratio", "app" => app.to_string(), "quota" => quota).set(ratio);
}
