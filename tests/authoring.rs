//! `botyard new` and `botyard dev` as a hack-day team uses them: a new app
//! in each language answers at once, and under `botyard dev` a saved edit
//! changes the answer without a restart while a broken save is reported with
//! its location and the old version keeps answering.
//!
//! Every test shares one build directory (`--build-dir`) so the guest
//! toolchains install once per run; the data directory is fresh each time.

use crate::support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn botyard(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_botyard"));
    cmd.current_dir(cwd)
        .arg("--build-dir")
        .arg(support::shared_build_dir());
    cmd
}

fn new_app(cwd: &Path, name: &str, lang: &str) {
    let out = botyard(cwd)
        .args(["new", name, "--lang", lang])
        .output()
        .expect("running botyard new");
    assert!(
        out.status.success(),
        "botyard new {name} --lang {lang}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn call(cwd: &Path, line: &str) -> serde_json::Value {
    let out = botyard(cwd)
        .args(["call", line, "--user", "U1", "--json"])
        .output()
        .expect("running botyard call");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "botyard call {line}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn new_app_answers_at_once(lang: &str) {
    let cwd = tempfile::tempdir().unwrap();
    // Made inside someone's Cargo workspace: a Rust app must still build
    // on its own (cargo would otherwise take it for a member left out).
    std::fs::write(cwd.path().join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
    new_app(cwd.path(), "demo", lang);
    let answer = call(cwd.path(), "/demo");
    assert_eq!(answer["app"], "demo", "{answer}");
    assert_eq!(
        answer["reply"]["text"], "Hello, <@U1>! You have said hello 1 time(s).",
        "{answer}"
    );
    // It is the starter's app under the new name, store and button included.
    let again = call(cwd.path(), "/demo world");
    assert_eq!(
        again["reply"]["text"],
        "Hello, world! You have said hello 2 time(s)."
    );
    let blocks = again["reply"]["blocks"].to_string();
    assert!(blocks.contains("\"count\""), "{blocks}");
    // The old command is gone.
    let out = botyard(cwd.path())
        .args(["call", "/hello", "--json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn a_new_rust_app_answers_at_once() {
    new_app_answers_at_once("rust");
}

#[test]
fn a_new_js_app_answers_at_once() {
    new_app_answers_at_once("js");
}

#[test]
fn a_new_python_app_answers_at_once() {
    new_app_answers_at_once("python");
}

#[test]
fn new_refuses_an_existing_directory_and_changes_nothing() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::create_dir(cwd.path().join("demo")).unwrap();
    std::fs::write(cwd.path().join("demo/notes.txt"), "mine").unwrap();
    let out = botyard(cwd.path())
        .args(["new", "demo", "--lang", "js"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already exists"), "{stderr}");
    let entries: Vec<_> = std::fs::read_dir(cwd.path().join("demo"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(entries, ["notes.txt"]);
    assert!(!cwd.path().join(".botyard/apps").exists());
}

/// `botyard dev` as a child: slash commands go in on stdin, replies come out
/// on stdout, build progress and errors on stderr.
struct Dev {
    child: Child,
    stdin: ChildStdin,
    stdout: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Drop for Dev {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Every wait below is bounded by this (a first Rust build may compile the
/// wasm standard library).
const BOUND: Duration = Duration::from_secs(300);

impl Dev {
    fn start(cwd: &Path, app_dir: &str) -> Dev {
        let mut child = botyard(cwd)
            .args(["dev", "--port", "0", app_dir])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting botyard dev");
        let stdin = child.stdin.take().unwrap();
        let (tx, stdout) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        let mut dev = Dev {
            child,
            stdin,
            stdout,
            stderr,
        };
        let line = dev.next_line_containing("workbench at");
        assert!(line.contains("http://127.0.0.1:"), "{line}");
        dev
    }

    fn next_line_containing(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + BOUND;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "no stdout line with {needle:?}; stderr:\n{}",
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    /// The reply text to `line`, typed on the console.
    fn reply(&mut self, line: &str) -> String {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
        self.next_line_containing("reply (")
    }

    /// Waits until stderr has `count` occurrences of `needle`.
    fn wait_stderr(&self, needle: &str, count: usize) -> String {
        let deadline = Instant::now() + BOUND;
        loop {
            let all = self.stderr.lock().unwrap().clone();
            if all.matches(needle).count() >= count {
                return all;
            }
            assert!(
                Instant::now() < deadline,
                "stderr never had {count}× {needle:?}:\n{all}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn dev_rebuilds_on_save_and_keeps_the_old_version_through_a_broken_one() {
    let cwd = tempfile::tempdir().unwrap();
    new_app(cwd.path(), "demo", "rust");
    let source = cwd.path().join("demo/src/lib.rs");
    let original = std::fs::read_to_string(&source).unwrap();

    let mut dev = Dev::start(cwd.path(), "demo");
    let first = dev.reply("/demo");
    assert!(first.contains("Hello, <@"), "{first}");

    // A saved edit: the running host answers with it, no restart.
    let answering = "demo is answering with the new build";
    std::fs::write(
        &source,
        original.replace(
            "const GREETING: &str = \"Hello\"",
            "const GREETING: &str = \"Howdy\"",
        ),
    )
    .unwrap();
    dev.wait_stderr(answering, 1);
    let edited = dev.reply("/demo");
    assert!(edited.contains("Howdy, <@"), "{edited}");

    // A broken save: reported with file:line, the edited version still answers.
    let broken = original.replace(
        "const GREETING: &str = \"Hello\";",
        "const GREETING: &str = \"Hello\"",
    );
    assert_ne!(
        broken, original,
        "the starter still declares GREETING as expected"
    );
    std::fs::write(&source, broken).unwrap();
    let errors = dev.wait_stderr("failed to build", 1);
    assert!(errors.contains("src/lib.rs:"), "location shown:\n{errors}");
    let still = dev.reply("/demo");
    assert!(still.contains("Howdy, <@"), "{still}");

    // Fixed: the next command reaches the new version.
    std::fs::write(&source, &original).unwrap();
    dev.wait_stderr(answering, 2);
    let fixed = dev.reply("/demo");
    assert!(fixed.contains("Hello, <@"), "{fixed}");
}
