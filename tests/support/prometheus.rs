//! Real Prometheus (Debian's `prometheus`) scraping a synthetic exporter the
//! test controls, for the `stores` app's end-to-end tests
//! (`tests/apps/stores.rs`).
//!
//! [`Exporter::start`] serves `/metrics` in Prometheus's text exposition
//! format on a free loopback port (axum, in the test's runtime): counters
//! the test names with their labels and sets growing at a rate of its
//! choosing ([`Exporter::set_rate`]); each scrape reads them as they are at
//! that moment.
//!
//! [`Prometheus::start`] writes a configuration into a temp dir — one scrape
//! job every second on the exporter's address — and runs `prometheus
//! --config.file=… --storage.tsdb.path=<tmp> --web.listen-address=
//! 127.0.0.1:<free port>` in a process group of its own, returning once it
//! is ready and has scraped every target (`up` is 1 for each). The tests ask
//! it directly ([`Prometheus::query`]) for the truth they compare the app's
//! answers with.
//!
//! **Cleanup.** [`Prometheus::stop`] (and dropping it) sends SIGTERM to the
//! group, then SIGKILL to whatever is left. A test process killed outright
//! cannot drop anything, so each Prometheus also has a reaper: a detached
//! `sh` in its own process group that waits for the test process to end and
//! then kills the group.
//!
//! Prometheus is installed on first use (`support::install_once`).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// `prometheus`'s path, installing Debian's `prometheus` if it is missing.
pub fn binary() -> PathBuf {
    super::install_once("prometheus", || {
        ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
    })
}

/// One counter: its value when last read, how fast it grows, since when.
struct Counter {
    value: f64,
    per_second: f64,
    since: Instant,
}

impl Counter {
    fn now(&mut self) -> f64 {
        let now = Instant::now();
        self.value += self.per_second * now.duration_since(self.since).as_secs_f64();
        self.since = now;
        self.value
    }
}

/// Counters by metric name, then by their labels (`store="lisbon"`).
type Counters = BTreeMap<String, BTreeMap<String, Counter>>;

/// A synthetic exporter: `/metrics` with the counters the test sets.
pub struct Exporter {
    /// `127.0.0.1:PORT`, as a scrape target names it.
    pub target: String,
    counters: Arc<Mutex<Counters>>,
    task: tokio::task::JoinHandle<()>,
}

impl Exporter {
    /// Serves `/metrics` (no counters yet) on a free loopback port.
    pub async fn start() -> Exporter {
        let counters: Arc<Mutex<Counters>> = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = listener.local_addr().unwrap().to_string();
        let served = counters.clone();
        let router = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let served = served.clone();
                async move {
                    (
                        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
                        exposition(&mut served.lock().unwrap()),
                    )
                }
            }),
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.ok();
        });
        Exporter {
            target,
            counters,
            task,
        }
    }

    /// Counter `metric{labels}` grows by `per_second` from now on (from 0
    /// when it is new; 0 stops it, keeping its value).
    pub fn set_rate(&self, metric: &str, labels: &[(&str, &str)], per_second: f64) {
        let labels = label_text(labels);
        let mut counters = self.counters.lock().unwrap();
        let counter = counters
            .entry(metric.to_string())
            .or_default()
            .entry(labels)
            .or_insert(Counter {
                value: 0.0,
                per_second: 0.0,
                since: Instant::now(),
            });
        counter.now();
        counter.per_second = per_second;
    }

    /// What counter `metric{labels}` reads now.
    pub fn value(&self, metric: &str, labels: &[(&str, &str)]) -> f64 {
        let mut counters = self.counters.lock().unwrap();
        counters
            .get_mut(metric)
            .and_then(|series| series.get_mut(&label_text(labels)))
            .map(Counter::now)
            .unwrap_or(0.0)
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `store="lisbon",region="eu"`, values escaped as the text format wants.
fn label_text(labels: &[(&str, &str)]) -> String {
    labels
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The counters in Prometheus's text exposition format (0.0.4).
fn exposition(counters: &mut Counters) -> String {
    let mut text = String::new();
    for (metric, series) in counters.iter_mut() {
        text.push_str(&format!("# TYPE {metric} counter\n"));
        for (labels, counter) in series.iter_mut() {
            let value = counter.now();
            if labels.is_empty() {
                text.push_str(&format!("{metric} {value}\n"));
            } else {
                text.push_str(&format!("{metric}{{{labels}}} {value}\n"));
            }
        }
    }
    text
}

/// A real Prometheus scraping `targets` every second, stopped when dropped.
pub struct Prometheus {
    /// `http://127.0.0.1:PORT`: what the app's `prometheus_url` is.
    pub url: String,
    child: Option<Child>,
    reaper: Option<Child>,
    dir: tempfile::TempDir,
}

impl Prometheus {
    /// Prometheus scraping `targets` (`host:port`), ready and with every
    /// target scraped (`up` = 1) when this returns.
    pub async fn start(targets: &[&str]) -> Prometheus {
        let binary = binary();
        let mut last_error = String::new();
        // A port found free can be taken before Prometheus binds it; try
        // another then.
        for _ in 0..5 {
            let port = super::free_port();
            let dir = tempfile::tempdir().unwrap();
            let conf = dir.path().join("prometheus.yml");
            std::fs::write(&conf, config(targets)).unwrap();
            let child = spawn(&binary, &conf, dir.path(), port);
            let reaper = super::spawn_reaper(&super::group_cleanup(child.id()), "prometheus");
            let mut prometheus = Prometheus {
                url: format!("http://127.0.0.1:{port}"),
                child: Some(child),
                reaper,
                dir,
            };
            match prometheus.ready(targets.len()).await {
                Ok(()) => return prometheus,
                Err(e) => last_error = format!("{e}\n{}", prometheus.log()),
            }
        }
        panic!("prometheus did not start: {last_error}");
    }

    /// Waits until it is ready and `up` is 1 for `targets` targets.
    async fn ready(&mut self, targets: usize) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(format!("prometheus exited ({status})"));
            }
            if let Ok(data) = self.query("up == 1").await {
                let up = data["result"].as_array().map_or(0, Vec::len);
                if up >= targets {
                    return Ok(());
                }
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!(
                    "not every target up within 30 s ({targets} targets)"
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Prometheus's own log (stderr), for a failure's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query, asked directly: the envelope's `data`, or its
    /// `error` text as Prometheus wrote it (or why there was no answer).
    pub async fn query(&self, promql: &str) -> Result<Value, String> {
        self.api("query", &[("query", promql)]).await
    }

    /// `GET /api/v1/<endpoint>` with `params`: the envelope's `data`.
    pub async fn api(&self, endpoint: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        let response = client()
            .get(format!("{}/api/v1/{endpoint}", self.url))
            .query(params)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        match body["status"].as_str() {
            Some("success") => Ok(body["data"].clone()),
            _ => Err(body["error"]
                .as_str()
                .map_or_else(|| body.to_string(), str::to_string)),
        }
    }

    /// An instant query's vector as label `label` → value.
    pub async fn vector(&self, promql: &str, label: &str) -> BTreeMap<String, f64> {
        let data = self
            .query(promql)
            .await
            .unwrap_or_else(|e| panic!("{promql}: {e}"));
        data["result"]
            .as_array()
            .unwrap_or_else(|| panic!("{promql} gives a vector: {data}"))
            .iter()
            .map(|s| {
                (
                    s["metric"][label].as_str().unwrap_or_default().to_string(),
                    s["value"][1].as_str().unwrap().parse::<f64>().unwrap(),
                )
            })
            .collect()
    }

    /// Stops it (SIGTERM to its group, then SIGKILL to what is left) and
    /// waits until it is gone: its address then refuses connections.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pgid = child.id();
        super::kill_group(pgid, "TERM");
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        super::kill_group(pgid, "KILL");
        child.kill().ok();
        child.wait().ok();
        if let Some(mut reaper) = self.reaper.take() {
            reaper.kill().ok();
            reaper.wait().ok();
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn config(targets: &[&str]) -> String {
    let targets = targets
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: shop\n    static_configs:\n      - targets: [{targets}]\n"
    )
}

fn spawn(binary: &PathBuf, conf: &std::path::Path, dir: &std::path::Path, port: u16) -> Child {
    use std::os::unix::process::CommandExt;
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    Command::new(binary)
        .arg(format!("--config.file={}", conf.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()))
}
