//! `/spy servers …`: the processes supervisord runs in each data center —
//! list, inspect, start, stop, restart — as botyard ships it. See README.md
//! for what people type and see; this file is the handlers, `args` what
//! they type, `rpc` supervisord's XML-RPC, `render` every text shown.
//!
//! A change is asked, then confirmed: the command answers with the exact
//! targets (process names per data center, with their state now) and
//! Confirm / Cancel buttons; only Confirm calls supervisord. A change of
//! more than one process, or by a pattern, is a dry run unless `--go` is
//! given. The command stores what it asked (`op/<id>`) and the Confirm
//! button carries the same targets, so a click does exactly what the person
//! saw — once, however often it is clicked — and nothing a command (held
//! for approval, say) did not ask.

mod args;
mod render;
mod rpc;

use botyard_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use args::{Change, Verb};
use rpc::{faults, CallError, Process, Supervisor};

/// How long a confirmation stays valid.
const CONFIRM_FOR_MS: u64 = 15 * 60 * 1000;
/// A start or stop waits for supervisord to finish it (`wait=true`); the
/// host cuts this at the invocation's deadline (`deadline_ms`).
const CHANGE_TIMEOUT_MS: u32 = 30_000;
/// Confirmations kept (older ones are deleted as new ones are made).
const KEEP_OPS: i64 = 1000;
/// Slack's limit on a button's value.
const MAX_VALUE: usize = 2000;
/// Slack's limit on a section's text, with room to spare.
const MAX_SECTION: usize = 2900;

fn app() -> App {
    App::new(
        "servers",
        "Servers in each data center through supervisord: list, inspect, start, stop, restart",
    )
    .setting(
        "datacenters",
        setting_spec("The data centers: [{ name = \"east\", url = \"http://10.0.0.5:9001/RPC2\" }, …], each supervisord's XML-RPC URL (allow each in [[apps.servers.http.allow]])").required(),
    )
    .setting(
        "timeout_ms",
        setting_spec("How long to wait for a data center to answer a question (list, inspect), in milliseconds").default("2000"),
    )
    .command(
        "/spy servers list",
        spec("Processes in every data center, or one").usage("[dc]"),
        list,
    )
    .command(
        "/spy servers inspect",
        spec("One process, as each data center has it").usage("<name> [dc]"),
        inspect,
    )
    .command(
        "/spy servers start",
        spec("Start processes (asks to confirm)").usage("<name|pattern> [dc] [--go]"),
        |r| change(Verb::Start, r),
    )
    .command(
        "/spy servers stop",
        spec("Stop processes (asks to confirm)").usage("<name|pattern> [dc] [--go]"),
        |r| change(Verb::Stop, r),
    )
    .command(
        "/spy servers restart",
        spec("Restart processes (asks to confirm)").usage("<name|pattern> [dc] [--go]"),
        |r| change(Verb::Restart, r),
    )
    .action("confirm-*", confirm)
    .action("cancel", cancel)
    // What people say to `@botyard` for these (English and Korean). A
    // change is only ever offered with a button; it then asks to confirm
    // like the typed command.
    .phrase(
        Phrase::new("/spy servers list [{dc}]")
            .aliases(["servers", "list", "processes", "running", "서버", "목록", "프로세스"])
            .examples(["show the servers in {dc}", "which processes are up", "{dc} 데이터센터 서버 목록"])
            .slot("dc", Slot::word().optional())
            .read_only(),
    )
    .phrase(
        Phrase::new("/spy servers inspect {name} [{dc}]")
            .aliases(["inspect", "status", "details", "healthy", "상태", "확인"])
            .examples(["how is {name} doing", "is {name} healthy in {dc}", "{name} 상태 확인"])
            .slot("name", Slot::pattern(PROCESS))
            .slot("dc", Slot::word().optional())
            .read_only(),
    )
    .phrase(
        Phrase::new("/spy servers start {name} [{dc}]")
            .aliases(["start", "boot", "bring up", "시작", "켜"])
            .examples(["start {name} in the {dc} data center", "{dc}에서 {name} 시작"])
            .slot("name", Slot::pattern(PROCESS))
            .slot("dc", Slot::word().optional()),
    )
    .phrase(
        Phrase::new("/spy servers stop {name} [{dc}]")
            .aliases(["stop", "shut down", "halt", "중지", "정지", "멈춰", "꺼"])
            .examples(["stop {name} in the {dc} data center", "{dc}에서 {name} 중지"])
            .slot("name", Slot::pattern(PROCESS))
            .slot("dc", Slot::word().optional()),
    )
    .phrase(
        Phrase::new("/spy servers restart {name} [{dc}]")
            .aliases(["restart", "reboot", "bounce", "재시작", "재기동"])
            .examples(["restart {name} in the {dc} data center", "{dc}에서 {name} 재시작"])
            .slot("name", Slot::pattern(PROCESS))
            .slot("dc", Slot::word().optional()),
    )
}

/// A supervisord process as people name one in a sentence: `web-3`,
/// `worker_12`.
const PROCESS: &str = "[a-z][a-z0-9_]*[-_][0-9]+";

export_app!(app);

// --- settings -------------------------------------------------------------

fn datacenters() -> Result<Vec<Supervisor>, String> {
    args::datacenters(settings::get_json("datacenters")?)
}

fn query_timeout() -> u32 {
    settings::get("timeout_ms")
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(2000)
}

// --- questions ------------------------------------------------------------

fn list(request: CommandRequest) -> Result<Reply, String> {
    let all = datacenters()?;
    let dc = args::parse_list(&request.text)?;
    let timeout = query_timeout();
    // One data center after the other (a handler is synchronous), each
    // bounded by the timeout, so one that does not answer costs at most
    // that and the others still list.
    let results: Vec<(String, Result<Vec<Process>, CallError>)> =
        args::select(&all, dc.as_deref())?
            .into_iter()
            .map(|sv| (sv.name.clone(), sv.all_processes(timeout)))
            .collect();
    Ok(Reply::ephemeral(render::list(&results)))
}

fn inspect(request: CommandRequest) -> Result<Reply, String> {
    let all = datacenters()?;
    let (name, dc) = args::parse_inspect(&request.text)?;
    if args::is_glob(&name) {
        return Err(format!(
            "`/spy servers inspect` takes one process name, not a pattern; `/spy servers list` shows them all (`{name}`)"
        ));
    }
    let timeout = query_timeout();
    let results: Vec<(String, Result<Process, CallError>)> = args::select(&all, dc.as_deref())?
        .into_iter()
        .map(|sv| (sv.name.clone(), sv.process(&name, timeout)))
        .collect();
    Ok(Reply::ephemeral(render::inspect(&name, &results)))
}

// --- changes --------------------------------------------------------------

/// What a confirmation acts on: process names per data center.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Target {
    dc: String,
    names: Vec<String>,
}

/// A change asked and awaiting (or past) its confirmation: `op/<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Op {
    verb: Verb,
    requester: String,
    line: String,
    targets: Vec<Target>,
    created_ms: u64,
    state: OpState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum OpState {
    Asked,
    Confirmed,
    Cancelled,
}

/// The Confirm and Cancel buttons' value: the op, and what it acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ButtonValue {
    op: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    targets: Option<Vec<Target>>,
}

fn op_key(id: i64) -> String {
    format!("op/{id}")
}

/// `start|stop|restart <name|pattern> [dc] [--go]`.
fn change(verb: Verb, request: CommandRequest) -> Result<Reply, String> {
    let all = datacenters()?;
    let Change { pattern, dc, go } = args::parse_change(verb, &request.text)?;
    let selected = args::select(&all, dc.as_deref())?;
    let asked = format!(
        "/spy servers {} {}",
        verb.word(),
        request
            .text
            .split_whitespace()
            .filter(|w| !w.starts_with(['-', '—', '–']))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let timeout = query_timeout();
    let mut found: Vec<(String, Vec<Process>)> = Vec::new();
    let mut silent: Vec<(String, CallError)> = Vec::new();
    for sv in &selected {
        match sv.all_processes(timeout) {
            Ok(processes) => found.push((
                sv.name.clone(),
                processes
                    .into_iter()
                    .filter(|p| names_match(&pattern, p))
                    .collect(),
            )),
            Err(error) if dc.is_some() => {
                return Err(format!(
                    "{}; nothing was changed.",
                    render::silent(&sv.name, &error)
                ));
            }
            Err(error) => silent.push((sv.name.clone(), error)),
        }
    }
    let total: usize = found.iter().map(|(_, p)| p.len()).sum();
    if total == 0 {
        let answered: Vec<&str> = found.iter().map(|(dc, _)| dc.as_str()).collect();
        return Err(if answered.is_empty() {
            format!(
                "No data center answered; nothing was changed.{}",
                render::left_out(&silent)
            )
        } else {
            format!(
                "No process matches `{pattern}` in {} (`/spy servers list` shows them); nothing was changed.{}",
                answered.join(", "),
                render::left_out(&silent)
            )
        });
    }
    let bulk = args::is_glob(&pattern) || total > 1;
    if bulk && !go {
        return Ok(Reply::ephemeral(render::dry_run(
            verb, &asked, &found, &silent,
        )));
    }
    let targets: Vec<Target> = found
        .iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(dc, processes)| Target {
            dc: dc.clone(),
            names: processes.iter().map(Process::full_name).collect(),
        })
        .collect();
    let id = store::increment("seq", 1)?;
    if id > KEEP_OPS {
        store::delete(&op_key(id - KEEP_OPS))?;
    }
    let op = Op {
        verb,
        requester: request.context.user_id.clone(),
        line: format!("{asked}{}", if go { " --go" } else { "" }),
        targets: targets.clone(),
        created_ms: clock::now_ms(),
        state: OpState::Asked,
    };
    store::set_json(&op_key(id), &op)?;
    let question = format!(
        "{}{}",
        render::confirm_question(verb, &found),
        render::left_out(&silent)
    );
    Ok(Reply::ephemeral(confirmation(
        verb, id, &targets, &question,
    )))
}

/// `web-1` names the process `web-1` (or `group:web-1`'s process called
/// so); a pattern matches the full name or the process's own.
fn names_match(pattern: &str, process: &Process) -> bool {
    let full = process.full_name();
    if args::is_glob(pattern) {
        args::glob_matches(pattern, &full) || args::glob_matches(pattern, &process.name)
    } else {
        pattern == full || pattern == process.name
    }
}

/// The confirmation message: the question, Confirm and Cancel.
fn confirmation(verb: Verb, id: i64, targets: &[Target], question: &str) -> Message {
    let mut value = ButtonValue {
        op: id,
        targets: Some(targets.to_vec()),
    };
    let mut encoded = serde_json::to_string(&value).unwrap_or_default();
    if encoded.len() > MAX_VALUE {
        // Too many names for a button: the stored op alone says them.
        value.targets = None;
        encoded = serde_json::to_string(&value).unwrap_or_default();
    }
    let cancel = serde_json::to_string(&ButtonValue {
        op: id,
        targets: None,
    })
    .unwrap_or_default();
    let button = Element::button("Confirm", verb.confirm_action()).value(encoded);
    let button = match verb {
        Verb::Start => button.primary(),
        _ => button.danger(),
    };
    let shown = if question.len() > MAX_SECTION {
        let mut cut = MAX_SECTION;
        while !question.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}…", &question[..cut])
    } else {
        question.to_string()
    };
    Message::new(question).with_blocks([
        Block::section(shown),
        Block::actions([button, Element::button("Cancel", "cancel").value(cancel)]),
    ])
}

/// Reads op `id` and moves it from asked to `to`, once: whoever's swap
/// wins acts; every other click is told what became of it.
fn claim(
    id: i64,
    user: &str,
    verb: Option<Verb>,
    to: OpState,
) -> Result<Result<Op, String>, String> {
    let key = op_key(id);
    loop {
        let Some(old) = store::get(&key)? else {
            return Ok(Err("This confirmation is unknown (it may be too old); run the command again. Nothing was changed.".into()));
        };
        let op: Op = serde_json::from_slice(&old)
            .map_err(|e| format!("confirmation {id} could not be read: {e}"))?;
        if verb.is_some_and(|v| v != op.verb) {
            return Ok(Err(
                "This button does not match the change it belongs to; nothing was changed.".into(),
            ));
        }
        if op.requester != user {
            return Ok(Err(format!(
                "Only <@{}>, who asked `{}`, can confirm or cancel it.",
                op.requester, op.line
            )));
        }
        match op.state {
            OpState::Confirmed => {
                return Ok(Err(format!(
                    "`{}` was already confirmed; nothing more was done.",
                    op.line
                )))
            }
            OpState::Cancelled => {
                return Ok(Err(format!(
                    "`{}` was cancelled; nothing was changed.",
                    op.line
                )))
            }
            OpState::Asked => {}
        }
        if to == OpState::Confirmed && clock::now_ms() > op.created_ms + CONFIRM_FOR_MS {
            return Ok(Err(format!(
                "This confirmation expired (after {} minutes); run `{}` again. Nothing was changed.",
                CONFIRM_FOR_MS / 60_000,
                op.line
            )));
        }
        let mut new = op.clone();
        new.state = to;
        let bytes = serde_json::to_vec(&new).map_err(|e| e.to_string())?;
        if store::compare_and_swap(&key, Some(&old), Some(&bytes))? {
            return Ok(Ok(op));
        }
    }
}

fn button_value(request: &ActionRequest) -> Result<ButtonValue, String> {
    serde_json::from_str(request.value.as_deref().unwrap_or_default()).map_err(|_| {
        "This button carries no change this app knows; nothing was changed.".to_string()
    })
}

fn confirm(request: ActionRequest) -> Result<ActionResponse, String> {
    let verb = Verb::from_confirm_action(&request.action_id)
        .ok_or_else(|| format!("`{}` is not a change this app makes", request.action_id))?;
    let value = button_value(&request)?;
    let user = &request.context.user_id;
    // Check before claiming: a button whose targets are not the op's acts on nothing.
    if let (Some(shown), Some(op)) = (&value.targets, store::get_json::<Op>(&op_key(value.op))?) {
        if *shown != op.targets {
            return Ok(ActionResponse::ephemeral(
                "This button's targets are not the ones asked; nothing was changed.",
            ));
        }
    }
    let op = match claim(value.op, user, Some(verb), OpState::Confirmed)? {
        Ok(op) => op,
        Err(why) => return Ok(ActionResponse::ephemeral(why)),
    };
    let all = datacenters()?;
    let results: Vec<(String, Vec<render::Outcome>)> = op
        .targets
        .iter()
        .map(|target| (target.dc.clone(), perform(verb, &all, target)))
        .collect();
    Ok(ActionResponse::update(Message::new(render::outcome(
        verb, user, &op.line, &results,
    ))))
}

fn cancel(request: ActionRequest) -> Result<ActionResponse, String> {
    let value = button_value(&request)?;
    match claim(value.op, &request.context.user_id, None, OpState::Cancelled)? {
        Ok(op) => Ok(ActionResponse::update(format!(
            "Cancelled `{}`: nothing was changed.",
            op.line
        ))),
        Err(why) => Ok(ActionResponse::ephemeral(why)),
    }
}

/// Does `verb` to each process of `target`, then asks supervisord each
/// one's state.
fn perform(verb: Verb, all: &[Supervisor], target: &Target) -> Vec<render::Outcome> {
    let Some(sv) = all.iter().find(|d| d.name == target.dc) else {
        return target
            .names
            .iter()
            .map(|name| render::Outcome {
                name: name.clone(),
                note: Some("not done: this data center is no longer configured".into()),
                failed: true,
                after: Err(CallError::Unreachable("not configured".into())),
            })
            .collect();
    };
    let timeout = query_timeout();
    let mut silent: Option<CallError> = None;
    let mut outcomes = Vec::new();
    for name in &target.names {
        if let Some(error) = &silent {
            outcomes.push(render::Outcome {
                name: name.clone(),
                note: Some(format!("not tried: {}", render::silent(&sv.name, error))),
                failed: true,
                after: Err(error.clone()),
            });
            continue;
        }
        let done = match verb {
            Verb::Start => sv.start(name, CHANGE_TIMEOUT_MS),
            Verb::Stop => sv.stop(name, CHANGE_TIMEOUT_MS),
            Verb::Restart => match sv.stop(name, CHANGE_TIMEOUT_MS) {
                Ok(()) => sv.start(name, CHANGE_TIMEOUT_MS),
                Err(CallError::Fault(f)) if f.code == faults::NOT_RUNNING => {
                    sv.start(name, CHANGE_TIMEOUT_MS)
                }
                Err(e) => Err(e),
            },
        };
        let (note, failed) = match &done {
            Ok(()) => (None, false),
            Err(CallError::Fault(f))
                if verb == Verb::Start && f.code == faults::ALREADY_STARTED =>
            {
                (Some("was already running".to_string()), false)
            }
            Err(CallError::Fault(f)) if verb == Verb::Stop && f.code == faults::NOT_RUNNING => {
                (Some("was not running".to_string()), false)
            }
            Err(e) => (Some(format!("not {}: {e}", verb.past())), true),
        };
        if let Err(e @ CallError::Unreachable(_)) = &done {
            silent = Some(e.clone());
        }
        let after = match &silent {
            Some(e) => Err(e.clone()),
            None => sv.process(name, timeout),
        };
        outcomes.push(render::Outcome {
            name: name.clone(),
            note,
            failed,
            after,
        });
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(name: &str, group: &str) -> Process {
        Process {
            name: name.into(),
            group: group.into(),
            statename: "RUNNING".into(),
            description: String::new(),
            pid: 1,
            exitstatus: 0,
            spawnerr: String::new(),
        }
    }

    #[test]
    fn names_and_patterns_match_full_and_own_names() {
        assert!(names_match("web-1", &process("web-1", "web-1")));
        assert!(!names_match("web-1", &process("web-10", "web-10")));
        assert!(names_match(
            "worker:worker_01",
            &process("worker_01", "worker")
        ));
        assert!(names_match("worker_01", &process("worker_01", "worker")));
        assert!(names_match("worker:*", &process("worker_01", "worker")));
        assert!(names_match("web-*", &process("web-2", "web-2")));
        assert!(!names_match("web-*", &process("api", "api")));
    }

    #[test]
    fn a_confirmation_carries_its_targets_and_names_its_verb() {
        let targets = vec![Target {
            dc: "east".into(),
            names: vec!["web-1".into()],
        }];
        let message = confirmation(Verb::Stop, 7, &targets, "Stop `web-1` in *east*?");
        let blocks: serde_json::Value = serde_json::from_str(&message.blocks.unwrap()).unwrap();
        let buttons = &blocks[1]["elements"];
        assert_eq!(buttons[0]["action_id"], "confirm-stop");
        assert_eq!(buttons[0]["style"], "danger");
        let value: ButtonValue =
            serde_json::from_str(buttons[0]["value"].as_str().unwrap()).unwrap();
        assert_eq!(
            value,
            ButtonValue {
                op: 7,
                targets: Some(targets)
            }
        );
        assert_eq!(buttons[1]["action_id"], "cancel");
        assert_eq!(buttons[1]["value"], "{\"op\":7}");

        // Too many names for a button's 2,000 characters: the op alone.
        let many = vec![Target {
            dc: "east".into(),
            names: (0..300).map(|i| format!("worker:worker_{i:03}")).collect(),
        }];
        let message = confirmation(Verb::Restart, 8, &many, &"x".repeat(5000));
        let blocks: serde_json::Value = serde_json::from_str(&message.blocks.unwrap()).unwrap();
        let value = blocks[1]["elements"][0]["value"].as_str().unwrap();
        assert_eq!(value, "{\"op\":8}");
        assert!(blocks[0]["text"]["text"].as_str().unwrap().chars().count() <= MAX_SECTION + 1);
    }
}
