//! `/poll "Question" "A" "B" --flags`: what a poll is made from, read from
//! a command line (straight or curly quotes; Slack turns `--` into `—`,
//! which counts too) or from the creation modal.

use crate::when;

/// Most options a poll starts with; people may add more up to [`MAX_OPTIONS`].
pub const MAX_START_OPTIONS: usize = 20;
/// Most options a poll ever has (each is one block; Slack allows 50).
pub const MAX_OPTIONS: usize = 30;
/// Longest option text, in characters (Slack shows it in a section).
pub const MAX_OPTION_CHARS: usize = 150;
/// Longest question, in characters.
pub const MAX_QUESTION_CHARS: usize = 1000;

pub const USAGE: &str = "`/poll \"Lunch?\" \"Pizza\" \"Tacos\"`";

/// One option as written: its text and, if limited, how many may choose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionSpec {
    pub text: String,
    pub capacity: Option<u32>,
}

/// Everything a new poll is made from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Spec {
    pub question: String,
    pub options: Vec<OptionSpec>,
    pub anonymous: bool,
    /// Options each person may choose: 1 is a single-choice poll, 0 any number.
    pub max: u32,
    pub hidden: bool,
    pub add_options: bool,
    /// When it closes, as written (`17:00`, `2h`): read again for each
    /// occurrence of a repeating poll.
    pub close: Option<String>,
    pub quorum: Option<u32>,
    pub remind: Option<String>,
    /// A cron line (UTC).
    pub repeat: Option<String>,
}

/// What a command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Create(Spec),
    /// `/poll` alone: the modal.
    Modal,
    Help,
    /// `/poll list`: your repeating polls.
    List,
    /// `/poll stop R7`: stop a repeating poll.
    Stop(String),
}

/// Splits a command line into words and quoted phrases; a quoted phrase is
/// marked so `"--anonymous"` stays an option's text.
pub fn tokenize(line: &str) -> Result<Vec<(String, bool)>, String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    for c in line.chars() {
        match c {
            '"' | '“' | '”' | '„' => {
                if quoted {
                    tokens.push((std::mem::take(&mut current), true));
                    quoted = false;
                    was_quoted = false;
                } else {
                    if !current.is_empty() {
                        tokens.push((std::mem::take(&mut current), false));
                    }
                    quoted = true;
                    was_quoted = true;
                }
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tokens.push((std::mem::take(&mut current), false));
                }
            }
            c => current.push(c),
        }
    }
    if quoted && was_quoted {
        return Err(format!(
            "a quote is not closed: put each part in its own pair of quotes, as in {USAGE}"
        ));
    }
    if !current.is_empty() {
        tokens.push((current, false));
    }
    Ok(tokens)
}

/// `--x`, `—x` and `–x` (what Slack makes of `--`) as `x`.
fn flag_name(word: &str) -> Option<&str> {
    word.strip_prefix("--")
        .or_else(|| word.strip_prefix('—'))
        .or_else(|| word.strip_prefix('–'))
        .filter(|name| !name.is_empty())
}

pub fn parse_command(line: &str, now_ms: u64) -> Result<Command, String> {
    let tokens = tokenize(line)?;
    let Some((first, first_quoted)) = tokens.first() else {
        return Ok(Command::Modal);
    };
    if !first_quoted {
        match first.to_ascii_lowercase().as_str() {
            "help" if tokens.len() == 1 => return Ok(Command::Help),
            "list" if tokens.len() == 1 => return Ok(Command::List),
            "stop" if tokens.len() == 2 => return Ok(Command::Stop(tokens[1].0.clone())),
            "stop" => {
                return Err(
                    "write which repeating poll to stop: `/poll stop R7` (`/poll list` shows them)"
                        .into(),
                )
            }
            _ => {}
        }
    }
    let mut spec = Spec {
        max: 1,
        ..Spec::default()
    };
    let mut texts = Vec::new();
    let mut capacity_all = None;
    let mut i = 0;
    while i < tokens.len() {
        let (word, quoted) = &tokens[i];
        i += 1;
        let name = match flag_name(word) {
            Some(name) if !quoted => name.to_ascii_lowercase(),
            _ => {
                if !quoted {
                    return Err(format!(
                        "`/poll` needs a question and at least two options, each in quotes: {USAGE} (I read `{word}` outside quotes)"
                    ));
                }
                texts.push(word.trim().to_string());
                continue;
            }
        };
        // The flag's value: the next token, unless it is another flag.
        let mut value = |what: &str| -> Result<String, String> {
            match tokens.get(i) {
                Some((v, q)) if *q || flag_name(v).is_none() => {
                    i += 1;
                    Ok(v.clone())
                }
                _ => Err(format!("`--{name}` needs {what}")),
            }
        };
        let number = |text: String, what: &str| -> Result<u32, String> {
            text.parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("`--{name} {text}`: {what} is a whole number from 1"))
        };
        match name.as_str() {
            "anonymous" | "anon" => spec.anonymous = true,
            "hidden" | "hide-results" => spec.hidden = true,
            "add-options" | "open" => spec.add_options = true,
            "multiple" | "multi" => {
                // `--multiple` alone: any number of options; `--multiple 2`: up to 2.
                match tokens.get(i) {
                    Some((v, false)) if v.parse::<u32>().is_ok() => {
                        i += 1;
                        spec.max = number(v.clone(), "the most options each person picks")?;
                    }
                    _ => spec.max = 0,
                }
            }
            "capacity" | "seats" => {
                capacity_all = Some(number(
                    value("a number of seats per option")?,
                    "the number of seats",
                )?)
            }
            "quorum" => spec.quorum = Some(number(value("a number of voters")?, "the quorum")?),
            "close" | "closes" => {
                let text = value("a time: `--close 17:00`, `--close 2h`")?;
                when::parse_when(&text, now_ms)?;
                spec.close = Some(text);
            }
            "remind" => {
                let text = value("a time: `--remind 16:00`, `--remind 1h`")?;
                when::parse_when(&text, now_ms)?;
                spec.remind = Some(text);
            }
            "repeat" | "every" => {
                spec.repeat = Some(when::parse_repeat(&value(
                    "a schedule: `--repeat \"weekly mon 09:00\"`",
                )?)?)
            }
            other => {
                return Err(format!(
                    "`--{other}` is not a `/poll` option; see `/poll help`"
                ))
            }
        }
    }
    let Some(question) = texts.first().cloned() else {
        return Err(format!(
            "`/poll` needs a question and at least two options: {USAGE}"
        ));
    };
    spec.question = question;
    for text in &texts[1..] {
        spec.options.push(option_spec(text, capacity_all)?);
    }
    check(&spec)?;
    Ok(Command::Create(spec))
}

/// An option's text, with a capacity written into it taken out:
/// `Lisbon (2 seats)` is `Lisbon` for at most 2 people.
pub fn option_spec(text: &str, default_capacity: Option<u32>) -> Result<OptionSpec, String> {
    let text = text.trim();
    if let Some(inner) = text.strip_suffix(')').and_then(|t| t.rsplit_once('(')) {
        let (before, inside) = inner;
        let words: Vec<&str> = inside.split_whitespace().collect();
        if let [n, unit] = words.as_slice() {
            let units = [
                "seat", "seats", "spot", "spots", "place", "places", "slot", "slots",
            ];
            if units.contains(&unit.to_ascii_lowercase().as_str()) {
                let capacity = n.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    format!("`{text}`: the number of {unit} is a whole number from 1")
                })?;
                return Ok(OptionSpec {
                    text: before.trim().to_string(),
                    capacity: Some(capacity),
                });
            }
        }
    }
    Ok(OptionSpec {
        text: text.to_string(),
        capacity: default_capacity,
    })
}

/// What every poll must be, however it was asked for.
pub fn check(spec: &Spec) -> Result<(), String> {
    if spec.question.trim().is_empty() {
        return Err(format!("The question is empty: {USAGE}"));
    }
    if spec.question.chars().count() > MAX_QUESTION_CHARS {
        return Err(format!(
            "The question is over {MAX_QUESTION_CHARS} characters; shorten it"
        ));
    }
    if spec.options.len() < 2 {
        return Err(format!(
            "`/poll` needs a question and at least two options: {USAGE}"
        ));
    }
    if spec.options.len() > MAX_START_OPTIONS {
        return Err(format!(
            "A poll starts with at most {MAX_START_OPTIONS} options (you gave {}); with `--add-options` people can add more later",
            spec.options.len()
        ));
    }
    for (i, option) in spec.options.iter().enumerate() {
        check_option(&option.text)?;
        if spec.options[..i]
            .iter()
            .any(|o| same(&o.text, &option.text))
        {
            return Err(format!(
                "“{}” is there twice: each option must be different",
                option.text
            ));
        }
    }
    if spec.max as usize > spec.options.len() {
        return Err(format!(
            "`--multiple {}` lets each person pick more options than there are ({})",
            spec.max,
            spec.options.len()
        ));
    }
    Ok(())
}

pub fn check_option(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("An option is empty: write some text between its quotes".into());
    }
    if text.chars().count() > MAX_OPTION_CHARS {
        return Err(format!(
            "“{}…” is over {MAX_OPTION_CHARS} characters; options must be shorter",
            text.chars().take(30).collect::<String>()
        ));
    }
    Ok(())
}

/// Whether two options say the same thing (case and spacing aside).
pub fn same(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(line: &str) -> Spec {
        match parse_command(line, 1_767_603_600_000).unwrap() {
            Command::Create(spec) => spec,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn straight_and_curly_quotes() {
        for line in [
            r#""Where is the offsite?" "Lisbon" "Berlin" "Seoul""#,
            "“Where is the offsite?” “Lisbon” “Berlin” “Seoul”",
        ] {
            let spec = create(line);
            assert_eq!(spec.question, "Where is the offsite?");
            let texts: Vec<_> = spec.options.iter().map(|o| o.text.as_str()).collect();
            assert_eq!(texts, ["Lisbon", "Berlin", "Seoul"]);
            assert_eq!((spec.max, spec.anonymous, spec.hidden), (1, false, false));
        }
    }

    #[test]
    fn flags_and_capacities() {
        let spec = create(
            r#""Q" "Lisbon (2 seats)" "Berlin" "Seoul" --anonymous --multiple 2 --hidden —quorum 10 --add-options --close 17:00 --capacity 5"#,
        );
        assert!(spec.anonymous && spec.hidden && spec.add_options);
        assert_eq!((spec.max, spec.quorum), (2, Some(10)));
        assert_eq!(spec.close.as_deref(), Some("17:00"));
        assert_eq!(
            spec.options[0],
            OptionSpec {
                text: "Lisbon".into(),
                capacity: Some(2)
            }
        );
        assert_eq!(spec.options[1].capacity, Some(5));
        assert_eq!(create(r#""Q" "A" "B" --multiple"#).max, 0);
        assert_eq!(
            create(r#""Q" "A" "B" --repeat "weekly mon 09:00""#)
                .repeat
                .as_deref(),
            Some("0 9 * * 1")
        );
    }

    #[test]
    fn clear_errors() {
        let err = |line: &str| parse_command(line, 0).unwrap_err();
        assert!(err(r#""Lunch?""#).contains("at least two options"));
        assert!(err("Lunch? Pizza Tacos").contains("in quotes"));
        assert!(err(r#""Q" "A" "a""#).contains("twice"));
        assert!(err(r#""Q" "A" "B" --multiple 3"#).contains("more options than there are"));
        assert!(err(r#""Q" "A" "B" --colour red"#).contains("not a `/poll` option"));
        assert!(err(r#""Q" "A" "B" --quorum"#).contains("needs a number"));
        assert!(err(r#""Q" "A "#).contains("not closed"));
        assert!(err(r#""Q" "A" "B" --close never"#).contains("as a time"));
        assert_eq!(parse_command("", 0), Ok(Command::Modal));
        assert_eq!(parse_command("help", 0), Ok(Command::Help));
        assert_eq!(parse_command("stop R3", 0), Ok(Command::Stop("R3".into())));
    }
}
