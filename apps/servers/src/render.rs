//! Every text the app shows, from plain data, so each is unit-tested.

use crate::args::Verb;
use crate::rpc::{CallError, Process};

/// Processes shown per data center in a list before "and N more".
pub const LIST_LIMIT: usize = 60;

/// One process on one line: `` `web-1` RUNNING — pid 22056, uptime 0:00:01 ``.
pub fn process_line(process: &Process) -> String {
    let mut line = format!("`{}` {}", process.full_name(), process.statename);
    if !process.description.is_empty() {
        line.push_str(" — ");
        line.push_str(&process.description);
    }
    line
}

/// A data center that did not answer: `south: did not answer (connection refused)`.
pub fn silent(dc: &str, error: &CallError) -> String {
    format!("{dc}: {error}")
}

/// `/spy servers list`: each data center's processes, or why there are none.
pub fn list(results: &[(String, Result<Vec<Process>, CallError>)]) -> String {
    let mut text = String::new();
    for (dc, result) in results {
        if !text.is_empty() {
            text.push('\n');
        }
        match result {
            Ok(processes) => {
                let running = processes.iter().filter(|p| p.running()).count();
                text.push_str(&format!(
                    "*{dc}*: {} process{}, {running} running",
                    processes.len(),
                    if processes.len() == 1 { "" } else { "es" }
                ));
                for process in processes.iter().take(LIST_LIMIT) {
                    text.push_str("\n• ");
                    text.push_str(&process_line(process));
                }
                if processes.len() > LIST_LIMIT {
                    text.push_str(&format!(
                        "\n• … and {} more (`/spy servers inspect <name> {dc}`)",
                        processes.len() - LIST_LIMIT
                    ));
                }
            }
            Err(error) => text.push_str(&silent(dc, error)),
        }
    }
    text
}

/// `/spy servers inspect web-1 [dc]`: the process as each data center has it.
pub fn inspect(name: &str, results: &[(String, Result<Process, CallError>)]) -> String {
    let mut text = String::new();
    for (dc, result) in results {
        if !text.is_empty() {
            text.push('\n');
        }
        match result {
            Ok(p) => {
                text.push_str(&format!("*{}* in *{dc}*: {}", p.full_name(), p.statename));
                if !p.description.is_empty() {
                    text.push_str(&format!(" — {}", p.description));
                }
                let mut facts = vec![format!("group `{}`", p.group)];
                if p.pid != 0 {
                    facts.push(format!("pid {}", p.pid));
                }
                if !p.running() && p.exitstatus != 0 {
                    facts.push(format!("last exit status {}", p.exitstatus));
                }
                if !p.spawnerr.is_empty() {
                    facts.push(format!("spawn error: {}", p.spawnerr));
                }
                text.push_str(&format!("\n• {}", facts.join(" · ")));
            }
            Err(CallError::Fault(fault)) if fault.code == crate::rpc::faults::BAD_NAME => {
                text.push_str(&format!("{dc}: no process `{name}`"));
            }
            Err(error) => text.push_str(&silent(dc, error)),
        }
    }
    text
}

/// What a change would touch, per data center, with each process's state now.
pub fn targets(found: &[(String, Vec<Process>)]) -> String {
    found
        .iter()
        .filter(|(_, processes)| !processes.is_empty())
        .map(|(dc, processes)| {
            let names: Vec<String> = processes
                .iter()
                .map(|p| format!("`{}` ({})", p.full_name(), p.statename))
                .collect();
            format!("• {dc}: {}", names.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn count(found: &[(String, Vec<Process>)]) -> usize {
    found.iter().map(|(_, p)| p.len()).sum()
}

fn plural(n: usize) -> String {
    format!("{n} process{}", if n == 1 { "" } else { "es" })
}

/// Data centers left out of a change because they did not answer.
pub fn left_out(silent_dcs: &[(String, CallError)]) -> String {
    silent_dcs
        .iter()
        .map(|(dc, e)| format!("\n:warning: {}: left out", silent(dc, e)))
        .collect()
}

/// A bulk change without `--go`: what would happen, nothing done.
pub fn dry_run(
    verb: Verb,
    line: &str,
    found: &[(String, Vec<Process>)],
    silent_dcs: &[(String, CallError)],
) -> String {
    format!(
        "*Dry run, nothing was changed.* `{line}` would {} {}:\n{}{}\nTo do it, add `--go`: `{line} --go` (you will be asked to confirm).",
        verb.word(),
        plural(count(found)),
        targets(found),
        left_out(silent_dcs),
    )
}

/// The question a confirmation asks, naming every target.
pub fn confirm_question(verb: Verb, found: &[(String, Vec<Process>)]) -> String {
    let n = count(found);
    if n == 1 {
        let (dc, processes) = found
            .iter()
            .find(|(_, p)| !p.is_empty())
            .expect("one target");
        let p = &processes[0];
        format!(
            "{} `{}` in *{dc}*? It is {} now.",
            verb.title(),
            p.full_name(),
            p.statename
        )
    } else {
        format!("{} these {}?\n{}", verb.title(), plural(n), targets(found))
    }
}

/// What happened to one process: the call's outcome and the state after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub name: String,
    /// `None`: done as asked; else why not (already so, a fault, no answer).
    pub note: Option<String>,
    /// Whether the note is a failure (rather than "was already so").
    pub failed: bool,
    /// The state supervisord reports afterwards, or why it could not be read.
    pub after: Result<Process, CallError>,
}

/// The answer to a confirmed change: per data center, what supervisord reported.
pub fn outcome(verb: Verb, user: &str, line: &str, results: &[(String, Vec<Outcome>)]) -> String {
    let failed = results.iter().flat_map(|(_, o)| o).any(|o| o.failed);
    let mut text = format!(
        "{} <@{user}> asked `{line}`; supervisord reports:",
        if failed {
            ":warning:"
        } else {
            ":white_check_mark:"
        }
    );
    for (dc, outcomes) in results {
        for o in outcomes {
            let state = match &o.after {
                Ok(p) if p.description.is_empty() => p.statename.clone(),
                Ok(p) => format!("{} ({})", p.statename, p.description),
                Err(e) => format!("state unknown: {e}"),
            };
            match &o.note {
                None => text.push_str(&format!("\n• {dc}: `{}` {} → {state}", o.name, verb.past())),
                Some(note) => text.push_str(&format!("\n• {dc}: `{}`: {note} → {state}", o.name)),
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::Fault;

    fn process(name: &str, state: &str, description: &str) -> Process {
        Process {
            name: name.into(),
            group: name.into(),
            statename: state.into(),
            description: description.into(),
            pid: if state == "RUNNING" { 42 } else { 0 },
            exitstatus: 0,
            spawnerr: String::new(),
        }
    }

    #[test]
    fn a_list_reports_silent_data_centers_beside_the_others() {
        let text = list(&[
            (
                "east".into(),
                Ok(vec![
                    process("web-1", "RUNNING", "pid 42, uptime 0:01:00"),
                    process("web-2", "STOPPED", "Dec 04 07:53 PM"),
                ]),
            ),
            (
                "south".into(),
                Err(CallError::Unreachable("connection refused".into())),
            ),
        ]);
        assert_eq!(
            text,
            "*east*: 2 processes, 1 running\n• `web-1` RUNNING — pid 42, uptime 0:01:00\n• `web-2` STOPPED — Dec 04 07:53 PM\nsouth: did not answer (connection refused)"
        );
        let many: Vec<Process> = (0..LIST_LIMIT + 5)
            .map(|i| process(&format!("w{i}"), "RUNNING", ""))
            .collect();
        let text = list(&[("east".into(), Ok(many))]);
        assert!(
            text.ends_with("… and 5 more (`/spy servers inspect <name> east`)"),
            "{text}"
        );
    }

    #[test]
    fn inspect_says_where_a_process_is_missing() {
        let text = inspect(
            "web-1",
            &[
                (
                    "east".into(),
                    Ok(process("web-1", "RUNNING", "pid 42, uptime 0:01:00")),
                ),
                (
                    "west".into(),
                    Err(CallError::Fault(Fault {
                        code: crate::rpc::faults::BAD_NAME,
                        text: "BAD_NAME: web-1".into(),
                    })),
                ),
            ],
        );
        assert_eq!(
            text,
            "*web-1* in *east*: RUNNING — pid 42, uptime 0:01:00\n• group `web-1` · pid 42\nwest: no process `web-1`"
        );
    }

    #[test]
    fn confirmations_and_dry_runs_name_every_target() {
        let one = vec![("east".to_string(), vec![process("web-1", "RUNNING", "")])];
        assert_eq!(
            confirm_question(Verb::Stop, &one),
            "Stop `web-1` in *east*? It is RUNNING now."
        );
        let two = vec![
            (
                "east".to_string(),
                vec![
                    process("web-1", "RUNNING", ""),
                    process("web-2", "RUNNING", ""),
                ],
            ),
            ("west".to_string(), vec![process("web-1", "STOPPED", "")]),
            ("north".to_string(), vec![]),
        ];
        assert_eq!(
            confirm_question(Verb::Restart, &two),
            "Restart these 3 processes?\n• east: `web-1` (RUNNING), `web-2` (RUNNING)\n• west: `web-1` (STOPPED)"
        );
        let dry = dry_run(
            Verb::Stop,
            "/spy servers stop web-*",
            &two,
            &[(
                "south".into(),
                CallError::Unreachable("no answer in time".into()),
            )],
        );
        assert!(
            dry.starts_with(
                "*Dry run, nothing was changed.* `/spy servers stop web-*` would stop 3 processes:"
            ),
            "{dry}"
        );
        assert!(
            dry.contains(":warning: south: did not answer (no answer in time): left out"),
            "{dry}"
        );
        assert!(
            dry.ends_with("`/spy servers stop web-* --go` (you will be asked to confirm)."),
            "{dry}"
        );
    }

    #[test]
    fn outcomes_show_what_supervisord_reports_after() {
        let text = outcome(
            Verb::Stop,
            "U1",
            "/spy servers stop web-* --go",
            &[(
                "east".into(),
                vec![
                    Outcome {
                        name: "web-1".into(),
                        note: None,
                        failed: false,
                        after: Ok(process("web-1", "STOPPED", "Dec 04 07:53 PM")),
                    },
                    Outcome {
                        name: "web-2".into(),
                        note: Some("`web-2` is not running".into()),
                        failed: false,
                        after: Ok(process("web-2", "STOPPED", "")),
                    },
                ],
            )],
        );
        assert_eq!(
            text,
            ":white_check_mark: <@U1> asked `/spy servers stop web-* --go`; supervisord reports:\n• east: `web-1` stopped → STOPPED (Dec 04 07:53 PM)\n• east: `web-2`: `web-2` is not running → STOPPED"
        );
        let failed = outcome(
            Verb::Start,
            "U1",
            "/spy servers start api east",
            &[(
                "east".into(),
                vec![Outcome {
                    name: "api".into(),
                    note: Some("could not".into()),
                    failed: true,
                    after: Err(CallError::Unreachable("connection refused".into())),
                }],
            )],
        );
        assert!(failed.starts_with(":warning:"), "{failed}");
        assert!(
            failed.ends_with("→ state unknown: did not answer (connection refused)"),
            "{failed}"
        );
    }
}
