//! A simulated supervisord for `botyard dev`: the XML-RPC interface
//! (`POST /RPC2`) of one data center's process manager, with processes
//! that exist only in memory, so a newcomer can type `/spy servers list`
//! and see servers without running one. The tests run the real supervisord
//! (Debian's `supervisor`, `tests/support/supervisor.rs`); this stand-in
//! answers the same calls the same way, and its own tests below hold it to
//! the shapes the real one answers with.
//!
//! What it answers, as supervisord's API documents them: `supervisor.getAllProcessInfo`,
//! `supervisor.getProcessInfo(name)`, `supervisor.startProcess(name, wait)`,
//! `supervisor.stopProcess(name, wait)`, `supervisor.getState`,
//! `supervisor.getSupervisorVersion`; process info structs with every
//! field supervisord sends (`name`, `group`, `description`, `start`, `stop`,
//! `now`, `state`, `statename`, `spawnerr`, `exitstatus`, `logfile`,
//! `stdout_logfile`, `stderr_logfile`, `pid`); faults `UNKNOWN_METHOD` (1),
//! `INCORRECT_PARAMETERS` (2), `BAD_NAME` (10), `ALREADY_STARTED` (60),
//! `NOT_RUNNING` (70). A name is `program` or `group:program`. Starting and
//! stopping are immediate (`wait` or not).
//!
//! XML-RPC itself is `dxr`'s: the same crate the servers app speaks it
//! with, so neither side hand-writes the XML.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use dxr::{Fault, FaultResponse, MethodCall, MethodResponse, Value};

const UNKNOWN_METHOD: i32 = 1;
const INCORRECT_PARAMETERS: i32 = 2;
const BAD_NAME: i32 = 10;
const ALREADY_STARTED: i32 = 60;
const NOT_RUNNING: i32 = 70;

/// One simulated process.
#[derive(Debug, Clone)]
struct Process {
    group: String,
    name: String,
    running: bool,
    pid: i32,
    start: i32,
    stop: i32,
}

/// A running simulated supervisord; stops when dropped.
pub struct SupervisorStandIn {
    addr: SocketAddr,
    processes: Arc<Mutex<Vec<Process>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SupervisorStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SupervisorStandIn {
    /// Listens on `addr` (port 0: any free one) with `programs` running,
    /// each `program` or `group:program`.
    pub async fn start(addr: SocketAddr, programs: &[&str]) -> std::io::Result<SupervisorStandIn> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let now = now();
        let processes: Vec<Process> = programs
            .iter()
            .enumerate()
            .map(|(i, full)| {
                let (group, name) = full.split_once(':').unwrap_or((full, full));
                Process {
                    group: group.to_string(),
                    name: name.to_string(),
                    running: true,
                    pid: 4100 + i as i32,
                    start: now,
                    stop: 0,
                }
            })
            .collect();
        let processes = Arc::new(Mutex::new(processes));
        let state = processes.clone();
        let router = Router::new().route(
            "/RPC2",
            post(move |body: String| {
                let state = state.clone();
                async move { answer(&state, &body) }
            }),
        );
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(error = %e, "the simulated supervisord stopped");
            }
        });
        Ok(SupervisorStandIn {
            addr,
            processes,
            task,
        })
    }

    /// `http://127.0.0.1:<port>/RPC2`.
    pub fn url(&self) -> String {
        format!("http://{}/RPC2", self.addr)
    }

    /// Whether `name` (`program` or `group:program`) runs.
    pub fn running(&self, name: &str) -> Option<bool> {
        let processes = self.processes.lock().unwrap_or_else(|p| p.into_inner());
        find(&processes, name).map(|i| processes[i].running)
    }
}

fn now() -> i32 {
    (crate::contract::time::now_ms() / 1000) as i32
}

fn find(processes: &[Process], name: &str) -> Option<usize> {
    let (group, program) = name.split_once(':').unwrap_or((name, name));
    processes
        .iter()
        .position(|p| p.name == program && (p.group == group || group == program))
}

/// supervisord's process info struct.
fn info(p: &Process) -> Value {
    let state = if p.running {
        (20, "RUNNING")
    } else {
        (0, "STOPPED")
    };
    let now = now();
    let description = if p.running {
        let up = (now - p.start).max(0);
        format!(
            "pid {}, uptime {}:{:02}:{:02}",
            p.pid,
            up / 3600,
            up / 60 % 60,
            up % 60
        )
    } else if p.stop > 0 {
        "Stopped (simulated)".to_string()
    } else {
        "Not started".to_string()
    };
    let log = format!("/var/log/supervisor/{}.log", p.name);
    let fields: BTreeMap<String, Value> = [
        ("name", Value::String(p.name.clone())),
        ("group", Value::String(p.group.clone())),
        ("description", Value::String(description)),
        ("start", Value::Integer(p.start)),
        ("stop", Value::Integer(p.stop)),
        ("now", Value::Integer(now)),
        ("state", Value::Integer(state.0)),
        ("statename", Value::String(state.1.into())),
        ("spawnerr", Value::String(String::new())),
        ("exitstatus", Value::Integer(0)),
        ("logfile", Value::String(log.clone())),
        ("stdout_logfile", Value::String(log)),
        ("stderr_logfile", Value::String(String::new())),
        ("pid", Value::Integer(if p.running { p.pid } else { 0 })),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Value::Struct(fields)
}

fn answer(processes: &Mutex<Vec<Process>>, body: &str) -> Response {
    let result = match MethodCall::from_xml(body) {
        Ok(call) => dispatch(processes, &call.name, &call.params),
        Err(_) => Err(Fault::new(
            INCORRECT_PARAMETERS,
            "INCORRECT_PARAMETERS: not an XML-RPC method call".into(),
        )),
    };
    let xml = match result {
        Ok(value) => MethodResponse { value }.to_xml(),
        Err(fault) => FaultResponse { fault }.to_xml(),
    };
    match xml {
        Ok(xml) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/xml")],
            format!("<?xml version=\"1.0\"?>\n{xml}"),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

fn dispatch(
    processes: &Mutex<Vec<Process>>,
    method: &str,
    params: &[Value],
) -> Result<Value, Fault> {
    let mut processes = processes.lock().unwrap_or_else(|p| p.into_inner());
    let named = |params: &[Value]| match params.first() {
        Some(Value::String(name)) => Ok(name.clone()),
        _ => Err(Fault::new(
            INCORRECT_PARAMETERS,
            "INCORRECT_PARAMETERS".into(),
        )),
    };
    match method {
        "supervisor.getSupervisorVersion" => Ok(Value::String("4.2.5".into())),
        "supervisor.getState" => Ok(Value::Struct(
            [
                ("statecode".to_string(), Value::Integer(1)),
                ("statename".to_string(), Value::String("RUNNING".into())),
            ]
            .into(),
        )),
        "supervisor.getAllProcessInfo" => Ok(Value::Array(processes.iter().map(info).collect())),
        "supervisor.getProcessInfo" | "supervisor.startProcess" | "supervisor.stopProcess" => {
            let name = named(params)?;
            let i = find(&processes, &name)
                .ok_or_else(|| Fault::new(BAD_NAME, format!("BAD_NAME: {name}")))?;
            let p = &mut processes[i];
            match method {
                "supervisor.getProcessInfo" => Ok(info(p)),
                "supervisor.startProcess" if p.running => Err(Fault::new(
                    ALREADY_STARTED,
                    format!("ALREADY_STARTED: {name}"),
                )),
                "supervisor.startProcess" => {
                    p.running = true;
                    p.start = now();
                    p.pid += 100;
                    Ok(Value::Boolean(true))
                }
                _ if !p.running => Err(Fault::new(NOT_RUNNING, format!("NOT_RUNNING: {name}"))),
                _ => {
                    p.running = false;
                    p.stop = now();
                    Ok(Value::Boolean(true))
                }
            }
        }
        other => Err(Fault::new(
            UNKNOWN_METHOD,
            format!(
                "UNKNOWN_METHOD: {other} (the simulated supervisord answers getAllProcessInfo, getProcessInfo, startProcess, stopProcess, getState, getSupervisorVersion)"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn call(url: &str, method: &str, params: Vec<Value>) -> Result<Value, Fault> {
        let body = MethodCall {
            name: method.into(),
            params,
        }
        .to_xml()
        .unwrap();
        let text = reqwest::Client::new()
            .post(url)
            .header("content-type", "text/xml")
            .body(body)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        match MethodResponse::from_xml(&text) {
            Ok(r) => Ok(r.value),
            Err(_) => Err(FaultResponse::from_xml(&text).expect(&text).fault),
        }
    }

    #[tokio::test]
    async fn answers_supervisords_calls_and_faults() {
        let dc = SupervisorStandIn::start("127.0.0.1:0".parse().unwrap(), &["web-1", "web:web-2"])
            .await
            .unwrap();
        let url = dc.url();
        let Value::Array(all) = call(&url, "supervisor.getAllProcessInfo", vec![])
            .await
            .unwrap()
        else {
            panic!("an array")
        };
        assert_eq!(all.len(), 2);
        let Value::Struct(first) = &all[0] else {
            panic!("a struct")
        };
        for field in [
            "name",
            "group",
            "description",
            "start",
            "stop",
            "now",
            "state",
            "statename",
            "spawnerr",
            "exitstatus",
            "logfile",
            "stdout_logfile",
            "stderr_logfile",
            "pid",
        ] {
            assert!(first.contains_key(field), "{field}");
        }
        assert_eq!(first["statename"], Value::String("RUNNING".into()));
        let stop = |name: &str| {
            call(
                &url,
                "supervisor.stopProcess",
                vec![Value::String(name.into()), Value::Boolean(true)],
            )
        };
        assert_eq!(stop("web:web-2").await.unwrap(), Value::Boolean(true));
        assert_eq!(dc.running("web-2"), Some(false));
        assert_eq!(dc.running("web-1"), Some(true), "only the named one");
        assert_eq!(stop("web-2").await.unwrap_err().code(), NOT_RUNNING);
        assert_eq!(stop("nope").await.unwrap_err().code(), BAD_NAME);
        let start = call(
            &url,
            "supervisor.startProcess",
            vec![Value::String("web-1".into())],
        )
        .await;
        assert_eq!(start.unwrap_err().code(), ALREADY_STARTED);
        assert_eq!(
            call(&url, "supervisor.shutdown", vec![])
                .await
                .unwrap_err()
                .code(),
            UNKNOWN_METHOD
        );
    }
}
