//! One scenario's world: a host over a temporary directory, the Slack
//! emulator in front of it, one manual clock for both; and the steps.

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use super::scenario::{At, Expectation, Scenario, Seen, Step, StepKind};
use super::{Failure, RunOptions, TestApp};
use crate::config::Config;
use crate::contract::retry::Backoff;
use crate::contract::time::Clock;
use crate::emulator::{
    Change, Click, Emulator, EmulatorConfig, HostResponse, HostUrls, Message, UserGroupSpec,
};
use crate::host::Host;
use crate::inbound::http::ReceiverConfig;
use crate::inbound::scheduler;
use crate::runtime::hooks::{Call, Hook};
use crate::runtime::invoke::InvokeError;
use crate::slack::delivery::DeliveryConfig;
use crate::slack::web_api::WebApi;

/// Most ticks one `wait` may fire: a runaway schedule is a failure, not a hang.
const MAX_TICKS_PER_WAIT: usize = 10_000;

/// Counts invocations in flight, so a step knows when the app is done.
#[derive(Default)]
struct InFlight(AtomicI64);

#[async_trait]
impl Hook for InFlight {
    async fn before(&self, _: &Call<'_>) -> Result<(), crate::runtime::hooks::Refusal> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn finished(&self, _: &Call<'_>, _: Duration, _: &Result<(), InvokeError>) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A message as a person sees it, with what matching needs.
#[derive(Clone)]
struct Visible {
    message: Message,
    /// The text and the blocks' text, mentions as `@name`.
    text: String,
    buttons: Vec<(String, String, String)>,
}

pub(super) struct World {
    clock: Clock,
    slack: Emulator,
    host: Option<Host>,
    in_flight: Arc<InFlight>,
    changes: broadcast::Receiver<Change>,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    webhook_url: String,
    http: reqwest::Client,
    app: String,
    /// Person name → timezone.
    zones: HashMap<String, chrono_tz::Tz>,
    /// What every message looked like before the last action: (channel, ts) → content.
    before: HashMap<(String, String), String>,
    /// Files there were before the last action.
    files_before: Vec<String>,
    /// The last command: who typed it, where.
    last_command: Option<(String, String)>,
    settle_timeout: Duration,
    file: std::path::PathBuf,
    /// The scenario's data directory, removed when the world is dropped.
    _dir: tempfile::TempDir,
}

fn fail(
    step: &Step,
    file: &std::path::Path,
    what: &str,
    expected: String,
    saw: Vec<String>,
) -> Failure {
    Failure {
        file: file.to_path_buf(),
        line: step.line,
        step: what.to_string(),
        expected,
        saw,
    }
}

fn setup_failure(scenario: &Scenario, expected: &str, error: impl std::fmt::Display) -> Failure {
    Failure {
        file: scenario.file.clone(),
        line: 1,
        step: "setting up the scenario".into(),
        expected: expected.to_string(),
        saw: vec![error.to_string()],
    }
}

impl World {
    pub(super) async fn start(
        app: &TestApp,
        scenario: &Scenario,
        opts: &RunOptions,
    ) -> Result<World, Failure> {
        let id = scenario.app.clone().unwrap_or_else(|| app.id.clone());
        let clock = Clock::manual(scenario.start_ms);
        let tmp =
            tempfile::tempdir().map_err(|e| setup_failure(scenario, "a temporary directory", e))?;
        let dir = tmp.path().to_path_buf();
        let apps_dir = dir.join("apps");
        std::fs::create_dir_all(&apps_dir)
            .map_err(|e| setup_failure(scenario, "an apps directory", e))?;
        std::fs::copy(&app.component, apps_dir.join(format!("{id}.wasm")))
            .map_err(|e| setup_failure(scenario, "the app's component", e))?;
        let config = config_text(&id, scenario)
            .map_err(|e| setup_failure(scenario, "valid [settings]", e))?;
        let mut config = Config::parse(&config, &dir, &apps_dir)
            .map_err(|e| setup_failure(scenario, "a host configuration the app accepts", e))?;
        config.compile_cache_dir = Some(opts.build_dir.join("cache").join("components"));

        // The workspace: the default people and channels, and the scenario's.
        let mut users: Vec<String> = EmulatorConfig::default().users;
        for name in scenario.people.keys() {
            if !users.contains(name) {
                users.push(name.clone());
            }
        }
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, person) in &scenario.people {
            for group in &person.groups {
                groups
                    .entry(group.trim_start_matches('@').to_string())
                    .or_default()
                    .push(name.clone());
            }
        }
        let mut channels: Vec<String> = vec!["general".into(), "random".into()];
        channels.extend(scenario.channels.iter().cloned());
        let slack = Emulator::start(EmulatorConfig {
            channels,
            users,
            usergroups: groups
                .iter()
                .map(|(handle, members)| UserGroupSpec {
                    handle: handle.clone(),
                    name: handle.clone(),
                    members: members.clone(),
                })
                .collect(),
            seed: Some(1),
            clock: clock.clone(),
            ..EmulatorConfig::default()
        })
        .await
        .map_err(|e| setup_failure(scenario, "the Slack emulator", e))?;
        for user in slack.users().iter().filter(|u| !u.is_bot) {
            let _ = slack.dm_channel(&user.id);
            // Everyone's clock is UTC unless the scenario says otherwise.
            let tz = scenario
                .people
                .get(&user.name)
                .and_then(|p| p.tz.as_deref())
                .unwrap_or("UTC");
            let _ = slack.set_timezone(&user.id, tz);
        }
        let changes = slack.subscribe();

        let in_flight = Arc::new(InFlight::default());
        let mut host = Host::builder(config, &dir)
            .connected()
            .webhooks()
            .clock(clock.clone())
            .hook(in_flight.clone())
            .start()
            .await
            .map_err(|e| setup_failure(scenario, "a host", e))?;
        let snapshot = host.apps().snapshot();
        match snapshot.apps.get(id.as_str()) {
            Some(entry) if entry.current.is_some() => {}
            entry => {
                let why = entry
                    .and_then(|e| e.last_error.as_ref())
                    .map(|e| e.message.clone())
                    .unwrap_or_else(|| "it was not loaded".into());
                return Err(setup_failure(scenario, &format!("app `{id}` to load"), why));
            }
        }

        let (stop, stopped) = watch::channel(false);
        let mut servers = Vec::new();
        let receiver = host
            .http_receiver(ReceiverConfig::new(slack.config().signing_secret.clone()))
            .map_err(|e| setup_failure(scenario, "the host's Slack receiver", e))?;
        let (url, server) = serve(receiver, stopped.clone())
            .await
            .map_err(|e| setup_failure(scenario, "a loopback port", e))?;
        servers.push(server);
        slack.set_request_urls(HostUrls {
            commands: Some(format!("{url}/slack/commands")),
            events: Some(format!("{url}/slack/events")),
            interactivity: Some(format!("{url}/slack/interactivity")),
        });
        let (webhook_url, server) = serve(host.webhook_receiver(), stopped)
            .await
            .map_err(|e| setup_failure(scenario, "a loopback port", e))?;
        servers.push(server);
        let api = WebApi::new(&slack.base_url(), &slack.config().bot_token);
        host.connect_slack(
            api,
            DeliveryConfig {
                // Slack's pacing is real time; a scenario's posts need none.
                post_interval: Duration::ZERO,
                poll_interval: Duration::from_millis(20),
                retry: Backoff::new(Duration::from_millis(20), Duration::from_millis(200)),
                ..DeliveryConfig::default()
            },
        );
        let zones = scenario
            .people
            .iter()
            .filter_map(|(name, p)| Some((name.clone(), p.tz.as_deref()?.parse().ok()?)))
            .collect();
        let mut world = World {
            clock,
            slack,
            host: Some(host),
            in_flight,
            changes,
            stop,
            servers,
            webhook_url,
            http: reqwest::Client::new(),
            app: id,
            zones,
            before: HashMap::new(),
            files_before: Vec::new(),
            last_command: None,
            settle_timeout: opts.settle_timeout,
            file: scenario.file.clone(),
            _dir: tmp,
        };
        // Cron schedules start counting at the scenario's start.
        let now = world.clock.now_ms();
        scheduler::fire_due(world.apps(), now).await;
        world
            .settle()
            .await
            .map_err(|e| setup_failure(scenario, "the app to settle after loading", e))?;
        world.remember();
        Ok(world)
    }

    fn apps(&self) -> &crate::routing::Apps {
        self.host.as_ref().expect("running").apps()
    }

    pub(super) async fn stop(mut self) {
        let _ = self.stop.send(true);
        for server in self.servers.drain(..) {
            server.abort();
        }
        if let Some(host) = self.host.take() {
            host.shutdown().await;
        }
    }

    pub(super) async fn run(&mut self, scenario: &Scenario) -> Result<(), Failure> {
        for step in &scenario.steps {
            match &step.kind {
                StepKind::Expect(expectation) => self.expect(step, expectation)?,
                _ => {
                    self.remember();
                    self.act(step).await?;
                    self.settle().await.map_err(|e| {
                        fail(
                            step,
                            &self.file,
                            &describe(step),
                            "everything it caused to settle".into(),
                            vec![e],
                        )
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Remembers what everything looks like, so expectations see what is new.
    fn remember(&mut self) {
        self.before = self
            .all_messages()
            .into_iter()
            .map(|m| ((m.channel.clone(), m.ts.clone()), fingerprint(&m)))
            .collect();
        self.files_before = self.slack.files().into_iter().map(|f| f.id).collect();
    }

    fn all_messages(&self) -> Vec<Message> {
        let mut all = Vec::new();
        for channel in self.slack.channels() {
            for user in self.slack.users().iter().filter(|u| !u.is_bot) {
                for m in self.slack.history(&user.id, &channel.id) {
                    if !all
                        .iter()
                        .any(|a: &Message| a.channel == m.channel && a.ts == m.ts)
                    {
                        all.push(m);
                    }
                }
            }
        }
        all
    }

    /// Waits until nothing the last step caused is still going on: no
    /// invocation running, nothing taken into the inbox and not yet done (a
    /// click acknowledged before it ran), nothing pending in the outbox
    /// (Slack calls and late `response_url` answers) or among webhook
    /// deliveries, and the
    /// workspace quiet for a few polls (an answer posted straight to a
    /// `response_url` shows up there).
    async fn settle(&mut self) -> Result<(), String> {
        const POLL: Duration = Duration::from_millis(5);
        const QUIET_POLLS: u32 = 4;
        let started = Instant::now();
        let mut quiet = 0;
        loop {
            self.slack.post_due_scheduled();
            let running = self.in_flight.0.load(Ordering::SeqCst);
            let storage = self.apps().storage().clone();
            let outbox = storage
                .outbox
                .pending_summary()
                .await
                .map(|(n, _)| n)
                .unwrap_or(0);
            let webhooks = storage.webhooks.pending_count().await.unwrap_or(0);
            let inbox = storage.inbox.pending_count().await.unwrap_or(0);
            let mut changed = false;
            while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) =
                self.changes.try_recv()
            {
                changed = true;
            }
            if running == 0 && inbox == 0 && outbox == 0 && webhooks == 0 && !changed {
                quiet += 1;
                if quiet >= QUIET_POLLS {
                    return Ok(());
                }
            } else {
                quiet = 0;
            }
            if started.elapsed() > self.settle_timeout {
                return Err(format!(
                    "still busy after {} s: {running} invocation(s) running, {inbox} request(s) taken in and not done, {outbox} Slack call(s) not delivered, {webhooks} webhook deliveries not handled — does a handler loop, or a call keep failing? (`botyard dev` shows the app's log)",
                    self.settle_timeout.as_secs()
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// A shortcut's `callback_id` as Slack sends it: the app's own id, as
    /// the scenario names it, under the app's prefix (the host namespaces
    /// every id in the manifest); one already prefixed is left alone.
    fn shortcut_id(&self, callback_id: &str) -> String {
        let prefix = format!("{}.", self.app);
        if callback_id.starts_with(&prefix) {
            callback_id.to_string()
        } else {
            format!("{prefix}{callback_id}")
        }
    }

    /// `@alice` → `<@U…>` for a person of the workspace, `@botyard` (or the
    /// app's id) → the bot's mention, as Slack writes what a person typed.
    fn write_mentions(&self, text: &str) -> String {
        let bot = &self.slack.config().bot_user_id;
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('@') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let end = after
                .find(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_' || c == '.'))
                .unwrap_or(after.len());
            let name = after[..end].trim_end_matches('.');
            let id = if name == "botyard" || name == self.app {
                Some(bot.clone())
            } else if name.is_empty() {
                None
            } else {
                self.slack.user_id(name)
            };
            match id {
                Some(id) => {
                    out.push_str(&format!("<@{id}>"));
                    rest = &after[name.len()..];
                }
                None => {
                    out.push('@');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    fn channel_of(&self, step: &Step) -> Result<String, String> {
        let place = step.place.as_deref().unwrap_or("general");
        if place == "dm" {
            return self.slack.dm_channel(&step.who).map_err(|e| e.to_string());
        }
        self.slack.channel_id(place).ok_or_else(|| {
            format!("there is no channel #{place}: declare it in `channels = [\"#{place}\"]`")
        })
    }

    /// The channels `who` sees: `in` alone when given, else every channel
    /// they are in and their DM with the app.
    fn places(&self, step: &Step) -> Result<Vec<String>, String> {
        if step.place.is_some() {
            return Ok(vec![self.channel_of(step)?]);
        }
        let user = self.user(&step.who)?;
        Ok(self
            .slack
            .channels()
            .into_iter()
            .filter(|c| c.members.contains(&user) || c.dm_user.as_deref() == Some(user.as_str()))
            .map(|c| c.id)
            .collect())
    }

    fn user(&self, name: &str) -> Result<String, String> {
        self.slack
            .user_id(name)
            .ok_or_else(|| format!("nobody is called `{name}`: add them under [people]"))
    }

    /// What `who` can see in `places`, oldest first.
    fn visible(&self, who: &str, places: &[String]) -> Vec<Visible> {
        let mut seen: Vec<Visible> = places
            .iter()
            .flat_map(|c| self.slack.history(who, c))
            .map(|m| self.render(m))
            .collect();
        seen.sort_by(|a, b| ts_key(&a.message.ts).total_cmp(&ts_key(&b.message.ts)));
        seen
    }

    fn render(&self, message: Message) -> Visible {
        let mut blocks_text = String::new();
        let mut buttons = Vec::new();
        if let Some(blocks) = &message.blocks {
            collect(blocks, &mut blocks_text, &mut buttons);
        }
        // `text` is usually the blocks' fallback: said once when it is.
        let blocks_text = blocks_text.trim_start_matches('\n');
        let text = if !message.text.is_empty() && blocks_text.contains(&message.text) {
            blocks_text.to_string()
        } else if blocks_text.is_empty() {
            message.text.clone()
        } else {
            format!("{}\n{blocks_text}", message.text)
        };
        Visible {
            text: self.humanize(&text),
            buttons,
            message,
        }
    }

    /// `<@U…>` → `@alice`, `<#C…|x>` → `#x`, `<!subteam^S…>` → `@group`, entities decoded.
    fn humanize(&self, text: &str) -> String {
        let users = self.slack.users();
        let channels = self.slack.channels();
        let groups = self.slack.usergroups();
        let mut out = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('<') {
            out.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('>') else {
                out.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let inner = &rest[open + 1..open + close];
            let (target, label) = inner.split_once('|').unwrap_or((inner, ""));
            let shown = if let Some(id) = target.strip_prefix('@') {
                users
                    .iter()
                    .find(|u| u.id == id)
                    .map(|u| format!("@{}", u.name))
            } else if let Some(id) = target.strip_prefix('#') {
                channels
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| format!("#{}", c.name))
            } else if let Some(id) = target.strip_prefix("!subteam^") {
                groups
                    .iter()
                    .find(|g| g.id == id)
                    .map(|g| format!("@{}", g.handle))
            } else {
                None
            };
            out.push_str(&shown.unwrap_or_else(|| {
                if label.is_empty() {
                    target.to_string()
                } else {
                    label.to_string()
                }
            }));
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        out.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    fn is_new(&self, m: &Message) -> bool {
        self.before.get(&(m.channel.clone(), m.ts.clone())) != Some(&fingerprint(m))
    }

    async fn act(&mut self, step: &Step) -> Result<(), Failure> {
        let what = describe(step);
        let file = self.file.clone();
        let oops = |e: String| fail(step, &file, &what, "to be able to do this".into(), vec![e]);
        let who = step.who.clone();
        self.user(&who).map_err(oops)?;
        let answer: Option<HostResponse> = match &step.kind {
            StepKind::Command(line) => {
                let channel = self.channel_of(step).map_err(oops)?;
                self.last_command = Some((who.clone(), channel.clone()));
                Some(
                    self.slack
                        .send_slash_command(&who, &channel, line)
                        .await
                        .map_err(|e| oops(e.to_string()))?,
                )
            }
            StepKind::Click { target, on, value } => Some(
                self.click(step, target, on.as_deref(), value.as_deref())
                    .await
                    .map_err(oops)?,
            ),
            StepKind::Submit { view, fields } => {
                Some(self.submit(step, view, fields).await.map_err(oops)?)
            }
            StepKind::Close(title) => {
                let view = self.modal(&who, title).map_err(oops)?;
                self.slack
                    .close_view(&who, &view, false)
                    .await
                    .map_err(|e| oops(e.to_string()))?
            }
            StepKind::React { emoji, on, add } => {
                let message = self
                    .find_message(step, on.as_deref(), |_| true)
                    .map_err(oops)?;
                self.slack
                    .react_as_user(&who, &message.channel, &message.ts, emoji, *add)
                    .await
                    .map_err(|e| oops(e.to_string()))?
            }
            StepKind::Say { text, thread } => {
                let (channel, thread_ts) = match thread {
                    Some(parent) => {
                        let message = self
                            .find_message(step, Some(parent), |s| !s.message.is_reply())
                            .map_err(oops)?;
                        (message.channel, Some(message.ts))
                    }
                    None => (self.channel_of(step).map_err(oops)?, None),
                };
                let text = self.write_mentions(text);
                self.slack
                    .post_as_user(&who, &channel, &text, thread_ts.as_deref())
                    .await
                    .map_err(|e| oops(e.to_string()))?
                    .1
            }
            StepKind::Pin { on } => {
                let message = self
                    .find_message(step, on.as_deref(), |_| true)
                    .map_err(oops)?;
                self.slack
                    .pin_as_user(&who, &message.channel, &message.ts)
                    .await
                    .map_err(|e| oops(e.to_string()))?
            }
            StepKind::Shortcut {
                callback_id,
                on: None,
            } => Some(
                self.slack
                    .send_global_shortcut(&who, &self.shortcut_id(callback_id))
                    .await
                    .map_err(|e| oops(e.to_string()))?,
            ),
            StepKind::Shortcut {
                callback_id,
                on: Some(on),
            } => {
                let message = self.find_message(step, Some(on), |_| true).map_err(oops)?;
                Some(
                    self.slack
                        .send_message_shortcut(
                            &who,
                            &message.channel,
                            &message.ts,
                            &self.shortcut_id(callback_id),
                        )
                        .await
                        .map_err(|e| oops(e.to_string()))?,
                )
            }
            StepKind::Home => self
                .slack
                .open_app_home(&who)
                .await
                .map_err(|e| oops(e.to_string()))?,
            StepKind::Webhook {
                name,
                body,
                content_type,
                headers,
            } => {
                let (app, name) = name.split_once('/').unwrap_or((&self.app, name));
                let mut request = self
                    .http
                    .post(format!("{}/hooks/{app}/{name}", self.webhook_url))
                    .header("content-type", content_type)
                    .body(body.clone());
                for (k, v) in headers {
                    request = request.header(k, v);
                }
                let response = request.send().await.map_err(|e| oops(e.to_string()))?;
                let status = response.status();
                if !status.is_success() {
                    let body = response.text().await.unwrap_or_default();
                    return Err(oops(format!("the host answered {status}: {body}")));
                }
                None
            }
            StepKind::Wait(by) => {
                let target = self.clock.now_ms() + by.as_millis() as u64;
                self.pass_time(target).await.map_err(oops)?;
                None
            }
            StepKind::Until(at) => {
                if *at < self.clock.now_ms() {
                    return Err(oops(format!(
                        "time is already {}: `until` cannot go back",
                        DateTime::<Utc>::from_timestamp_millis(self.clock.now_ms() as i64)
                            .unwrap_or_default()
                            .to_rfc3339()
                    )));
                }
                self.pass_time(*at).await.map_err(oops)?;
                None
            }
            StepKind::Expect(_) => None,
        };
        if let Some(answer) = answer
            && answer.status != 200
        {
            return Err(oops(format!(
                "Slack got HTTP {} from the host: {}",
                answer.status, answer.body
            )));
        }
        Ok(())
    }

    /// Moves virtual time to `target`, firing every tick due on the way at
    /// its own time and letting what it causes settle before the next.
    async fn pass_time(&mut self, target: u64) -> Result<(), String> {
        for _ in 0..MAX_TICKS_PER_WAIT {
            let now = self.clock.now_ms();
            let mut next = scheduler::next_due(self.apps(), now).await;
            if let Some(posted) = self.slack.scheduled(None).first() {
                let at = (posted.post_at * 1000).max(0) as u64;
                next = Some(next.map_or(at, |n| n.min(at)));
            }
            let Some(next) = next.filter(|n| *n <= target) else {
                self.clock.advance_to(target);
                scheduler::fire_due(self.apps(), target).await;
                return self.settle().await;
            };
            let at = self.clock.advance_to(next);
            scheduler::fire_due(self.apps(), at).await;
            self.settle().await?;
        }
        Err(format!(
            "more than {MAX_TICKS_PER_WAIT} ticks came due: does a schedule keep rescheduling itself at once?"
        ))
    }

    async fn click(
        &self,
        step: &Step,
        target: &str,
        on: Option<&str>,
        value: Option<&str>,
    ) -> Result<HostResponse, String> {
        let who = &step.who;
        // By visible text, or by `action_id` as the app wrote it (the host
        // namespaces it: `rate:0:4` posted by `lunch` is `lunch.rate:0:4`).
        let namespaced = format!("{}.{target}", self.app);
        let matches =
            |b: &(String, String, String)| b.0 == target || b.1 == target || b.1 == namespaced;
        if let Some(view) = self.slack.views_of(who).last() {
            let mut text = String::new();
            let mut buttons = Vec::new();
            collect(&view.view["blocks"], &mut text, &mut buttons);
            if let Some(b) = buttons.iter().find(|b| matches(b)) {
                return self
                    .slack
                    .click_view(who, &view.id, Click::new(&b.1, value.unwrap_or(&b.2)))
                    .await
                    .map_err(|e| e.to_string());
            }
        }
        let seen = self.visible(who, &self.places(step)?);
        let hit = seen
            .iter()
            .rev()
            .filter(|s| on.is_none_or(|on| s.text.contains(on)))
            .find_map(|s| s.buttons.iter().find(|b| matches(b)).map(|b| (s, b)));
        let Some((s, b)) = hit else {
            let mut saw: Vec<String> = seen.iter().rev().take(5).map(|s| self.line(s)).collect();
            saw.reverse();
            return Err(format!(
                "{who} sees no button `{target}`{} — the latest they see:\n      {}",
                on.map(|o| format!(" on a message containing {o:?}"))
                    .unwrap_or_default(),
                if saw.is_empty() {
                    "nothing".into()
                } else {
                    saw.join("\n      ")
                }
            ));
        };
        self.slack
            .click_message(
                who,
                &s.message.channel,
                &s.message.ts,
                Click::new(&b.1, value.unwrap_or(&b.2)),
            )
            .await
            .map_err(|e| e.to_string())
    }

    /// The id of `who`'s open modal titled (or with callback id) `title`; any when empty.
    fn modal(&self, who: &str, title: &str) -> Result<String, String> {
        let views = self.slack.views_of(who);
        let Some(view) = views.last() else {
            return Err(format!("{who} has no modal open"));
        };
        let shown = view.view["title"]["text"].as_str().unwrap_or_default();
        let callback = view.view["callback_id"].as_str().unwrap_or_default();
        if !title.is_empty() && title != shown && title != callback {
            return Err(format!(
                "{who}'s open modal is \"{shown}\" ({callback}), not \"{title}\""
            ));
        }
        Ok(view.id.clone())
    }

    async fn submit(
        &self,
        step: &Step,
        title: &str,
        fields: &toml::Table,
    ) -> Result<HostResponse, String> {
        let who = &step.who;
        let view_id = self.modal(who, title)?;
        let view = self
            .slack
            .views_of(who)
            .last()
            .cloned()
            .expect("found above")
            .view;
        let mut values = serde_json::Map::new();
        let mut used = Vec::new();
        let mut inputs = Vec::new();
        for block in view["blocks"].as_array().into_iter().flatten() {
            if block["type"] != "input" {
                continue;
            }
            let block_id = block["block_id"].as_str().unwrap_or_default().to_string();
            let element = &block["element"];
            let action_id = element["action_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let label = block["label"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            inputs.push(format!("{label:?} ({block_id}/{action_id})"));
            let given = [&label, &block_id, &action_id]
                .into_iter()
                .find_map(|k| fields.get(k.as_str()).map(|v| (k.clone(), v)));
            let kind = element["type"].as_str().unwrap_or("plain_text_input");
            let value = match given {
                // Left alone, an input keeps what the modal set it to.
                None => initial_state(kind, element),
                Some((key, value)) => {
                    used.push(key);
                    self.input_value(kind, element, value)?
                }
            };
            values
                .entry(block_id)
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("object")
                .insert(action_id, value);
        }
        if let Some(unknown) = fields.keys().find(|k| !used.contains(k)) {
            return Err(format!(
                "the modal has no input `{unknown}`; its inputs: {}",
                inputs.join(", ")
            ));
        }
        self.slack
            .send_view_submission(who, &view_id, Value::Object(values))
            .await
            .map_err(|e| e.to_string())
    }

    /// Slack's `state.values` entry for what a person typed or picked.
    fn input_value(
        &self,
        kind: &str,
        element: &Value,
        given: &toml::Value,
    ) -> Result<Value, String> {
        let texts: Vec<String> = match given {
            toml::Value::Array(items) => items.iter().map(toml_text).collect(),
            one => vec![toml_text(one)],
        };
        let option = |text: &str| -> Result<Value, String> {
            element["options"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|o| o["text"]["text"] == text || o["value"] == text)
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "`{text}` is not one of the options of `{}`",
                        element["action_id"]
                    )
                })
        };
        let first = texts.first().cloned().unwrap_or_default();
        Ok(match kind {
            "static_select" | "radio_buttons" => {
                json!({"type": kind, "selected_option": option(&first)?})
            }
            "multi_static_select" | "checkboxes" => {
                json!({"type": kind, "selected_options": texts.iter().map(|t| option(t)).collect::<Result<Vec<_>, _>>()?})
            }
            "users_select" => json!({"type": kind, "selected_user": self.user(&first)?}),
            "multi_users_select" => {
                json!({"type": kind, "selected_users": texts.iter().map(|t| self.user(t)).collect::<Result<Vec<_>, _>>()?})
            }
            "conversations_select" | "channels_select" => {
                let id = self
                    .slack
                    .channel_id(first.trim_start_matches('#'))
                    .unwrap_or(first.clone());
                let key = if kind == "channels_select" {
                    "selected_channel"
                } else {
                    "selected_conversation"
                };
                json!({"type": kind, key: id})
            }
            "datepicker" => json!({"type": kind, "selected_date": first}),
            "timepicker" => json!({"type": kind, "selected_time": first}),
            _ => json!({"type": kind, "value": first}),
        })
    }

    /// The latest message `step.who` sees (in `in`) whose text contains `on`.
    fn find_message(
        &self,
        step: &Step,
        on: Option<&str>,
        keep: impl Fn(&Visible) -> bool,
    ) -> Result<Message, String> {
        self.visible(&step.who, &self.places(step)?)
            .into_iter()
            .rev()
            .filter(|s| s.message.ephemeral_to.is_none() && keep(s))
            .find(|s| on.is_none_or(|on| s.text.contains(on)))
            .map(|s| s.message)
            .ok_or_else(|| {
                format!(
                    "{} sees no message{}",
                    step.who,
                    on.map(|o| format!(" containing {o:?}")).unwrap_or_default()
                )
            })
    }

    fn line(&self, s: &Visible) -> String {
        let name = self
            .slack
            .channels()
            .into_iter()
            .find(|c| c.id == s.message.channel)
            .map(|c| {
                if c.is_dm() {
                    "DM".to_string()
                } else {
                    format!("#{}", c.name)
                }
            })
            .unwrap_or_else(|| s.message.channel.clone());
        let mut line = format!("{name} {} UTC", self.local_time(&s.message.ts, None));
        if s.message.ephemeral_to.is_some() {
            line.push_str(" (only you)");
        }
        if s.message.is_reply() {
            line.push_str(" (in a thread)");
        }
        line.push_str(&format!(" {:?}", s.text));
        for b in &s.buttons {
            line.push_str(&format!(" [button {:?}]", b.0));
        }
        line
    }

    /// `HH:MM` of a message `ts` on `who`'s clock (UTC for people without a timezone).
    fn local_time(&self, ts: &str, who: Option<&str>) -> String {
        let secs = ts_key(ts) as i64;
        let utc = DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default();
        match who.and_then(|w| self.zones.get(w)) {
            Some(tz) => utc.with_timezone(tz).format("%H:%M").to_string(),
            None => utc.format("%H:%M").to_string(),
        }
    }

    fn expect(&self, step: &Step, e: &Expectation) -> Result<(), Failure> {
        let what = describe(step);
        // A command's reply is looked at as its author sees it.
        let who = match (e.seen, &self.last_command) {
            (Seen::Reply, Some((author, _))) => author,
            _ => &step.who,
        };
        let failure =
            |expected: String, saw: Vec<String>| fail(step, &self.file, &what, expected, saw);
        let oops = |m: String| failure("a place to look".into(), vec![m]);
        self.user(who).map_err(oops)?;
        match e.seen {
            Seen::Modal | Seen::Home => {
                let view = if e.seen == Seen::Modal {
                    self.slack.views_of(who).last().cloned()
                } else {
                    self.slack.home_of(who)
                };
                let expected = format!(
                    "{} {}",
                    if e.seen == Seen::Modal {
                        "an open modal"
                    } else {
                        "an App Home"
                    },
                    criteria(e)
                );
                let Some(view) = view else {
                    return Err(failure(
                        expected,
                        vec![format!("{who} has no {} open", e.seen.as_str())],
                    ));
                };
                let mut text = view.view["title"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let mut buttons = Vec::new();
                collect(&view.view["blocks"], &mut text, &mut buttons);
                // Field errors (`response_action: errors`) show under their inputs.
                if let Some(errors) = view.errors.as_ref().and_then(Value::as_object) {
                    for message in errors.values().filter_map(Value::as_str) {
                        text.push('\n');
                        text.push_str(message);
                    }
                }
                let text = self.humanize(&text);
                let title = view.view["title"]["text"].as_str().unwrap_or_default();
                let ok = e.text.as_deref().is_none_or(|t| text.contains(t))
                    && e.title.as_deref().is_none_or(|t| title == t)
                    && e.button
                        .as_deref()
                        .is_none_or(|b| buttons.iter().any(|x| x.0 == b));
                if !ok {
                    let mut saw = format!("{:?} {text:?}", title);
                    for b in &buttons {
                        saw.push_str(&format!(" [button {:?}]", b.0));
                    }
                    return Err(failure(expected, vec![saw]));
                }
                Ok(())
            }
            Seen::File => {
                let places = self.places(step).map_err(oops)?;
                let files: Vec<_> = self
                    .slack
                    .files()
                    .into_iter()
                    .filter(|f| {
                        !self.files_before.contains(&f.id)
                            && f.channels.iter().any(|c| places.contains(c))
                    })
                    .collect();
                let hit = files.iter().any(|f| {
                    e.name.as_deref().is_none_or(|n| f.name.contains(n))
                        && e.text.as_deref().is_none_or(|t| {
                            f.content
                                .as_deref()
                                .is_some_and(|c| String::from_utf8_lossy(c).contains(t))
                        })
                });
                if !hit {
                    return Err(failure(
                        format!("a new file {}", criteria(e)),
                        files
                            .iter()
                            .map(|f| format!("{} ({} bytes)", f.name, f.length))
                            .collect(),
                    ));
                }
                Ok(())
            }
            Seen::Message | Seen::Ephemeral | Seen::Reply | Seen::Nothing => {
                let places = match (e.seen, &self.last_command) {
                    (Seen::Reply, Some((_, channel))) => vec![channel.clone()],
                    (Seen::Reply, None) => {
                        return Err(oops(
                            "`expect = \"reply\"` needs a command before it".into(),
                        ));
                    }
                    _ => self.places(step).map_err(oops)?,
                };
                let fresh: Vec<Visible> = self
                    .visible(who, &places)
                    .into_iter()
                    .filter(|s| self.is_new(&s.message))
                    .collect();
                let mut saw: Vec<String> = fresh.iter().map(|s| self.line(s)).collect();
                if saw.is_empty() {
                    saw.push("(nothing new since the last step)".into());
                }
                if e.seen == Seen::Nothing {
                    let new_files = self
                        .slack
                        .files()
                        .into_iter()
                        .filter(|f| !self.files_before.contains(&f.id))
                        .filter(|f| f.channels.iter().any(|c| places.contains(c)))
                        .count();
                    if fresh.is_empty() && new_files == 0 {
                        return Ok(());
                    }
                    return Err(failure(format!("nothing new for {who}"), saw));
                }
                let parent_ok = |m: &Message| match &e.thread {
                    None => true,
                    Some(parent) => {
                        m.is_reply()
                            && self
                                .slack
                                .thread(&m.channel, m.thread_ts.as_deref().unwrap_or_default())
                                .first()
                                .is_some_and(|p| {
                                    self.render(p.clone()).text.contains(parent.as_str())
                                })
                    }
                };
                let matching = fresh
                    .iter()
                    .filter(|s| match e.seen {
                        Seen::Message => s.message.ephemeral_to.is_none(),
                        Seen::Ephemeral => s.message.ephemeral_to.is_some(),
                        _ => true,
                    })
                    .filter(|s| e.text.as_deref().is_none_or(|t| s.text.contains(t)))
                    .filter(|s| {
                        e.button
                            .as_deref()
                            .is_none_or(|b| s.buttons.iter().any(|x| x.0 == b))
                    })
                    .filter(|s| parent_ok(&s.message))
                    .filter(|s| match &e.at {
                        None => true,
                        Some(At::Local(t)) => {
                            self.local_time(&s.message.ts, Some(who))
                                == t.format("%H:%M").to_string()
                        }
                        Some(At::Moment(secs)) => ts_key(&s.message.ts) as i64 == *secs,
                    })
                    .filter(|s| {
                        e.reaction.as_deref().is_none_or(|r| {
                            self.slack
                                .reactions(&s.message.channel, &s.message.ts)
                                .iter()
                                .any(|(emoji, _)| emoji == r)
                        })
                    })
                    .count();
                let ok = match e.count {
                    Some(n) => matching == n,
                    None => matching > 0,
                };
                if !ok {
                    let kind = match e.seen {
                        Seen::Ephemeral => "ephemeral message",
                        Seen::Reply => "reply",
                        _ => "message",
                    };
                    let how_many = match e.count {
                        Some(n) => format!("{n} new {kind}(s)"),
                        None => format!("a new {kind}"),
                    };
                    let zone = self
                        .zones
                        .get(who.as_str())
                        .map(|z| z.name())
                        .unwrap_or("UTC");
                    let mut expected = format!("{how_many} {}", criteria(e));
                    if matches!(e.at, Some(At::Local(_))) {
                        expected.push_str(&format!(" (on {who}'s clock, {zone})"));
                    }
                    if e.count.is_some() {
                        expected.push_str(&format!(" — {matching} matched"));
                    }
                    return Err(failure(expected, saw));
                }
                Ok(())
            }
        }
    }
}

/// What an expectation asks for, in words.
fn criteria(e: &Expectation) -> String {
    let mut parts = Vec::new();
    if let Some(t) = &e.text {
        parts.push(format!("with text containing {t:?}"));
    }
    if let Some(b) = &e.button {
        parts.push(format!("with a button {b:?}"));
    }
    if let Some(t) = &e.title {
        parts.push(format!("titled {t:?}"));
    }
    if let Some(t) = &e.thread {
        parts.push(format!("in the thread of {t:?}"));
    }
    if let Some(n) = &e.name {
        parts.push(format!("named {n:?}"));
    }
    match &e.at {
        Some(At::Local(t)) => parts.push(format!("posted at {}", t.format("%H:%M"))),
        Some(At::Moment(s)) => parts.push(format!(
            "posted at {}",
            DateTime::<Utc>::from_timestamp(*s, 0)
                .unwrap_or_default()
                .to_rfc3339()
        )),
        None => {}
    }
    if let Some(r) = &e.reaction {
        parts.push(format!("with a :{r}: reaction"));
    }
    parts.join(", ")
}

/// The step as a person would say it.
fn describe(step: &Step) -> String {
    let place = step
        .place
        .as_deref()
        .map(|p| {
            if p == "dm" {
                " in their DM".to_string()
            } else {
                format!(" in #{p}")
            }
        })
        .unwrap_or_default();
    let who = &step.who;
    match &step.kind {
        StepKind::Command(line) => format!("{who} types {line:?}{place}"),
        StepKind::Click { target, .. } => format!("{who} clicks {target:?}{place}"),
        StepKind::Submit { view, .. } => format!("{who} submits the modal {view:?}"),
        StepKind::Close(view) => format!("{who} closes the modal {view:?}"),
        StepKind::React {
            emoji, add: true, ..
        } => format!("{who} reacts :{emoji}:{place}"),
        StepKind::React { emoji, .. } => format!("{who} removes :{emoji}:{place}"),
        StepKind::Say { text, .. } => format!("{who} says {text:?}{place}"),
        StepKind::Pin { .. } => format!("{who} pins a message{place}"),
        StepKind::Shortcut { callback_id, .. } => {
            format!("{who} uses the shortcut {callback_id:?}")
        }
        StepKind::Home => format!("{who} opens the app's Home"),
        StepKind::Webhook { name, .. } => format!("webhook {name:?} arrives"),
        StepKind::Wait(d) => format!("wait {} s", d.as_secs()),
        StepKind::Until(ms) => format!(
            "until {}",
            DateTime::<Utc>::from_timestamp_millis(*ms as i64)
                .unwrap_or_default()
                .to_rfc3339()
        ),
        StepKind::Expect(e) => format!("expect {:?} as {who}{place}", e.seen.as_str()),
    }
}

/// Gathers the visible text of Block Kit `value` into `text`, and its
/// buttons as (visible text, action_id, value).
fn collect(value: &Value, text: &mut String, buttons: &mut Vec<(String, String, String)>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect(v, text, buttons)),
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("button") {
                buttons.push((
                    map.get("text")
                        .and_then(|t| t["text"].as_str())
                        .unwrap_or_default()
                        .to_string(),
                    map.get("action_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    map.get("value")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                ));
                return;
            }
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("text", Value::String(s)) => {
                        text.push('\n');
                        text.push_str(s);
                    }
                    (
                        "action_id" | "block_id" | "value" | "url" | "image_url" | "type" | "style"
                        | "callback_id" | "private_metadata",
                        _,
                    ) => {}
                    _ => collect(v, text, buttons),
                }
            }
        }
        _ => {}
    }
}

/// Slack's `state.values` entry for an input nobody touched: its initial
/// value when the modal set one (`initial_value`, `initial_date`,
/// `initial_option` …), as Slack submits it, else empty.
fn initial_state(kind: &str, element: &Value) -> Value {
    let initial = |key: &str| element.get(key).filter(|v| !v.is_null()).cloned();
    let entry = |key: &str, value: Value| {
        let mut state = json!({"type": kind});
        state[key] = value;
        state
    };
    match kind {
        "datepicker" => initial("initial_date").map(|v| entry("selected_date", v)),
        "timepicker" => initial("initial_time").map(|v| entry("selected_time", v)),
        "static_select" | "radio_buttons" => {
            initial("initial_option").map(|v| entry("selected_option", v))
        }
        "multi_static_select" | "checkboxes" => {
            initial("initial_options").map(|v| entry("selected_options", v))
        }
        "users_select" => initial("initial_user").map(|v| entry("selected_user", v)),
        "multi_users_select" => initial("initial_users").map(|v| entry("selected_users", v)),
        "channels_select" => initial("initial_channel").map(|v| entry("selected_channel", v)),
        "conversations_select" => {
            initial("initial_conversation").map(|v| entry("selected_conversation", v))
        }
        _ => initial("initial_value").map(|v| entry("value", v)),
    }
    .unwrap_or_else(|| json!({"type": kind, "value": null}))
}

fn toml_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn fingerprint(m: &Message) -> String {
    format!(
        "{}\u{0}{}",
        m.text,
        m.blocks.as_ref().map(Value::to_string).unwrap_or_default()
    )
}

fn ts_key(ts: &str) -> f64 {
    ts.parse().unwrap_or_default()
}

/// The host configuration a scenario runs with: every capability granted
/// (the operator's choice in production, not what an author tests), the
/// scenario's settings, and senders of webhooks not checked.
fn config_text(app: &str, scenario: &Scenario) -> Result<String, String> {
    let mut apps = toml::Table::new();
    let mut this = toml::Table::new();
    this.insert(
        "grants".into(),
        toml::Value::Array(
            crate::capabilities::NAMES
                .iter()
                .map(|n| toml::Value::String(n.to_string()))
                .collect(),
        ),
    );
    if !scenario.settings.is_empty() {
        this.insert(
            "settings".into(),
            toml::Value::Table(scenario.settings.clone()),
        );
    }
    // The HTTP stand-in (`[http."/path"]`): the app may reach it, by its address.
    if let Some(base) = &scenario.http_base {
        let mut rule = toml::Table::new();
        rule.insert("url".into(), toml::Value::String(format!("{base}/")));
        let mut http = toml::Table::new();
        http.insert(
            "allow".into(),
            toml::Value::Array(vec![toml::Value::Table(rule)]),
        );
        this.insert("http".into(), toml::Value::Table(http));
    }
    let mut hooks = toml::Table::new();
    for step in &scenario.steps {
        if let StepKind::Webhook { name, .. } = &step.kind {
            let name = name.rsplit('/').next().unwrap_or(name);
            let mut verify = toml::Table::new();
            verify.insert("verify".into(), toml::Value::String("none".into()));
            hooks.insert(name.to_string(), toml::Value::Table(verify));
        }
    }
    if !hooks.is_empty() {
        this.insert("webhooks".into(), toml::Value::Table(hooks));
    }
    apps.insert(app.to_string(), toml::Value::Table(this));
    let mut root = toml::Table::new();
    root.insert("apps".into(), toml::Value::Table(apps));
    toml::to_string(&root).map_err(|e| e.to_string())
}

/// Serves `router` on a free loopback port until `stop` turns true.
async fn serve(
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<(String, JoinHandle<()>)> {
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        let until = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(until)
            .await
        {
            tracing::error!(error = %e, "test kit server stopped");
        }
    });
    Ok((url, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untouched_input_submits_its_initial_value_as_slack_does() {
        let date = json!({"type": "datepicker", "action_id": "day", "initial_date": "2026-11-26"});
        assert_eq!(
            initial_state("datepicker", &date),
            json!({"type": "datepicker", "selected_date": "2026-11-26"})
        );
        let option = json!({"text": {"type": "plain_text", "text": "Paris"}, "value": "paris"});
        let select = json!({"type": "static_select", "initial_option": option});
        assert_eq!(
            initial_state("static_select", &select),
            json!({"type": "static_select", "selected_option": option})
        );
        let text = json!({"type": "plain_text_input", "initial_value": "Soup"});
        assert_eq!(
            initial_state("plain_text_input", &text),
            json!({"type": "plain_text_input", "value": "Soup"})
        );
        let empty = json!({"type": "plain_text_input"});
        assert_eq!(
            initial_state("plain_text_input", &empty),
            json!({"type": "plain_text_input", "value": null})
        );
    }
}
