//! A real PostgreSQL for the tests: no mocks, the server botyard runs on.
//!
//! - **Binaries**: Debian's (`/usr/lib/postgresql/<version>/bin`), installed
//!   with `apt-get install postgresql` on first use where missing (under a
//!   file lock, so test processes running at once install it once).
//! - **Cheap starts**: `initdb` runs once per target directory into a cached
//!   template (`$CARGO_TARGET_TMPDIR/postgres/template-<version>`, under a
//!   file lock); each server copies it and starts on a free loopback port
//!   with its socket in its own directory. nextest runs one test per process
//!   and `cargo test` many tests in one, so [`database`] gives each test a
//!   fresh database on one server per process ([`shared`]), and a test that
//!   needs a server of its own (durability, failover) starts one.
//! - **Fast unless durability is the point**: [`Server::start`] runs with
//!   `fsync=off`; [`Server::start_durable`] keeps PostgreSQL's defaults, for
//!   the tests that crash the server and count what survived.
//! - **Never left running**: each server has a reaper, a `sh` loop in a
//!   session of its own that watches the test process and, once it is gone
//!   (even by `kill -9`), stops the server immediately and removes its
//!   files; dropping a [`Server`] does the same at once.
//! - **As root**, PostgreSQL refuses to run: `initdb`, `postgres` and the
//!   tools run as the `postgres` user (`runuser`), which owns the data
//!   directories. Run as anyone else, they run as that user.
//!
//! For chaos tests: [`start_primary_with_standby`] starts a primary and a
//! streaming standby it commits synchronously to, and [`Server::promote`]
//! makes the standby the primary; [`Server::crash`] kills a server as a
//! power cut would its process, and [`Server::restart`] runs its crash
//! recovery. A URL listing both (`multi_host_url`) with
//! `target_session_attrs=read-write` follows whichever accepts writes.

use std::fs::File;
use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A running PostgreSQL server, stopped (and its files removed) on drop.
pub struct Server {
    /// Holds `data/` and the socket; removed when dropped.
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// `-c name=value` settings it starts with.
    settings: Vec<(String, String)>,
    /// The postmaster's pid while it runs.
    pid: Option<u32>,
    reaper: Option<Child>,
}

/// One server per test process, for [`database`].
pub fn shared() -> &'static Server {
    static SHARED: OnceLock<Server> = OnceLock::new();
    SHARED.get_or_init(Server::start)
}

/// A URL to a new, empty database on the process's [`shared`] server.
pub fn database() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let server = shared();
    let name = format!(
        "test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    server.sql(&format!("CREATE DATABASE {name}"));
    server.url(&name)
}

impl Server {
    /// A server for tests that do not crash it: `fsync=off`, so commits
    /// cost no disk flush.
    pub fn start() -> Server {
        Server::start_with(&[
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
        ])
    }

    /// A server as durable as PostgreSQL's defaults make it, for tests
    /// that kill it and count what survived.
    pub fn start_durable() -> Server {
        Server::start_with(&[])
    }

    /// A server from the template with `settings` (`-c name=value`) on top
    /// of the tests' own.
    pub fn start_with(settings: &[(&str, &str)]) -> Server {
        let bin = bin_dir();
        let template = template(&bin);
        let dir = tempfile::Builder::new()
            .prefix("server-")
            .tempdir_in(root())
            .expect("creating a directory for a test PostgreSQL");
        let data = dir.path().join("data");
        run(Command::new("cp").arg("-a").arg(&template).arg(&data));
        give_to_postgres(dir.path());
        let mut all = vec![
            ("listen_addresses".to_string(), "127.0.0.1".to_string()),
            ("max_connections".to_string(), "400".to_string()),
            ("shared_buffers".to_string(), "16MB".to_string()),
            ("log_min_messages".to_string(), "warning".to_string()),
        ];
        all.extend(
            settings
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string())),
        );
        let mut server = Server {
            dir,
            bin,
            port: 0,
            settings: all,
            pid: None,
            reaper: None,
        };
        server.boot();
        server
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A URL to database `dbname` as the superuser (trust authentication).
    pub fn url(&self, dbname: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{dbname}", self.port)
    }

    /// A URL to database `dbname` through `addr`, an address it also
    /// listens on (see [`Server::serve_network`]).
    pub fn url_at(&self, addr: Ipv4Addr, dbname: &str) -> String {
        format!("postgres://postgres@{addr}:{}/{dbname}", self.port)
    }

    /// Lets clients on `network` (`10.1.2.0/24`) in with trust
    /// authentication, as 127.0.0.1 is: for replicas in a test fabric's
    /// data centers. The server must listen on an address they reach
    /// (`listen_addresses` at start).
    pub fn serve_network(&self, network: &str) {
        let hba = self.data_dir().join("pg_hba.conf");
        let mut text = std::fs::read_to_string(&hba).expect("reading pg_hba.conf");
        text.push_str(&format!("host all all {network} trust\n"));
        std::fs::write(&hba, text).expect("writing pg_hba.conf");
        self.sql("SELECT pg_reload_conf()");
    }

    /// Runs `sql` through `psql` on database `postgres`; panics on failure.
    pub fn sql(&self, sql: &str) -> String {
        let out = as_postgres(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", "postgres", "-c", sql])
            .stdin(Stdio::null())
            .output()
            .expect("running psql");
        assert!(
            out.status.success(),
            "psql {sql:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Kills the server with SIGKILL, as a crash would (nothing flushed,
    /// no shutdown checkpoint), and waits until its processes are gone.
    pub fn crash(&mut self) {
        if let Some(pid) = self.pid.take() {
            signal("-KILL", pid);
            wait_gone(pid);
            // The backends notice their postmaster died and exit; the next
            // start waits for them (shared memory still in use) anyway.
        }
    }

    /// Starts it again on the same port and data (after [`Server::crash`]:
    /// PostgreSQL's crash recovery replays the WAL).
    pub fn restart(&mut self) {
        self.shut_down();
        self.boot();
    }

    /// Turns a standby into a primary (`pg_ctl promote`), waiting until it
    /// accepts writes.
    pub fn promote(&self) {
        run(as_postgres(self.bin.join("pg_ctl"))
            .args(["promote", "-w", "-t", "60", "-D"])
            .arg(self.data_dir()));
    }

    /// Stops it at once (no checkpoint), keeping its files until dropped.
    pub fn shut_down(&mut self) {
        if let Some(pid) = self.pid.take() {
            signal("-QUIT", pid);
            if !wait_gone_within(pid, Duration::from_secs(10)) {
                signal("-KILL", pid);
                wait_gone(pid);
            }
        }
    }

    /// Starts the postmaster (on a free port the first time; PostgreSQL may
    /// lose a race for it, so a few are tried) and its reaper.
    fn boot(&mut self) {
        let data = self.data_dir();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = String::new();
        while Instant::now() < deadline {
            if self.port == 0 || !last.is_empty() && last.contains("could not bind") {
                self.port = super::free_port();
            }
            let mut options = format!("-p {} -k {}", self.port, self.dir.path().display());
            for (name, value) in &self.settings {
                options.push_str(&format!(" -c {name}={value}"));
            }
            let log = self.dir.path().join("server.log");
            let out = as_postgres(self.bin.join("pg_ctl"))
                .args(["start", "-w", "-t", "60", "-D"])
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-o", &options])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("running pg_ctl");
            if out.success() {
                let pid = std::fs::read_to_string(data.join("postmaster.pid"))
                    .ok()
                    .and_then(|text| text.lines().next()?.trim().parse::<u32>().ok())
                    .expect("the postmaster's pid");
                self.pid = Some(pid);
                self.reap(pid);
                return;
            }
            last = std::fs::read_to_string(&log).unwrap_or_default();
            // After a crash the old backends may still hold shared memory
            // for a moment; a port taken meanwhile is tried anew.
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("the test PostgreSQL did not start; its log:\n{last}");
    }

    /// Replaces the reaper with one for postmaster `pid`.
    fn reap(&mut self, pid: u32) {
        if let Some(mut old) = self.reaper.take() {
            old.kill().ok();
            old.wait().ok();
        }
        let script = format!(
            "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; \
             kill -QUIT {pid} 2>/dev/null; sleep 2; kill -KILL {pid} 2>/dev/null; \
             rm -rf '{dir}'",
            me = std::process::id(),
            dir = self.dir.path().display(),
        );
        let reaper = Command::new("setsid")
            .args(["sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the PostgreSQL reaper");
        self.reaper = Some(reaper);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shut_down();
        if let Some(mut reaper) = self.reaper.take() {
            reaper.kill().ok();
            reaper.wait().ok();
        }
    }
}

/// A primary and a streaming standby it commits synchronously to
/// (`synchronous_standby_names = 'standby'`, `synchronous_commit = on`):
/// once a commit returns, the standby has it, so promoting the standby
/// loses nothing acknowledged. Both run durable (fsync on).
pub fn start_primary_with_standby() -> (Server, Server) {
    start_primary_with_standby_on("127.0.0.1")
}

/// [`start_primary_with_standby`], both listening on `listen`
/// (`listen_addresses`, which must include 127.0.0.1).
pub fn start_primary_with_standby_on(listen: &str) -> (Server, Server) {
    let primary = Server::start_with(&[
        ("listen_addresses", listen),
        ("wal_level", "replica"),
        ("max_wal_senders", "10"),
        ("synchronous_standby_names", "standby"),
        ("synchronous_commit", "on"),
    ]);
    let bin = primary.bin.clone();
    let dir = tempfile::Builder::new()
        .prefix("standby-")
        .tempdir_in(root())
        .expect("creating a directory for a standby");
    give_to_postgres(dir.path());
    let data = dir.path().join("data");
    run(as_postgres(bin.join("pg_basebackup"))
        .args(["-h", "127.0.0.1", "-p", &primary.port.to_string()])
        .args(["-U", "postgres", "-X", "stream", "-R", "-D"])
        .arg(&data));
    let mut standby = Server {
        dir,
        bin,
        port: 0,
        settings: vec![
            ("listen_addresses".into(), listen.into()),
            ("max_connections".into(), "400".into()),
            ("shared_buffers".into(), "16MB".into()),
            ("hot_standby".into(), "on".into()),
            // The name the primary's synchronous_standby_names waits for.
            ("cluster_name".into(), "standby".into()),
        ],
        pid: None,
        reaper: None,
    };
    standby.boot();
    let deadline = Instant::now() + Duration::from_secs(60);
    while primary.sql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") != "1" {
        assert!(
            Instant::now() < deadline,
            "the standby never became synchronous"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (primary, standby)
}

/// A URL listing `servers` in order that connects to whichever accepts
/// writes (`target_session_attrs=read-write`).
pub fn multi_host_url(servers: &[&Server], dbname: &str) -> String {
    multi_host_url_at(Ipv4Addr::LOCALHOST, servers, dbname)
}

/// [`multi_host_url`] through `addr`, an address every server listens on.
pub fn multi_host_url_at(addr: Ipv4Addr, servers: &[&Server], dbname: &str) -> String {
    let hosts: Vec<String> = servers
        .iter()
        .map(|s| format!("{addr}:{}", s.port))
        .collect();
    format!(
        "postgres://postgres@{}/{dbname}?target_session_attrs=read-write",
        hosts.join(",")
    )
}

/// Where the template and the servers live: under the cargo target
/// directory, shared by every test binary.
fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("postgres");
    std::fs::create_dir_all(&root).expect("creating the test PostgreSQL directory");
    root
}

/// An exclusive lock on `name` under [`root`], held while the file is open.
fn lock(name: &str) -> File {
    let file = File::create(root().join(name)).expect("creating a lock file");
    file.lock().expect("locking");
    file
}

/// Debian's PostgreSQL binaries, the newest installed; installed first if
/// there are none.
pub fn bin_dir() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(found) = find_bin_dir() {
            return found;
        }
        let _installing = lock("install.lock");
        if let Some(found) = find_bin_dir() {
            return found;
        }
        for args in [
            &["update"][..],
            &["install", "-y", "--no-install-recommends", "postgresql"][..],
        ] {
            let out = Command::new("apt-get")
                .args(["-o", "DPkg::Lock::Timeout=300", "-q"])
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdin(Stdio::null())
                .output()
                .expect("running apt-get");
            assert!(
                out.status.success(),
                "apt-get {args:?} failed (the tests need Debian's postgresql):\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        find_bin_dir().expect("PostgreSQL is usable after installing it")
    })
    .clone()
}

fn find_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The initialized data directory every server copies, made once.
fn template(bin: &Path) -> PathBuf {
    let version = bin
        .parent()
        .and_then(|p| p.file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let template = root().join(format!("template-{version}"));
    if template.join("PG_VERSION").is_file() {
        return template;
    }
    let _one = lock("template.lock");
    if template.join("PG_VERSION").is_file() {
        return template;
    }
    let making = root().join(format!("template-{version}.making"));
    std::fs::remove_dir_all(&making).ok();
    std::fs::create_dir_all(&making).expect("creating the template directory");
    give_to_postgres(&making);
    run(as_postgres(bin.join("initdb"))
        .arg("-D")
        .arg(&making)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
        .arg("--no-sync"));
    std::fs::rename(&making, &template).expect("publishing the template");
    template
}

/// Whether this process runs as root (PostgreSQL refuses to).
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `program`, run as the `postgres` user when this process is root.
fn as_postgres(program: PathBuf) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Makes `dir` the `postgres` user's (when root), mode 0700 as PostgreSQL
/// wants its directories.
fn give_to_postgres(dir: &Path) {
    if is_root() {
        run(Command::new("chown").arg("postgres:postgres").arg(dir));
    }
    run(Command::new("chmod").arg("0700").arg(dir));
}

/// Runs `command`, panicking with its output if it fails.
fn run(command: &mut Command) {
    let out = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn signal(signal: &str, pid: u32) {
    Command::new("kill")
        .args([signal, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok();
}

fn alive(pid: u32) -> bool {
    // A zombie still answers `kill -0`; its state in /proc says it is gone.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn wait_gone_within(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn wait_gone(pid: u32) {
    assert!(
        wait_gone_within(pid, Duration::from_secs(30)),
        "PostgreSQL (pid {pid}) did not exit"
    );
}
