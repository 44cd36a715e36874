//! Real supervisord (Debian's `supervisor`), one per data center, for the
//! `servers` app's end-to-end tests (`tests/apps/servers.rs`).
//!
//! [`Supervisord::start`] writes a configuration into a temp dir —
//! `nodaemon`, an `[inet_http_server]` on a loopback address of the data
//! center's own (`127.A.B.(k+2)`, unique per test process and data center,
//! like `netns`'s loopback fabric) and a free port, the XML-RPC interface,
//! and one `[program:…]` per name (`command=sleep 100000`, autostart) — and
//! runs supervisord in a process group of its own, returning once it
//! answers and every program is RUNNING. [`Supervisord::state`] asks it
//! directly, by XML-RPC over `reqwest`, what a process's state is: the
//! tests check supervisord's truth, not the app's word.
//!
//! **Cleanup.** Dropping it sends SIGTERM to the group — supervisord stops
//! its programs and exits — then SIGKILL to whatever is left. A test
//! process killed outright cannot drop anything, so each supervisord also
//! has a reaper: a detached `sh` in its own process group that waits for the
//! test process to end and then kills the group.
//!
//! supervisord is installed on first use (`support::install_once`).

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Data centers started by this process so far: part of each address.
static STARTED: AtomicU32 = AtomicU32::new(0);

/// `supervisord`'s path, installing Debian's `supervisor` if it is missing.
pub fn binary() -> PathBuf {
    super::install_once("supervisor", || {
        ["/usr/bin/supervisord", "/usr/local/bin/supervisord"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
    })
}

/// A loopback address no other data center of any test process uses:
/// `127.A.B.C` from this process's id and a per-process counter.
fn fresh_addr() -> Ipv4Addr {
    let k = STARTED.fetch_add(1, Ordering::SeqCst);
    let s = std::process::id() % (250 * 250);
    Ipv4Addr::new(
        127,
        10 + (k % 90) as u8,
        (s / 250) as u8,
        2 + (s % 250) as u8,
    )
}

/// A loopback address and port where nothing listens (bound, then let go):
/// a data center that does not answer, refusing connections at once.
pub fn silent_url() -> String {
    let addr = fresh_addr();
    let port = super::free_port_on(addr);
    format!("http://{addr}:{port}/RPC2")
}

/// One data center's supervisord, stopped (with its programs) when dropped.
pub struct Supervisord {
    /// The data center's name, as the app's settings name it.
    pub name: String,
    /// Its XML-RPC endpoint: `http://127.A.B.C:PORT/RPC2`.
    pub url: String,
    /// `http://127.A.B.C:PORT/` — what an allow rule names.
    pub base: String,
    child: Child,
    reaper: Option<Child>,
    _dir: tempfile::TempDir,
}

impl Supervisord {
    /// supervisord for data center `name`, running `programs` (each
    /// `sleep 100000`), all RUNNING when this returns.
    pub async fn start(name: &str, programs: &[&str]) -> Supervisord {
        let binary = binary();
        let addr = fresh_addr();
        let mut last_error = String::new();
        // A port found free can be taken before supervisord binds it; try
        // another then.
        for _ in 0..5 {
            let port = super::free_port_on(addr);
            let dir = tempfile::tempdir().unwrap();
            let conf = dir.path().join("supervisord.conf");
            std::fs::write(&conf, config(dir.path(), addr, port, programs)).unwrap();
            let child = spawn(&binary, &conf, dir.path());
            let base = format!("http://{addr}:{port}/");
            let reaper = super::spawn_reaper(&super::group_cleanup(child.id()), "supervisord");
            let mut sv = Supervisord {
                name: name.to_string(),
                url: format!("{base}RPC2"),
                base,
                child,
                reaper,
                _dir: dir,
            };
            match sv.ready(programs).await {
                Ok(()) => return sv,
                Err(e) => last_error = format!("{e}\n{}", sv.log()),
            }
        }
        panic!("supervisord for {name} did not start: {last_error}");
    }

    /// Waits until it answers and every program is RUNNING.
    async fn ready(&mut self, programs: &[&str]) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("supervisord exited ({status})"));
            }
            let mut all = true;
            for program in programs {
                match self.state(program).await {
                    Ok(state) if state == "RUNNING" => {}
                    _ => all = false,
                }
            }
            if all {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err("not every program RUNNING within 20 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// supervisord's own log, for a failure's message.
    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("supervisord.log")).unwrap_or_default()
    }

    /// Calls `method` with string/boolean `params` (already XML-RPC
    /// `<value>`s) and returns the response body.
    pub async fn call(&self, method: &str, params: &[&str]) -> Result<String, String> {
        let params: String = params
            .iter()
            .map(|p| format!("<param>{p}</param>"))
            .collect();
        let body = format!(
            "<?xml version=\"1.0\"?><methodCall><methodName>{method}</methodName><params>{params}</params></methodCall>"
        );
        let response = client()
            .post(&self.url)
            .header("Content-Type", "text/xml")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{status}: {text}"));
        }
        Ok(text)
    }

    /// What supervisord says `process`'s state is: `RUNNING`, `STOPPED` …
    /// (or the fault, `BAD_NAME: x`).
    pub async fn state(&self, process: &str) -> Result<String, String> {
        let body = self
            .call(
                "supervisor.getProcessInfo",
                &[&format!("<value><string>{process}</string></value>")],
            )
            .await?;
        if body.contains("<fault>") {
            return Err(member(&body, "faultString").unwrap_or(body));
        }
        member(&body, "statename").ok_or(body)
    }

    /// The state of every process it runs, by name.
    pub async fn states(&self) -> std::collections::BTreeMap<String, String> {
        let body = self
            .call("supervisor.getAllProcessInfo", &[])
            .await
            .expect("getAllProcessInfo");
        let mut states = std::collections::BTreeMap::new();
        for process in body.split("<struct>").skip(1) {
            if let (Some(name), Some(state)) =
                (member(process, "name"), member(process, "statename"))
            {
                states.insert(name, state);
            }
        }
        states
    }
}

/// The string value of struct member `name` in an XML-RPC body.
fn member(body: &str, name: &str) -> Option<String> {
    let at = body.find(&format!("<name>{name}</name>"))?;
    let rest = &body[at..];
    let start = rest.find("<string>")? + "<string>".len();
    let end = rest[start..].find("</string>")?;
    Some(rest[start..start + end].to_string())
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn config(dir: &std::path::Path, addr: Ipv4Addr, port: u16, programs: &[&str]) -> String {
    let dir = dir.display();
    let mut text = format!(
        "[supervisord]\n\
         nodaemon=true\n\
         user=root\n\
         logfile={dir}/supervisord.log\n\
         pidfile={dir}/supervisord.pid\n\
         childlogdir={dir}\n\
         \n\
         [inet_http_server]\n\
         port={addr}:{port}\n\
         \n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
    );
    for program in programs {
        text.push_str(&format!(
            "\n[program:{program}]\ncommand=sleep 100000\nautostart=true\nstartsecs=0\nstopwaitsecs=5\nstopasgroup=true\nkillasgroup=true\n"
        ));
    }
    text
}

fn spawn(binary: &PathBuf, conf: &std::path::Path, dir: &std::path::Path) -> Child {
    use std::os::unix::process::CommandExt;
    Command::new(binary)
        .arg("-c")
        .arg(conf)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()))
}

impl Drop for Supervisord {
    fn drop(&mut self) {
        let pgid = self.child.id();
        super::kill_group(pgid, "TERM");
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Whatever is left of the group (a program that ignored SIGTERM).
        super::kill_group(pgid, "KILL");
        self.child.kill().ok();
        self.child.wait().ok();
        if let Some(mut reaper) = self.reaper.take() {
            reaper.kill().ok();
            reaper.wait().ok();
        }
    }
}
