//! The scenario format (see `docs/testing.md`): TOML, one scenario per file,
//! parsed with spans so every mistake names its file, line and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveTime};
use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

/// When virtual time starts unless a scenario says: a Monday morning.
pub const DEFAULT_START: &str = "2026-01-05T09:00:00Z";

/// A scenario file that cannot be run as written.
#[derive(Debug, Error)]
pub enum ScenarioError {
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("reading {file}: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
}

/// One parsed scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file name without `.toml`.
    pub name: String,
    pub file: PathBuf,
    pub description: Option<String>,
    pub app: Option<String>,
    /// Unix milliseconds.
    pub start_ms: u64,
    /// Without `#`.
    pub channels: Vec<String>,
    pub people: BTreeMap<String, Person>,
    pub settings: toml::Table,
    /// `[http."/path"]`: what the kit's HTTP stand-in answers, by path.
    pub http: BTreeMap<String, StandIn>,
    /// The stand-in's base URL once it runs (`{http}` in the scenario).
    pub http_base: Option<String>,
    pub steps: Vec<Step>,
}

/// One response of the HTTP stand-in (`[http."/menu.json"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandIn {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStandIn {
    status: Option<u16>,
    body: Option<String>,
    json: Option<toml::Value>,
    content_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// IANA name, e.g. `Europe/Paris`; UTC when absent.
    pub tz: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// One step, where it is written.
#[derive(Debug, Clone)]
pub struct Step {
    pub line: usize,
    /// Who acts, or whose eyes an expectation looks through.
    pub who: String,
    /// `in`: a channel name without `#`, or `dm`.
    pub place: Option<String>,
    pub kind: StepKind,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Command(String),
    Click {
        target: String,
        on: Option<String>,
        value: Option<String>,
    },
    Submit {
        view: String,
        fields: toml::Table,
    },
    Close(String),
    React {
        emoji: String,
        on: Option<String>,
        add: bool,
    },
    /// Posts a message (in `in`; in the thread of the latest message
    /// containing `thread`, when given). `@name` of a person, or of the bot
    /// (`@botyard`), is written as Slack writes a mention.
    Say {
        text: String,
        thread: Option<String>,
    },
    /// Pins the latest message (in `in`) whose text contains `on`.
    Pin {
        on: Option<String>,
    },
    Shortcut {
        callback_id: String,
        on: Option<String>,
    },
    Home,
    Webhook {
        name: String,
        body: Vec<u8>,
        content_type: String,
        headers: BTreeMap<String, String>,
    },
    /// Virtual time moves to this moment (Unix ms), or by this much.
    Wait(Duration),
    Until(u64),
    Expect(Expectation),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Message,
    Ephemeral,
    Reply,
    Modal,
    Home,
    File,
    Nothing,
}

impl Seen {
    pub fn as_str(self) -> &'static str {
        match self {
            Seen::Message => "message",
            Seen::Ephemeral => "ephemeral",
            Seen::Reply => "reply",
            Seen::Modal => "modal",
            Seen::Home => "home",
            Seen::File => "file",
            Seen::Nothing => "nothing",
        }
    }
}

/// When a message must have been posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum At {
    /// `HH:MM` on the viewer's clock.
    Local(NaiveTime),
    /// Unix seconds.
    Moment(i64),
}

#[derive(Debug, Clone)]
pub struct Expectation {
    pub seen: Seen,
    pub text: Option<String>,
    pub button: Option<String>,
    pub title: Option<String>,
    pub thread: Option<String>,
    pub name: Option<String>,
    pub at: Option<At>,
    pub count: Option<usize>,
    pub reaction: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    description: Option<String>,
    app: Option<String>,
    start: Option<Spanned<String>>,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    people: BTreeMap<String, Person>,
    #[serde(default)]
    settings: toml::Table,
    #[serde(default)]
    http: BTreeMap<String, Spanned<RawStandIn>>,
    #[serde(default)]
    step: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(rename = "as")]
    who: Option<String>,
    #[serde(rename = "in")]
    place: Option<String>,
    command: Option<String>,
    click: Option<String>,
    submit: Option<String>,
    close: Option<String>,
    react: Option<String>,
    unreact: Option<String>,
    pin: Option<String>,
    say: Option<String>,
    shortcut: Option<String>,
    home: Option<bool>,
    webhook: Option<String>,
    wait: Option<String>,
    until: Option<String>,
    expect: Option<String>,
    on: Option<String>,
    value: Option<String>,
    fields: Option<toml::Table>,
    body: Option<String>,
    json: Option<toml::Value>,
    headers: Option<BTreeMap<String, String>>,
    text: Option<String>,
    button: Option<String>,
    title: Option<String>,
    thread: Option<String>,
    name: Option<String>,
    at: Option<String>,
    count: Option<usize>,
    reaction: Option<String>,
}

/// Every `scenarios/*.toml` of the app in `dir`, in name order.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, ScenarioError> {
    let scenarios = dir.join("scenarios");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&scenarios) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ScenarioError::Read {
                file: scenarios,
                source,
            });
        }
    };
    files.sort();
    files.iter().map(|f| load(f)).collect()
}

/// Reads and parses one scenario file.
pub fn load(file: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(file).map_err(|source| ScenarioError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    parse(file, &text)
}

/// Parses `text`, the contents of `file`.
pub fn parse(file: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let invalid = |offset: usize, message: String| {
        let (line, column) = line_col(text, offset);
        ScenarioError::Invalid {
            file: file.to_path_buf(),
            line,
            column,
            message,
        }
    };
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        invalid(offset, e.message().trim().to_string())
    })?;
    let start_ms = match &raw.start {
        Some(start) => parse_moment(start.get_ref())
            .map_err(|m| invalid(start.span().start, m))?
            .timestamp_millis() as u64,
        None => parse_moment(DEFAULT_START)
            .expect("valid")
            .timestamp_millis() as u64,
    };
    for (name, person) in &raw.people {
        if let Some(tz) = &person.tz
            && tz.parse::<chrono_tz::Tz>().is_err()
        {
            return Err(invalid(
                0,
                format!(
                    "person `{name}`: `{tz}` is not a timezone; use an IANA name such as \"Europe/Paris\""
                ),
            ));
        }
    }
    let mut http = BTreeMap::new();
    for (path, stand_in) in raw.http {
        let offset = stand_in.span().start;
        let stand_in = to_stand_in(&path, stand_in.into_inner()).map_err(|m| invalid(offset, m))?;
        http.insert(path, stand_in);
    }
    let mut steps = Vec::new();
    for step in raw.step {
        let offset = step.span().start;
        let line = line_col(text, offset).0;
        let step = step.into_inner();
        steps.push(to_step(step, line).map_err(|m| invalid(offset, m))?);
    }
    Ok(Scenario {
        name: file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        file: file.to_path_buf(),
        description: raw.description,
        app: raw.app,
        start_ms,
        channels: raw
            .channels
            .iter()
            .map(|c| c.trim_start_matches('#').to_string())
            .collect(),
        people: raw.people,
        settings: raw.settings,
        http,
        http_base: None,
        steps,
    })
}

/// `[http."/path"]`: a path, and `body` (text) or `json` (a TOML value sent
/// as JSON), a `status` (200) and a `content_type`.
fn to_stand_in(path: &str, raw: RawStandIn) -> Result<StandIn, String> {
    if !path.starts_with('/') {
        return Err(format!(
            "[http.\"{path}\"]: a stand-in's key is a path starting with `/`, e.g. [http.\"/menu.json\"]"
        ));
    }
    let (body, content_type) = match (raw.body, raw.json) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "[http.\"{path}\"] takes `body` or `json`, not both"
            ));
        }
        (Some(body), None) => (body.into_bytes(), "text/plain; charset=utf-8"),
        (None, Some(json)) => (
            serde_json::to_vec(&json).map_err(|e| e.to_string())?,
            "application/json",
        ),
        (None, None) => (Vec::new(), "text/plain; charset=utf-8"),
    };
    let status = raw.status.unwrap_or(200);
    if !(200..=599).contains(&status) {
        return Err(format!(
            "[http.\"{path}\"]: status {status} is not an HTTP status (200–599)"
        ));
    }
    Ok(StandIn {
        status,
        content_type: raw.content_type.unwrap_or_else(|| content_type.to_string()),
        body,
    })
}

const ACTIONS: &str = "command, say, click, submit, close, react, unreact, pin, shortcut, home, webhook, wait, until or expect";

fn to_step(raw: RawStep, line: usize) -> Result<Step, String> {
    let who = raw.who.clone().unwrap_or_else(|| "alice".into());
    let place = raw
        .place
        .as_deref()
        .map(|p| p.trim_start_matches('#').to_string());
    let named: Vec<&str> = [
        ("command", raw.command.is_some()),
        ("click", raw.click.is_some()),
        ("submit", raw.submit.is_some()),
        ("close", raw.close.is_some()),
        ("react", raw.react.is_some()),
        ("unreact", raw.unreact.is_some()),
        ("pin", raw.pin.is_some()),
        ("say", raw.say.is_some()),
        ("shortcut", raw.shortcut.is_some()),
        ("home", raw.home.is_some()),
        ("webhook", raw.webhook.is_some()),
        ("wait", raw.wait.is_some()),
        ("until", raw.until.is_some()),
        ("expect", raw.expect.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    let action = match named.as_slice() {
        [one] => *one,
        [] => return Err(format!("a step needs one of {ACTIONS}")),
        many => {
            return Err(format!(
                "a step does one thing, this one says {}: split it into several [[step]]s",
                many.join(" and ")
            ));
        }
    };
    let kind = match action {
        "command" => {
            let line = raw.command.unwrap_or_default();
            if !line.starts_with('/') {
                return Err(format!("command `{line}` must start with `/`"));
            }
            StepKind::Command(line)
        }
        "click" => StepKind::Click {
            target: raw.click.unwrap_or_default(),
            on: raw.on,
            value: raw.value,
        },
        "submit" => StepKind::Submit {
            view: raw.submit.unwrap_or_default(),
            fields: raw.fields.unwrap_or_default(),
        },
        "close" => StepKind::Close(raw.close.unwrap_or_default()),
        "react" | "unreact" => StepKind::React {
            emoji: raw
                .react
                .or(raw.unreact)
                .unwrap_or_default()
                .trim_matches(':')
                .to_string(),
            on: raw.on,
            add: action == "react",
        },
        "say" => StepKind::Say {
            text: raw.say.unwrap_or_default(),
            thread: raw.thread,
        },
        "pin" => StepKind::Pin {
            on: raw.pin.filter(|text| !text.is_empty()),
        },
        "shortcut" => StepKind::Shortcut {
            callback_id: raw.shortcut.unwrap_or_default(),
            on: raw.on,
        },
        "home" => StepKind::Home,
        "webhook" => {
            let (body, content_type) = match (raw.body, raw.json) {
                (Some(_), Some(_)) => {
                    return Err("a webhook takes `body` or `json`, not both".into());
                }
                (Some(body), None) => (body.into_bytes(), "text/plain".to_string()),
                (None, Some(json)) => (
                    serde_json::to_vec(&json).map_err(|e| e.to_string())?,
                    "application/json".to_string(),
                ),
                (None, None) => (b"{}".to_vec(), "application/json".to_string()),
            };
            StepKind::Webhook {
                name: raw.webhook.unwrap_or_default(),
                body,
                content_type,
                headers: raw.headers.unwrap_or_default(),
            }
        }
        "wait" => StepKind::Wait(parse_duration(&raw.wait.unwrap_or_default())?),
        "until" => {
            StepKind::Until(parse_moment(&raw.until.unwrap_or_default())?.timestamp_millis() as u64)
        }
        _ => {
            let kind = raw.expect.unwrap_or_default();
            let seen = match kind.as_str() {
                "message" => Seen::Message,
                "ephemeral" => Seen::Ephemeral,
                "reply" => Seen::Reply,
                "modal" => Seen::Modal,
                "home" => Seen::Home,
                "file" => Seen::File,
                "nothing" | "none" => Seen::Nothing,
                other => {
                    return Err(format!(
                        "`expect = \"{other}\"`: expect one of message, ephemeral, reply, modal, home, file, nothing"
                    ));
                }
            };
            let at = match raw.at {
                None => None,
                Some(at) => Some(match NaiveTime::parse_from_str(&at, "%H:%M") {
                    Ok(t) => At::Local(t),
                    Err(_) => At::Moment(parse_moment(&at)?.timestamp()),
                }),
            };
            StepKind::Expect(Expectation {
                seen,
                text: raw.text,
                button: raw.button,
                title: raw.title,
                thread: raw.thread,
                name: raw.name,
                at,
                count: raw.count,
                reaction: raw.reaction.map(|r| r.trim_matches(':').to_string()),
            })
        }
    };
    Ok(Step {
        line,
        who,
        place,
        kind,
    })
}

/// RFC 3339 with an offset: `2026-11-26T09:00:00+01:00`.
fn parse_moment(text: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text.trim()).map_err(|e| {
        format!("`{text}` is not a moment ({e}); write it as RFC 3339 with an offset, e.g. \"2026-11-26T09:00:00+01:00\"")
    })
}

/// `90s`, `15m`, `1h30m`, `2d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad =
        || format!("`{text}` is not a duration: write e.g. \"90s\", \"15m\", \"1h30m\" or \"2d\"");
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().map_err(|_| bad())?;
        number.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Scenario, ScenarioError> {
        parse(Path::new("scenarios/x.toml"), text)
    }

    #[test]
    fn a_say_step_posts_in_a_thread_when_it_names_one() {
        let s = parse_str(
            "description = \"s\"\n[[step]]\nsay = \"@botyard approve PO-1\"\n[[step]]\nsay = \"on it\"\nthread = \"PO-1\"\nas = \"bob\"\n",
        )
        .unwrap();
        assert!(
            matches!(&s.steps[0].kind, StepKind::Say { text, thread: None } if text == "@botyard approve PO-1")
        );
        assert!(matches!(&s.steps[1].kind, StepKind::Say { thread: Some(t), .. } if t == "PO-1"));
        assert_eq!(s.steps[1].who, "bob");
    }

    #[test]
    fn a_pin_step_names_the_message_by_its_text() {
        let s = parse_str(
            "description = \"p\"\n[[step]]\npin = \"checkout errors\"\nin = \"#ops\"\n[[step]]\npin = \"\"\n",
        )
        .unwrap();
        assert!(
            matches!(&s.steps[0].kind, StepKind::Pin { on: Some(t) } if t == "checkout errors")
        );
        assert!(matches!(&s.steps[1].kind, StepKind::Pin { on: None }));
    }

    #[test]
    fn a_scenario_parses_with_its_people_steps_and_lines() {
        let s = parse_str(
            r##"description = "menu"
start = "2026-11-26T09:00:00+01:00"
channels = ["#lunch"]

[people]
alice = { tz = "Europe/Paris" }

[settings]
channel = "#lunch"

[[step]]
command = "/lunch"
in = "#lunch"

[[step]]
wait = "1h30m"

[[step]]
expect = "message"
as = "bob"
text = "Menu"
at = "11:00"
count = 2
"##,
        )
        .unwrap();
        assert_eq!(s.name, "x");
        assert_eq!(s.start_ms, 1_795_680_000_000);
        assert_eq!(s.channels, ["lunch"]);
        assert_eq!(s.people["alice"].tz.as_deref(), Some("Europe/Paris"));
        assert_eq!(s.steps.len(), 3);
        assert_eq!(s.steps[0].line, 11);
        assert!(matches!(&s.steps[0].kind, StepKind::Command(c) if c == "/lunch"));
        assert_eq!(s.steps[0].place.as_deref(), Some("lunch"));
        assert!(matches!(s.steps[1].kind, StepKind::Wait(d) if d == Duration::from_secs(5400)));
        let StepKind::Expect(e) = &s.steps[2].kind else {
            panic!("an expectation")
        };
        assert_eq!(s.steps[2].who, "bob");
        assert_eq!(e.seen, Seen::Message);
        assert_eq!(
            e.at,
            Some(At::Local(NaiveTime::from_hms_opt(11, 0, 0).unwrap()))
        );
        assert_eq!(e.count, Some(2));
    }

    #[test]
    fn mistakes_name_the_line_and_what_is_wrong() {
        let cases = [
            ("[[step]]\ncomand = \"/x\"\n", 2, "comand"),
            (
                "[[step]]\ncommand = \"/x\"\nwait = \"1h\"\n",
                1,
                "does one thing",
            ),
            ("[[step]]\nas = \"bob\"\n", 1, "needs one of"),
            ("\n\n[[step]]\nwait = \"soon\"\n", 3, "not a duration"),
            ("start = \"tomorrow\"\n", 1, "RFC 3339"),
            ("[[step]]\nexpect = \"toast\"\n", 1, "expect one of"),
            ("[[step]]\ncommand = \"x\"\n", 1, "must start with"),
            (
                "[people]\nbob = { tz = \"Mars/Base\" }\n",
                1,
                "not a timezone",
            ),
            ("[[step]\n", 1, ""),
        ];
        for (text, line, needle) in cases {
            match parse_str(text) {
                Err(ScenarioError::Invalid {
                    line: l, message, ..
                }) => {
                    assert_eq!(l, line, "{text:?}: {message}");
                    assert!(message.contains(needle), "{text:?}: {message}");
                }
                other => panic!("{text:?} was not refused: {other:?}"),
            }
        }
    }

    #[test]
    fn http_stand_ins_parse_and_their_mistakes_are_named() {
        let s = parse_str(
            "[http.\"/menu.json\"]\njson = { dishes = [\"Soup\"] }\n\n[http.\"/down\"]\nstatus = 503\nbody = \"no\"\n",
        )
        .unwrap();
        assert_eq!(s.http["/menu.json"].status, 200);
        assert_eq!(s.http["/menu.json"].content_type, "application/json");
        assert_eq!(s.http["/menu.json"].body, br#"{"dishes":["Soup"]}"#);
        assert_eq!(s.http["/down"].status, 503);
        assert_eq!(s.http["/down"].body, b"no");
        assert!(s.http_base.is_none());
        for (text, needle) in [
            ("[http.\"menu\"]\nbody = \"x\"\n", "starting with `/`"),
            ("[http.\"/m\"]\nbody = \"x\"\njson = 1\n", "not both"),
            ("[http.\"/m\"]\nstatus = 42\n", "not an HTTP status"),
            ("[http.\"/m\"]\nbdy = \"x\"\n", "bdy"),
        ] {
            match parse_str(text) {
                Err(ScenarioError::Invalid { message, .. }) => {
                    assert!(message.contains(needle), "{text:?}: {message}")
                }
                other => panic!("{text:?} was not refused: {other:?}"),
            }
        }
    }

    #[test]
    fn durations_combine_units() {
        assert_eq!(parse_duration("6h").unwrap(), Duration::from_secs(6 * 3600));
        assert_eq!(
            parse_duration("1d2h3m4s").unwrap(),
            Duration::from_secs(93_784)
        );
        assert!(parse_duration("6").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("0s").is_err());
    }
}
