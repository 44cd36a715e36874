//! `cargo bench --bench plain_words`: what understanding one message costs
//! with 200 declared commands (issue 15's target: p99 ≤ 2 ms per message).
//!
//! Twenty apps of ten commands each, every command with English and Korean
//! aliases, three examples and typed slots (an id, a person, a duration, a
//! choice, free text), as real apps declare them; the messages are the
//! held-out table's 67 (`tests/fixtures/plain_words.toml`) and 200 aimed at
//! the generated commands. Prints the median and the p99 over every message
//! of every round, and exits non-zero when the p99 is over the target.

use std::sync::Arc;
use std::time::{Duration, Instant};

use botyard::contract::description::Description;
use botyard::contract::phrases::{ChoiceSpec, PhraseSpec, SlotKind, SlotSpec};
use botyard::routing::plain_words::{Matcher, Understanding};

const TARGET: Duration = Duration::from_millis(2);
const ROUNDS: usize = 30;

const VERBS: [(&str, &str); 10] = [
    ("approve", "승인"),
    ("reject", "거절"),
    ("start", "시작"),
    ("stop", "중지"),
    ("restart", "재시작"),
    ("list", "목록"),
    ("show", "보기"),
    ("create", "생성"),
    ("delete", "삭제"),
    ("assign", "배정"),
];
const NOUNS: [(&str, &str); 20] = [
    ("invoice", "청구서"),
    ("refund", "환불"),
    ("server", "서버"),
    ("deploy", "배포"),
    ("ticket", "티켓"),
    ("order", "주문"),
    ("shipment", "배송"),
    ("coupon", "쿠폰"),
    ("report", "보고서"),
    ("vendor", "거래처"),
    ("budget", "예산"),
    ("meeting", "회의"),
    ("laptop", "노트북"),
    ("badge", "출입증"),
    ("contract", "계약"),
    ("release", "릴리스"),
    ("backup", "백업"),
    ("alert", "알림"),
    ("campaign", "캠페인"),
    ("warehouse", "창고"),
];

fn slot(name: &str, kind: SlotKind, optional: bool) -> SlotSpec {
    SlotSpec {
        name: name.into(),
        kind,
        default: None,
        optional,
    }
}

/// App `n`: one noun, ten verbs.
fn app(n: usize) -> Description {
    let (noun, noun_ko) = NOUNS[n];
    let prefix = format!("{}-", noun[..3].to_uppercase());
    let mut description = Description::empty();
    for (verb, verb_ko) in VERBS {
        description.phrases.push(PhraseSpec {
            line: format!("/{noun} {verb} {{id}} [{{who}}] [{{when}}] [{{scope}}] [{{why}}]"),
            aliases: vec![
                verb.into(),
                format!("{verb} {noun}"),
                noun.into(),
                verb_ko.into(),
                noun_ko.into(),
            ],
            examples: vec![
                format!("please {verb} {noun} {{id}} for {{who}}"),
                format!("can you {verb} the {noun} {{id}} in the last {{when}}"),
                format!("{noun_ko} {{id}} {verb_ko}해줘"),
            ],
            slots: vec![
                slot("id", SlotKind::Id(prefix.clone()), false),
                slot("who", SlotKind::User, true),
                slot("when", SlotKind::Duration, true),
                slot(
                    "scope",
                    SlotKind::Choice(vec![
                        ChoiceSpec {
                            value: "east".into(),
                            words: vec!["east".into(), "동부".into()],
                        },
                        ChoiceSpec {
                            value: "west".into(),
                            words: vec!["west".into(), "서부".into()],
                        },
                    ]),
                    true,
                ),
                slot("why", SlotKind::Text, true),
            ],
            read_only: verb == "list" || verb == "show",
        });
    }
    description
}

fn main() {
    let ids: Vec<Arc<str>> = (0..20).map(|n| Arc::from(format!("app{n:02}"))).collect();
    let apps: Vec<Description> = (0..20).map(app).collect();
    let matcher = Matcher::build(ids.iter().zip(apps.iter()));
    assert_eq!(matcher.len(), 200);

    let table: toml::Table = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/plain_words.toml"),
    )
    .unwrap()
    .parse()
    .unwrap();
    let mut messages: Vec<String> = table["case"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["said"].as_str().unwrap().to_string())
        .collect();
    for n in 0..200 {
        let (noun, noun_ko) = NOUNS[n % 20];
        let (verb, verb_ko) = VERBS[n % 10];
        let id = format!("{}-{n}", &noun[..3]);
        messages.push(if n % 2 == 0 {
            format!("could you {verb} the {noun} {id} in east, it was requested by <@U0EMU000003>")
        } else {
            format!("{noun_ko} {id} {verb_ko}해 주세요, 지난 6시간")
        });
    }
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();

    // Sanity: the generated messages reach their commands.
    let understood = messages[67..]
        .iter()
        .filter(|m| matches!(matcher.understand(m, today), Understanding::Command(_)))
        .count();

    let mut times = Vec::with_capacity(ROUNDS * messages.len());
    for _ in 0..ROUNDS {
        for m in &messages {
            let started = Instant::now();
            std::hint::black_box(matcher.understand(std::hint::black_box(m), today));
            times.push(started.elapsed());
        }
    }
    times.sort();
    let median = times[times.len() / 2];
    let p99 = times[times.len() * 99 / 100];
    println!(
        "plain words over {} commands: {} messages × {ROUNDS} rounds; median {:?}, p99 {:?}, max {:?} (target p99 ≤ {TARGET:?}); {understood}/200 generated messages understood",
        matcher.len(),
        messages.len(),
        median,
        p99,
        times.last().unwrap()
    );
    if p99 > TARGET {
        eprintln!("p99 {p99:?} is over the target {TARGET:?}");
        std::process::exit(1);
    }
}
