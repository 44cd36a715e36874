//! A real S3 for the tests: moto (PyPI `moto[server]`, the AWS stand-in
//! botocore's own tests use) run as a server on loopback, checking AWS
//! Signature Version 4 on every request the way AWS does.
//!
//! - **Installed on first use** into a venv under the cargo target
//!   directory (`$CARGO_TARGET_TMPDIR/moto/venv`), pinned ([`MOTO`]), under a
//!   file lock so test processes running at once install it once; a
//!   `python3` that cannot make venvs gets Debian's `python3-venv` first
//!   ([`super::install_once`]).
//! - **One server per [`Moto`]** on a free loopback port, stopped when it is
//!   dropped, and by a reaper (a `sh` loop in a session of its own) if the
//!   test process dies without dropping it.
//! - **Signatures checked**: moto checks them only once its count of
//!   unauthenticated actions (`INITIAL_NO_AUTH_ACTION_COUNT`) is used up.
//!   [`Moto::start`] starts it with a count no setup reaches, and
//!   [`Moto::s3_user`] sets up an IAM user with an access key allowed all of
//!   S3 and the buckets, then sets the count to 0 (`/moto-api/reset-auth`):
//!   from then on every request must be signed with that key, or moto
//!   answers 403 (`SignatureDoesNotMatch`, `InvalidAccessKeyId`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// What is installed: moto with its server's dependencies (Flask, Werkzeug).
pub const MOTO: &str = "moto[server]==5.2.5";

/// A moto server on 127.0.0.1, stopped on drop.
pub struct Moto {
    port: u16,
    child: Child,
    reaper: Child,
    /// Holds the server's log.
    dir: tempfile::TempDir,
}

/// An IAM access key: the id and the secret it signs with.
#[derive(Clone)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccessKey({}, <secret>)", self.id)
    }
}

/// How long moto may take to answer once started (it imports a lot).
const STARTUP: Duration = Duration::from_secs(90);

impl Moto {
    /// Installs moto if needed and starts a server that does not check
    /// signatures yet (see [`Moto::s3_user`]).
    pub async fn start() -> Moto {
        let python = tokio::task::spawn_blocking(venv_python)
            .await
            .expect("installing moto");
        let mut last = String::new();
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("server-")
                .tempdir_in(root())
                .expect("creating a directory for moto");
            let log = dir.path().join("moto.log");
            let port = super::free_port();
            let child = Command::new(&python)
                .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
                .arg(port.to_string())
                // No check until setup is done: `s3_user` sets it to 0.
                .env("INITIAL_NO_AUTH_ACTION_COUNT", "1000000")
                .env_remove("PYTHONPATH")
                .env_remove("PYTHONHOME")
                .env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY")
                .stdin(Stdio::null())
                .stdout(File::create(&log).expect("creating moto's log"))
                .stderr(File::create(dir.path().join("moto.err")).expect("creating moto's log"))
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", python.display()));
            let reaper = reap(child.id());
            let mut moto = Moto {
                port,
                child,
                reaper,
                dir,
            };
            if moto.wait_until_it_answers().await {
                return moto;
            }
            last = moto.log();
            // A port taken meanwhile: another port.
        }
        panic!("moto did not start; its log:\n{last}");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the server wrote so far.
    pub fn log(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!("{}{}", read("moto.log"), read("moto.err"))
    }

    async fn wait_until_it_answers(&mut self) -> bool {
        let client = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < STARTUP {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            let answered = client
                .get(format!("{}/moto-api/", self.url()))
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            if answered.is_ok_and(|r| r.status().is_success()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Creates IAM user `botyard` with an access key and a policy allowing
    /// all of S3, and `buckets`; then turns signature checks on for every
    /// request after. Call it once, first.
    pub async fn s3_user(&self, buckets: &[&str]) -> AccessKey {
        let client = reqwest::Client::new();
        // IAM's query API. Moto tells services apart on loopback by the
        // credential scope of the Authorization header; while checks are
        // off, the signature itself is not looked at.
        let iam = |form: Vec<(&'static str, String)>| {
            let request = client
                .post(self.url())
                .header(
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/iam/aws4_request, \
                     SignedHeaders=host, Signature=0",
                )
                .form(&[&[("Version", "2010-05-08".to_string())][..], &form[..]].concat());
            async move {
                let response = request.send().await.expect("calling moto's IAM");
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                assert!(status.is_success(), "moto's IAM answered {status}: {body}");
                body
            }
        };
        let user = || ("UserName", "botyard".to_string());
        iam(vec![("Action", "CreateUser".into()), user()]).await;
        let created = iam(vec![("Action", "CreateAccessKey".into()), user()]).await;
        let key = AccessKey {
            id: element(&created, "AccessKeyId"),
            secret: element(&created, "SecretAccessKey"),
        };
        iam(vec![
            ("Action", "PutUserPolicy".into()),
            user(),
            ("PolicyName", "s3".into()),
            (
                "PolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#
                    .into(),
            ),
        ])
        .await;
        for bucket in buckets {
            let response = client
                .put(format!("{}/{bucket}", self.url()))
                .send()
                .await
                .expect("creating a bucket in moto");
            assert!(
                response.status().is_success(),
                "creating bucket {bucket}: {}",
                response.status()
            );
        }
        let response = client
            .post(format!("{}/moto-api/reset-auth", self.url()))
            .header("content-type", "text/plain")
            .body("0")
            .send()
            .await
            .expect("turning moto's signature checks on");
        assert!(
            response.status().is_success(),
            "reset-auth: {}",
            response.status()
        );
        key
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        self.reaper.kill().ok();
        self.reaper.wait().ok();
    }
}

/// The text of the first `<name>` element of an XML answer.
fn element(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{name}> in {xml}"))
        + open.len();
    let end = xml[start..]
        .find(&format!("</{name}>"))
        .unwrap_or_else(|| panic!("no </{name}> in {xml}"));
    xml[start..start + end].to_string()
}

/// Stops server `pid` once this test process is gone, however it went.
fn reap(pid: u32) -> Child {
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; kill -KILL {pid} 2>/dev/null",
        me = std::process::id(),
    );
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting moto's reaper")
}

/// Where the venv and the servers' logs live: under the cargo target
/// directory, shared by every test binary.
fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("moto");
    std::fs::create_dir_all(&root).expect("creating the test moto directory");
    root
}

/// The venv's python, with [`MOTO`] installed in it; installed first (one
/// process at a time) when it is not.
pub fn venv_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = root().join("venv");
            let python = venv.join("bin").join("python");
            let marker = venv.join("botyard-installed");
            let installed = || {
                std::fs::read_to_string(&marker).is_ok_and(|m| m == MOTO)
                    && Command::new(&python)
                        .args(["-c", "import moto.server"])
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status()
                        .is_ok_and(|s| s.success())
            };
            if installed() {
                return python;
            }
            let lock = File::create(root().join("install.lock")).expect("creating a lock file");
            lock.lock().expect("locking");
            if installed() {
                return python;
            }
            let base = base_python();
            if venv.exists() {
                std::fs::remove_dir_all(&venv).expect("removing a broken moto venv");
            }
            eprintln!("installing {MOTO} into {} (one time)…", venv.display());
            run(Command::new(&base).args(["-m", "venv"]).arg(&venv));
            run(Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                    "-q",
                ])
                .arg(MOTO));
            std::fs::write(&marker, MOTO).expect("marking the moto venv installed");
            assert!(
                installed(),
                "{MOTO} installed into {} but `import moto.server` fails",
                venv.display()
            );
            python
        })
        .clone()
}

/// A `python3` that can make a venv (`venv` and `ensurepip`): the first on
/// PATH, else Debian's, installed with `python3-venv` when missing.
fn base_python() -> PathBuf {
    let can_make_venvs = |python: &Path| {
        Command::new(python)
            .args(["-c", "import venv, ensurepip"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let found = || {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
            .map(|dir| dir.join("python3"))
            .chain([PathBuf::from("/usr/bin/python3")])
            .filter(|p| p.is_file())
            .find(|p| can_make_venvs(p))
    };
    super::install_once("python3-venv", found)
}

fn run(command: &mut Command) {
    let out = command
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .env_remove("VIRTUAL_ENV")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed (pip must reach PyPI):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
