//! Commands in plain words: `@botyard approve PO-123`, `@botyard 반품 12345
//! 승인해줘` → the command line they mean, from what the apps declare
//! (`phrases`: the line with typed slots, aliases, examples).
//!
//! Deterministic and local: what was said is cut into words
//! ([`text::tokenize`]); each phrase scores the *evidence* for it — every
//! said word that is one of its words (by characters: [`text::similarity`]),
//! weighted by how rare that word is among all phrases (so `show` says
//! little and `반품` a lot) and by where the phrase declared it (its aliases
//! and command words count more than its examples). The best-scored
//! phrases then fill their slots ([`slots::fill`]); the answer is the best
//! phrase that got every slot it needs, when it is clearly ahead — anything
//! less is *unclear*, answered with "did you mean" choices, never a guess.
//!
//! What the answer does with it (run a read, offer a write with a button)
//! is the inbound side's (`inbound/mentions.rs`).

mod slots;
mod text;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;

use crate::contract::description::Description;
use crate::contract::phrases::{
    Part, PhraseSpec, SlotKind, fixed_words, parse_template, render, usage,
};
use text::{Kind, MATCH, Token, is_stop, similarity, tokenize};

/// Evidence below this is no evidence: a word that many phrases use. A
/// word only one phrase has counts 1 (as an alias), one that every phrase
/// has about a sixth of that.
const MIN_EVIDENCE: f32 = 0.45;
/// A runner-up with a different line this close to the best makes it unclear.
const CLOSE: f32 = 0.85;
/// How many of the best-scored phrases try their slots.
const TRY: usize = 12;
/// What an alias or a word of the command counts, against an example's.
const ALIAS_WEIGHT: f32 = 1.0;
const EXAMPLE_WEIGHT: f32 = 0.6;
/// What each typed slot filled from the words adds.
const SLOT_WEIGHT: f32 = 0.35;

/// One phrase, ready to match.
struct Entry {
    app: Arc<str>,
    parts: Vec<Part>,
    spec: PhraseSpec,
    /// Its words (lower case, no stop words) and what each counts before
    /// rarity: an alias or command word, or an example's word.
    words: Vec<(usize, f32)>,
    /// The same words as text, for "is this one of mine" when filling;
    /// and those of them that name the command (aliases, command words).
    own: Vec<String>,
    naming: Vec<String>,
}

/// Every loaded app's phrases, indexed.
#[derive(Default)]
pub struct Matcher {
    entries: Vec<Entry>,
    /// Every distinct word of any phrase, and how rare it is (IDF).
    vocabulary: Vec<String>,
    rarity: Vec<f32>,
    /// Vocabulary ids by their first character: a said word is compared
    /// only with words that begin like it.
    by_first: HashMap<char, Vec<usize>>,
    patterns: HashMap<String, regex::Regex>,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Matcher({} phrases, {} words)",
            self.entries.len(),
            self.vocabulary.len()
        )
    }
}

/// What the matcher made of a sentence.
#[derive(Debug, Clone, PartialEq)]
pub enum Understanding {
    /// One command, slots filled.
    Command(Understood),
    /// Several could be meant, or one is missing what it needs: their
    /// usages (`/po approve <po>`), best first.
    Unclear(Vec<Choice>),
    /// Nothing any app declares.
    Nothing,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Understood {
    pub app: Arc<str>,
    /// The command line to run: `/po approve PO-123`.
    pub line: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub app: Arc<str>,
    /// `/po approve <po>`, or the line itself when every slot was filled.
    pub usage: String,
}

impl Matcher {
    /// Indexes the phrases of `apps` (checked at load, so the templates
    /// parse; one that does not is skipped).
    pub fn build<'a>(apps: impl IntoIterator<Item = (&'a Arc<str>, &'a Description)>) -> Matcher {
        let mut m = Matcher::default();
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut df: Vec<usize> = Vec::new();
        for (app, description) in apps {
            let umbrellas: Vec<&str> = description
                .info
                .subcommands
                .iter()
                .map(|s| s.umbrella.as_str())
                .collect();
            for spec in &description.phrases {
                let Ok(parts) = parse_template(&spec.line) else {
                    continue;
                };
                let mut weights: HashMap<usize, f32> = HashMap::new();
                let mut add = |text: &str, weight: f32, ids: &mut HashMap<String, usize>| {
                    let text = strip_slots(text);
                    for t in tokenize(&text) {
                        if t.kind != Kind::Word || is_stop(&t.norm) || t.has_digit() {
                            continue;
                        }
                        let next = ids.len();
                        let id = *ids.entry(t.norm.clone()).or_insert(next);
                        let w = weights.entry(id).or_insert(0.0);
                        *w = w.max(weight);
                    }
                };
                // The command's own words, less an umbrella's name: nobody
                // says `spy` for `/spy servers stop`.
                for (i, w) in fixed_words(&parts).iter().enumerate() {
                    if i == 0 && umbrellas.contains(w) {
                        continue;
                    }
                    add(w.trim_start_matches('/'), ALIAS_WEIGHT, &mut ids);
                }
                for a in &spec.aliases {
                    add(a, ALIAS_WEIGHT, &mut ids);
                }
                for e in &spec.examples {
                    add(e, EXAMPLE_WEIGHT, &mut ids);
                }
                for s in &spec.slots {
                    if let SlotKind::Pattern(p) = &s.kind
                        && let Ok(re) = regex::Regex::new(&format!("^(?i:{p})$"))
                    {
                        m.patterns.insert(p.clone(), re);
                    }
                }
                df.resize(ids.len(), 0);
                for id in weights.keys() {
                    df[*id] += 1;
                }
                let mut words: Vec<(usize, f32)> = weights.into_iter().collect();
                words.sort_by_key(|(id, _)| *id);
                m.entries.push(Entry {
                    app: app.clone(),
                    parts,
                    spec: spec.clone(),
                    words,
                    own: Vec::new(),
                    naming: Vec::new(),
                });
            }
        }
        m.vocabulary = vec![String::new(); ids.len()];
        for (word, id) in ids {
            m.vocabulary[id] = word;
        }
        let n = m.entries.len().max(1) as f32;
        // Inverse document frequency, scaled so a word of one phrase is 1.
        let most = (1.0 + n).ln();
        m.rarity = df
            .iter()
            .map(|&d| (1.0 + n / d.max(1) as f32).ln() / most)
            .collect();
        for (id, word) in m.vocabulary.iter().enumerate() {
            if let Some(c) = word.chars().next() {
                m.by_first.entry(c).or_default().push(id);
            }
        }
        for e in &mut m.entries {
            e.own = e
                .words
                .iter()
                .map(|(id, _)| m.vocabulary[*id].clone())
                .collect();
            e.naming = e
                .words
                .iter()
                .filter(|(_, w)| *w >= ALIAS_WEIGHT)
                .map(|(id, _)| m.vocabulary[*id].clone())
                .collect();
        }
        m
    }

    /// How many phrases are indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What `said` means (the bot's mention already taken out); `today`
    /// dates `today` and `tomorrow`.
    pub fn understand(&self, said: &str, today: NaiveDate) -> Understanding {
        let tokens = tokenize(said);
        // The said words that can be evidence: not stop words, not values.
        let said_words: Vec<&Token> = tokens
            .iter()
            .filter(|t| t.kind == Kind::Word && !is_stop(&t.norm) && !t.has_digit())
            .collect();
        if said_words.is_empty() && tokens.iter().all(|t| t.kind == Kind::Punct) {
            return Understanding::Nothing;
        }
        // How alike each said word is to each vocabulary word, where alike.
        let mut alike: Vec<HashMap<usize, f32>> = vec![HashMap::new(); said_words.len()];
        for (i, t) in said_words.iter().enumerate() {
            let first = t.norm.chars().next().unwrap_or(' ');
            for &id in self.by_first.get(&first).map_or(&[][..], Vec::as_slice) {
                let s = similarity(&t.norm, &self.vocabulary[id]);
                if s >= MATCH {
                    alike[i].insert(id, s);
                }
            }
        }
        let mut scored: Vec<(usize, f32)> = self
            .entries
            .iter()
            .enumerate()
            .map(|(n, e)| {
                let evidence: f32 = alike
                    .iter()
                    .map(|m| {
                        e.words
                            .iter()
                            .filter_map(|(id, w)| m.get(id).map(|s| s * w * self.rarity[*id]))
                            .fold(0.0, f32::max)
                    })
                    .sum();
                (n, evidence)
            })
            .filter(|(_, e)| *e > 0.0)
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(TRY);
        let Some(&(_, mut top)) = scored.first() else {
            return Understanding::Nothing;
        };
        let mut complete: Vec<(f32, Understood)> = Vec::new();
        let mut choices: Vec<(f32, Choice)> = Vec::new();
        for &(n, evidence) in &scored {
            let e = &self.entries[n];
            let own = |w: &str| slots::is_own(&e.own, w);
            let naming = |w: &str| slots::is_own(&e.naming, w);
            let filled = slots::fill(
                said,
                &tokens,
                &e.parts,
                &e.spec.slots,
                &own,
                &naming,
                &self.patterns,
                today,
            );
            // A phrase whose typed slots took what was said accounts for
            // more of the sentence than one that leaves it unexplained.
            let evidence = evidence + SLOT_WEIGHT * filled.typed as f32;
            top = top.max(evidence);
            let line = render(&e.parts, &|name| filled.values.get(name).cloned());
            if filled.missing.is_empty() {
                choices.push((
                    evidence,
                    Choice {
                        app: e.app.clone(),
                        usage: line.clone(),
                    },
                ));
                complete.push((
                    evidence,
                    Understood {
                        app: e.app.clone(),
                        line,
                        read_only: e.spec.read_only,
                    },
                ));
            } else {
                choices.push((
                    evidence,
                    Choice {
                        app: e.app.clone(),
                        usage: usage(&e.parts),
                    },
                ));
            }
        }
        complete.sort_by(|a, b| b.0.total_cmp(&a.0));
        // The likeliest first, each usage once.
        choices.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut choices: Vec<Choice> = choices.into_iter().map(|(_, c)| c).collect();
        let mut seen = std::collections::HashSet::new();
        choices.retain(|c| seen.insert(c.usage.clone()));
        choices.truncate(3);
        if top < MIN_EVIDENCE {
            return if choices.is_empty() {
                Understanding::Nothing
            } else {
                Understanding::Unclear(choices)
            };
        }
        let Some((best, understood)) = complete.first().cloned() else {
            return Understanding::Unclear(choices);
        };
        // A phrase that needs more than was said, clearly ahead of every
        // one that got all it needs, is what was meant, half said.
        let clear = best >= MIN_EVIDENCE
            && best >= top * CLOSE
            && complete
                .iter()
                .skip(1)
                .all(|(e, u)| u.line == understood.line || *e < best * CLOSE);
        if clear {
            Understanding::Command(understood)
        } else {
            Understanding::Unclear(choices)
        }
    }
}

/// `please approve {po}` → `please approve`: a slot's name is not a word.
fn strip_slots(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            '[' | ']' => out.push(' '),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::phrases::tests::slot;
    use crate::contract::phrases::{ChoiceSpec, SlotSpec};

    fn phrase(line: &str, aliases: &[&str], slots: Vec<SlotSpec>) -> PhraseSpec {
        PhraseSpec {
            line: line.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            examples: vec![],
            slots,
            read_only: false,
        }
    }

    fn matcher() -> Matcher {
        let app: Arc<str> = "t".into();
        let po = || slot("po", SlotKind::Id("PO-".into()));
        let claim = || slot("claim", SlotKind::Id(String::new()));
        let mut reason = slot("reason", SlotKind::Text);
        reason.optional = true;
        let phrases = vec![
            phrase(
                "/po approve {po}",
                &["approve", "purchase order", "승인", "발주"],
                vec![po()],
            ),
            phrase(
                "/po reject {po} [{reason}]",
                &["reject", "purchase order", "반려", "발주"],
                vec![po(), reason.clone()],
            ),
            phrase(
                "/claim approve {claim}",
                &["approve", "claim", "return", "승인", "반품"],
                vec![claim()],
            ),
            phrase(
                "/unicorn leaderboard {period}",
                &["leaderboard", "most unicorns", "순위"],
                vec![SlotSpec {
                    default: Some("week".into()),
                    ..slot(
                        "period",
                        SlotKind::Choice(vec![ChoiceSpec {
                            value: "month".into(),
                            words: vec!["달".into()],
                        }]),
                    )
                }],
            ),
        ];
        let mut description = Description::empty();
        description.phrases = phrases;
        Matcher::build([(&app, &description)])
    }

    fn line(m: &Matcher, said: &str) -> Option<String> {
        match m.understand(said, NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()) {
            Understanding::Command(u) => Some(u.line),
            _ => None,
        }
    }

    #[test]
    fn slots_decide_between_phrases_that_share_a_verb() {
        let m = matcher();
        assert_eq!(
            line(&m, "approve po-88").as_deref(),
            Some("/po approve PO-88")
        );
        assert_eq!(
            line(&m, "반품 12345 승인해줘").as_deref(),
            Some("/claim approve 12345")
        );
        assert_eq!(
            line(&m, "reject PO-7, too expensive").as_deref(),
            Some("/po reject PO-7 too expensive")
        );
        assert_eq!(
            line(&m, "이번 달 유니콘 순위").as_deref(),
            Some("/unicorn leaderboard month")
        );
        assert_eq!(
            line(&m, "unicorn leaderboard").as_deref(),
            Some("/unicorn leaderboard week")
        );
    }

    #[test]
    fn half_said_or_unknown_is_never_a_guess() {
        let m = matcher();
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        match m.understand("approve it", today) {
            Understanding::Unclear(choices) => {
                let usages: Vec<&str> = choices.iter().map(|c| c.usage.as_str()).collect();
                assert!(usages.contains(&"/po approve <po>"), "{usages:?}");
                assert!(usages.contains(&"/claim approve <claim>"), "{usages:?}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(m.understand("do the thing", today), Understanding::Nothing);
    }
}
