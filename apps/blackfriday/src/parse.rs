//! What people type after `/blackfriday`.

/// A `/blackfriday` command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/blackfriday`: the countdown in the asker's time zone.
    Countdown,
    Help,
    /// `checklist` or `checklist list`.
    List,
    /// `checklist add "Load test checkout" @alice` (the owner is optional:
    /// it defaults to whoever adds the item).
    Add {
        title: String,
        owner: Option<Mention>,
    },
    Done(u32),
    Reopen(u32),
    Remove(u32),
}

/// Someone named in a command, as Slack sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mention {
    /// An escaped mention, `<@U123>` or `<@U123|alice>`.
    User(String),
    /// A user group, `<!subteam^S123|@sre>`.
    Group(String),
    /// `@alice` or `@sre` as typed (commands do not escape mentions).
    Name(String),
}

/// The longest item title, in characters.
pub const MAX_TITLE: usize = 150;

pub const ADD_EXAMPLE: &str = "`/blackfriday checklist add \"Load test checkout\" @alice`";

pub fn parse(text: &str) -> Result<Command, String> {
    let text = text.trim();
    let (first, rest) = split_word(text);
    match first.to_lowercase().as_str() {
        "" | "countdown" | "when" => Ok(Command::Countdown),
        "help" | "-h" | "--help" | "?" => Ok(Command::Help),
        "checklist" | "check" | "list" => checklist(if first.eq_ignore_ascii_case("list") {
            "list"
        } else {
            rest
        }),
        "add" | "done" | "reopen" | "remove" => Err(format!(
            "Checklist commands start with `checklist`: `{}`",
            format!("/blackfriday checklist {first} {rest}").trim_end()
        )),
        _ => Err(format!(
            "`/blackfriday {text}` is not something I know. `/blackfriday help` lists what I do."
        )),
    }
}

fn checklist(text: &str) -> Result<Command, String> {
    let (verb, rest) = split_word(text);
    match verb.to_lowercase().as_str() {
        "" | "list" | "ls" | "show" => {
            if rest.is_empty() {
                Ok(Command::List)
            } else {
                Err("`/blackfriday checklist list` takes nothing after it.".into())
            }
        }
        "add" => add(rest),
        "done" | "check" | "tick" => number("done", rest).map(Command::Done),
        "reopen" | "undo" | "undone" => number("reopen", rest).map(Command::Reopen),
        "remove" | "delete" | "rm" => number("remove", rest).map(Command::Remove),
        _ => Err(format!(
            "`{verb}` is not a checklist command: use `add`, `done`, `reopen`, `remove` or `list` (`/blackfriday help`)."
        )),
    }
}

/// The first word and the rest, trimmed.
fn split_word(text: &str) -> (&str, &str) {
    let text = text.trim();
    match text.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (text, ""),
    }
}

/// An item's number: `3` or `#3`.
fn number(verb: &str, text: &str) -> Result<u32, String> {
    let example = format!(
        "`/blackfriday checklist {verb} 2` (`/blackfriday checklist list` shows the numbers)"
    );
    if text.is_empty() {
        return Err(format!("Which item? Give its number: {example}."));
    }
    match text.trim_start_matches('#').parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "`{text}` is not an item number. Give one number: {example}."
        )),
    }
}

const OPENING_QUOTES: [char; 4] = ['"', '“', '”', '„'];
const CLOSING_QUOTES: [char; 3] = ['"', '”', '“'];

fn add(text: &str) -> Result<Command, String> {
    if text.is_empty() {
        return Err(format!("What should be on the checklist? {ADD_EXAMPLE}"));
    }
    let (title, owner) =
        if let Some(open) = text.chars().next().filter(|c| OPENING_QUOTES.contains(c)) {
            let inner = &text[open.len_utf8()..];
            let close = inner
                .find(CLOSING_QUOTES)
                .ok_or_else(|| format!("The item's closing quote is missing: {ADD_EXAMPLE}"))?;
            let title = &inner[..close];
            let after = inner[close..].chars().next().map_or(0, char::len_utf8);
            let rest = inner[close + after..].trim();
            let owner = match rest {
                "" => None,
                rest => Some(
                    mention(rest)
                        .filter(|_| !rest.contains(char::is_whitespace))
                        .ok_or_else(|| {
                            format!("After the item comes its owner, one `@name`: {ADD_EXAMPLE}")
                        })?,
                ),
            };
            (title.trim().to_string(), owner)
        } else {
            // Unquoted: the owner is the last word, when it is a mention.
            match text.rsplit_once(char::is_whitespace) {
                Some((title, last)) if mention(last).is_some() => {
                    (title.trim().to_string(), mention(last))
                }
                _ if mention(text).is_some() => (String::new(), mention(text)),
                _ => (text.to_string(), None),
            }
        };
    let title = decode_entities(&title);
    if title.is_empty() {
        return Err(format!(
            "The item needs a name before its owner: {ADD_EXAMPLE}"
        ));
    }
    let length = title.chars().count();
    if length > MAX_TITLE {
        return Err(format!(
            "That item is {length} characters long; keep it to {MAX_TITLE} at most."
        ));
    }
    Ok(Command::Add { title, owner })
}

/// `<@U123|alice>`, `<@U123>`, `<!subteam^S1|@sre>`, `@alice` — a whole word.
pub fn mention(word: &str) -> Option<Mention> {
    let word = word.trim();
    if let Some(inner) = word.strip_prefix("<@").and_then(|w| w.strip_suffix('>')) {
        let id = inner.split('|').next().unwrap_or_default();
        return valid_id(id).then(|| Mention::User(id.to_string()));
    }
    if let Some(inner) = word
        .strip_prefix("<!subteam^")
        .and_then(|w| w.strip_suffix('>'))
    {
        let id = inner.split('|').next().unwrap_or_default();
        return valid_id(id).then(|| Mention::Group(id.to_string()));
    }
    let name = word
        .strip_prefix('@')?
        .trim_end_matches(['.', ',', ';', ':', '!', '?']);
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
    ok.then(|| Mention::Name(name.to_string()))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Slack sends `&`, `<` and `>` as entities; keep the characters themselves.
pub fn decode_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Text shown in Slack's mrkdwn as typed, never as a mention or a link.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_of(text: &str) -> (String, Option<Mention>) {
        match parse(text).unwrap() {
            Command::Add { title, owner } => (title, owner),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_countdown_help_and_list() {
        assert_eq!(parse(""), Ok(Command::Countdown));
        assert_eq!(parse("  "), Ok(Command::Countdown));
        assert_eq!(parse("help"), Ok(Command::Help));
        assert_eq!(parse("HELP"), Ok(Command::Help));
        assert_eq!(parse("checklist"), Ok(Command::List));
        assert_eq!(parse("checklist list"), Ok(Command::List));
        assert_eq!(parse("list"), Ok(Command::List));
    }

    #[test]
    fn items_quoted_or_not_with_an_owner_or_not() {
        let alice = Some(Mention::Name("alice".into()));
        assert_eq!(
            add_of(r#"checklist add "Load test checkout" @alice"#),
            ("Load test checkout".into(), alice.clone())
        );
        assert_eq!(
            add_of("checklist add “Load test checkout” @alice"),
            ("Load test checkout".into(), alice.clone())
        );
        assert_eq!(
            add_of("checklist add Load test checkout @alice"),
            ("Load test checkout".into(), alice.clone())
        );
        assert_eq!(
            add_of("checklist add Ask @bob about the CDN @alice"),
            ("Ask @bob about the CDN".into(), alice)
        );
        assert_eq!(
            add_of(r#"checklist add "Freeze deploys""#),
            ("Freeze deploys".into(), None)
        );
        assert_eq!(
            add_of("checklist add Freeze deploys"),
            ("Freeze deploys".into(), None)
        );
        assert_eq!(
            add_of("checklist add \"Scale DB\" <@U024BE7LH|bob>"),
            ("Scale DB".into(), Some(Mention::User("U024BE7LH".into())))
        );
        assert_eq!(
            add_of("checklist add Scale DB <!subteam^S0614TZR7|@sre>"),
            ("Scale DB".into(), Some(Mention::Group("S0614TZR7".into())))
        );
        assert_eq!(
            add_of("checklist add \"Fix &lt;head&gt; &amp; meta\" @bob").0,
            "Fix <head> & meta"
        );
    }

    #[test]
    fn bad_items_say_what_to_write() {
        let err = |text: &str| parse(text).unwrap_err();
        assert!(err("checklist add").contains("What should be on the checklist?"));
        assert!(err("checklist add @alice").contains("needs a name"));
        assert!(err("checklist add \"\" @alice").contains("needs a name"));
        assert!(err("checklist add \"Load test @alice").contains("closing quote"));
        assert!(err("checklist add \"Load test\" alice").contains("its owner, one `@name`"));
        assert!(err("checklist add \"Load test\" @alice @bob").contains("its owner, one `@name`"));
        assert!(err(&format!("checklist add {}", "x".repeat(151))).contains("151 characters"));
        assert!(parse(&format!("checklist add {}", "x".repeat(150))).is_ok());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse("checklist done 2"), Ok(Command::Done(2)));
        assert_eq!(parse("checklist done #2"), Ok(Command::Done(2)));
        assert_eq!(parse("checklist reopen 2"), Ok(Command::Reopen(2)));
        assert_eq!(parse("checklist remove 12"), Ok(Command::Remove(12)));
        assert!(parse("checklist done").unwrap_err().contains("Which item?"));
        assert!(parse("checklist done two")
            .unwrap_err()
            .contains("`two` is not an item number"));
        assert!(parse("checklist done 0")
            .unwrap_err()
            .contains("not an item number"));
        assert!(parse("checklist done 1 2")
            .unwrap_err()
            .contains("not an item number"));
        assert!(parse("checklist done -1")
            .unwrap_err()
            .contains("not an item number"));
    }

    #[test]
    fn unknown_words() {
        assert!(parse("tomorrow")
            .unwrap_err()
            .contains("`/blackfriday tomorrow` is not something I know"));
        assert!(parse("checklist finish 2")
            .unwrap_err()
            .contains("`finish` is not a checklist command"));
        assert!(parse("done 2")
            .unwrap_err()
            .contains("`/blackfriday checklist done 2`"));
        assert!(parse("checklist list everything").is_err());
    }

    #[test]
    fn mentions() {
        assert_eq!(mention("@alice."), Some(Mention::Name("alice".into())));
        assert_eq!(
            mention("@jean-luc.picard"),
            Some(Mention::Name("jean-luc.picard".into()))
        );
        assert_eq!(mention("<@U1>"), Some(Mention::User("U1".into())));
        assert_eq!(mention("alice"), None);
        assert_eq!(mention("@"), None);
        assert_eq!(mention("<@>"), None);
        assert_eq!(escape("<!channel> & co"), "&lt;!channel&gt; &amp; co");
    }
}
