//! What was said, cut into tokens, and how alike two words are.
//!
//! Words are compared by their characters, not looked up in a dictionary:
//! a declared word that begins what was said matches it (`승인` in
//! `승인해줘`, `approve` in `approved`: Korean inflection and English
//! endings alike), and otherwise two words match by the character bigrams
//! they share (Dice's coefficient, with word-boundary marks so `restart` is
//! not `start`), which forgives a typo. Scripts are cut apart inside a word
//! — `east에서` is `east` + `에서`, `12345번` is `12345` + `번` — because
//! Korean writes its particles onto whatever came before.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Word,
    /// `<@U…>` as Slack writes a mention.
    Mention,
    /// The text between double quotes, quotes excluded.
    Quoted,
    /// One of `, : ; . ! ?` and brackets.
    Punct,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub kind: Kind,
    /// As said (for a mention, `<@U…>` without a label).
    pub text: String,
    /// Lower case.
    pub norm: String,
    /// Byte offsets of the token in what was said.
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// Only digits (after a leading `#`).
    pub fn digits(&self) -> Option<&str> {
        let d = self.norm.strip_prefix('#').unwrap_or(&self.norm);
        (self.kind == Kind::Word && !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .then_some(d)
    }

    /// Holds a digit: an id, a number, a name like `web-3`.
    pub fn has_digit(&self) -> bool {
        self.norm.bytes().any(|b| b.is_ascii_digit())
    }
}

fn is_hangul(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}')
}

fn is_punct(c: char) -> bool {
    matches!(
        c,
        ',' | ':' | ';' | '!' | '?' | '(' | ')' | '，' | '。' | '、'
    )
}

/// Cuts `said` into tokens.
pub fn tokenize(said: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = said.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(said.len(), |(at, _)| *at);
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '"' || c == '“' || c == '”' {
            let close = chars[i + 1..]
                .iter()
                .position(|&(_, c)| c == '"' || c == '”' || c == '“');
            if let Some(close) = close {
                let (from, to) = (end_of(i + 1), end_of(i + 1 + close));
                let text = said[from..to].trim().to_string();
                out.push(Token {
                    kind: Kind::Quoted,
                    norm: text.to_lowercase(),
                    text,
                    start: at,
                    end: end_of(i + 2 + close),
                });
                i += close + 2;
                continue;
            }
            i += 1;
            continue;
        }
        if c == '<'
            && let Some(close) = said[at..].find('>')
            && let Some(id) = said[at + 1..at + close].strip_prefix('@')
        {
            let id = id.split('|').next().unwrap_or_default();
            let text = format!("<@{id}>");
            out.push(Token {
                kind: Kind::Mention,
                norm: text.to_lowercase(),
                text,
                start: at,
                end: at + close + 1,
            });
            let stop = at + close + 1;
            while i < chars.len() && chars[i].0 < stop {
                i += 1;
            }
            continue;
        }
        if is_punct(c) || (c == '.' && !next_is_alnum(&chars, i)) {
            out.push(Token {
                kind: Kind::Punct,
                text: c.to_string(),
                norm: c.to_string(),
                start: at,
                end: end_of(i + 1),
            });
            i += 1;
            continue;
        }
        // A word: up to whitespace, punctuation or a change of script.
        let hangul = is_hangul(c);
        let mut j = i + 1;
        while j < chars.len() {
            let d = chars[j].1;
            if d.is_whitespace()
                || is_punct(d)
                || d == '"'
                || d == '“'
                || d == '”'
                || d == '<'
                || (d == '.' && !next_is_alnum(&chars, j))
                || is_hangul(d) != hangul
            {
                break;
            }
            j += 1;
        }
        let text = said[at..end_of(j)].to_string();
        out.push(Token {
            kind: Kind::Word,
            norm: text.to_lowercase(),
            text,
            start: at,
            end: end_of(j),
        });
        i = j;
    }
    out
}

fn next_is_alnum(chars: &[(usize, char)], i: usize) -> bool {
    i > 0
        && chars[i - 1].1.is_alphanumeric()
        && chars.get(i + 1).is_some_and(|(_, c)| c.is_alphanumeric())
}

/// Words that carry no meaning of their own here, in English and Korean
/// (Korean particles and endings that stand alone once the script cut
/// them off).
const STOP: &[&str] = &[
    "a",
    "an",
    "the",
    "to",
    "in",
    "on",
    "at",
    "of",
    "for",
    "from",
    "with",
    "by",
    "into",
    "me",
    "my",
    "mine",
    "i",
    "you",
    "your",
    "it",
    "its",
    "is",
    "are",
    "be",
    "was",
    "were",
    "been",
    "am",
    "please",
    "pls",
    "plz",
    "can",
    "could",
    "would",
    "will",
    "should",
    "do",
    "does",
    "did",
    "what",
    "whats",
    "what's",
    "which",
    "who",
    "how",
    "there",
    "this",
    "that",
    "these",
    "those",
    "called",
    "named",
    "and",
    "or",
    "hey",
    "hi",
    "now",
    "just",
    "some",
    "any",
    "us",
    "our",
    "we",
    "let",
    "lets",
    "let's",
    "thing",
    "things",
    "one",
    "ones",
    "get",
    "got",
    "have",
    "has",
    "had",
    "up",
    "out",
    "about",
    "still",
    "so",
    "then",
    "as",
    "via",
    "ok",
    "okay",
    "yes",
    "last",
    "past",
    "recent",
    "현재",
    "최근",
    "지난",
    "이번",
    "좀",
    "해줘",
    "해",
    "해요",
    "주세요",
    "줘",
    "줄래",
    "해주세요",
    "부탁",
    "부탁해",
    "부탁해요",
    "부탁드립니다",
    "부탁드려요",
    "보여줘",
    "보여",
    "보여주세요",
    "알려줘",
    "알려",
    "알려주세요",
    "에서",
    "에게",
    "께",
    "한테",
    "의",
    "을",
    "를",
    "이",
    "가",
    "은",
    "는",
    "에",
    "로",
    "으로",
    "와",
    "과",
    "도",
    "만",
    "번",
    "개",
    "건",
    "중인",
    "중",
    "그거",
    "이거",
    "저거",
    "그것",
    "이것",
    "뭐",
    "무엇",
    "어떤",
    "어떻게",
    "처리",
    "처리해줘",
    "하고",
    "하기",
    "해서",
    "된",
    "됨",
    "요",
    "것",
];

pub fn is_stop(norm: &str) -> bool {
    STOP.contains(&norm)
}

/// How alike a said word (`said`) and a declared one (`known`) are, 0 to 1;
/// below [`MATCH`] they are different words.
pub fn similarity(said: &str, known: &str) -> f32 {
    if said == known {
        return 1.0;
    }
    let (s, k) = (said.chars().count(), known.chars().count());
    let hangul = known.chars().next().is_some_and(is_hangul);
    // A declared word beginning a longer one: an ending or a particle.
    if said.starts_with(known) && ((hangul && k >= 2) || (!hangul && k >= 3 && s - k <= 3)) {
        return 0.9;
    }
    // A shortening of a declared word: `repo` for `repository`.
    if !hangul && s >= 4 && known.starts_with(said) {
        return 0.8;
    }
    dice(said, known)
}

/// Two words are the same word from this likeness on.
pub const MATCH: f32 = 0.75;

/// Dice's coefficient over character bigrams with boundary marks.
fn dice(a: &str, b: &str) -> f32 {
    let grams = |w: &str| -> Vec<(char, char)> {
        let chars: Vec<char> = std::iter::once('^')
            .chain(w.chars())
            .chain(std::iter::once('$'))
            .collect();
        chars.windows(2).map(|p| (p[0], p[1])).collect()
    };
    let (ga, mut gb) = (grams(a), grams(b));
    let total = ga.len() + gb.len();
    let mut shared = 0;
    for g in &ga {
        if let Some(at) = gb.iter().position(|h| h == g) {
            gb.swap_remove(at);
            shared += 1;
        }
    }
    (2 * shared) as f32 / total as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(said: &str) -> Vec<String> {
        tokenize(said).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn scripts_punctuation_quotes_and_mentions_are_cut_apart() {
        assert_eq!(
            words("east에서 web-3 중지해줘"),
            ["east", "에서", "web-3", "중지해줘"]
        );
        assert_eq!(
            words("reject PO-77, the vendor"),
            ["reject", "PO-77", ",", "the", "vendor"]
        );
        assert_eq!(
            words("<@U0EMU000003>에게 유니콘"),
            ["<@U0EMU000003>", "에게", "유니콘"]
        );
        let quoted = tokenize("declare incident \"Login errors\" sev2");
        assert_eq!(quoted[2].kind, Kind::Quoted);
        assert_eq!(quoted[2].text, "Login errors");
        assert_eq!(
            words("what happened to PO-123?"),
            ["what", "happened", "to", "PO-123", "?"]
        );
        assert_eq!(words("version 1.5 now."), ["version", "1.5", "now", "."]);
    }

    #[test]
    fn endings_match_and_different_words_do_not() {
        assert!(similarity("승인해줘", "승인") >= MATCH);
        assert!(similarity("approved", "approve") >= MATCH);
        assert!(similarity("aprove", "approve") >= MATCH, "a typo");
        assert!(similarity("restart", "start") < MATCH);
        assert!(similarity("재시작해줘", "시작") < MATCH);
        assert!(similarity("repo", "repository") >= MATCH);
        assert!(similarity("reject", "restart") < MATCH);
    }
}
