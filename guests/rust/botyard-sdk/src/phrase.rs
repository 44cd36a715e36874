//! Commands in plain words: what people may say to `@botyard` for one of
//! the app's commands (the WIT `phrases` export). The host matches every
//! app's phrases, fills the slots from what was said, and answers with the
//! command line it understood — a read-only one runs at once; anything else
//! is offered with a button, never run on its own.

use crate::bindings::exports::botyard::app::phrases::{ChoiceSpec, PhraseSpec, SlotKind, SlotSpec};

/// One command as people say it: [`App::phrase`](crate::App::phrase).
///
/// ```
/// use botyard_sdk::{Phrase, Slot};
/// let approve = Phrase::new("/po approve {po}")
///     .aliases(["approve", "accept", "승인"])
///     .examples(["please approve {po}", "{po} 승인해줘"])
///     .slot("po", Slot::id("PO-"));
/// let spec = approve.spec();
/// assert_eq!(spec.line, "/po approve {po}");
/// assert!(!spec.read_only);
/// ```
#[derive(Debug, Clone)]
pub struct Phrase(PhraseSpec);

impl Phrase {
    /// `line` is the command line it means, one of this app's commands,
    /// slots in braces: `/po approve {po}`; `[for {reason}]` is dropped when
    /// `reason` is empty.
    pub fn new(line: impl Into<String>) -> Phrase {
        Phrase(PhraseSpec {
            line: line.into(),
            aliases: Vec::new(),
            examples: Vec::new(),
            slots: Vec::new(),
            read_only: false,
        })
    }

    /// Words that name what it does, in any language.
    pub fn aliases<S: Into<String>>(mut self, words: impl IntoIterator<Item = S>) -> Phrase {
        self.0.aliases.extend(words.into_iter().map(Into::into));
        self
    }

    /// Sentences people say for it, slots in braces.
    pub fn examples<S: Into<String>>(mut self, sentences: impl IntoIterator<Item = S>) -> Phrase {
        self.0
            .examples
            .extend(sentences.into_iter().map(Into::into));
        self
    }

    /// A slot named in the line, and what it takes.
    pub fn slot(mut self, name: impl Into<String>, slot: Slot) -> Phrase {
        self.0.slots.push(SlotSpec {
            name: name.into(),
            kind: slot.kind,
            default: slot.default,
            optional: slot.optional,
        });
        self
    }

    /// It only reads: plain words may run it without asking.
    pub fn read_only(mut self) -> Phrase {
        self.0.read_only = true;
        self
    }

    /// What `describe-phrases` answers for it.
    pub fn spec(&self) -> PhraseSpec {
        self.0.clone()
    }
}

/// What a slot takes from what was said.
#[derive(Debug, Clone)]
pub struct Slot {
    kind: SlotKind,
    default: Option<String>,
    optional: bool,
}

impl Slot {
    fn of(kind: SlotKind) -> Slot {
        Slot {
            kind,
            default: None,
            optional: false,
        }
    }
    /// A person, as Slack writes a mention.
    pub fn user() -> Slot {
        Slot::of(SlotKind::User)
    }
    /// An id: the prefix (any case, dash optional) then digits; `""` for a
    /// number alone (`#4521`).
    pub fn id(prefix: impl Into<String>) -> Slot {
        Slot::of(SlotKind::Id(prefix.into()))
    }
    pub fn number() -> Slot {
        Slot::of(SlotKind::Number)
    }
    pub fn amount() -> Slot {
        Slot::of(SlotKind::Amount)
    }
    /// `the last hour` → `1h`, `30분` → `30m`.
    pub fn duration() -> Slot {
        Slot::of(SlotKind::Duration)
    }
    /// `tomorrow` → `2026-12-05`.
    pub fn date() -> Slot {
        Slot::of(SlotKind::Date)
    }
    /// One of these values, each with the words that mean it.
    pub fn choice<V, W, S>(values: impl IntoIterator<Item = (V, W)>) -> Slot
    where
        V: Into<String>,
        W: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Slot::of(SlotKind::Choice(
            values
                .into_iter()
                .map(|(value, words)| ChoiceSpec {
                    value: value.into(),
                    words: words.into_iter().map(Into::into).collect(),
                })
                .collect(),
        ))
    }
    /// One word matching this regular expression (whole word, any case).
    pub fn pattern(regex: impl Into<String>) -> Slot {
        Slot::of(SlotKind::Pattern(regex.into()))
    }
    /// A name: the first word said that nothing else took.
    pub fn word() -> Slot {
        Slot::of(SlotKind::Word)
    }
    /// Free text: quoted, after a comma or colon, or after the last slot.
    pub fn text() -> Slot {
        Slot::of(SlotKind::Text)
    }
    /// Used when nothing was said for it.
    pub fn default(mut self, value: impl Into<String>) -> Slot {
        self.default = Some(value.into());
        self
    }
    /// May be left out.
    pub fn optional(mut self) -> Slot {
        self.optional = true;
        self
    }
}
