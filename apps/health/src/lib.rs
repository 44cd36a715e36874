//! `health`: URL checks and Alertmanager alerts, posted in `#ops` with an
//! Acknowledge button, the story told in each alert's thread, flapping
//! grouped into one alert, and escalation by SMS through Twilio to the
//! on-call list, then to the leads. See README.md for what people see;
//! `model` decides, `render` words it, `alertmanager` and `twilio` speak
//! those services' formats.

mod alertmanager;
mod model;
mod render;
mod twilio;

use botyard_sdk::prelude::*;
use serde::Deserialize;

use model::{Alert, CheckState, Fired, Flap, Person, Posted, Source, Transition};

/// How often the recurring tick looks for due checks: every 10 seconds
/// (the scheduler's cron takes a leading seconds field).
const EVERY: &str = "*/10 * * * * *";
const MIN: u64 = 60_000;
/// How long a Twilio request may take.
const SMS_TIMEOUT_MS: u32 = 10_000;

fn app() -> App {
    App::new(
        "health",
        "URL checks and Alertmanager alerts in #ops: acknowledge, thread story, flapping, SMS escalation",
    )
    .setting("channel", setting_spec("Where alerts are posted").default("#ops"))
    .setting(
        "checks",
        setting_spec("URL checks: [{ name = \"api\", url = \"https://…/healthz\", expect = 200, interval_s = 60, timeout_ms = 5000 }, …] (allow each URL in [[apps.health.http.allow]])").default("[]"),
    )
    .setting(
        "fail_after",
        setting_spec("A check is down after this many failures in a row").default("2"),
    )
    .setting(
        "flap_count",
        setting_spec("Going down this many times within flap_window_minutes makes an alert flapping").default("3"),
    )
    .setting(
        "flap_window_minutes",
        setting_spec("The window for flapping; an alert down again within it reopens the same message").default("30"),
    )
    .setting(
        "escalate_minutes",
        setting_spec("Unacknowledged this long, an alert is sent by SMS to the on-call list").default("5"),
    )
    .setting(
        "leads_minutes",
        setting_spec("Still unacknowledged this much longer, it is sent to the leads").default("10"),
    )
    .setting(
        "oncall",
        setting_spec("Who is paged first: [{ name = \"alice\", phone = \"+15551230001\" }, …] (E.164)").default("[]"),
    )
    .setting(
        "leads",
        setting_spec("Who is paged next: same shape as oncall").default("[]"),
    )
    .setting(
        "twilio_url",
        setting_spec("Twilio's API base URL").default("https://api.twilio.com"),
    )
    .setting(
        "twilio_account_sid",
        setting_spec("The Twilio Account SID in the Messages URL (AC…); its credentials go on the allow rule, never here"),
    )
    .setting(
        "sms_from",
        setting_spec("The SMS sender: a Twilio number (E.164) or a Messaging Service SID (MG…)"),
    )
    .schedule("checks", EVERY, run_checks)
    .tick("escalate:*", escalate)
    .webhook(
        "alertmanager",
        "Prometheus Alertmanager's webhook_config (version 4): firing and resolved alerts",
        alertmanager_hook,
    )
    .action("ack", acknowledge)
    .command(
        "/spy health",
        spec("The URL checks and the open alerts"),
        status,
    )
    // What people say to `@botyard` for it (English and Korean): it only
    // reads, so plain words runs it at once.
    .phrase(
        Phrase::new("/spy health")
            .aliases(["health", "alerts", "checks", "is everything up", "상태 점검", "알림", "헬스"])
            .examples(["are any alerts open", "what is down", "열린 알림"])
            .read_only(),
    )
}

export_app!(app);

// --- settings -------------------------------------------------------------

/// One URL check, as the `checks` setting lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckSpec {
    name: String,
    url: String,
    #[serde(default = "default_expect")]
    expect: u16,
    #[serde(default = "default_interval")]
    interval_s: u64,
    #[serde(default = "default_timeout")]
    timeout_ms: u32,
}

fn default_expect() -> u16 {
    200
}

fn default_interval() -> u64 {
    60
}

fn default_timeout() -> u32 {
    5000
}

fn checks() -> Result<Vec<CheckSpec>, String> {
    let checks: Vec<CheckSpec> = settings::get_json("checks")?.unwrap_or_default();
    let mut seen = std::collections::BTreeSet::new();
    for c in &checks {
        if c.name.trim().is_empty() || c.name.contains('/') {
            return Err(format!(
                "setting `checks`: a check needs a `name` without `/` (got {:?})",
                c.name
            ));
        }
        if !seen.insert(c.name.clone()) {
            return Err(format!(
                "setting `checks`: two checks are named `{}`",
                c.name
            ));
        }
        if !(c.url.starts_with("http://") || c.url.starts_with("https://")) {
            return Err(format!(
                "setting `checks`: `{}` needs an http(s) `url` (got {:?})",
                c.name, c.url
            ));
        }
        if c.interval_s < 10 {
            return Err(format!(
                "setting `checks`: `{}` has interval_s = {}; the shortest is 10 (checks run every 10 seconds)",
                c.name, c.interval_s
            ));
        }
    }
    Ok(checks)
}

fn number(name: &str, fallback: u64) -> u64 {
    settings::get(name)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(fallback)
}

fn flap() -> Flap {
    Flap {
        count: number("flap_count", 3) as usize,
        window_ms: number("flap_window_minutes", 30) * MIN,
    }
}

fn channel() -> String {
    settings::get("channel").unwrap_or_else(|| "#ops".into())
}

/// The people a setting lists: `"+15551230001"` or `{ name = "alice",
/// phone = "+1…" }` each.
fn people(setting: &str) -> Result<Vec<Person>, String> {
    let list: Vec<serde_json::Value> = settings::get_json(setting)?.unwrap_or_default();
    list.into_iter()
        .enumerate()
        .map(|(i, entry)| match entry {
            serde_json::Value::String(phone) => Ok(Person {
                name: phone.clone(),
                phone,
            }),
            serde_json::Value::Object(fields) => {
                let text = |key: &str| fields.get(key).and_then(|v| v.as_str()).map(String::from);
                let phone = text("phone").ok_or_else(|| {
                    format!("the `{setting}` setting's entry {} has no `phone`", i + 1)
                })?;
                Ok(Person {
                    name: text("name").unwrap_or_else(|| phone.clone()),
                    phone,
                })
            }
            other => Err(format!(
                "the `{setting}` setting's entry {} is {other}, not a phone number or {{ name, phone }}",
                i + 1
            )),
        })
        .collect()
}

fn sender() -> Result<twilio::Sender, String> {
    let account_sid = settings::get("twilio_account_sid")
        .filter(|s| !s.trim().is_empty())
        .ok_or("the `twilio_account_sid` setting is not set")?;
    let from = settings::get("sms_from")
        .filter(|s| !s.trim().is_empty())
        .ok_or("the `sms_from` setting is not set")?;
    if !from.starts_with("MG") && !model::is_e164(&from) {
        return Err(format!(
            "the `sms_from` setting ({from}) is neither an E.164 number nor a Messaging Service SID (MG…)"
        ));
    }
    Ok(twilio::Sender {
        base: settings::get("twilio_url").unwrap_or_else(|| "https://api.twilio.com".into()),
        account_sid,
        from,
    })
}

// --- the store --------------------------------------------------------------
//
// `seq`: the last alert id · `alert/<id>`: an alert (JSON, model::Alert) ·
// `key/<key>`: the latest alert id of a key · `open`: ids firing or
// flapping · `check/<name>`: a check's state · `sms/<id>/<step>/<phone>`:
// an SMS sent (its SID) or tried (the error), so none is sent twice.

fn load(id: u64) -> Result<Option<Alert>, String> {
    Ok(store::get_json(&format!("alert/{id}"))?)
}

fn save(alert: &Alert) -> Result<(), String> {
    store::set_json(&format!("alert/{}", alert.id), alert)?;
    let open = alert.firing || alert.flapping;
    store::update_json("open", |ids: Option<Vec<u64>>| {
        let mut ids = ids.unwrap_or_default();
        ids.retain(|&i| i != alert.id);
        if open {
            ids.push(alert.id);
        }
        ids
    })?;
    Ok(())
}

fn latest(key: &str) -> Result<Option<Alert>, String> {
    match store::get_json::<u64>(&format!("key/{key}"))? {
        Some(id) => load(id),
        None => Ok(None),
    }
}

fn target(posted: &Posted) -> MessageRef {
    MessageRef {
        channel: posted.channel.clone(),
        ts: posted.ts.clone(),
    }
}

/// Adds a line to the alert's story (its thread); `broadcast` shows it in
/// the channel too.
fn story(alert: &Alert, line: &str, broadcast: bool) -> Result<(), String> {
    if let Some(posted) = &alert.message {
        let options = PostOptions::default()
            .thread_ts(posted.ts.clone())
            .reply_broadcast(broadcast);
        slack::post(&posted.channel, &Message::new(line), &options)?;
    }
    Ok(())
}

fn refresh(alert: &Alert) -> Result<(), String> {
    if let Some(posted) = &alert.message {
        slack::update_message(&target(posted), &render::alert(alert, flap().window_ms))?;
    }
    Ok(())
}

fn tick_name(id: u64, step: u8) -> String {
    format!("escalate:{id}:{step}")
}

/// Schedules the alert's next escalation step, if it needs one.
fn plan_escalation(alert: &mut Alert, now: u64) -> Result<(), String> {
    let m = number("escalate_minutes", 5) * MIN;
    let l = number("leads_minutes", 10) * MIN;
    if let Some((step, at)) = alert.next_step(now, m, l) {
        schedule::once(&tick_name(alert.id, step), at)?;
        alert.pending = Some((step, at));
    }
    Ok(())
}

fn cancel_escalation(alert: &mut Alert) {
    if let Some((step, _)) = alert.pending.take() {
        schedule::cancel(&tick_name(alert.id, step));
    }
}

// --- alerts: raise and clear -------------------------------------------------

struct Raised<'a> {
    key: &'a str,
    source: Source,
    title: String,
    detail: String,
    link: Option<String>,
}

fn raise(r: Raised, now: u64) -> Result<(), String> {
    let flap = flap();
    let previous = latest(r.key)?;
    let outcome = model::fire(previous.as_ref(), now, flap);
    match outcome {
        Fired::New => {
            let id = store::increment("seq", 1)? as u64;
            let mut alert = Alert::new(id, r.key, r.source, now);
            alert.title = r.title;
            alert.detail = r.detail;
            alert.link = r.link;
            let posted = slack::post(
                &channel(),
                &render::alert(&alert, flap.window_ms),
                &PostOptions::default(),
            )?;
            alert.message = Some(Posted {
                channel: posted.channel,
                ts: posted.ts,
            });
            story(&alert, &render::story_down(&alert, now), false)?;
            plan_escalation(&mut alert, now)?;
            save(&alert)?;
            store::set_json(&format!("key/{}", r.key), &id)?;
        }
        Fired::Still => {
            let mut alert = previous.expect("Still has an alert");
            if alert.detail != r.detail {
                alert.detail = r.detail;
                save(&alert)?;
                refresh(&alert)?;
            }
        }
        Fired::Again { downs }
        | Fired::StartsFlapping { downs }
        | Fired::StillFlapping { downs } => {
            let mut alert = previous.expect("a reopen has an alert");
            alert.reopen(&outcome, now, flap);
            alert.detail = r.detail;
            alert.title = r.title;
            match outcome {
                Fired::Again { .. } => story(
                    &alert,
                    &render::story_again(&alert, now, downs, flap.window_ms),
                    true,
                )?,
                Fired::StartsFlapping { .. } => story(
                    &alert,
                    &render::story_flapping(now, downs, flap.window_ms),
                    true,
                )?,
                _ => story(
                    &alert,
                    &render::story_again(&alert, now, downs, flap.window_ms),
                    false,
                )?,
            }
            plan_escalation(&mut alert, now)?;
            save(&alert)?;
            refresh(&alert)?;
        }
    }
    Ok(())
}

fn clear(key: &str, now: u64) -> Result<(), String> {
    let Some(mut alert) = latest(key)? else {
        return Ok(());
    };
    if !alert.resolve(now) {
        return Ok(());
    }
    if !alert.flapping {
        // Resolved is handled. A flapping alert keeps its escalation: it is
        // still a problem while it goes up and down.
        cancel_escalation(&mut alert);
    }
    story(&alert, &render::story_recovered(&alert, now), false)?;
    save(&alert)?;
    refresh(&alert)
}

// --- URL checks ----------------------------------------------------------------

fn probe(check: &CheckSpec) -> (bool, String) {
    match http::get(&check.url).timeout_ms(check.timeout_ms).send() {
        Ok(response) if response.status == check.expect => {
            (true, format!("HTTP {}", response.status))
        }
        Ok(response) => (
            false,
            format!("HTTP {} (expected {})", response.status, check.expect),
        ),
        Err(http::Error::Timeout(_)) => {
            (false, format!("no answer within {} ms", check.timeout_ms))
        }
        Err(e) => (false, format!("no answer ({e})")),
    }
}

fn run_checks(tick: Tick) -> Result<(), String> {
    let checks = checks()?;
    let fail_after = number("fail_after", 2) as u32;
    for check in &checks {
        let key = format!("check/{}", check.name);
        let mut state: CheckState = store::get_json(&key)?.unwrap_or_default();
        if tick.due_ms < state.next_ms {
            continue;
        }
        let (ok, what) = probe(check);
        let now = clock::now_ms();
        state.next_ms = tick.due_ms + check.interval_s * 1000;
        let transition = state.record(ok, what.clone(), now, fail_after);
        let failures = state.fails;
        store::set_json(&key, &state)?;
        let alert_key = format!("check:{}", check.name);
        match transition {
            Transition::Down => raise(
                Raised {
                    key: &alert_key,
                    source: Source::Check,
                    title: format!("`{}` is down", check.name),
                    detail: format!("{} — {what}; {failures} failed checks in a row", check.url),
                    link: Some(check.url.clone()),
                },
                now,
            )?,
            Transition::Up => clear(&alert_key, now)?,
            Transition::None => {}
        }
    }
    Ok(())
}

// --- Alertmanager ----------------------------------------------------------------

fn alertmanager_hook(request: WebhookRequest) -> Result<(), String> {
    let payload = match alertmanager::parse(&request.body) {
        Ok(p) => p,
        Err(e) => {
            // Sending it again will not make it readable: say so, once.
            log::error(&format!("delivery {}: {e}", request.delivery_id));
            return Ok(());
        }
    };
    let now = clock::now_ms();
    for a in &payload.alerts {
        let key = a.key();
        if a.firing() {
            raise(
                Raised {
                    key: &key,
                    source: Source::Alertmanager,
                    title: a.title(),
                    detail: a.detail(),
                    link: a.link(),
                },
                now,
            )?;
        } else {
            clear(&key, now)?;
        }
    }
    Ok(())
}

// --- acknowledge ----------------------------------------------------------------

fn acknowledge(request: ActionRequest) -> Result<ActionResponse, String> {
    let id: u64 = request
        .value
        .as_deref()
        .and_then(|v| v.parse().ok())
        .ok_or("This button does not name an alert.")?;
    let Some(mut alert) = load(id)? else {
        return Err(format!("Alert #{id} is no longer kept."));
    };
    let user = request.context.user_id.clone();
    if let Some(by) = &alert.acked_by {
        return Ok(ActionResponse::ephemeral(format!(
            "Alert #{id} was already acknowledged by <@{by}>."
        )));
    }
    if !alert.firing && !alert.flapping {
        return Ok(ActionResponse::ephemeral(format!(
            "Alert #{id} is resolved: there is nothing to acknowledge."
        )));
    }
    let now = clock::now_ms();
    alert.acked_by = Some(user.clone());
    cancel_escalation(&mut alert);
    story(&alert, &render::story_acked(&user, now), false)?;
    save(&alert)?;
    refresh(&alert)?;
    Ok(ActionResponse::None)
}

// --- escalation ----------------------------------------------------------------

fn escalate(tick: Tick) -> Result<(), String> {
    let mut parts = tick.name.split(':').skip(1);
    let (Some(id), Some(step)) = (
        parts.next().and_then(|p| p.parse::<u64>().ok()),
        parts.next().and_then(|p| p.parse::<u8>().ok()),
    ) else {
        log::error(&format!("tick {} names no alert and step", tick.name));
        return Ok(());
    };
    let Some(mut alert) = load(id)? else {
        return Ok(());
    };
    if alert.pending.is_some_and(|(s, _)| s == step) {
        alert.pending = None;
    }
    if !alert.should_page(step) {
        save(&alert)?;
        return Ok(());
    }
    let now = clock::now_ms();
    let (setting, role) = if step == 1 {
        ("oncall", "on-call")
    } else {
        ("leads", "lead")
    };
    let unacked = now.saturating_sub(alert.opened_ms);
    let no_sms = |why: &str| format!("⚠️ {} — no SMS: {why}", model::clock_time(now));
    match people(setting) {
        // Told where people look, rather than lost in a failed tick.
        Err(why) => story(&alert, &no_sms(&why), false)?,
        Ok(people) if people.is_empty() => story(
            &alert,
            &no_sms(&format!("the `{setting}` setting lists nobody")),
            false,
        )?,
        Ok(people) => match sender() {
            Err(why) => story(&alert, &no_sms(&why), false)?,
            Ok(sender) => {
                let body = render::sms(&alert, &channel(), unacked);
                for person in &people {
                    page(&alert, step, person, role, &sender, &body, now, unacked)?;
                }
            }
        },
    }
    alert.step_done = step;
    plan_escalation(&mut alert, now)?;
    save(&alert)?;
    refresh(&alert)
}

/// One SMS to one person for one step, never twice.
#[allow(clippy::too_many_arguments)]
fn page(
    alert: &Alert,
    step: u8,
    person: &Person,
    role: &str,
    sender: &twilio::Sender,
    body: &str,
    now: u64,
    unacked: u64,
) -> Result<(), String> {
    let who = render::whom(&person.name, &person.phone);
    if !model::is_e164(&person.phone) {
        return story(
            alert,
            &render::story_sms_failed(
                now,
                &person.name,
                &format!("{} is not an E.164 number (+ and digits)", person.phone),
            ),
            false,
        );
    }
    let marker = format!("sms/{}/{step}/{}", alert.id, person.phone);
    if store::get(&marker)?.is_some() {
        return Ok(());
    }
    let line = match sender.send(&person.phone, body, SMS_TIMEOUT_MS) {
        Ok(sid) => {
            store::set(&marker, sid.as_bytes())?;
            render::story_sms(now, &who, role, unacked, &sid)
        }
        Err(why) => {
            store::set(&marker, format!("failed: {why}").as_bytes())?;
            render::story_sms_failed(now, &who, &why)
        }
    };
    story(alert, &line, false)
}

// --- /spy health ----------------------------------------------------------------

fn status(_request: CommandRequest) -> Result<Reply, String> {
    let checks = checks()?;
    let mut lines = Vec::new();
    if checks.is_empty() {
        lines.push("No URL checks: add some to the `checks` setting.".to_string());
    } else {
        lines.push("*Checks*".to_string());
        for c in &checks {
            let state: Option<CheckState> = store::get_json(&format!("check/{}", c.name))?;
            lines.push(render::check_line(
                &c.name,
                &c.url,
                c.interval_s,
                state.as_ref(),
            ));
        }
    }
    let open: Vec<u64> = store::get_json("open")?.unwrap_or_default();
    let mut alerts = Vec::new();
    for id in open {
        if let Some(a) = load(id)? {
            alerts.push(a);
        }
    }
    if alerts.is_empty() {
        lines.push(format!("No open alerts in {}.", channel()));
    } else {
        lines.push(format!("*Open alerts* ({})", alerts.len()));
        lines.extend(alerts.iter().map(render::open_line));
    }
    Ok(Reply::ephemeral(lines.join("\n")))
}
