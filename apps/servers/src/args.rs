//! What people type after `/spy servers <verb>`, the data centers the
//! operator configured, and name patterns (`web-*`).

use crate::rpc::Supervisor;

/// The three changes a person can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    Start,
    Stop,
    Restart,
}

impl Verb {
    pub fn word(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Restart => "restart",
        }
    }

    /// `Stop`, for a sentence's start.
    pub fn title(self) -> &'static str {
        match self {
            Verb::Start => "Start",
            Verb::Stop => "Stop",
            Verb::Restart => "Restart",
        }
    }

    /// `stopped`.
    pub fn past(self) -> &'static str {
        match self {
            Verb::Start => "started",
            Verb::Stop => "stopped",
            Verb::Restart => "restarted",
        }
    }

    /// The Confirm button's action id, which permission rules name.
    pub fn confirm_action(self) -> String {
        format!("confirm-{}", self.word())
    }

    pub fn from_confirm_action(id: &str) -> Option<Verb> {
        match id.strip_prefix("confirm-")? {
            "start" => Some(Verb::Start),
            "stop" => Some(Verb::Stop),
            "restart" => Some(Verb::Restart),
            _ => None,
        }
    }
}

/// `/spy servers stop <name|glob> [dc] [--go]`, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub pattern: String,
    pub dc: Option<String>,
    pub go: bool,
}

/// `list [dc]`.
pub fn parse_list(text: &str) -> Result<Option<String>, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    refuse_flags(&words, "list")?;
    match words.as_slice() {
        [] => Ok(None),
        [dc] => Ok(Some(dc.to_string())),
        _ => {
            Err("`/spy servers list` takes at most a data center: `/spy servers list east`".into())
        }
    }
}

/// `inspect <name> [dc]`.
pub fn parse_inspect(text: &str) -> Result<(String, Option<String>), String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    refuse_flags(&words, "inspect")?;
    match words.as_slice() {
        [name] => Ok((name.to_string(), None)),
        [name, dc] => Ok((name.to_string(), Some(dc.to_string()))),
        _ => Err("`/spy servers inspect` takes a process and, optionally, a data center: `/spy servers inspect web-1 east`".into()),
    }
}

/// `start|stop|restart <name|glob> [dc] [--go]`.
pub fn parse_change(verb: Verb, text: &str) -> Result<Change, String> {
    let mut go = false;
    let mut words = Vec::new();
    for word in text.split_whitespace() {
        // Slack turns `--` into `—` (an em dash) as people type.
        match word.trim_start_matches(['-', '—', '–']) {
            _ if !word.starts_with(['-', '—', '–']) => words.push(word),
            "go" => go = true,
            _ => {
                return Err(format!(
                    "`{word}` is not a `/spy servers {}` option; the only one is `--go`",
                    verb.word()
                ))
            }
        }
    }
    let usage = format!(
        "`/spy servers {v}` takes a process (or a pattern such as `web-*`) and, optionally, a data center: `/spy servers {v} web-1 east`",
        v = verb.word()
    );
    match words.as_slice() {
        [pattern] => Ok(Change {
            pattern: pattern.to_string(),
            dc: None,
            go,
        }),
        [pattern, dc] => Ok(Change {
            pattern: pattern.to_string(),
            dc: Some(dc.to_string()),
            go,
        }),
        _ => Err(usage),
    }
}

fn refuse_flags(words: &[&str], verb: &str) -> Result<(), String> {
    match words.iter().find(|w| w.starts_with(['-', '—', '–'])) {
        Some(flag) => Err(format!("`{flag}` is not a `/spy servers {verb}` option")),
        None => Ok(()),
    }
}

/// Whether `pattern` names processes by a pattern rather than one name.
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// `*` matches any run of characters, `?` one; everything else itself.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative matching with backtracking to the last `*`.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The data centers in setting `datacenters`, checked.
pub fn datacenters(setting: Option<Vec<Supervisor>>) -> Result<Vec<Supervisor>, String> {
    let list = setting.unwrap_or_default();
    if list.is_empty() {
        return Err("No data centers are configured: the operator sets `datacenters = [{ name = \"east\", url = \"http://…:9001/RPC2\" }]` under `[apps.servers.settings]` in botyard.toml.".into());
    }
    for (i, dc) in list.iter().enumerate() {
        let name_ok = !dc.name.is_empty()
            && dc
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(format!(
                "setting `datacenters`: `{}` is not a data center name people can type (letters, digits, `-`, `_`)",
                dc.name
            ));
        }
        if !(dc.url.starts_with("http://") || dc.url.starts_with("https://")) {
            return Err(format!(
                "setting `datacenters`: data center `{}` has URL `{}`; give supervisord's XML-RPC URL, `http://host:9001/RPC2`",
                dc.name, dc.url
            ));
        }
        if list[..i]
            .iter()
            .any(|o| o.name.eq_ignore_ascii_case(&dc.name))
        {
            return Err(format!(
                "setting `datacenters`: `{}` is there twice",
                dc.name
            ));
        }
    }
    Ok(list)
}

/// The data centers `dc` selects: all of them, or the one named.
pub fn select<'a>(all: &'a [Supervisor], dc: Option<&str>) -> Result<Vec<&'a Supervisor>, String> {
    match dc {
        None => Ok(all.iter().collect()),
        Some(name) => all
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
            .map(|d| vec![d])
            .ok_or_else(|| {
                let names: Vec<&str> = all.iter().map(|d| d.name.as_str()).collect();
                format!(
                    "There is no data center `{name}`; there are {}.",
                    names.join(", ")
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dc(name: &str, url: &str) -> Supervisor {
        Supervisor {
            name: name.into(),
            url: url.into(),
        }
    }

    #[test]
    fn changes_read_a_target_a_data_center_and_go() {
        assert_eq!(
            parse_change(Verb::Stop, "web-1 east").unwrap(),
            Change {
                pattern: "web-1".into(),
                dc: Some("east".into()),
                go: false
            }
        );
        let bulk = parse_change(Verb::Restart, "--go web-*").unwrap();
        assert_eq!(
            (bulk.pattern.as_str(), bulk.dc, bulk.go),
            ("web-*", None, true)
        );
        assert!(
            parse_change(Verb::Stop, "web-* —go").unwrap().go,
            "Slack's em dash"
        );
        let err = parse_change(Verb::Stop, "web-1 --force").unwrap_err();
        assert!(
            err.contains("`--force` is not a `/spy servers stop` option"),
            "{err}"
        );
        assert!(parse_change(Verb::Start, "")
            .unwrap_err()
            .contains("takes a process"));
        assert!(parse_change(Verb::Start, "a b c").is_err());
    }

    #[test]
    fn list_and_inspect_take_few_words() {
        assert_eq!(parse_list("").unwrap(), None);
        assert_eq!(parse_list(" west ").unwrap().as_deref(), Some("west"));
        assert!(parse_list("a b").is_err());
        assert!(parse_list("--all").unwrap_err().contains("`--all`"));
        assert_eq!(parse_inspect("web-1").unwrap(), ("web-1".into(), None));
        assert_eq!(
            parse_inspect("web-1 east").unwrap(),
            ("web-1".into(), Some("east".into()))
        );
        assert!(parse_inspect("").is_err());
    }

    #[test]
    fn globs() {
        assert!(is_glob("web-*") && is_glob("web-?") && !is_glob("web-1"));
        for (pattern, name, expected) in [
            ("web-*", "web-1", true),
            ("web-*", "web-", true),
            ("web-*", "api-1", false),
            ("*", "anything:at_all", true),
            ("w?b-1", "web-1", true),
            ("w?b-1", "wb-1", false),
            ("*-1", "web-1", true),
            ("*-1", "web-12", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("worker:*", "worker:worker_01", true),
            ("web-1", "web-1", true),
            ("web-1", "web-10", false),
        ] {
            assert_eq!(glob_matches(pattern, name), expected, "{pattern} ~ {name}");
        }
    }

    #[test]
    fn data_centers_are_checked() {
        let ok = datacenters(Some(vec![
            dc("east", "http://127.0.0.1:9001/RPC2"),
            dc("west", "https://sv.west.example/RPC2"),
        ]))
        .unwrap();
        assert_eq!(select(&ok, Some("EAST")).unwrap()[0].name, "east");
        assert_eq!(select(&ok, None).unwrap().len(), 2);
        let err = select(&ok, Some("north")).unwrap_err();
        assert_eq!(
            err,
            "There is no data center `north`; there are east, west."
        );
        assert!(datacenters(None).unwrap_err().contains("No data centers"));
        assert!(datacenters(Some(vec![dc("a b", "http://x/")])).is_err());
        assert!(datacenters(Some(vec![dc("a", "ftp://x/")]))
            .unwrap_err()
            .contains("XML-RPC URL"));
        assert!(
            datacenters(Some(vec![dc("a", "http://x/"), dc("A", "http://y/")]))
                .unwrap_err()
                .contains("twice")
        );
    }

    #[test]
    fn confirm_actions_name_their_verb() {
        for verb in [Verb::Start, Verb::Stop, Verb::Restart] {
            assert_eq!(
                Verb::from_confirm_action(&verb.confirm_action()),
                Some(verb)
            );
        }
        assert_eq!(Verb::from_confirm_action("confirm-kill"), None);
        assert_eq!(Verb::from_confirm_action("cancel"), None);
    }
}
