//! Commands in plain words, as an app declares them (`phrases` export): the
//! command line each phrase means — a template with slots — and the checks a
//! version's phrases pass at load, so a phrase can only ever offer one of
//! its own app's commands and every slot it fills is declared.
//!
//! The matching itself is routing's (`routing/plain_words/`); this is the
//! floor it and the loader share.

pub use super::bindings::exports::botyard::app::phrases::{
    ChoiceSpec, PhraseSpec, SlotKind, SlotSpec,
};

/// At most this many phrases per app, and aliases or examples per phrase:
/// plenty for a person's ways of saying one command, and a bound on what
/// one app adds to every match.
pub const MAX_PHRASES: usize = 100;
pub const MAX_WORDS: usize = 64;
/// Characters of one line, alias, example or pattern.
pub const MAX_TEXT: usize = 300;

/// A phrase's command line, parsed: `/po reject {po} [{reason}]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Words copied as they are, spaces included.
    Text(String),
    /// A slot's value, by name.
    Slot(String),
    /// Dropped, with everything in it, when one of its slots is empty.
    Group(Vec<Part>),
}

/// Parses a template; the message says what is wrong where.
pub fn parse_template(line: &str) -> Result<Vec<Part>, String> {
    let mut stack: Vec<Vec<Part>> = vec![Vec::new()];
    let mut text = String::new();
    let mut chars = line.chars();
    let flush = |text: &mut String, parts: &mut Vec<Part>| {
        if !text.is_empty() {
            parts.push(Part::Text(std::mem::take(text)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                flush(&mut text, stack.last_mut().expect("a level"));
                let mut name = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    name.push(c);
                }
                if !closed
                    || name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(format!(
                        "`{line}`: a slot is `{{name}}` with a name of [a-z0-9_-], closed by `}}`"
                    ));
                }
                stack.last_mut().expect("a level").push(Part::Slot(name));
            }
            '[' => {
                flush(&mut text, stack.last_mut().expect("a level"));
                stack.push(Vec::new());
            }
            ']' => {
                flush(&mut text, stack.last_mut().expect("a level"));
                if stack.len() == 1 {
                    return Err(format!("`{line}`: `]` without its `[`"));
                }
                let group = stack.pop().expect("a group");
                stack.last_mut().expect("a level").push(Part::Group(group));
            }
            '}' => return Err(format!("`{line}`: `}}` without its `{{`")),
            c => text.push(c),
        }
    }
    if stack.len() != 1 {
        return Err(format!("`{line}`: `[` without its `]`"));
    }
    let mut parts = stack.pop().expect("the top level");
    flush(&mut text, &mut parts);
    Ok(parts)
}

/// Every slot named in `parts`, in order.
pub fn slot_names(parts: &[Part]) -> Vec<&str> {
    let mut out = Vec::new();
    for part in parts {
        match part {
            Part::Slot(name) => out.push(name.as_str()),
            Part::Group(inner) => out.extend(slot_names(inner)),
            Part::Text(_) => {}
        }
    }
    out
}

/// The template's words before its first slot or group: the command, its
/// subcommand and any fixed words (`/unicorn leaderboard`).
pub fn fixed_words(parts: &[Part]) -> Vec<&str> {
    let mut words = Vec::new();
    for part in parts {
        match part {
            Part::Text(text) => words.extend(text.split_whitespace()),
            _ => break,
        }
    }
    words
}

/// Fills a template: a group goes when any slot in it is empty, and so
/// does an empty slot outside one; spaces are tidied.
pub fn render(parts: &[Part], value: &dyn Fn(&str) -> Option<String>) -> String {
    fn fill(parts: &[Part], value: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        let mut out = String::new();
        let mut complete = true;
        for part in parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Slot(name) => match value(name).filter(|v| !v.is_empty()) {
                    Some(v) => out.push_str(&v),
                    None => complete = false,
                },
                Part::Group(inner) => {
                    if let Some(text) = fill(inner, value) {
                        out.push_str(&text);
                    }
                }
            }
        }
        complete.then_some(out)
    }
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Text(text) => out.push_str(text),
            Part::Slot(name) => {
                if let Some(v) = value(name) {
                    out.push_str(&v);
                }
            }
            Part::Group(inner) => {
                if let Some(text) = fill(inner, value) {
                    out.push_str(&text);
                }
            }
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The template as usage: `/po approve <po>`.
pub fn usage(parts: &[Part]) -> String {
    render(parts, &|name| Some(format!("<{name}>")))
}

/// Checks an app's phrases against the commands it declares (`commands`:
/// top-level commands with their slash; `subcommands`: umbrella and path).
pub fn check(
    phrases: &[PhraseSpec],
    commands: &[&str],
    subcommands: &[(&str, &str)],
) -> Result<(), String> {
    if phrases.len() > MAX_PHRASES {
        return Err(format!(
            "{} phrases declared; at most {MAX_PHRASES}",
            phrases.len()
        ));
    }
    for p in phrases {
        let at = |what: String| format!("phrase `{}`: {what}", p.line);
        if p.line.chars().count() > MAX_TEXT {
            return Err(at(format!("the line is over {MAX_TEXT} characters")));
        }
        let parts = parse_template(&p.line).map_err(at)?;
        let words = fixed_words(&parts);
        let Some(command) = words.first().copied() else {
            return Err(at(
                "the line must start with one of the app's commands".into()
            ));
        };
        let own = commands.contains(&command)
            || subcommands.iter().any(|(umbrella, path)| {
                let path: Vec<&str> = path.split(' ').collect();
                *umbrella == command
                    && words.len() > path.len()
                    && words[1..=path.len()] == path[..]
            });
        if !own {
            return Err(at(format!(
                "`{command}` with these words is not one of this app's commands (a phrase may only offer its own app's commands)"
            )));
        }
        let named = slot_names(&parts);
        for name in &named {
            if !p.slots.iter().any(|s| s.name == *name) {
                return Err(at(format!("slot `{{{name}}}` is not declared in `slots`")));
            }
        }
        for (i, s) in p.slots.iter().enumerate() {
            if !named.contains(&s.name.as_str()) {
                return Err(at(format!(
                    "slot `{}` is declared but not in the line",
                    s.name
                )));
            }
            if p.slots[..i].iter().any(|o| o.name == s.name) {
                return Err(at(format!("slot `{}` is declared twice", s.name)));
            }
            match &s.kind {
                SlotKind::Pattern(pattern) => {
                    if pattern.chars().count() > MAX_TEXT {
                        return Err(at(format!("slot `{}`: the pattern is too long", s.name)));
                    }
                    regex::Regex::new(&format!("^(?i:{pattern})$"))
                        .map_err(|e| at(format!("slot `{}`: pattern `{pattern}`: {e}", s.name)))?;
                }
                SlotKind::Choice(values)
                    if values.is_empty() || values.iter().any(|v| v.value.trim().is_empty()) =>
                {
                    return Err(at(format!(
                        "slot `{}`: a choice needs values, none of them empty",
                        s.name
                    )));
                }
                _ => {}
            }
        }
        if p.aliases.len() > MAX_WORDS || p.examples.len() > MAX_WORDS {
            return Err(at(format!(
                "at most {MAX_WORDS} aliases and {MAX_WORDS} examples"
            )));
        }
        if let Some(long) = p
            .aliases
            .iter()
            .chain(&p.examples)
            .find(|t| t.chars().count() > MAX_TEXT)
        {
            return Err(at(format!("`{long}` is over {MAX_TEXT} characters")));
        }
        if p.aliases.iter().all(|a| a.trim().is_empty()) && p.examples.is_empty() {
            return Err(at(
                "give it at least one alias or example: the words people say for it".into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn phrase(line: &str, slots: Vec<SlotSpec>) -> PhraseSpec {
        PhraseSpec {
            line: line.into(),
            aliases: vec!["approve".into()],
            examples: vec![],
            slots,
            read_only: false,
        }
    }

    /// A required slot without a default (for tests here and in routing).
    pub(crate) fn slot(name: &str, kind: SlotKind) -> SlotSpec {
        SlotSpec {
            name: name.into(),
            kind,
            default: None,
            optional: false,
        }
    }

    #[test]
    fn a_template_renders_its_slots_and_drops_an_empty_group() {
        let parts = parse_template("/unicorn {user} [for {reason}]").unwrap();
        let with = render(&parts, &|n| {
            Some(
                if n == "user" {
                    "<@U1>"
                } else {
                    "the migration"
                }
                .into(),
            )
        });
        assert_eq!(with, "/unicorn <@U1> for the migration");
        let without = render(&parts, &|n| (n == "user").then(|| "<@U1>".to_string()));
        assert_eq!(without, "/unicorn <@U1>");
        assert_eq!(usage(&parts), "/unicorn <user> for <reason>");
        assert_eq!(fixed_words(&parts), ["/unicorn"]);
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        assert!(
            parse_template("/po approve {po")
                .unwrap_err()
                .contains("closed")
        );
        assert!(parse_template("/po [approve").unwrap_err().contains("`[`"));
        assert!(parse_template("/po approve]").unwrap_err().contains("`]`"));
    }

    #[test]
    fn a_phrase_offers_only_its_own_apps_commands_with_declared_slots() {
        let po = slot("po", SlotKind::Id("PO-".into()));
        let ok = phrase("/po approve {po}", vec![po.clone()]);
        assert!(check(std::slice::from_ref(&ok), &["/po"], &[]).is_ok());
        let sub = phrase("/spy servers stop {po}", vec![po.clone()]);
        assert!(check(std::slice::from_ref(&sub), &[], &[("/spy", "servers stop")]).is_ok());
        let err = check(
            std::slice::from_ref(&sub),
            &[],
            &[("/spy", "servers start")],
        )
        .unwrap_err();
        assert!(err.contains("not one of this app's commands"), "{err}");
        let err = check(
            &[phrase("/po approve {id}", vec![po.clone()])],
            &["/po"],
            &[],
        )
        .unwrap_err();
        assert!(err.contains("`{id}` is not declared"), "{err}");
        let bad = phrase("/po {x}", vec![slot("x", SlotKind::Pattern("(".into()))]);
        assert!(
            check(&[bad], &["/po"], &[])
                .unwrap_err()
                .contains("pattern")
        );
    }
}
