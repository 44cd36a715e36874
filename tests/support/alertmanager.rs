//! A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`,
//! installed on first use) for the tests that take its webhook: the
//! `hooks` test guest (`tests/webhooks.rs`) and the shipped `health` app
//! (`tests/apps/health.rs`).
//!
//! [`Alertmanager::start`] writes a configuration into a temp dir — one
//! route to one `webhook_config` with basic auth, grouped and flushed each
//! second, resolved alerts sent too — runs it on a free loopback port
//! without a gossip cluster, and returns once `/-/ready` answers. Alerts
//! are posted to it through its API v2, as Prometheus does
//! ([`Alertmanager::alert`], [`Alertmanager::post`]); it then delivers them
//! to the webhook in its own format (version 4). Killed when dropped.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long Alertmanager may take to become ready.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// Debian's `prometheus-alertmanager`, installed on first use.
pub fn binary() -> PathBuf {
    let path = PathBuf::from("/usr/bin/prometheus-alertmanager");
    super::install_once("prometheus-alertmanager", || {
        path.exists().then(|| path.clone())
    })
}

/// A real Alertmanager, killed when dropped.
pub struct Alertmanager {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    dir: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Alertmanager {
    /// Starts Alertmanager routing every alert to `webhook` with basic auth
    /// (`alertmanager` / `password`), grouped and flushed each second,
    /// resolved alerts sent too.
    pub async fn start(webhook: &str, password: &str) -> Alertmanager {
        let binary = binary();
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            r#"
route:
  receiver: botyard
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: botyard
    webhook_configs:
      - url: "{webhook}"
        send_resolved: true
        http_config:
          basic_auth:
            username: alertmanager
            password: "{password}"
"#
        );
        std::fs::write(dir.path().join("alertmanager.yml"), config).unwrap();
        let port = super::free_port();
        let log = std::fs::File::create(dir.path().join("alertmanager.log")).unwrap();
        let child = std::process::Command::new(binary)
            .arg(format!(
                "--config.file={}",
                dir.path().join("alertmanager.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // One instance: no gossip cluster to form or wait for.
            .arg("--cluster.listen-address=")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting prometheus-alertmanager");
        let am = Alertmanager {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let ready = client.get(format!("{}/-/ready", am.url)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return am;
            }
            assert!(
                Instant::now() < deadline,
                "alertmanager never became ready: {}",
                am.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What Alertmanager logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("alertmanager.log")).unwrap_or_default()
    }

    /// Posts one alert through Alertmanager's API v2, as Prometheus does:
    /// `name`, severity `page`, a summary; `ends_at` (RFC 3339) in the past
    /// resolves it.
    pub async fn alert(&self, name: &str, ends_at: Option<String>) {
        let mut alert = json!({
            "labels": {"alertname": name, "severity": "page"},
            "annotations": {"summary": "lunch queue over 20 people"},
            "generatorURL": "http://prometheus.example/graph",
        });
        if let Some(ends_at) = ends_at {
            alert["endsAt"] = json!(ends_at);
        }
        self.post(json!([alert])).await;
    }

    /// Posts `alerts` (API v2's list of postable alerts: `labels`,
    /// `annotations`, `startsAt`, `endsAt`, `generatorURL`) as they are.
    pub async fn post(&self, alerts: Value) {
        let answer = reqwest::Client::new()
            .post(format!("{}/api/v2/alerts", self.url))
            .json(&alerts)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{answer:?}");
    }
}
