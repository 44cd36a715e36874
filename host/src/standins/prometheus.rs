//! A simulated Prometheus for `botyard dev`: the HTTP query API
//! (`/api/v1/query`, `/api/v1/query_range`, GET or form POST) answering
//! with made-up shop metrics, so `/spy stores top` shows stores without a
//! Prometheus to scrape them. The tests run the real Prometheus (Debian's
//! package, `tests/support/prometheus.rs`) scraping an exporter the test
//! controls; this stand-in only has to be honest about being made up.
//!
//! **It does not evaluate PromQL.** Any query answers with synthetic series
//! that follow a daily curve: one series per store (label `store`) when the
//! query groups `by (store)` — the `n` largest when it says `topk(n, …)` —
//! else one series without labels, scaled by the metric the query names
//! (visitors in the hundreds per second, checkouts in the single digits,
//! orders in the tens). The envelope is Prometheus's own: `status`,
//! `data.resultType` (`vector` for an instant query, `matrix` for a range),
//! `[unix seconds, "value"]` pairs, and `errorType` / `error` with 400 for a
//! request Prometheus would refuse (no query, a bad time or step, more than
//! 11,000 points).

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Form, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::{Value, json};

/// Stores and their relative activity.
const STORES: [(&str, f64); 8] = [
    ("lisbon", 1.0),
    ("seoul", 0.82),
    ("berlin", 0.64),
    ("austin", 0.51),
    ("paris", 0.43),
    ("osaka", 0.3),
    ("toronto", 0.22),
    ("nairobi", 0.12),
];
/// Prometheus refuses a range query with more points than this per series.
const MAX_POINTS: f64 = 11_000.0;

/// A running simulated Prometheus; stops when dropped.
pub struct PrometheusStandIn {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PrometheusStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PrometheusStandIn {
    /// Listens on `addr` (port 0: any free one).
    pub async fn start(addr: SocketAddr) -> std::io::Result<PrometheusStandIn> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let router = Router::new()
            .route("/api/v1/query", get(instant_get).post(instant_post))
            .route("/api/v1/query_range", get(range_get).post(range_post));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(error = %e, "the simulated Prometheus stopped");
            }
        });
        Ok(PrometheusStandIn { addr, task })
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

type Params = HashMap<String, String>;

async fn instant_get(Query(p): Query<Params>) -> Response {
    instant(&p)
}

async fn instant_post(Form(p): Form<Params>) -> Response {
    instant(&p)
}

async fn range_get(Query(p): Query<Params>) -> Response {
    range(&p)
}

async fn range_post(Form(p): Form<Params>) -> Response {
    range(&p)
}

fn bad_data(error: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"status": "error", "errorType": "bad_data", "error": error.into()})),
    )
        .into_response()
}

fn now() -> f64 {
    crate::contract::time::now_ms() as f64 / 1000.0
}

/// A time as Prometheus takes it: unix seconds (fractions allowed).
fn time(p: &Params, name: &str, default: Option<f64>) -> Result<f64, String> {
    match p.get(name) {
        Some(t) => t.parse::<f64>().map_err(|_| {
            format!("invalid parameter \"{name}\": cannot parse \"{t}\" to a valid timestamp")
        }),
        None => default.ok_or_else(|| format!("invalid parameter \"{name}\": missing")),
    }
}

/// A step: seconds, or a duration like `30s`, `5m`, `1h`.
fn duration(text: &str) -> Option<f64> {
    if let Ok(s) = text.parse::<f64>() {
        return Some(s);
    }
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(split);
    let n: f64 = n.parse().ok()?;
    Some(
        n * match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            _ => return None,
        },
    )
}

/// The series a query stands for: `(labels, scale)`.
fn series(query: &str) -> Vec<(Value, f64)> {
    let compact: String = query.chars().filter(|c| !c.is_whitespace()).collect();
    let scale = if compact.contains("visitor") {
        240.0
    } else if compact.contains("checkout") {
        6.0
    } else {
        40.0
    };
    if !compact.contains("by(store)") {
        return vec![(json!({}), scale)];
    }
    let top = compact
        .strip_prefix("topk(")
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(STORES.len());
    STORES
        .iter()
        .take(top)
        .map(|(store, share)| (json!({ "store": store }), scale * share))
        .collect()
}

/// A daily curve: busiest mid-afternoon UTC, never below a fifth of the peak.
fn value(scale: f64, t: f64) -> String {
    let day = (t / 86_400.0).fract() * std::f64::consts::TAU;
    let v = scale * (0.6 + 0.4 * (day - 2.4).sin());
    format!("{v:.3}")
}

fn instant(p: &Params) -> Response {
    let Some(query) = p.get("query").filter(|q| !q.trim().is_empty()) else {
        return bad_data(
            "invalid parameter \"query\": 1:1: parse error: no expression found in input",
        );
    };
    let t = match time(p, "time", Some(now())) {
        Ok(t) => t,
        Err(e) => return bad_data(e),
    };
    let result: Vec<Value> = series(query)
        .into_iter()
        .map(|(metric, scale)| json!({"metric": metric, "value": [t, value(scale, t)]}))
        .collect();
    Json(json!({"status": "success", "data": {"resultType": "vector", "result": result}}))
        .into_response()
}

fn range(p: &Params) -> Response {
    let Some(query) = p.get("query").filter(|q| !q.trim().is_empty()) else {
        return bad_data(
            "invalid parameter \"query\": 1:1: parse error: no expression found in input",
        );
    };
    let (start, end) = match (time(p, "start", None), time(p, "end", None)) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return bad_data(e),
    };
    let Some(step) = p.get("step").and_then(|s| duration(s)) else {
        return bad_data("invalid parameter \"step\": cannot parse the step to a valid duration");
    };
    if step <= 0.0 {
        return bad_data(
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        );
    }
    if end < start {
        return bad_data("end timestamp must not be before start time");
    }
    if (end - start) / step > MAX_POINTS {
        return bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        );
    }
    let result: Vec<Value> = series(query)
        .into_iter()
        .map(|(metric, scale)| {
            let mut values = Vec::new();
            let mut t = start;
            while t <= end {
                values.push(json!([t, value(scale, t)]));
                t += step;
            }
            json!({"metric": metric, "values": values})
        })
        .collect();
    Json(json!({"status": "success", "data": {"resultType": "matrix", "result": result}}))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_in_prometheus_envelope() {
        let prom = PrometheusStandIn::start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let client = reqwest::Client::new();
        let get = |path: &str, query: Vec<(&str, &str)>| {
            client
                .get(format!("{}{path}", prom.url()))
                .query(&query)
                .send()
        };
        let top: Value = get(
            "api/v1/query",
            vec![(
                "query",
                "topk(3, sum by (store) (increase(shop_orders_total[1h])))",
            )],
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(top["status"], "success");
        assert_eq!(top["data"]["resultType"], "vector");
        let stores: Vec<&str> = top["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["metric"]["store"].as_str().unwrap())
            .collect();
        assert_eq!(stores, ["lisbon", "seoul", "berlin"]);
        let range: Value = get(
            "api/v1/query_range",
            vec![
                ("query", "sum(rate(shop_visitors_total[5m]))"),
                ("start", "1700000000"),
                ("end", "1700003600"),
                ("step", "5m"),
            ],
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(range["data"]["resultType"], "matrix");
        assert_eq!(
            range["data"]["result"][0]["values"]
                .as_array()
                .unwrap()
                .len(),
            13
        );
        let bad = get(
            "api/v1/query_range",
            vec![
                ("query", "up"),
                ("start", "0"),
                ("end", "1000000"),
                ("step", "1"),
            ],
        )
        .await
        .unwrap();
        assert_eq!(bad.status(), 400);
        let bad: Value = bad.json().await.unwrap();
        assert_eq!(bad["errorType"], "bad_data");
        assert_eq!(get("api/v1/query", vec![]).await.unwrap().status(), 400);
    }
}
