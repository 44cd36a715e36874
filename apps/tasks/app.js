// ✅ tasks: your Jira (and any tracker's) tasks, in Slack, for you —
// assigned to you, commented on, moved on: one DM per burst (batched over
// two minutes), a morning digest at 09:00 on your own clock of what is
// open, due today and overdue, `/tasks` to list them and a snooze for
// what can wait. Fed by webhooks: Jira Cloud's own payloads, and a small
// generic JSON format for everything else. See README.md.

import { App, clock, log, reply, settings, slack, store } from "botyard";

import { seen, userInfo } from "./lib/people.js";
import { buttonSnooze, digestMessage, esc, line, snoozeButton, updatesMessage } from "./lib/render.js";
import { BadDelivery, readGeneric, readJira } from "./lib/sources.js";
import { getTask, ingest, mine, openTasks, people, snooze, takePending, unsnooze } from "./lib/tasks.js";
import { DAY, dayName, isoDate, minuteOfDay, parseClock, parseDuration, when } from "./lib/time.js";

const app = new App("tasks", "Your tracker tasks in Slack: batched DMs when they change, a morning digest, snooze");

app.setting("people", "Tracker people → Slack users: a table of Jira accountId / email / login = Slack user id or @name", { default: "{}" });
app.setting("directory", "Where `@name` values in `people` are looked for, besides among everyone who used /tasks: a user group (@engineering) or a channel id (C…); none unless set");
app.setting("batch_seconds", "Seconds a person's updates are gathered into one DM, from the first (0: at once)", { default: 120 });
app.setting("digest_time", "When the morning digest goes out, on each person's own clock (HH:MM; empty: no digest)", { default: "09:00" });
app.setting("snooze_button", "How long the Snooze buttons snooze a task (30m, 4h, 1d, 1w)", { default: "1d" });
app.setting("done_statuses", "Status names that mean done, for the generic webhook and Jira statuses without a category (comma-separated, any case)",
  { default: "done, closed, resolved, cancelled, canceled, won't do, merged" });
app.setting("jira_url", "Your Jira site (https://acme.atlassian.net) for issue links; taken from each issue's `self` unless set");

/** A mistake of the person typing: answered to them as it is. */
class UserError extends Error {}

// ---------------------------------------------------------------------------
// Webhooks

function receive(source, read) {
  return (req) => {
    let body;
    try {
      body = JSON.parse(req.text());
    } catch {
      log.warn(`${source} delivery ${req.deliveryId}: the body is not JSON; ignored`);
      return;
    }
    let delivery;
    try {
      delivery = read(body);
    } catch (e) {
      if (!(e instanceof BadDelivery)) throw e;
      log.warn(`${source} delivery ${req.deliveryId} ignored: ${e.message}`);
      return;
    }
    if (!delivery) return;
    const { key, told } = ingest(source, delivery);
    log.info(`${source} ${key}: ${delivery.deleted ? "deleted" : `${delivery.events.map((e) => e.kind).join(", ") || "synced"}; ${told.length} to tell`}`);
  };
}

app.webhook("jira", "Jira Cloud issue and comment events (jira:issue_created, jira:issue_updated, jira:issue_deleted, comment_created)",
  receive("jira", readJira));
app.webhook("generic", "Any tracker: {id, title, url, assignee, reporter, status, due, event, actor, comment} (README)",
  receive("generic", readGeneric));

// ---------------------------------------------------------------------------
// The batched DM: the first update of a burst scheduled `flush:<user>`.

app.tick("flush:*", ({ name }) => {
  const user = name.slice("flush:".length);
  const entries = takePending(user);
  if (!entries.length) return;
  const tasks = new Map();
  for (const e of entries) if (!tasks.has(e.key)) tasks.set(e.key, getTask(e.key) ?? { key: e.key });
  const today = isoDate(userInfo(user).tz, clock.nowMs());
  slack.sendDm(user, updatesMessage(entries, tasks, today));
});

// ---------------------------------------------------------------------------
// The morning digest: every 15 minutes (cron is UTC), to whoever's own
// clock is within the 15 minutes from `digest_time` and who has not had
// today's (their local date). A zone 30 or 45 minutes off the hour lands
// in the window as well as a whole-hour one.

const WINDOW_MIN = 15;

app.schedule("digest", "*/15 * * * *", ({ dueMs }) => {
  const at = parseClock(digestTime());
  if (at === null) return;
  const now = dueMs || clock.nowMs();
  for (const user of people()) {
    const { tz } = userInfo(user);
    const minute = minuteOfDay(tz, now);
    if (minute < at || minute >= at + WINDOW_MIN) continue;
    const today = isoDate(tz, now);
    if (store.get(`digest/${user}`) === today) continue;
    const tasks = openTasks(user);
    store.set(`digest/${user}`, today);
    if (!tasks.length) continue;
    tasks.sort(byDue);
    slack.sendDm(user, digestMessage(tasks, today, dayName(tz, now)));
  }
});

function digestTime() {
  const value = (settings.get("digest_time") ?? "09:00").trim();
  if (value === "") return "";
  if (parseClock(value) === null) {
    log.warn(`setting digest_time is "${value}", not HH:MM; using 09:00`);
    return "09:00";
  }
  return value;
}

// ---------------------------------------------------------------------------
// /tasks

const byDue = (a, b) => (a.due ?? "9999").localeCompare(b.due ?? "9999") || a.key.localeCompare(b.key);

function help() {
  const batch = Number(settings.get("batch_seconds", "120"));
  const gathered = !Number.isFinite(batch) || batch <= 0 ? "" : batch % 60 === 0
    ? ` — updates within ${batch / 60 === 1 ? "a minute" : `${batch / 60} minutes`} come as one message`
    : ` — updates within ${batch} seconds come as one message`;
  const at = digestTime();
  return [
    "*/tasks* — your tasks from Jira and other trackers, in Slack",
    "• `/tasks` — your open tasks, overdue and due today marked",
    "• `/tasks snooze KEY 2d` — hide a task from your digest and notifications for a while (`30m`, `4h`, `2d`, `1w`)",
    "• `/tasks unsnooze KEY` — show it again now",
    "• `/tasks help` — this",
    `You get a DM when a task is assigned to you, and when one of yours (assigned to you or reported by you) is commented on or changes status${gathered}.` +
      (at ? ` Every morning at ${at} your time, a digest of your open tasks: overdue, due today, the rest.` : ""),
  ].join("\n");
}

function list(user) {
  const { tz } = userInfo(user);
  const now = clock.nowMs();
  const today = isoDate(tz, now);
  const tasks = openTasks(user, true).sort(byDue);
  if (!tasks.length) {
    return reply.ephemeral("You have no open tasks assigned to you. 🎉 (Tasks reach me from Jira and other trackers by webhook; ask an admin if yours are missing — your tracker account may need mapping to you in the app's `people` setting.)");
  }
  const awake = tasks.filter((t) => !t.snoozedUntil);
  const asleep = tasks.filter((t) => t.snoozedUntil);
  const overdue = awake.filter((t) => t.due && t.due < today).length;
  const dueToday = awake.filter((t) => t.due === today).length;
  const counts = [overdue && `${overdue} overdue`, dueToday && `${dueToday} due today`].filter(Boolean).join(", ");
  const head = `*Your open tasks (${tasks.length})*${counts ? ` — ${counts}` : ""}`;
  const blocks = [{ type: "section", text: { type: "mrkdwn", text: head } }];
  const MAX = 40;
  for (const t of awake.slice(0, MAX)) {
    blocks.push({ type: "section", text: { type: "mrkdwn", text: line(t, today) }, accessory: snoozeButton(t.key) });
  }
  if (awake.length > MAX) blocks.push({ type: "section", text: { type: "mrkdwn", text: `…and ${awake.length - MAX} more.` } });
  if (asleep.length) {
    blocks.push({ type: "context", elements: [{ type: "mrkdwn",
      text: `💤 Snoozed: ${asleep.slice(0, 20).map((t) => `${esc(t.key)} until ${when(tz, t.snoozedUntil)}`).join(", ")}` }] });
  }
  const text = [head, ...awake.map((t) => `• ${line(t, today)}`),
    ...asleep.map((t) => `• 💤 ${esc(t.key)} snoozed until ${when(tz, t.snoozedUntil)}`)].join("\n");
  return reply.ephemeral(text, blocks);
}

// The task `typed` names: as typed, else any case among the user's own.
function findTask(user, typed) {
  if (!typed) throw new UserError("Which task? `/tasks snooze ENG-12 2d` — `/tasks` lists yours.");
  const exact = getTask(typed);
  if (exact) return exact;
  const wanted = typed.toLowerCase();
  const key = mine(user).find((k) => k.toLowerCase() === wanted) ?? null;
  const upper = getTask(typed.toUpperCase());
  const t = key ? getTask(key) : upper;
  if (!t) throw new UserError(`I don't know a task \`${esc(typed)}\`. \`/tasks\` lists yours.`);
  return t;
}

function snoozeFor(user, t, ms) {
  const until = clock.nowMs() + ms;
  snooze(user, t.key, until);
  const { tz } = userInfo(user);
  return `💤 Snoozed *${esc(t.key)}* until ${when(tz, until)} (${tz}): no digest lines or notifications about it until then. \`/tasks unsnooze ${esc(t.key)}\` brings it back.`;
}

const MAX_SNOOZE = 90 * DAY;

function run(user, text) {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const verb = (words[0] ?? "").toLowerCase();
  if (verb === "" || verb === "list" || verb === "mine") return list(user);
  if (verb === "help") return reply.ephemeral(help());
  if (verb === "snooze") {
    const t = findTask(user, words[1]);
    const length = words.slice(2).join(" ") || "1d";
    const ms = parseDuration(length);
    if (ms === null) throw new UserError(`\`${esc(length)}\` is not a length: try \`30m\`, \`4h\`, \`2d\` or \`1w\`.`);
    if (ms > MAX_SNOOZE) throw new UserError("A snooze lasts at most 90 days.");
    return reply.ephemeral(snoozeFor(user, t, ms));
  }
  if (verb === "unsnooze" || verb === "wake") {
    const t = findTask(user, words[1]);
    return reply.ephemeral(unsnooze(user, t.key)
      ? `🔔 *${esc(t.key)}* is back in your digest and notifications.`
      : `*${esc(t.key)}* was not snoozed.`);
  }
  throw new UserError(`I don't know \`/tasks ${esc(words[0])}\`.\n\n${help()}`);
}

app.command("/tasks", { description: "Your open tasks; snooze one; help", usage: "[snooze KEY 2d | unsnooze KEY | help]" },
  ({ text, context }) => {
    seen(context.userId);
    try {
      return run(context.userId, text ?? "");
    } catch (e) {
      if (e instanceof UserError) return reply.ephemeral(e.message);
      throw e;
    }
  });

// The Snooze buttons on DMs, the digest and the list.
app.action("snooze:*", ({ value, actionId, context }) => {
  const key = value || actionId.slice("snooze:".length);
  const t = getTask(key);
  if (!t) return reply.ephemeral(`I no longer track \`${esc(key)}\` (it was deleted).`);
  return reply.ephemeral(snoozeFor(context.userId, t, buttonSnooze().ms));
});

// What people say to `@botyard` for `/tasks` (English and Korean): it only
// reads, so plain words runs it at once.
app.phrase("/tasks", {
  aliases: ["tasks", "my tasks", "to-do", "todo", "my tickets", "my issues", "assigned to me", "내 할 일", "할 일", "업무", "작업"],
  examples: ["what is on my plate", "show my open issues", "내 업무 목록"],
  readOnly: true,
});

export default app;
