//! The workbench in a real headless Chromium, driven over the Chrome
//! DevTools Protocol: typing, clicking and switching people the way a person
//! does, and checking what the page shows. Chromium is installed with
//! apt-get on first use (the driver is `support/chrome.rs`).
//! `benches/workbench.rs` reuses this file's helpers.

// The crate's `support`: the suite's, or the one `benches/workbench.rs`
// declares beside this file.
use crate::support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use botyard::host::Host;
use botyard::routing::Apps;
use botyard::workbench::{self, Workbench, WorkbenchConfig};
use serde_json::{Value, json};

use self::support::TestHost;
#[allow(unused_imports)] // by `benches/workbench.rs`
pub use self::support::chrome;
use self::support::chrome::{Browser, Page};

/// Every wait in these tests is bounded by this.
pub const BOUND: Duration = Duration::from_secs(20);

/// A host over `apps` that queues Slack calls for delivery, as `botyard
/// dev` does. (TestHost's own host keeps them local.)
pub async fn host(apps: &[(&str, &str)]) -> (TestHost, Host) {
    let dir = TestHost::new("", apps);
    let host = dir
        .builder()
        .connected()
        .start()
        .await
        .expect("starting the host");
    (dir, host)
}

/// The workbench over a host, and a browser page on it.
pub struct Session {
    pub _dir: TestHost,
    pub _host: Host,
    pub runtime: Arc<Apps>,
    pub bench: Workbench,
    pub page: Page,
    pub _browser: Browser,
}

/// Starts everything and waits until the page is interactive.
pub async fn session(apps: &[(&str, &str)], width: u32, height: u32) -> Session {
    let (dir, host) = host(apps).await;
    open_session(dir, host, width, height).await
}

/// The workbench over a started host, and an interactive page on it.
async fn open_session(dir: TestHost, mut host: Host, width: u32, height: u32) -> Session {
    let browser = Browser::launch().await;
    let bench = start(&mut host).await;
    let page = browser.open(bench.url(), width, height).await;
    wait_ready(&page).await;
    Session {
        _dir: dir,
        runtime: host.apps().clone(),
        _host: host,
        bench,
        page,
        _browser: browser,
    }
}

pub async fn start(host: &mut Host) -> Workbench {
    workbench::start(
        host,
        WorkbenchConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..WorkbenchConfig::default()
        },
    )
    .await
    .expect("the workbench starts")
}

pub async fn wait_ready(page: &Page) {
    page.wait_for(
        "the page to be interactive",
        "document.body.dataset.ready === '1' && document.getElementById('status').classList.contains('online')",
        BOUND,
    )
    .await;
}

/// JS: the visible messages of the open channel as `{ts, text, ephemeral}`.
const MESSAGES: &str = "[...document.querySelectorAll('#messages .msg')].map(m => ({ts: m.dataset.ts, text: m.querySelector('.msg-body').innerText, ephemeral: m.dataset.ephemeral === '1'}))";

/// JS: whether a message whose text contains `needle` is shown.
fn shows(needle: &str) -> String {
    format!("{MESSAGES}.some(m => m.text.includes({}))", json!(needle))
}

pub async fn messages(page: &Page) -> Vec<Value> {
    page.eval(MESSAGES)
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Types a line into the channel's composer and presses Enter.
pub async fn compose(page: &Page, line: &str) {
    page.click("#composer-input").await;
    page.type_text(line).await;
    page.press_enter().await;
}

/// Switches the person the page acts as, with the switcher.
async fn act_as(page: &Page, name: &str) {
    let switched = page
        .eval(&format!(
            "(() => {{ const s = document.getElementById('user-switch');
               const o = [...s.options].find(o => o.textContent === {name});
               if (!o) return false; s.value = o.value; s.dispatchEvent(new Event('change')); return true; }})()",
            name = json!(name)
        ))
        .await;
    assert_eq!(switched, true, "{name} is in the user switcher");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_reply_click_update_and_private_ephemerals() {
    let s = session(&[("hello", "hello-rust")], 1280, 800).await;
    let page = &s.page;

    // Autocomplete offers /hello with its usage while the command is typed.
    page.click("#composer-input").await;
    page.type_text("/hel").await;
    let offered = page
        .wait_for(
            "the /hello suggestion",
            "[...document.querySelectorAll('#suggestions .suggest')].map(e => e.innerText).join('\\n')",
            BOUND,
        )
        .await;
    let offered = offered.as_str().unwrap();
    assert!(
        offered.contains("/hello") && offered.contains("[name]") && offered.contains("Say hello"),
        "{offered}"
    );
    page.type_text("lo").await;
    page.press_enter().await;
    page.wait_for(
        "the /hello reply",
        &shows("You have said hello 1 time(s)."),
        BOUND,
    )
    .await;
    let shown = messages(page).await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0]["ephemeral"], false, "in_channel: everyone sees it");
    let ts = shown[0]["ts"].as_str().unwrap().to_string();

    // The button is Block Kit, rendered and namespaced for the host.
    let button = "#messages .msg button.bk-button[data-action-id='hello.count']";
    assert_eq!(
        page.eval(&format!(
            "document.querySelector({}).innerText",
            json!(button)
        ))
        .await,
        "Click me"
    );
    page.click(button).await;
    page.wait_for(
        "the clicked message to update",
        &shows("clicked 1 time(s)."),
        BOUND,
    )
    .await;
    let shown = messages(page).await;
    assert_eq!(shown.len(), 1, "updated in place: {shown:?}");
    assert_eq!(shown[0]["ts"], ts.as_str());
    assert!(
        shown[0]["text"]
            .as_str()
            .unwrap()
            .contains("@Alice clicked"),
        "the user mention renders as a name: {shown:?}"
    );
    let slack = s.bench.emulator();
    assert_eq!(slack.messages("general")[0].ts, ts, "the emulator agrees");

    // An unknown command gets an ephemeral answer, for Alice alone.
    compose(page, "/nosuch thing").await;
    page.wait_for(
        "the ephemeral answer",
        &format!("{MESSAGES}.some(m => m.ephemeral && m.text.includes('/nosuch'))"),
        BOUND,
    )
    .await;
    act_as(page, "Bob").await;
    page.wait_for(
        "Bob's view of #general",
        &format!("{MESSAGES}.length === 1 && {}", shows("clicked 1 time(s).")),
        BOUND,
    )
    .await;
    assert!(
        messages(page).await.iter().all(|m| m["ephemeral"] == false),
        "Bob does not see Alice's ephemeral"
    );
    // Bob clicks too: the app sees Bob.
    page.click(button).await;
    page.wait_for("Bob's click", &shows("@Bob clicked 1 time(s)."), BOUND)
        .await;
    act_as(page, "Alice").await;
    page.wait_for(
        "Alice's ephemeral, back",
        &format!("{MESSAGES}.some(m => m.ephemeral && m.text.includes('/nosuch'))"),
        BOUND,
    )
    .await;
    s.bench.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modal_shows_the_inline_error_then_the_result() {
    let s = session(&[("modal", "modal")], 1280, 800).await;
    let page = &s.page;
    compose(page, "/feedback").await;
    page.wait_for(
        "the feedback modal",
        "document.querySelector('.modal .modal-title')?.innerText === 'Feedback'",
        BOUND,
    )
    .await;
    let input = ".modal .bk-input[data-block-id='rating'] input";
    page.click(input).await;
    page.type_text("seven").await;
    page.click(".modal .modal-submit").await;
    let error = page
        .wait_for(
            "the inline error",
            "document.querySelector('.modal .bk-input-error')?.innerText",
            BOUND,
        )
        .await;
    assert!(
        error
            .as_str()
            .unwrap()
            .contains("Enter a number from 1 to 5"),
        "{error}"
    );
    assert_eq!(
        page.eval(&format!("document.querySelector({}).value", json!(input)))
            .await,
        "seven",
        "what was typed survives the redraw"
    );

    page.eval(&format!(
        "document.querySelector({}).select()",
        json!(input)
    ))
    .await;
    page.type_text("4").await;
    page.click(".modal .modal-submit").await;
    page.wait_for(
        "the modal to close",
        "document.querySelector('.modal') === null",
        BOUND,
    )
    .await;
    page.wait_for("the result in #general", &shows("Thanks! Rating: 4"), BOUND)
        .await;
    assert!(s.bench.emulator().views_of("alice").is_empty());
    s.bench.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_panel_shows_a_build_error_live_while_the_old_version_answers() {
    let s = session(&[("hello", "hello-rust")], 1280, 800).await;
    let page = &s.page;
    let card = "#apps-list .app-card[data-app='hello']";
    let version = s
        .runtime
        .snapshot()
        .app("hello")
        .unwrap()
        .short_hash()
        .to_string();
    let head = page
        .wait_for(
            "the hello card",
            &format!("document.querySelector({})?.innerText", json!(card)),
            BOUND,
        )
        .await;
    let head = head.as_str().unwrap();
    assert!(head.contains(&version), "{head}");
    for grant in ["slack", "store", "log"] {
        assert!(head.contains(grant), "grant {grant} shown: {head}");
    }
    // Its quotas, with what it uses of each (the section is closed while
    // no quota is at its limit).
    let quotas = page
        .wait_for(
            "the quotas",
            &format!(
                "document.querySelector({})?.textContent",
                json!(format!("{card} .app-quotas"))
            ),
            BOUND,
        )
        .await;
    let quotas = quotas.as_str().unwrap();
    assert!(
        quotas.contains("store_bytes") && quotas.contains("of 64 MiB"),
        "{quotas}"
    );

    s.runtime.record_failure(
        "hello",
        "error[E0308]: mismatched types --> src/lib.rs:42:9".into(),
    );
    let error = page
        .wait_for(
            "the build error in the panel",
            &format!(
                "document.querySelector({})?.innerText",
                json!(format!("{card} .app-error"))
            ),
            BOUND,
        )
        .await;
    assert!(
        error.as_str().unwrap().contains("mismatched types"),
        "{error}"
    );

    compose(page, "/hello").await;
    page.wait_for(
        "the old version's reply",
        &shows("You have said hello 1 time(s)."),
        BOUND,
    )
    .await;
    // The invocation lands in the panel, with its duration.
    let row = page
        .wait_for(
            "the invocation in the panel",
            &format!(
                "document.querySelector({})?.innerText",
                json!(format!("{card} .invocations tr.ok"))
            ),
            BOUND,
        )
        .await;
    assert!(row.as_str().unwrap().contains("ms"), "{row}");
    s.bench.shutdown().await;
}

/// A message an app could post, using every block and mrkdwn feature.
fn showcase(general: &str, alice: &str) -> Value {
    let option = |text: &str, value: &str| json!({"text": {"type": "plain_text", "text": text}, "value": value});
    json!({
        "channel": general,
        "text": "Lunch poll",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Lunch poll :knife_fork_plate:"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("*Bold* _italic_ ~gone~ `code` <https://example.com|a link> <@{alice}> <#{general}> :tada: &lt;tag&gt;")},
             "accessory": {"type": "overflow", "action_id": "hello.more", "options": [option("Edit", "edit"), option("Delete", "delete")]}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Where*\nCanteen"}, {"type": "mrkdwn", "text": "*When*\nNoon"}]},
            {"type": "divider"},
            {"type": "image", "image_url": "https://example.com/plate.png", "alt_text": "a plate", "title": {"type": "plain_text", "text": "Today"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Posted by the *house team*"}]},
            {"type": "actions", "block_id": "vote", "elements": [
                {"type": "button", "action_id": "hello.yes", "style": "primary", "text": {"type": "plain_text", "text": "Yes"}, "value": "yes"},
                {"type": "button", "action_id": "hello.no", "style": "danger", "text": {"type": "plain_text", "text": "No"}, "value": "no"},
                {"type": "static_select", "action_id": "hello.count", "placeholder": {"type": "plain_text", "text": "Pick a dish"}, "options": [option("Pasta", "pasta"), option("Soup", "soup")]},
                {"type": "datepicker", "action_id": "hello.day", "initial_date": "2024-05-01"},
            ]},
            {"type": "actions", "elements": [
                {"type": "checkboxes", "action_id": "hello.diet", "options": [option("Vegan", "vegan"), option("No nuts", "nuts")]},
                {"type": "radio_buttons", "action_id": "hello.size", "options": [option("Small", "s"), option("Large", "l")]},
            ]},
        ],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_kit_renders_faithfully_and_its_elements_act() {
    let s = session(&[("hello", "hello-rust")], 1280, 900).await;
    let page = &s.page;
    let slack = s.bench.emulator();
    let general = slack.channel_id("general").unwrap();
    let alice = slack.user_id("alice").unwrap();
    let posted = web_api(slack, "chat.postMessage", showcase(&general, &alice)).await;
    let ts = posted["ts"].as_str().unwrap().to_string();
    page.wait_for("the showcase", &shows("Lunch poll"), BOUND)
        .await;

    let rendered = page
        .eval(
            "(() => { const m = document.querySelector('#messages .msg'); const q = s => m.querySelector(s);
              return {
                header: q('.bk-header').innerText,
                bold: q('.bk-section-text b')?.innerText, italic: q('.bk-section-text i')?.innerText,
                strike: q('.bk-section-text s')?.innerText, code: q('.bk-section-text code')?.innerText,
                link: q('.bk-section-text a.link')?.href, mention: q('.bk-section-text .mention-me')?.innerText,
                channel: q('.bk-section-text .channel-mention')?.innerText, text: q('.bk-section-text').innerText,
                fields: m.querySelectorAll('.bk-field').length, divider: !!q('hr.bk-divider'),
                image: q('.bk-image').innerText, context: q('.bk-context').innerText,
                primary: q('.bk-button.bk-primary')?.innerText, danger: q('.bk-button.bk-danger')?.innerText,
                options: [...q('select.bk-select').options].map(o => o.textContent),
                date: q('input[type=date]').value, overflow: m.querySelectorAll('.bk-menu-item').length,
                checkboxes: m.querySelectorAll('input[type=checkbox]').length, radios: m.querySelectorAll('input[type=radio]').length,
              }; })()",
        )
        .await;
    assert_eq!(rendered["header"], "Lunch poll \u{1F37D}\u{FE0F}");
    assert_eq!(
        (
            &rendered["bold"],
            &rendered["italic"],
            &rendered["strike"],
            &rendered["code"]
        ),
        (
            &json!("Bold"),
            &json!("italic"),
            &json!("gone"),
            &json!("code")
        )
    );
    assert_eq!(rendered["link"], "https://example.com/");
    assert_eq!(
        rendered["mention"], "@Alice",
        "a mention of me is highlighted"
    );
    assert_eq!(rendered["channel"], "#general");
    let text = rendered["text"].as_str().unwrap();
    assert!(
        text.contains("\u{1F389}") && text.contains("<tag>"),
        "{text}"
    );
    assert_eq!(rendered["fields"], 2);
    assert_eq!(rendered["divider"], true);
    assert!(rendered["image"].as_str().unwrap().contains("Today"));
    assert!(rendered["context"].as_str().unwrap().contains("house team"));
    assert_eq!(
        (&rendered["primary"], &rendered["danger"]),
        (&json!("Yes"), &json!("No"))
    );
    assert_eq!(rendered["options"], json!(["Pick a dish", "Pasta", "Soup"]));
    assert_eq!(rendered["date"], "2024-05-01");
    assert_eq!(rendered["overflow"], 2);
    assert_eq!(
        (&rendered["checkboxes"], &rendered["radios"]),
        (&json!(2), &json!(2))
    );

    // A reaction from the picker reaches the emulator and shows as a pill.
    page.eval("document.querySelector('#messages .msg').dispatchEvent(new MouseEvent('mouseover', {bubbles: true}))")
        .await;
    page.eval("document.querySelector('#messages .msg .msg-toolbar').style.display = 'flex'")
        .await;
    page.click("#messages .msg .msg-toolbar .tool").await;
    page.click(".picker .picker-emoji[data-name='tada']").await;
    page.wait_for(
        "the reaction pill",
        "document.querySelector('#messages .reaction.mine[data-name=tada]')?.innerText.includes('1')",
        BOUND,
    )
    .await;
    assert_eq!(
        slack.reactions("general", &ts),
        [("tada".to_string(), vec![alice.clone()])]
    );

    // Picking a dish sends a signed block_actions; hello answers any
    // `count` action by replacing the message.
    page.eval(
        "(() => { const s = document.querySelector('#messages select.bk-select');
           s.value = 'soup'; s.dispatchEvent(new Event('change')); })()",
    )
    .await;
    page.wait_for(
        "hello's answer to the select",
        &shows("clicked 1 time(s)."),
        BOUND,
    )
    .await;
    assert_eq!(slack.messages("general")[0].ts, ts, "replaced in place");

    // An app's chat.update redraws the message where it is.
    web_api(
        slack,
        "chat.update",
        json!({"channel": general, "ts": ts, "text": "Lunch is *served*", "blocks": []}),
    )
    .await;
    page.wait_for(
        "chat.update to redraw",
        &format!("{MESSAGES}.length === 1 && {MESSAGES}[0].text.startsWith('Lunch is served') && {MESSAGES}[0].text.includes('(edited)')"),
        BOUND,
    )
    .await;
    s.bench.shutdown().await;
}

/// Writes the screenshot the README shows, `docs/workbench.png`. Not a test:
/// `cargo bench --bench workbench -- --screenshot` runs it.
#[allow(dead_code)]
pub async fn write_screenshot() {
    let font = Path::new("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf");
    support::install_once("fonts-noto-color-emoji", || font.exists().then_some(()));
    let s = session(&[("hello", "hello-rust"), ("modal", "modal")], 1440, 860).await;
    let page = &s.page;
    let slack = s.bench.emulator();
    let general = slack.channel_id("general").unwrap();
    let alice = slack.user_id("alice").unwrap();
    compose(page, "/hello").await;
    page.wait_for("the reply", &shows("said hello"), BOUND)
        .await;
    page.click("#messages button.bk-button[data-action-id='hello.count']")
        .await;
    page.wait_for("the update", &shows("clicked 1 time(s)."), BOUND)
        .await;
    let mut poll = showcase(&general, &alice);
    poll["blocks"]
        .as_array_mut()
        .unwrap()
        .retain(|b| b["type"] != "image");
    let posted = web_api(slack, "chat.postMessage", poll).await;
    let ts = posted["ts"].as_str().unwrap();
    for (who, emoji) in [("alice", "tada"), ("bob", "tada"), ("carol", "+1")] {
        slack
            .react_as_user(who, "general", ts, emoji, true)
            .await
            .unwrap();
    }
    slack
        .post_as_user("bob", "general", "Pasta for me :spaghetti:", Some(ts))
        .await
        .unwrap();
    page.wait_for("the poll", &shows("Lunch poll"), BOUND).await;
    page.wait_for(
        "the thread summary",
        "document.querySelector('.thread-summary') !== null",
        BOUND,
    )
    .await;
    page.click("#composer-input").await;
    page.type_text("/").await;
    page.wait_for(
        "the suggestions",
        "!document.getElementById('suggestions').hidden",
        BOUND,
    )
    .await;
    // Let emoji and fonts settle before the picture.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let path = support::repo_root().join("docs/workbench.png");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    page.screenshot(&path).await;
    assert!(std::fs::metadata(&path).unwrap().len() > 10_000);
    s.bench.shutdown().await;
}

/// A Web API call as the bot, through the host's own client (which fails
/// on `ok: false`, naming Slack's error).
async fn web_api(slack: &botyard::emulator::Emulator, method: &str, args: Value) -> Value {
    botyard::slack::web_api::WebApi::new(&slack.base_url(), &slack.config().bot_token)
        .call(method, &args)
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

fn modal(title: &str) -> Value {
    json!({
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": format!("This is *{title}*")}}],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modals_push_update_and_close_like_slack() {
    let s = session(&[("hello", "hello-rust")], 1280, 800).await;
    let page = &s.page;
    let slack = s.bench.emulator();
    let title = "document.querySelector('.modal .modal-title')?.innerText";
    let trigger = slack.issue_trigger("alice").unwrap();
    let opened = web_api(
        slack,
        "views.open",
        json!({"trigger_id": trigger, "view": modal("First")}),
    )
    .await;
    page.wait_for("the first modal", &format!("{title} === 'First'"), BOUND)
        .await;
    let first = opened["view"]["id"].as_str().unwrap();
    web_api(
        slack,
        "views.update",
        json!({"view_id": first, "view": modal("Renamed")}),
    )
    .await;
    page.wait_for("the update", &format!("{title} === 'Renamed'"), BOUND)
        .await;
    let trigger = slack.issue_trigger("alice").unwrap();
    web_api(
        slack,
        "views.push",
        json!({"trigger_id": trigger, "view": modal("Second")}),
    )
    .await;
    page.wait_for(
        "the pushed modal",
        &format!("{title} === 'Second' && document.querySelector('.modal .modal-back') !== null"),
        BOUND,
    )
    .await;
    assert_eq!(slack.views_of("alice").len(), 2);
    // Its close button pops it; the one below shows again.
    page.click(".modal .modal-close").await;
    page.wait_for(
        "the first modal again",
        &format!("{title} === 'Renamed'"),
        BOUND,
    )
    .await;
    assert_eq!(slack.views_of("alice").len(), 1);
    // Bob has no modal open: what Alice sees is hers alone.
    act_as(page, "Bob").await;
    page.wait_for(
        "Bob's page",
        "document.querySelector('.modal') === null",
        BOUND,
    )
    .await;
    act_as(page, "Alice").await;
    page.wait_for("Alice's modal", &format!("{title} === 'Renamed'"), BOUND)
        .await;
    page.click(".modal .modal-x").await;
    page.wait_for(
        "no modal",
        "document.querySelector('.modal') === null",
        BOUND,
    )
    .await;
    assert!(slack.views_of("alice").is_empty());
    s.bench.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_home_shows_what_was_published_and_its_buttons_act() {
    let s = session(&[("hello", "hello-rust")], 1280, 800).await;
    let page = &s.page;
    let slack = s.bench.emulator();
    let alice = slack.user_id("alice").unwrap();
    let home = json!({"type": "home", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Your lunch"}},
        {"type": "actions", "elements": [{"type": "button", "action_id": "hello.count", "text": {"type": "plain_text", "text": "Count"}, "value": "v"}]},
    ]});
    web_api(
        slack,
        "views.publish",
        json!({"user_id": alice, "view": home}),
    )
    .await;
    page.click("#dm-list .side-item").await;
    page.click("#tabs button[data-tab=home]").await;
    page.wait_for(
        "the published Home",
        "document.querySelector('#home .bk-header')?.innerText === 'Your lunch'",
        BOUND,
    )
    .await;
    page.click("#home button[data-action-id='hello.count']")
        .await;
    // The click reached hello as a signed block_actions from the Home view.
    let runtime = s.runtime.clone();
    support::serve::wait_until("hello's action invocation", BOUND, || async {
        runtime
            .storage()
            .audit
            .recent(Some("hello"), 5)
            .await
            .unwrap()
            .iter()
            .any(|r| r.kind == "action")
    })
    .await;
    s.bench.shutdown().await;
}

#[tokio::test]
async fn the_page_server_is_loopback_self_contained_and_answers_its_own_page_only() {
    let (_dir, mut host) = host(&[("hello", "hello-rust")]).await;
    let refused = workbench::start(
        &mut host,
        WorkbenchConfig {
            listen: "0.0.0.0:0".parse().unwrap(),
            ..WorkbenchConfig::default()
        },
    )
    .await;
    assert!(
        matches!(refused, Err(workbench::WorkbenchError::NotLoopback(_))),
        "a public address is refused"
    );

    let bench = start(&mut host).await;
    let url = bench.url().to_string();
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{url}{path}"));

    let index = get("").send().await.unwrap().text().await.unwrap();
    assert!(
        !index.contains("http://") && !index.contains("https://") && !index.contains("//cdn"),
        "the page loads nothing from elsewhere"
    );
    for asset in [
        "app.js",
        "app.css",
        "blockkit.js",
        "emoji.js",
        "favicon.svg",
    ] {
        let answer = get(&format!("assets/{asset}")).send().await.unwrap();
        assert_eq!(answer.status(), 200, "{asset} is embedded");
    }

    let workspace: Value = get("api/workspace")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let channels: Vec<&str> = workspace["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // Beside #general and #random: the team's pair, and what the shipped
    // apps post to (botyard.toml): #ops, #approvals, the help desk's teams.
    assert_eq!(
        channels,
        [
            "general",
            "random",
            "ops",
            "approvals",
            "team",
            "team-help",
            "billing",
            "billing-help",
            "hardware",
            "hardware-help"
        ]
    );
    let people = workspace["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["is_bot"] == false)
        .count();
    assert_eq!(
        workspace["dms"].as_object().unwrap().len(),
        people,
        "a DM with the bot each"
    );
    assert_eq!(workspace["commands"][0]["command"], "/hello");
    assert_eq!(workspace["commands"][0]["usage"], "[name]");

    // Another site's page, or a rebound host name, may not act.
    let foreign_origin = http
        .post(format!("{url}api/command"))
        .header("Origin", "http://evil.example")
        .json(&json!({"as": "alice", "channel": "general", "text": "/hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign_origin.status(), 403);
    let foreign_host = get("api/workspace")
        .header("Host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign_host.status(), 403);
    assert!(
        bench.emulator().messages("general").is_empty(),
        "nothing was done"
    );

    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    bench.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "the port is released on shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_messages_mention_people_and_threads_collect_replies() {
    let s = session(&[("hello", "hello-rust")], 1280, 800).await;
    let page = &s.page;
    let slack = s.bench.emulator();
    compose(page, "lunch @bob? see #random *now*").await;
    page.wait_for("the typed message", &shows("lunch"), BOUND)
        .await;
    let stored = &slack.messages("general")[0];
    let bob = slack.user_id("bob").unwrap();
    let random = slack.channel_id("random").unwrap();
    assert_eq!(
        stored.text,
        format!("lunch <@{bob}>? see <#{random}|random> *now*"),
        "stored as Slack stores typed text"
    );
    let shown = page
        .eval("document.querySelector('#messages .msg .msg-body').innerHTML")
        .await;
    let shown = shown.as_str().unwrap();
    assert!(
        shown.contains("@Bob") && shown.contains("#random") && shown.contains("<b>now</b>"),
        "{shown}"
    );

    page.eval("document.querySelector('#messages .msg .msg-toolbar').style.display = 'flex'")
        .await;
    page.click("#messages .msg .msg-toolbar .tool[title='Reply in thread']")
        .await;
    page.wait_for(
        "the thread pane",
        "!document.getElementById('thread-pane').hidden",
        BOUND,
    )
    .await;
    page.click("#thread-input").await;
    page.type_text("on it").await;
    page.press_enter().await;
    page.wait_for(
        "the reply in the thread",
        "[...document.querySelectorAll('#thread-messages .msg .msg-body')].some(b => b.innerText === 'on it')",
        BOUND,
    )
    .await;
    page.wait_for(
        "the thread summary in the channel",
        "document.querySelector('#messages .thread-count')?.innerText === '1 reply'",
        BOUND,
    )
    .await;
    assert_eq!(messages(page).await.len(), 1, "a reply stays in its thread");
    let thread = slack.thread("general", &stored.ts);
    assert_eq!(thread.len(), 2);
    assert_eq!(thread[1].thread_ts.as_deref(), Some(stored.ts.as_str()));
    s.bench.shutdown().await;
}

/// `botyard dev` itself, as a newcomer runs it: a saved source that does not
/// compile shows its error in the panel while the old version answers in the
/// page; the fix reaches the page on the next command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn botyard_dev_shows_a_broken_save_and_serves_the_fix() {
    use std::process::Command;

    let cwd = tempfile::tempdir().unwrap();
    let botyard = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_botyard"));
        cmd.current_dir(cwd.path())
            .arg("--build-dir")
            .arg(support::shared_build_dir());
        cmd
    };
    let made = botyard()
        .args(["new", "demo", "--lang", "rust"])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let dev = Dev::start(cwd.path(), &["demo"]).await;
    let url = dev.url.clone();

    let browser = Browser::launch().await;
    let page = browser.open(&url, 1280, 800).await;
    wait_ready(&page).await;
    compose(&page, "/demo").await;
    page.wait_for("demo's reply", &shows("said hello 1 time(s)"), BOUND)
        .await;

    let source = cwd.path().join("demo/src/lib.rs");
    let original = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, original.replace("= \"Hello\";", "= \"Hello\"")).unwrap();
    let card = "#apps-list .app-card[data-app='demo']";
    let error = page
        .wait_for(
            "the build error in the panel",
            &format!(
                "document.querySelector({})?.innerText",
                json!(format!("{card} .app-error"))
            ),
            Duration::from_secs(120),
        )
        .await;
    let error = error.as_str().unwrap();
    assert!(error.contains("src/lib.rs:"), "with its location: {error}");
    compose(&page, "/demo").await;
    page.wait_for(
        "the old version's reply",
        &shows("Hello, @Alice! You have said hello 2 time(s)"),
        BOUND,
    )
    .await;

    std::fs::write(&source, original.replace("= \"Hello\";", "= \"Howdy\";")).unwrap();
    page.wait_for(
        "the error to clear once the fix is loaded",
        &format!(
            "document.querySelector({card}) && !document.querySelector({})",
            json!(format!("{card} .app-error")),
            card = json!(card)
        ),
        Duration::from_secs(120),
    )
    .await;
    compose(&page, "/demo").await;
    page.wait_for(
        "the new version's reply",
        &shows("Howdy, @Alice! You have said hello 3 time(s)"),
        BOUND,
    )
    .await;
    drop(dev);
}

/// A `botyard dev` process in `cwd` (with the suite's shared build
/// directory and a data directory of its own), killed when dropped.
struct Dev {
    child: std::process::Child,
    url: String,
    _data: tempfile::TempDir,
}

impl Drop for Dev {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Dev {
    /// Starts `botyard dev --port 0 <apps…>` and waits for the address of
    /// its workbench.
    async fn start(cwd: &Path, apps: &[&str]) -> Dev {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};

        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_botyard"))
            .current_dir(cwd)
            .arg("--build-dir")
            .arg(support::shared_build_dir())
            .args(["dev", "--port", "0", "--data-dir"])
            .arg(data.path())
            .args(apps)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let url = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            let url = lines
                .by_ref()
                .map_while(Result::ok)
                .find_map(|line| line.split("workbench at ").nth(1).map(str::to_string));
            // Keep reading, so a full pipe never stalls the process.
            std::thread::spawn(move || lines.for_each(drop));
            url
        })
        .await
        .unwrap()
        .expect("botyard dev printed the workbench's address");
        Dev {
            child,
            url,
            _data: data,
        }
    }
}

/// The apps `botyard dev` ships (`apps/*`), as a newcomer finds them.
const SHIPPED: &[&str] = &[
    "approvals",
    "blackfriday",
    "github",
    "health",
    "helpdesk",
    "incidents",
    "office",
    "poll",
    "rate-my-plate",
    "servers",
    "stores",
    "support",
    "tasks",
    "unicorn",
];

/// JS: a click on the first button in the open channel whose label is `label`.
fn click_button(label: &str) -> String {
    format!(
        "(() => {{ const b = [...document.querySelectorAll('#messages .msg button.bk-button')].find(b => b.innerText.trim() === {label}); if (!b) return false; b.click(); return true; }})()",
        label = json!(label)
    )
}

/// JS: fills the open modal's field in block `block` — a text input, a
/// text area or a date — with `value`, as typing does.
fn fill(block: &str, value: &str) -> String {
    format!(
        "(() => {{ const el = document.querySelector({sel}); if (!el) return false; el.value = {value}; el.dispatchEvent(new Event('input', {{bubbles: true}})); el.dispatchEvent(new Event('change', {{bubbles: true}})); return true; }})()",
        sel = json!(format!(
            ".modal [data-block-id='{block}'] input, .modal [data-block-id='{block}'] textarea"
        )),
        value = json!(value)
    )
}

/// JS: picks the option labelled `label` in the open modal's select in
/// block `block`, as choosing from the menu does.
fn choose(block: &str, label: &str) -> String {
    format!(
        "(() => {{ const el = document.querySelector({sel}); if (!el) return false; const o = [...el.options].find(o => o.textContent.trim() === {label}); if (!o) return false; el.value = o.value; el.dispatchEvent(new Event('change', {{bubbles: true}})); return true; }})()",
        sel = json!(format!(".modal [data-block-id='{block}'] select")),
        label = json!(label)
    )
}

/// Waits for a modal titled `title` to be open.
async fn modal_titled(page: &Page, title: &str) {
    page.wait_for(
        &format!("the modal {title:?}"),
        &format!(
            "document.querySelector('.modal .modal-title')?.innerText === {}",
            json!(title)
        ),
        BOUND,
    )
    .await;
}

/// A newcomer clones the repository, runs `botyard dev`, and walks through
/// every shipped app in the workbench by typing and clicking, as the
/// README's first screen promises.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_walks_through_every_shipped_app_in_botyard_dev() {
    let shipped: Vec<String> = std::fs::read_dir(support::repo_root().join("apps"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for app in &shipped {
        assert!(
            SHIPPED.contains(&app.as_str()),
            "apps/{app} is shipped: walk a newcomer through it here too"
        );
    }
    // As the README's first command runs it: from the repository, with
    // its botyard.toml and every app in apps/.
    let dev = Dev::start(support::repo_root(), &[]).await;
    let browser = Browser::launch().await;
    let page = browser.open(&dev.url, 1280, 900).await;
    wait_ready(&page).await;

    // Every shipped app is built and loaded (a cold build of the five
    // takes minutes; the toolchains are shared with the other tests).
    for app in SHIPPED {
        page.wait_for(
            &format!("{app} loaded, without a build error"),
            &format!(
                "(() => {{ const c = document.querySelector({card}); return !!c && !!c.querySelector('.app-loaded') && !c.querySelector('.app-error'); }})()",
                card = json!(format!("#apps-list .app-card[data-app='{app}']"))
            ),
            Duration::from_secs(900),
        )
        .await;
    }

    // poll: ask, vote by clicking, see the confirmation and the count.
    compose(&page, "/poll \"Lunch today?\" \"Pizza\" \"Sushi\"").await;
    page.wait_for("the poll", &shows("Lunch today?"), BOUND)
        .await;
    page.wait_for("the Pizza button", &click_button("Pizza"), BOUND)
        .await;
    page.wait_for("the vote's confirmation", &shows("You voted for"), BOUND)
        .await;
    page.wait_for("the count", &shows("1 voter"), BOUND).await;

    // unicorn: give one to Bob; #general (its channel in botyard.toml) is pinged.
    compose(&page, "/unicorn @Bob for the walkthrough").await;
    page.wait_for("the unicorn ping", &shows("got a unicorn from"), BOUND)
        .await;

    // blackfriday: the countdown, and a checklist item announced.
    compose(&page, "/blackfriday").await;
    page.wait_for("the countdown", &shows("to Black Friday"), BOUND)
        .await;
    compose(&page, "/blackfriday checklist add \"Load test checkout\"").await;
    page.wait_for("the checklist item", &shows("Load test checkout"), BOUND)
        .await;

    // office: register a visitor in the form; Paris's channel (#general
    // in botyard.toml) is told.
    compose(&page, "/office visit").await;
    modal_titled(&page, "Register a visitor").await;
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    for (what, js) in [
        ("the name", fill("name", "Ada Lovelace")),
        ("the office", choose("office", "Paris")),
        ("the first day", fill("first", &tomorrow)),
        ("the host", choose("host", "Bob")),
    ] {
        assert_eq!(page.eval(&js).await, true, "the visit form has {what}");
    }
    page.click(".modal .modal-submit").await;
    page.wait_for(
        "the visit in #general",
        &shows("Ada Lovelace is visiting Paris"),
        BOUND,
    )
    .await;

    // rate-my-plate: Alice is on the house team (@sre-oncall); she sets
    // Paris's next menu in the form.
    compose(&page, "/plate menu paris").await;
    modal_titled(&page, "Lunch menu").await;
    assert_eq!(
        page.eval(&fill("dishes", "Ratatouille\nGreen salad")).await,
        true,
        "the menu form has its dishes"
    );
    page.click(".modal .modal-submit").await;
    page.wait_for(
        "the saved menu",
        &shows("saved (2 dishes: Ratatouille, Green salad)"),
        BOUND,
    )
    .await;

    // incidents: declare one; its channel is created with the board.
    compose(&page, "/spy incident start \"Checkout errors\" sev2").await;
    page.wait_for("the declaration", &shows("INC-1: Checkout errors"), BOUND)
        .await;

    // servers: the processes of both data centers, from the simulated
    // supervisords dev starts where botyard.toml points.
    compose(&page, "/spy servers list").await;
    page.wait_for("east's servers", &shows("web-1"), BOUND)
        .await;
    page.wait_for("worker-1", &shows("worker-1"), BOUND).await;

    // stores: the most active stores, from the simulated Prometheus dev
    // starts at the address botyard.toml names.
    compose(&page, "/spy stores top 3").await;
    page.wait_for("the top stores", &shows("lisbon"), BOUND)
        .await;

    // support: the help desk's queue, from the simulated Zendesk.
    compose(&page, "/spy support").await;
    page.wait_for("the phone queue", &shows("Phone"), BOUND)
        .await;

    // github: a repository created in the simulated GitHub's org.
    compose(&page, "/spy github repo create walkthrough").await;
    page.wait_for(
        "the new repository",
        &shows("created acme/walkthrough"),
        BOUND,
    )
    .await;

    // health: the URL checks (dev checks its own /healthz) and open alerts.
    compose(&page, "/spy health").await;
    page.wait_for("the checks", &shows("Checks"), BOUND).await;

    // approvals: nothing waits yet.
    compose(&page, "/po pending").await;
    page.wait_for(
        "the pending list",
        &shows("No purchase order is waiting"),
        BOUND,
    )
    .await;

    // tasks: nothing assigned to Alice yet.
    compose(&page, "/tasks").await;
    page.wait_for("her tasks", &shows("no open tasks"), BOUND)
        .await;

    // helpdesk: this week's numbers per team.
    compose(&page, "/helpdesk stats").await;
    page.wait_for("the stats", &shows("Help desk"), BOUND).await;

    // Plain words: a write is offered with a button, never run by itself.
    compose(&page, "@botyard restart worker-1 in east").await;
    page.wait_for(
        "the offer",
        &shows("/spy servers restart worker-1 east"),
        BOUND,
    )
    .await;

    // The panel says which backends are made up.
    page.wait_for(
        "the simulated backends",
        "(() => { const s = document.querySelector('#simulated'); return !!s && s.textContent.includes('supervisord (data center east)') && s.textContent.includes('Zendesk'); })()",
        BOUND,
    )
    .await;

    drop(dev);
}

// --- channels, topics, pins, files, metadata, scheduled messages, shortcuts ---
//
// These need no guest component (the guest SDKs may be mid-change): the
// emulator's Web API stands in for an app's calls, and a native app
// declares the shortcuts.

/// A native app with one message and one global shortcut, which records
/// every shortcut it receives.
#[derive(Default)]
struct Shortcuts {
    seen: std::sync::Mutex<Vec<botyard::contract::bindings::shortcuts::ShortcutRequest>>,
}

impl botyard::runtime::app::NativeApp for Shortcuts {
    fn describe(&self) -> botyard::contract::description::Description {
        use botyard::contract::bindings::shortcuts::{ShortcutKind, ShortcutSpec};
        use botyard::contract::bindings::types::AppInfo;
        botyard::contract::description::Description {
            info: AppInfo {
                name: "triage".into(),
                description: "Sends messages to triage".into(),
                commands: vec![],
                subcommands: vec![],
                events: vec![],
                schedules: vec![],
            },
            shortcuts: vec![
                ShortcutSpec {
                    callback_id: "triage".into(),
                    kind: ShortcutKind::Message,
                    name: "Send to triage".into(),
                    description: "Ask the triage team to look".into(),
                },
                ShortcutSpec {
                    callback_id: "help".into(),
                    kind: ShortcutKind::Global,
                    name: "Ask for help".into(),
                    description: "Page whoever is on call".into(),
                },
            ],
            webhooks: vec![],
            settings: vec![],
            phrases: vec![],
        }
    }

    fn handle<'a>(
        &'a self,
        _invocation: &'a mut botyard::capabilities::Invocation,
        request: botyard::contract::request::Request,
    ) -> futures_util::future::BoxFuture<'a, Result<botyard::contract::request::Response, String>>
    {
        Box::pin(async move {
            match request {
                botyard::contract::request::Request::Shortcut(s) => {
                    self.seen.lock().unwrap().push(s);
                    Ok(botyard::contract::request::Response::Done)
                }
                _ => Err("shortcuts only".into()),
            }
        })
    }
}

/// The workbench over a host serving `natives` and no guest component.
async fn native_session(
    natives: Vec<(&str, Arc<dyn botyard::runtime::app::NativeApp>)>,
    width: u32,
    height: u32,
) -> Session {
    let dir = TestHost::new("", &[]);
    let mut builder = dir.builder().connected();
    for (id, app) in natives {
        builder = builder.native(id, app);
    }
    let host = builder.start().await.expect("starting the host");
    open_session(dir, host, width, height).await
}

/// The three steps of a file upload, as an app's upload goes to Slack.
async fn upload_file(
    slack: &botyard::emulator::Emulator,
    channel: &str,
    name: &str,
    title: &str,
    content: &[u8],
) -> String {
    let form: Value = reqwest::Client::new()
        .post(format!("{}files.getUploadURLExternal", slack.base_url()))
        .bearer_auth(&slack.config().bot_token)
        .form(&[("filename", name), ("length", &content.len().to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = form["upload_url"].as_str().expect("an upload URL");
    let file = form["file_id"].as_str().unwrap().to_string();
    let sent = reqwest::Client::new()
        .post(url)
        .body(content.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    web_api(
        slack,
        "files.completeUploadExternal",
        json!({"files": [{"id": file, "title": title}], "channel_id": channel}),
    )
    .await;
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_channels_topics_pins_files_and_metadata_show_in_the_page() {
    let s = native_session(vec![], 1280, 860).await;
    let page = &s.page;
    let slack = s.bench.emulator();
    let alice = slack.user_id("alice").unwrap();

    // An app creates a public channel: it shows in the sidebar at once. A
    // private one shows only once Alice is invited.
    // The private one first: once #launch shows, the page has seen both.
    let private = web_api(
        slack,
        "conversations.create",
        json!({"name": "war-room", "is_private": true}),
    )
    .await;
    let war_room = private["channel"]["id"].as_str().unwrap().to_string();
    let created = web_api(slack, "conversations.create", json!({"name": "launch"})).await;
    let launch = created["channel"]["id"].as_str().unwrap().to_string();
    page.wait_for(
        "#launch in the sidebar",
        "document.querySelector(\"#channel-list .side-item[data-name='launch']\") !== null",
        BOUND,
    )
    .await;
    let sees_war_room =
        "document.querySelector(\"#channel-list .side-item[data-name='war-room']\") !== null";
    assert_eq!(page.eval(sees_war_room).await, false, "not invited yet");
    web_api(
        slack,
        "conversations.invite",
        json!({"channel": war_room, "users": alice}),
    )
    .await;
    page.wait_for("#war-room after the invite", sees_war_room, BOUND)
        .await;
    assert_eq!(
        page.eval("document.querySelector(\"#channel-list .side-item[data-name='war-room'] .side-hash\").innerText")
            .await,
        "\u{1F512}",
        "a private channel has a lock"
    );

    // The topic shows in the channel header.
    page.click("#channel-list .side-item[data-name='launch']")
        .await;
    web_api(
        slack,
        "conversations.setTopic",
        json!({"channel": launch, "topic": "Launch day: *Thursday*"}),
    )
    .await;
    page.wait_for(
        "the topic in the header",
        "document.getElementById('channel-topic').innerText === 'Launch day: Thursday'",
        BOUND,
    )
    .await;
    page.wait_for(
        "Slack's topic notice",
        &format!("{MESSAGES}.some(m => m.text.includes('set the channel topic'))"),
        BOUND,
    )
    .await;

    // A message with metadata: a chip with its event type, unfolded on click.
    let posted = web_api(
        slack,
        "chat.postMessage",
        json!({"channel": launch, "text": "Checklist is ready",
               "metadata": {"event_type": "checklist_ready", "event_payload": {"items": 12}}}),
    )
    .await;
    let ts = posted["ts"].as_str().unwrap().to_string();
    let message = format!("#messages .msg[data-ts='{ts}']");
    page.wait_for("the message", &shows("Checklist is ready"), BOUND)
        .await;
    let chip = page
        .eval(&format!(
            "(() => {{ const c = document.querySelector(\"{message} .msg-metadata\");
               return c && {{type: c.dataset.eventType, title: c.querySelector('.metadata-chip').title}}; }})()"
        ))
        .await;
    assert_eq!(chip["type"], "checklist_ready", "{chip}");
    assert!(
        chip["title"].as_str().unwrap().contains("\"items\": 12"),
        "{chip}"
    );
    page.click(&format!("{message} .msg-body")).await; // the pointer rests on the message
    page.click(&format!("{message} .metadata-chip")).await;
    page.wait_for(
        "the unfolded metadata",
        &format!("document.querySelector(\"{message} .metadata-json\")?.hidden === false"),
        BOUND,
    )
    .await;

    // Pinned: a marker on the message, the count in the header, the list.
    web_api(
        slack,
        "pins.add",
        json!({"channel": launch, "timestamp": ts}),
    )
    .await;
    page.wait_for(
        "the pinned marker",
        &format!("document.querySelector(\"{message}.pinned .pinned-note\") !== null"),
        BOUND,
    )
    .await;
    assert_eq!(
        page.eval("document.getElementById('pin-count').innerText")
            .await,
        "1"
    );
    page.click("#pins-button").await;
    let pinned = page
        .wait_for(
            "the pinned list",
            "document.querySelector('#pins-pane:not([hidden]) #pins-list .pin-item')?.innerText",
            BOUND,
        )
        .await;
    assert!(
        pinned.as_str().unwrap().contains("Checklist is ready"),
        "{pinned}"
    );

    // An uploaded file: its title and name, and the content to download.
    let csv = "step,owner\nfreeze,alice\nship,bob\n";
    let file = upload_file(
        slack,
        &launch,
        "checklist.csv",
        "Launch checklist",
        csv.as_bytes(),
    )
    .await;
    let card = format!(".file-card[data-file-id='{file}']");
    let shown = page
        .wait_for(
            "the file card",
            &format!("document.querySelector(\"#messages {card}\")?.innerText"),
            BOUND,
        )
        .await;
    let shown = shown.as_str().unwrap();
    assert!(
        shown.contains("Launch checklist") && shown.contains("checklist.csv"),
        "{shown}"
    );
    let download = page
        .eval(&format!(
            "(async () => {{ const a = document.querySelector(\"#messages {card} a.file-download\");
               const r = await fetch(a.href); return {{name: a.getAttribute('download'), status: r.status,
               disposition: r.headers.get('content-disposition'), body: await r.text()}}; }})()"
        ))
        .await;
    assert_eq!(download["status"], 200, "{download}");
    assert_eq!(download["name"], "checklist.csv");
    assert_eq!(download["body"], csv);
    assert!(
        download["disposition"]
            .as_str()
            .unwrap()
            .contains("checklist.csv")
    );
    s.bench.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_messages_are_listed_until_they_post() {
    let s = native_session(vec![], 1280, 800).await;
    let page = &s.page;
    let slack = s.bench.emulator();
    let general = slack.channel_id("general").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let scheduled = web_api(
        slack,
        "chat.scheduleMessage",
        json!({"channel": general, "text": "Lunch poll closes now", "post_at": now + 3}),
    )
    .await;
    let id = scheduled["scheduled_message_id"].as_str().unwrap();
    let listed = page
        .wait_for(
            "the scheduled list",
            &format!("document.querySelector(\"#scheduled:not([hidden]) .scheduled-item[data-id='{id}']\")?.innerText"),
            BOUND,
        )
        .await;
    assert!(
        listed.as_str().unwrap().contains("Lunch poll closes now"),
        "{listed}"
    );
    assert!(
        !page
            .eval(&shows("Lunch poll closes now"))
            .await
            .as_bool()
            .unwrap(),
        "not posted before its time"
    );
    page.wait_for(
        "the message posted and the list gone",
        &format!(
            "{} && document.getElementById('scheduled').hidden",
            shows("Lunch poll closes now")
        ),
        BOUND,
    )
    .await;
    assert!(slack.scheduled(None).is_empty());
    s.bench.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_shortcuts_are_in_the_menus_and_reach_their_app() {
    let app = Arc::new(Shortcuts::default());
    let s = native_session(vec![("triage", app.clone())], 1280, 800).await;
    let page = &s.page;
    let slack = s.bench.emulator();
    let alice = slack.user_id("alice").unwrap();

    // The global shortcut, from the composer's shortcuts menu.
    page.click("#shortcuts-button").await;
    let menu = page
        .wait_for(
            "the shortcuts menu",
            "[...document.querySelectorAll('.shortcut-menu .popup-item')].map(i => i.dataset.callbackId + ' ' + i.innerText)",
            BOUND,
        )
        .await;
    let menu = menu.as_array().unwrap();
    assert_eq!(menu.len(), 1, "global shortcuts only: {menu:?}");
    assert!(
        menu[0]
            .as_str()
            .unwrap()
            .starts_with("triage.help Ask for help"),
        "{menu:?}"
    );
    page.click(".shortcut-menu .popup-item[data-callback-id='triage.help']")
        .await;
    support::serve::wait_until("the global shortcut to reach the app", BOUND, || async {
        !app.seen.lock().unwrap().is_empty()
    })
    .await;
    {
        let seen = app.seen.lock().unwrap();
        assert_eq!(seen[0].callback_id, "help");
        assert_eq!(seen[0].context.user_id, alice);
        assert!(seen[0].message.is_none());
        assert!(
            seen[0].context.trigger_id.is_some(),
            "a trigger for a modal"
        );
    }

    // The message shortcut, from a message's "more actions" menu.
    let (ts, _) = slack
        .post_as_user("bob", "general", "my printer is on fire", None)
        .await
        .unwrap();
    page.wait_for("Bob's message", &shows("printer is on fire"), BOUND)
        .await;
    let message = format!("#messages .msg[data-ts='{ts}']");
    page.eval(&format!(
        "document.querySelector(\"{message} .msg-toolbar\").style.display = 'flex'"
    ))
    .await;
    page.click(&format!("{message} .tool-more")).await;
    let actions = page
        .wait_for(
            "the more-actions menu",
            "[...document.querySelectorAll('.message-actions .popup-item')].map(i => i.dataset.callbackId)",
            BOUND,
        )
        .await;
    assert_eq!(actions, json!(["triage.triage"]), "message shortcuts only");
    page.click(".message-actions .popup-item[data-callback-id='triage.triage']")
        .await;
    support::serve::wait_until("the message shortcut to reach the app", BOUND, || async {
        app.seen.lock().unwrap().len() == 2
    })
    .await;
    let seen = app.seen.lock().unwrap()[1].clone();
    assert_eq!(seen.callback_id, "triage");
    let on = seen.message.expect("the message it was used on");
    assert_eq!(on.target.ts, ts);
    assert_eq!(on.target.channel, slack.channel_id("general").unwrap());
    assert_eq!(on.text, "my printer is on fire");
    assert_eq!(on.user, slack.user_id("bob").unwrap());

    // The apps panel lists both.
    let panel = page
        .wait_for(
            "the shortcuts in the apps panel",
            "document.querySelector(\"#apps-list .app-card[data-app='triage'] .app-shortcuts\")?.innerText",
            BOUND,
        )
        .await;
    let panel = panel.as_str().unwrap();
    assert!(
        panel.contains("Send to triage") && panel.contains("Ask for help"),
        "{panel}"
    );
    s.bench.shutdown().await;
}

/// The apps panel shows what the operator set for an app — its settings and
/// where each value came from, its webhooks and how they are verified — and
/// its webhook deliveries; a dead delivery's Replay button hands it to the
/// app again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_panel_shows_settings_webhooks_and_replays_a_delivery() {
    let config = r#"
[apps.hooks]
grants = ["slack", "store", "settings", "clock"]
[apps.hooks.settings]
fail_times = "99"
[apps.hooks.webhooks.github]
verify = "none"
delivery_header = "X-GitHub-Delivery"
attempts = 1
"#;
    let dir = TestHost::new(config, &[("hooks", "hooks")]);
    let host = dir
        .builder()
        .connected()
        .webhooks()
        .start()
        .await
        .expect("starting the host");
    let (hooks_url, server) = support::serve_webhooks(&host).await;
    let s = open_session(dir, host, 1280, 900).await;
    let page = &s.page;
    let card = "#apps-list .app-card[data-app='hooks']";
    let text_of =
        |selector: String| format!("document.querySelector({})?.innerText", json!(selector));

    let settings = page
        .wait_for(
            "the settings",
            &text_of(format!("{card} .app-settings")),
            BOUND,
        )
        .await;
    let settings = settings.as_str().unwrap();
    for (name, value, source) in [
        ("fail_times", "99", "set"),
        ("channel", "C0HOOKS", "default"),
        ("delay_ms", "0", "default"),
    ] {
        let row = page
            .eval(&text_of(format!("{card} tr[data-setting='{name}']")))
            .await;
        let row = row
            .as_str()
            .unwrap_or_else(|| panic!("{name} in {settings}"));
        assert!(row.contains(value) && row.contains(source), "{name}: {row}");
    }
    let hooks = page
        .wait_for(
            "the webhooks",
            &text_of(format!("{card} .app-webhooks")),
            BOUND,
        )
        .await;
    let hooks = hooks.as_str().unwrap();
    assert!(hooks.contains("POST /hooks/hooks/github"), "{hooks}");
    assert!(hooks.contains("verify: none"), "{hooks}");
    assert!(
        hooks.contains("[apps.hooks.webhooks.alerts]"),
        "an unconfigured webhook says what to add: {hooks}"
    );

    // A delivery whose one try fails is dead, and shown so.
    let sent = reqwest::Client::new()
        .post(format!("{hooks_url}/hooks/hooks/github"))
        .header("x-github-delivery", "wb-1")
        .header("x-github-event", "push")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    let row = format!("{card} .deliveries tr");
    let dead = page
        .wait_for(
            "the dead delivery",
            &format!(
                "(() => {{ const t = document.querySelector({})?.innerText; return t && t.includes('dead') ? t : null; }})()",
                json!(row)
            ),
            BOUND,
        )
        .await;
    assert!(dead.as_str().unwrap().contains("wb-1"), "{dead}");
    let storage = s.runtime.storage().clone();
    let tries = || async {
        storage
            .kv_get("hooks", "attempts/wb-1")
            .await
            .unwrap()
            .map(|v| String::from_utf8(v).unwrap())
    };
    assert_eq!(tries().await.as_deref(), Some("1"));

    page.click(&format!("{row} button.replay")).await;
    support::serve::wait_until("the replay to run", BOUND, || async {
        tries().await.as_deref() == Some("2")
    })
    .await;
    s.bench.shutdown().await;
    server.abort();
}
