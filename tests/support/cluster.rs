//! A botyard cluster on one machine, for the chaos tests (tests/chaos.rs):
//! N `botyard serve` replicas, one per data center of a [`Fabric`], on one
//! PostgreSQL database reached over the fabric, with the Slack emulator on
//! the fabric's host address sending each request to a replica drawn at
//! random (as a load balancer in front of them would) and retrying events
//! as Slack does.
//!
//! ```text
//!   root namespace: emulator, PostgreSQL, the test (load and checker)
//!        │ bridge
//!   dc0: botyard serve "dc0"   dc1: botyard serve "dc1"   dc2: …
//! ```
//!
//! Replicas are plain child processes: [`Cluster::kill`] is SIGKILL (nothing
//! flushed), [`Cluster::pause`] / [`Cluster::resume`] are SIGSTOP / SIGCONT,
//! and [`Cluster::start`] starts one again under the same name, data
//! directory and address. Each replica's stderr goes to `serve.log` in its
//! directory; [`Cluster::logs`] prints the tails when a check fails.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use botyard::emulator::{Emulator, EmulatorConfig, HostUrls};
use botyard::storage::Storage;

use super::netns::Fabric;
use super::postgres::{self, Server};
use super::{guest_component, shared_build_dir};

/// The port every replica listens on for Slack: each data center has its
/// own address (and, with namespaces, its own port space).
const NAMESPACE_PORT: u16 = 8080;

/// One replica: its name, where it lives, and its process while it runs.
pub struct Replica {
    pub name: String,
    dc: usize,
    dir: tempfile::TempDir,
    addr: Ipv4Addr,
    port: u16,
    child: Option<Child>,
    /// Times it was started, for messages.
    pub starts: u32,
}

impl Replica {
    /// `http://<its address>:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}:{}", self.addr, self.port)
    }

    /// Its process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn urls(&self) -> HostUrls {
        let base = self.base_url();
        HostUrls {
            commands: Some(format!("{base}/slack/commands")),
            events: Some(format!("{base}/slack/events")),
            interactivity: Some(format!("{base}/slack/interactivity")),
        }
    }
}

/// The replicas, the database and Slack. Dropping it kills the replicas
/// (the fabric and the server clean up after themselves).
pub struct Cluster {
    pub slack: Emulator,
    pub replicas: Vec<Replica>,
    /// The database URL as the replicas reach it (over the fabric).
    pub db_url: String,
    /// The same database through 127.0.0.1, for the test's own reads.
    pub local_url: String,
    pub db: Server,
    /// A synchronous standby of `db`, when the setup asked for one.
    pub standby: Option<Server>,
    pub fabric: Fabric,
}

/// What a cluster runs: apps (`(file name, test guest)`) and extra
/// `botyard.toml` text appended to each replica's.
pub struct Setup<'a> {
    pub replicas: usize,
    pub apps: &'a [(&'a str, &'a str)],
    pub emulator: EmulatorConfig,
    pub extra_config: &'a str,
    /// A PostgreSQL primary with a synchronous standby (durable, for
    /// failover) instead of one fast server.
    pub standby: bool,
}

impl Cluster {
    /// Builds the fabric, starts PostgreSQL and the emulator on its host
    /// address, and starts every replica, returning once each answers
    /// `/readyz`.
    pub async fn start_all(setup: Setup<'_>) -> Cluster {
        let fabric = Fabric::new(setup.replicas);
        if !fabric.isolated() {
            eprintln!(
                "cluster: data centers are loopback addresses ({}); cuts are approximate",
                fabric.fallback_reason().unwrap_or_default()
            );
        }
        let host = fabric.host_addr();
        let listen = format!("127.0.0.1,{host}");
        let (db, standby) = if setup.standby {
            let (primary, standby) = postgres::start_primary_with_standby_on(&listen);
            (primary, Some(standby))
        } else {
            let db = Server::start_with(&[
                ("listen_addresses", &listen),
                ("fsync", "off"),
                ("synchronous_commit", "off"),
                ("full_page_writes", "off"),
            ]);
            (db, None)
        };
        let network = if host.octets()[0] == 10 {
            let [a, b, c, _] = host.octets();
            format!("{a}.{b}.{c}.0/24")
        } else {
            "127.0.0.0/8".to_string()
        };
        for server in std::iter::once(&db).chain(&standby) {
            server.serve_network(&network);
        }
        db.sql("CREATE DATABASE chaos");
        // Every server, in order: the one accepting writes is taken.
        let servers: Vec<&Server> = std::iter::once(&db).chain(&standby).collect();
        let db_url = postgres::multi_host_url_at(host, &servers, "chaos");
        let local_url = postgres::multi_host_url(&servers, "chaos");
        let slack = Emulator::start(EmulatorConfig {
            listen: host.into(),
            ..setup.emulator
        })
        .await
        .expect("starting the Slack emulator on the fabric");
        let components: Vec<(String, PathBuf)> = setup
            .apps
            .iter()
            .map(|(id, guest)| (id.to_string(), guest_component(guest)))
            .collect();
        let mut replicas = Vec::new();
        for (i, dc) in fabric.dcs().iter().enumerate() {
            let dir = tempfile::tempdir().expect("a replica's directory");
            let port = if fabric.isolated() {
                NAMESPACE_PORT
            } else {
                let listener = std::net::TcpListener::bind((dc.addr(), 0)).expect("a free port");
                listener.local_addr().unwrap().port()
            };
            let name = format!("dc{i}");
            let config = format!(
                "[slack]\nlisten = \"{addr}:{port}\"\napi_url = \"{api}\"\n\n\
                 [storage]\nbackend = \"postgres\"\nurl = \"${{env:BOTYARD_DATABASE_URL}}\"\n\
                 replica = \"{name}\"\nheartbeat_ms = 1000\n\n{extra}",
                addr = dc.addr(),
                api = slack.base_url(),
                extra = setup.extra_config,
            );
            std::fs::write(dir.path().join("botyard.toml"), config).unwrap();
            std::fs::create_dir_all(dir.path().join("apps")).unwrap();
            for (id, path) in &components {
                std::fs::copy(path, dir.path().join(format!("apps/{id}.wasm"))).unwrap();
            }
            replicas.push(Replica {
                name,
                dc: i,
                dir,
                addr: dc.addr(),
                port,
                child: None,
                starts: 0,
            });
        }
        let mut cluster = Cluster {
            slack,
            replicas,
            db_url,
            local_url,
            db,
            standby,
            fabric,
        };
        for i in 0..cluster.replicas.len() {
            cluster.start(i).await;
        }
        let hosts = cluster.replicas.iter().map(Replica::urls).collect();
        cluster.slack.set_hosts(hosts);
        cluster
    }

    /// Starts replica `i` (again), returning once it answers `/readyz`.
    pub async fn start(&mut self, i: usize) {
        let config = self.slack.config().clone();
        let replica = &mut self.replicas[i];
        assert!(replica.child.is_none(), "{} already runs", replica.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(replica.dir.path().join("serve.log"))
            .expect("a log file");
        let mut command = self
            .fabric
            .dc(replica.dc)
            .command(env!("CARGO_BIN_EXE_botyard"));
        command
            .arg("--data-dir")
            .arg(replica.dir.path())
            .arg("--config")
            .arg(replica.dir.path().join("botyard.toml"))
            .arg("--build-dir")
            .arg(shared_build_dir())
            .arg("serve")
            .env("SLACK_BOT_TOKEN", &config.bot_token)
            .env("SLACK_SIGNING_SECRET", &config.signing_secret)
            .env("BOTYARD_DATABASE_URL", &self.db_url)
            .env("RUST_LOG", "botyard=info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        let mut child = command.spawn().expect("starting botyard serve");
        let stdout = child.stdout.take().unwrap();
        // The first line says it listens; read it off this task's thread.
        let first = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        });
        let line = tokio::time::timeout(Duration::from_secs(60), first)
            .await
            .ok()
            .and_then(|joined| joined.ok())
            .and_then(Result::ok)
            .unwrap_or_default();
        replica.starts += 1;
        replica.child = Some(child);
        if !line.contains("listening on") {
            let name = replica.name.clone();
            panic!(
                "replica {name} did not start: first line {line:?}\n{}",
                self.logs()
            );
        }
        let ready = format!("{}/readyz", self.replicas[i].base_url());
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answer = client
                .get(&ready)
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if answer.is_ok_and(|a| a.status().is_success()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "replica {} never became ready\n{}",
                self.replicas[i].name,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `kill -9` replica `i`: no shutdown, nothing flushed.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.replicas[i].child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// SIGSTOP replica `i`: it holds its connections and leases and does
    /// nothing until [`Cluster::resume`].
    pub fn pause(&self, i: usize) {
        self.signal(i, "-STOP");
    }

    /// SIGCONT replica `i`.
    pub fn resume(&self, i: usize) {
        self.signal(i, "-CONT");
    }

    fn signal(&self, i: usize, signal: &str) {
        let pid = self.replicas[i].pid().expect("the replica runs");
        let ok = std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {signal} {pid}");
    }

    /// `pg_terminate_backend` every connection the replicas hold on the
    /// first primary (their pools, their LISTEN connections) at once, as an
    /// operator or a crashing connection pooler would; how many.
    pub fn terminate_connections(&self) -> usize {
        self.db
            .sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE application_name LIKE 'botyard %'",
            )
            .trim()
            .parse()
            .expect("a count")
    }

    /// Kills the PostgreSQL primary (SIGKILL) and promotes the standby.
    pub fn fail_over(&mut self) {
        let standby = self.standby.as_ref().expect("a cluster with a standby");
        self.db.crash();
        standby.promote();
    }

    /// `botyard publish` of `component` as app `name`, run beside the
    /// replicas (in the root namespace) against their database; returns
    /// the published version's hash.
    pub fn publish(&self, name: &str, component: &[u8]) -> String {
        let dir = tempfile::tempdir().expect("a directory for the publisher");
        let file = dir.path().join(format!("{name}.wasm"));
        std::fs::write(&file, component).unwrap();
        std::fs::write(
            dir.path().join("botyard.toml"),
            "[storage]\nbackend = \"postgres\"\nurl = \"${env:BOTYARD_DATABASE_URL}\"\n\
             replica = \"publisher\"\n",
        )
        .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_botyard"))
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--config")
            .arg(dir.path().join("botyard.toml"))
            .arg("--build-dir")
            .arg(shared_build_dir())
            .args(["publish", "--json"])
            .arg(&file)
            .env("BOTYARD_DATABASE_URL", &self.local_url)
            .stdin(Stdio::null())
            .output()
            .expect("running botyard publish");
        assert!(
            out.status.success(),
            "botyard publish failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("publish --json prints one object");
        json["hash"]
            .as_str()
            .expect("the published hash")
            .to_string()
    }

    /// A reader beside the replicas (claims nothing, registers nothing).
    pub async fn observer(&self) -> Storage {
        let mut options =
            botyard::storage::postgres::Options::new(self.local_url.clone(), "checker");
        options.observer = true;
        Storage::connect_postgres(options)
            .await
            .expect("reading the cluster's database")
    }

    /// The last lines of every replica's log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for replica in &self.replicas {
            let text =
                std::fs::read_to_string(replica.dir.path().join("serve.log")).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            out.push_str(&format!(
                "--- {} (started {} times), last {} log lines:\n{}\n",
                replica.name,
                replica.starts,
                tail.len(),
                tail.join("\n")
            ));
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.replicas.len() {
            // A paused replica would not die of SIGKILL until continued.
            if let Some(pid) = self.replicas[i].pid() {
                let _ = std::process::Command::new("kill")
                    .args(["-CONT", &pid.to_string()])
                    .status();
            }
            self.kill(i);
        }
    }
}
