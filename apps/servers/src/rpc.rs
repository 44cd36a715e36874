//! supervisord's XML-RPC API, as this app uses it: the calls it makes
//! (`supervisor.getAllProcessInfo`, `getProcessInfo`, `startProcess`,
//! `stopProcess`), what they answer (process info structs, booleans) and
//! the faults supervisord raises, turned into words.
//!
//! **Why `dxr` for the XML.** It is a maintained crate (0.9, 2025) whose core
//! is only XML-RPC's values, method calls, method responses and fault
//! responses over `quick-xml` and `serde` — the transports live in separate
//! crates (`dxr_client`, `dxr_server`), so nothing of an HTTP stack comes
//! along, and it builds for the wasm guest as it is. The other candidates:
//! `xmlrpc` (0.15) ties its request type to `reqwest` (its parser is
//! private, and without the `http` feature there is no way to read a
//! response); a hand-written encoder over `quick-xml` would repeat what
//! `dxr` already does with XML-RPC's escaping and the empty-`<string/>` and
//! untyped-`<value>` cases. The HTTP itself is botyard's `http` capability
//! ([`Supervisor::call`]), so every request passes the operator's
//! allow-list and is audited.
//!
//! Each call names its method in the URL's query (`…/RPC2?call=supervisor.stopProcess`):
//! supervisord routes by the path alone and ignores it (the end-to-end tests
//! call the real one this way), and it makes XML-RPC calls, which are all a
//! `POST` to one path, tell apart to whatever sits between the app and
//! supervisord — a proxy's log, or the test kit's HTTP stand-in, which
//! answers by path and query.

use std::fmt;

use botyard_sdk::http;
pub use dxr::Value;
use dxr::{FaultResponse, MethodCall, MethodResponse};

/// One data center's supervisord: its name (as people type it) and the
/// URL of its XML-RPC endpoint (`http://10.0.0.5:9001/RPC2`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Supervisor {
    pub name: String,
    pub url: String,
}

/// Why a call has no answer to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// No answer: refused, timed out, not allowed, not HTTP 200 — the data
    /// center "did not answer". The text says why.
    Unreachable(String),
    /// supervisord answered with a fault.
    Fault(Fault),
    /// It answered, but not with XML-RPC this app understands.
    Garbled(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Unreachable(why) => write!(f, "did not answer ({why})"),
            CallError::Fault(fault) => write!(f, "{}", fault.explain()),
            CallError::Garbled(why) => write!(
                f,
                "answered something that is not supervisord's XML-RPC ({why})"
            ),
        }
    }
}

/// A fault supervisord raised: its code and its text, `BAD_NAME: web-9`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: i32,
    pub text: String,
}

/// supervisord's fault codes (`supervisor/xmlrpc.py`, class `Faults`).
pub mod faults {
    pub const UNKNOWN_METHOD: i32 = 1;
    pub const INCORRECT_PARAMETERS: i32 = 2;
    pub const BAD_ARGUMENTS: i32 = 3;
    pub const SHUTDOWN_STATE: i32 = 6;
    pub const BAD_NAME: i32 = 10;
    pub const NO_FILE: i32 = 20;
    pub const NOT_EXECUTABLE: i32 = 21;
    pub const FAILED: i32 = 30;
    pub const ABNORMAL_TERMINATION: i32 = 40;
    pub const SPAWN_ERROR: i32 = 50;
    pub const ALREADY_STARTED: i32 = 60;
    pub const NOT_RUNNING: i32 = 70;
}

impl Fault {
    /// What follows the fault's name in its text (`web-9` of `BAD_NAME:
    /// web-9`), or the whole text.
    fn detail(&self) -> &str {
        match self.text.split_once(": ") {
            Some((name, rest))
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_') =>
            {
                rest
            }
            _ => &self.text,
        }
    }

    /// The fault in words, for people.
    pub fn explain(&self) -> String {
        use faults::*;
        let detail = self.detail();
        match self.code {
            BAD_NAME => format!("supervisord has no process `{detail}`"),
            ALREADY_STARTED => format!("`{detail}` is already running"),
            NOT_RUNNING => format!("`{detail}` is not running"),
            SPAWN_ERROR => {
                format!("`{detail}` could not be started (supervisord: spawn error; see its log)")
            }
            ABNORMAL_TERMINATION => format!(
                "`{detail}` exited as soon as it started (supervisord: abnormal termination)"
            ),
            NO_FILE => format!("the command of `{detail}` does not exist"),
            NOT_EXECUTABLE => format!("the command of `{detail}` is not executable"),
            SHUTDOWN_STATE => "supervisord is shutting down".to_string(),
            FAILED => format!("supervisord says it failed: {detail}"),
            UNKNOWN_METHOD | INCORRECT_PARAMETERS | BAD_ARGUMENTS => format!(
                "this does not look like the supervisord API the app speaks (fault {}: {})",
                self.code, self.text
            ),
            _ => format!("supervisord fault {}: {}", self.code, self.text),
        }
    }
}

/// A process as `getProcessInfo` / `getAllProcessInfo` describe it (the
/// members this app shows; the rest is ignored).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Process {
    pub name: String,
    pub group: String,
    /// `RUNNING`, `STOPPED`, `STARTING`, `BACKOFF`, `STOPPING`, `EXITED`,
    /// `FATAL`, `UNKNOWN`.
    pub statename: String,
    /// supervisord's own line: `pid 123, uptime 0:01:02`, `Dec 04 07:53 PM`,
    /// `Exited too quickly (process log may have details)`.
    pub description: String,
    pub pid: i32,
    pub exitstatus: i32,
    pub spawnerr: String,
}

impl Process {
    /// The name supervisord takes in calls and people type: `web-1`, or
    /// `group:name` when the process is one of a group's several.
    pub fn full_name(&self) -> String {
        if self.group == self.name || self.group.is_empty() {
            self.name.clone()
        } else {
            format!("{}:{}", self.group, self.name)
        }
    }

    pub fn running(&self) -> bool {
        matches!(self.statename.as_str(), "RUNNING" | "STARTING")
    }

    fn from_value(value: &Value) -> Result<Process, String> {
        let Value::Struct(members) = value else {
            return Err("a process is not a struct".into());
        };
        let text = |key: &str| match members.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            None => Ok(String::new()),
            Some(_) => Err(format!("`{key}` is not a string")),
        };
        let int = |key: &str| match members.get(key) {
            Some(Value::Integer(i)) => Ok(*i),
            None => Ok(0),
            Some(_) => Err(format!("`{key}` is not an int")),
        };
        let name = text("name")?;
        if name.is_empty() {
            return Err("a process has no name".into());
        }
        Ok(Process {
            name,
            group: text("group")?,
            statename: text("statename")?,
            description: text("description")?,
            pid: int("pid")?,
            exitstatus: int("exitstatus")?,
            spawnerr: text("spawnerr")?,
        })
    }
}

/// The body of a call to `method` with `params`.
pub fn encode_call(method: &str, params: Vec<Value>) -> String {
    let call = MethodCall {
        name: method.into(),
        params,
    };
    // dxr writes only what it holds; strings and booleans always serialise.
    let body = call.to_xml().unwrap_or_default();
    format!("<?xml version=\"1.0\"?>\n{body}")
}

/// What a response body says: the returned value, or the fault.
pub fn decode_response(body: &str) -> Result<Value, CallError> {
    if let Ok(response) = MethodResponse::from_xml(body) {
        return Ok(response.value);
    }
    if let Ok(fault) = FaultResponse::from_xml(body) {
        return Err(CallError::Fault(Fault {
            code: fault.fault.code(),
            text: fault.fault.string().to_string(),
        }));
    }
    let start: String = body.trim().chars().take(80).collect();
    Err(CallError::Garbled(if start.is_empty() {
        "an empty body".into()
    } else {
        format!("it begins `{start}`")
    }))
}

/// `getAllProcessInfo`'s answer.
pub fn decode_processes(value: &Value) -> Result<Vec<Process>, CallError> {
    let Value::Array(items) = value else {
        return Err(CallError::Garbled(
            "the process list is not an array".into(),
        ));
    };
    items
        .iter()
        .map(|v| Process::from_value(v).map_err(CallError::Garbled))
        .collect()
}

/// `getProcessInfo`'s answer.
pub fn decode_process(value: &Value) -> Result<Process, CallError> {
    Process::from_value(value).map_err(CallError::Garbled)
}

/// `startProcess` / `stopProcess` answer `true`; supervisord raises a
/// fault rather than answer `false`, but a `false` is reported too.
pub fn decode_done(value: &Value, method: &str) -> Result<(), CallError> {
    match value {
        Value::Boolean(true) => Ok(()),
        Value::Boolean(false) => Err(CallError::Fault(Fault {
            code: faults::FAILED,
            text: format!("FAILED: {method} answered false"),
        })),
        _ => Err(CallError::Garbled(format!(
            "{method} did not answer a boolean"
        ))),
    }
}

impl Supervisor {
    /// Calls `method` over botyard's `http` capability, giving up after
    /// `timeout_ms`.
    pub fn call(
        &self,
        method: &str,
        params: Vec<Value>,
        timeout_ms: u32,
    ) -> Result<Value, CallError> {
        let response = http::post(&self.url)
            .query(&[("call", method)])
            .header("Content-Type", "text/xml")
            .body(encode_call(method, params))
            .timeout_ms(timeout_ms)
            .send()
            .map_err(|e| CallError::Unreachable(unreachable_reason(&e)))?;
        if response.status == 401 {
            return Err(CallError::Unreachable(
                "401: supervisord wants a user and password; attach them to its allow rule in botyard.toml (`basic = { … }`)".into(),
            ));
        }
        if !response.is_success() {
            return Err(CallError::Unreachable(format!("HTTP {}", response.status)));
        }
        decode_response(&response.text())
    }

    pub fn all_processes(&self, timeout_ms: u32) -> Result<Vec<Process>, CallError> {
        decode_processes(&self.call("supervisor.getAllProcessInfo", vec![], timeout_ms)?)
    }

    pub fn process(&self, name: &str, timeout_ms: u32) -> Result<Process, CallError> {
        decode_process(&self.call(
            "supervisor.getProcessInfo",
            vec![Value::String(name.into())],
            timeout_ms,
        )?)
    }

    /// `startProcess(name, wait=true)`: answers once supervisord has it
    /// running (or gave up).
    pub fn start(&self, name: &str, timeout_ms: u32) -> Result<(), CallError> {
        let method = "supervisor.startProcess";
        let params = vec![Value::String(name.into()), Value::Boolean(true)];
        decode_done(&self.call(method, params, timeout_ms)?, method)
    }

    /// `stopProcess(name, wait=true)`: answers once it has stopped.
    pub fn stop(&self, name: &str, timeout_ms: u32) -> Result<(), CallError> {
        let method = "supervisor.stopProcess";
        let params = vec![Value::String(name.into()), Value::Boolean(true)];
        decode_done(&self.call(method, params, timeout_ms)?, method)
    }
}

/// Why there was no response, in few words (the host's text names the URL
/// and, for a URL no rule allows, the rule to add).
fn unreachable_reason(error: &http::Error) -> String {
    match error {
        http::Error::NotAllowed(text) => format!("botyard.toml does not allow it: {text}"),
        http::Error::Timeout(_) => "no answer in time".into(),
        http::Error::Transport(text) => transport_reason(text),
        other => other.to_string(),
    }
}

/// The host's transport error in few words: `http://…/RPC2: client error
/// (Connect): tcp connect error: Connection refused (os error 111)` →
/// `connection refused` (the data center's name is said beside it).
fn transport_reason(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    for (found, said) in [
        ("connection refused", "connection refused"),
        ("connection reset", "connection reset"),
        ("timed out", "no answer in time"),
        ("dns error", "its host name does not resolve"),
        ("no route to host", "no route to host"),
        ("network is unreachable", "network unreachable"),
        ("certificate", "its TLS certificate was refused"),
    ] {
        if lower.contains(found) {
            return said.into();
        }
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    // Captured from supervisord 4.2.5 (Debian's `supervisor`), as it
    // answered the calls this app makes; only the log paths were changed.
    const ALL: &str = include_str!("fixtures/all.xml");
    const BAD_NAME: &str = include_str!("fixtures/bad_name.xml");
    const STOP_OK: &str = include_str!("fixtures/stop_ok.xml");
    const NOT_RUNNING: &str = include_str!("fixtures/not_running.xml");
    const INFO_STOPPED: &str = include_str!("fixtures/info_stopped.xml");
    const ALREADY_STARTED: &str = include_str!("fixtures/already_started.xml");

    #[test]
    fn reads_supervisords_process_list() {
        let processes = decode_processes(&decode_response(ALL).unwrap()).unwrap();
        let names: Vec<String> = processes.iter().map(Process::full_name).collect();
        assert_eq!(names, ["web-1", "web-2"]);
        let web1 = &processes[0];
        assert_eq!(web1.statename, "RUNNING");
        assert_eq!(web1.pid, 22056);
        assert_eq!(web1.description, "pid 22056, uptime 0:00:01");
        assert_eq!(web1.spawnerr, "", "an empty <string></string>");
        assert!(web1.running());
    }

    #[test]
    fn reads_one_stopped_process() {
        let process = decode_process(&decode_response(INFO_STOPPED).unwrap()).unwrap();
        assert_eq!(
            (process.name.as_str(), process.statename.as_str()),
            ("web-2", "STOPPED")
        );
        assert_eq!(process.description, "Dec 04 07:53 PM");
        assert_eq!(process.pid, 0);
        assert!(!process.running());
    }

    #[test]
    fn start_and_stop_answer_true() {
        let value = decode_response(STOP_OK).unwrap();
        assert_eq!(decode_done(&value, "supervisor.stopProcess"), Ok(()));
        let refused = decode_done(&Value::Boolean(false), "supervisor.stopProcess").unwrap_err();
        assert!(refused.to_string().contains("answered false"), "{refused}");
    }

    #[test]
    fn faults_become_words() {
        let fault = |body: &str| match decode_response(body) {
            Err(CallError::Fault(fault)) => fault,
            other => panic!("not a fault: {other:?}"),
        };
        let bad = fault(BAD_NAME);
        assert_eq!(
            (bad.code, bad.text.as_str()),
            (faults::BAD_NAME, "BAD_NAME: nope")
        );
        assert_eq!(bad.explain(), "supervisord has no process `nope`");
        let not_running = fault(NOT_RUNNING);
        assert_eq!(not_running.code, faults::NOT_RUNNING);
        assert_eq!(not_running.explain(), "`web-2` is not running");
        let started = fault(ALREADY_STARTED);
        assert_eq!(started.code, faults::ALREADY_STARTED);
        assert_eq!(started.explain(), "`web-1` is already running");
        let spawn = Fault {
            code: faults::SPAWN_ERROR,
            text: "SPAWN_ERROR: api".into(),
        };
        assert!(spawn.explain().contains("`api` could not be started"));
        let odd = Fault {
            code: 99,
            text: "SOMETHING: else".into(),
        };
        assert_eq!(odd.explain(), "supervisord fault 99: SOMETHING: else");
    }

    #[test]
    fn what_is_not_xml_rpc_is_said_so() {
        for body in ["", "<html>Bad Gateway</html>", "{\"ok\":true}"] {
            let error = decode_response(body).unwrap_err();
            assert!(matches!(error, CallError::Garbled(_)), "{body}: {error:?}");
            assert!(
                error.to_string().contains("not supervisord's XML-RPC"),
                "{error}"
            );
        }
        let not_a_list = decode_processes(&Value::Boolean(true)).unwrap_err();
        assert!(matches!(not_a_list, CallError::Garbled(_)));
    }

    #[test]
    fn calls_are_written_as_supervisord_reads_them() {
        let body = encode_call(
            "supervisor.stopProcess",
            vec![Value::String("web-1 & <co>".into()), Value::Boolean(true)],
        );
        assert!(body.starts_with("<?xml version=\"1.0\"?>"), "{body}");
        assert!(
            body.contains("<methodName>supervisor.stopProcess</methodName>"),
            "{body}"
        );
        assert!(body.contains("web-1 &amp; &lt;co&gt;"), "escaped: {body}");
        assert!(body.contains("<boolean>1</boolean>"), "{body}");
        // What we write, dxr (and so supervisord's Python) reads back.
        let call =
            MethodCall::from_xml(body.trim_start_matches("<?xml version=\"1.0\"?>\n")).unwrap();
        assert_eq!(call.params[0], Value::String("web-1 & <co>".into()));
        let empty = encode_call("supervisor.getAllProcessInfo", vec![]);
        assert!(
            empty.contains("<methodName>supervisor.getAllProcessInfo</methodName>"),
            "{empty}"
        );
    }

    #[test]
    fn transport_errors_are_said_in_few_words() {
        let refused = "http://127.0.0.1:9002/RPC2: client error (Connect): tcp connect error: Connection refused (os error 111)";
        assert_eq!(transport_reason(refused), "connection refused");
        assert_eq!(
            transport_reason(
                "http://sv.west.example/RPC2: client error (Connect): dns error: failed to lookup"
            ),
            "its host name does not resolve"
        );
        assert_eq!(transport_reason("something new"), "something new");
        assert_eq!(
            unreachable_reason(&http::Error::Timeout(
                "http://x/ timed out after 2000 ms".into()
            )),
            "no answer in time"
        );
    }

    #[test]
    fn grouped_processes_are_named_group_colon_name() {
        let mut members = BTreeMap::new();
        members.insert("name".to_string(), Value::String("worker_01".into()));
        members.insert("group".to_string(), Value::String("worker".into()));
        members.insert("statename".to_string(), Value::String("FATAL".into()));
        let process = Process::from_value(&Value::Struct(members)).unwrap();
        assert_eq!(process.full_name(), "worker:worker_01");
        assert!(!process.running());
    }
}
