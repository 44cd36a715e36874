//! A Chromium driver over the DevTools Protocol: one WebSocket to the
//! browser, one flattened session per page. Chromium is installed with
//! apt-get on first use. Used by the workbench tests and bench.
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// Per DevTools command; page waits have their own bounds.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Chromium's executable, installed with apt-get when missing (we run as
/// root on the build machines).
pub fn chromium() -> PathBuf {
    super::install_once("chromium", find)
}

fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A headless Chromium, killed when dropped.
pub struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    outgoing: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next_id: Arc<AtomicU64>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Browser {
    pub async fn launch() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(chromium())
            .args([
                "--headless=new",
                "--remote-debugging-port=0",
                // Root cannot use Chromium's sandbox; the pages are our own.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-extensions",
                "--hide-scrollbars",
                "--force-color-profile=srgb",
                "--window-size=1440,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting chromium");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads until Chromium names its DevTools socket, then keeps
        // draining so Chromium never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("DevTools listening on ").nth(1)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("chromium printed its DevTools address");
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("connecting to chromium's DevTools socket");
        let (mut sink, mut stream) = socket.split();
        let (outgoing, mut queue) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(message) = queue.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        });
        let pending: Pending = Arc::default();
        let answers = pending.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                if let Some(id) = value["id"].as_u64()
                    && let Some(tx) = answers.lock().unwrap().remove(&id)
                {
                    let _ = tx.send(value);
                }
            }
        });
        Browser {
            child,
            _profile: profile,
            outgoing,
            pending,
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    fn client(&self, session: Option<String>) -> Client {
        Client {
            outgoing: self.outgoing.clone(),
            pending: self.pending.clone(),
            next_id: self.next_id.clone(),
            session,
        }
    }

    /// A new tab of `width`×`height` CSS pixels showing `url`.
    pub async fn open(&self, url: &str, width: u32, height: u32) -> Page {
        let browser = self.client(None);
        let target = browser
            .call("Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let session = browser
            .call(
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        let page = Page {
            client: self.client(Some(session)),
        };
        page.client
            .call(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
            )
            .await;
        page.client.call("Page.navigate", json!({"url": url})).await;
        page
    }
}

#[derive(Clone)]
struct Client {
    outgoing: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next_id: Arc<AtomicU64>,
    session: Option<String>,
}

impl Client {
    async fn call(&self, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        let mut command = json!({"id": id, "method": method, "params": params});
        if let Some(session) = &self.session {
            command["sessionId"] = json!(session);
        }
        self.outgoing
            .send(Message::Text(command.to_string().into()))
            .expect("the DevTools socket is open");
        let answer = tokio::time::timeout(COMMAND_TIMEOUT, rx)
            .await
            .unwrap_or_else(|_| panic!("{method} answered within {COMMAND_TIMEOUT:?}"))
            .expect("chromium answered");
        if let Some(error) = answer.get("error") {
            panic!("{method} failed: {error}");
        }
        answer["result"].clone()
    }
}

/// One tab.
pub struct Page {
    client: Client,
}

impl Page {
    /// Evaluates `expression` (awaiting a promise) and returns its value.
    pub async fn eval(&self, expression: &str) -> Value {
        self.try_eval(expression)
            .await
            .unwrap_or_else(|e| panic!("page script failed: {e}\n{expression}"))
    }

    async fn try_eval(&self, expression: &str) -> Result<Value, String> {
        let result = self
            .client
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        match result.get("exceptionDetails") {
            Some(exception) => Err(exception.to_string()),
            None => Ok(result["result"]["value"].clone()),
        }
    }

    /// Polls `expression` until it is truthy; returns its value. A script
    /// error counts as "not yet" (the page may still be loading).
    pub async fn wait_for(&self, what: &str, expression: &str, bound: Duration) -> Value {
        let started = Instant::now();
        loop {
            let value = self.try_eval(expression).await;
            let truthy = match &value {
                Ok(Value::Null) | Err(_) => false,
                Ok(Value::Bool(b)) => *b,
                Ok(Value::Number(n)) => n.as_f64() != Some(0.0),
                Ok(Value::String(s)) => !s.is_empty(),
                Ok(_) => true,
            };
            if truthy {
                return value.unwrap_or_default();
            }
            assert!(
                started.elapsed() < bound,
                "timed out after {bound:?} waiting for {what}; last: {value:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Clicks the centre of the first element matching `selector` with
    /// the mouse, as a person would (it must be visible and on top).
    pub async fn click(&self, selector: &str) {
        let at = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({sel}); if (!e) return null;
                   e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect();
                   const x = r.left + r.width / 2, y = r.top + r.height / 2;
                   const hit = document.elementFromPoint(x, y);
                   return {{x, y, onTop: hit === e || e.contains(hit)}}; }})()",
                sel = json!(selector)
            ))
            .await;
        assert!(!at.is_null(), "no element matches {selector}");
        assert_eq!(
            at["onTop"], true,
            "{selector} is covered by another element"
        );
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.client
                .call(
                    "Input.dispatchMouseEvent",
                    json!({"type": kind, "x": at["x"], "y": at["y"], "button": "left", "clickCount": 1}),
                )
                .await;
        }
    }

    /// Types `text` into the focused element.
    pub async fn type_text(&self, text: &str) {
        self.client
            .call("Input.insertText", json!({"text": text}))
            .await;
    }

    pub async fn press_enter(&self) {
        for kind in ["keyDown", "keyUp"] {
            self.client
                .call(
                    "Input.dispatchKeyEvent",
                    json!({"type": kind, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": if kind == "keyDown" { "\r" } else { "" }}),
                )
                .await;
        }
    }

    /// Saves a PNG of the viewport.
    pub async fn screenshot(&self, path: &Path) {
        let shot = self
            .client
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("screenshot is base64");
        std::fs::write(path, png).expect("writing the screenshot");
    }
}
