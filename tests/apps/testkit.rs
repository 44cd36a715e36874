//! The test kit itself (`botyard::testkit`, `botyard test`): a failing
//! scenario says what was expected beside what happened, a bad file is
//! refused with its line, virtual time fires schedules at their time in
//! milliseconds, and people see times on their own clocks.

use std::path::Path;
use std::time::Duration;

use botyard::testkit::{self, Outcome, ScenarioError};

use super::scenarios::{options, test_app};
use crate::support;

async fn run(guest: &str, text: &str) -> Outcome {
    let app = test_app(&support::guest_dir(guest));
    let scenario = testkit::parse(Path::new("scenarios/inline.toml"), text)
        .unwrap_or_else(|e| panic!("the scenario should parse: {e}"));
    testkit::run_scenario(&app, &scenario, &options()).await
}

fn failure(outcome: &Outcome) -> String {
    outcome
        .failure
        .as_ref()
        .unwrap_or_else(|| panic!("the scenario should have failed: {outcome}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_expectation_shows_what_was_expected_beside_what_was_seen() {
    let outcome = run(
        "hello-js",
        r##"
[[step]]
command = "/hello"

[[step]]
expect = "message"
as = "bob"
in = "#general"
text = "Goodbye"
"##,
    )
    .await;
    let text = failure(&outcome);
    assert!(text.contains("inline.toml:5"), "{text}");
    assert!(
        text.contains("expected: a new message with text containing \"Goodbye\""),
        "{text}"
    );
    assert!(
        text.contains("#general")
            && text.contains("Hello, @alice! You have said hello 1 time(s).")
            && text.contains("[button \"Click me\"]"),
        "what bob saw is shown: {text}"
    );

    let outcome = run(
        "hello-js",
        "[[step]]\ncommand = \"/hello\"\n\n[[step]]\nas = \"bob\"\nclick = \"Vote\"\n",
    )
    .await;
    let text = failure(&outcome);
    assert!(
        text.contains("bob sees no button `Vote`") && text.contains("Click me"),
        "{text}"
    );
}

#[test]
fn a_bad_scenario_file_is_refused_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("scenarios")).unwrap();
    let file = tmp.path().join("scenarios/typo.toml");
    std::fs::write(
        &file,
        "[[step]]\ncommand = \"/hello\"\n\n[[step]]\nexpct = \"message\"\n",
    )
    .unwrap();
    let error = testkit::load_dir(tmp.path()).unwrap_err();
    let ScenarioError::Invalid { line, .. } = &error else {
        panic!("{error}")
    };
    assert_eq!(*line, 5, "{error}");
    let text = error.to_string();
    assert!(
        text.contains("typo.toml:5:") && text.contains("expct"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_virtual_hours_pass_in_well_under_a_second() {
    const ASK: &str = r##"
start = "2026-11-26T09:00:00Z"

[[step]]
as = "carol"
command = "/remind"

[[step]]
expect = "ephemeral"
as = "carol"
text = "I will remind you in 6 hours."
"##;
    let asked = run("clockwork", ASK).await;
    assert!(asked.passed(), "{asked}");
    let waited = run(
        "clockwork",
        &format!(
            r##"{ASK}
[[step]]
wait = "5h59m"

[[step]]
expect = "nothing"
as = "carol"
in = "dm"

[[step]]
wait = "1m"

[[step]]
expect = "message"
as = "carol"
in = "dm"
text = "Time's up (2026-11-26T15:00:00.000Z)"
at = "15:00"
count = 1

[[step]]
as = "carol"
command = "/now"

[[step]]
expect = "reply"
as = "carol"
text = "host 2026-11-26T15:00:00.000Z js 2026-11-26T15:00:00"
"##
        ),
    )
    .await;
    assert!(waited.passed(), "{waited}");
    let extra = waited.elapsed.saturating_sub(asked.elapsed);
    assert!(
        extra < Duration::from_secs(1),
        "six virtual hours took {extra:?} of real time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_see_scheduled_posts_at_the_time_on_their_own_clock() {
    const MENU: &str = r##"
start = "2026-11-26T09:00:00+01:00"   # a Thursday, in Paris
channels = ["#lunch"]

[people]
alice = { tz = "Europe/Paris" }
bob = { tz = "Asia/Seoul" }

[settings]
channel = "#lunch"

[[step]]
wait = "1h"

[[step]]
expect = "nothing"
as = "alice"
in = "#lunch"

[[step]]
until = "2026-11-26T11:30:00+01:00"

[[step]]
expect = "message"
as = "alice"
in = "#lunch"
text = "Today's menu"
at = "__ALICE__"

[[step]]
expect = "message"
as = "bob"
in = "#lunch"
text = "Today's menu"
at = "19:00"

[[step]]
wait = "2d"          # Friday's menu; none on Saturday

[[step]]
expect = "message"
as = "alice"
in = "#lunch"
text = "Today's menu"
count = 1
"##;
    let outcome = run("clockwork", &MENU.replace("__ALICE__", "11:00")).await;
    assert!(outcome.passed(), "{outcome}");

    let outcome = run("clockwork", &MENU.replace("__ALICE__", "12:00")).await;
    let text = failure(&outcome);
    assert!(
        text.contains("posted at 12:00") && text.contains("on alice's clock, Europe/Paris"),
        "{text}"
    );
    assert!(
        text.contains("#lunch 10:00"),
        "the post is listed (in UTC): {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_step_reaches_the_app_and_its_post_is_seen() {
    let outcome = run(
        "clockwork",
        r##"
[[step]]
webhook = "deploy"
json = { service = "api" }

[[step]]
expect = "message"
as = "dave"
in = "#general"
text = "Deployed api"
count = 1
"##,
    )
    .await;
    assert!(outcome.passed(), "{outcome}");
}
