// 🚨 incidents: run an incident in Slack the way incident.io or Dispatch
// do — `/spy incident start "<title>" [sev]` opens #inc-<date>-<slug> with
// the commander in it and a pinned status board; roles people claim;
// status and severity; a timeline of notes and 📌 key events in one
// timezone; reminders to post status updates; and on resolve, the
// durations and a Markdown postmortem skeleton. See README.md.

import { App, reply, slack } from "botyard";

import { VERBS, boardAction, listOpen } from "./lib/commands.js";
import { byChannel, keyEvent, remindTick, resolveTick } from "./lib/incidents.js";
import { UserError } from "./lib/parse.js";
import { seen } from "./lib/users.js";

const app = new App("incidents", "Incident response: a channel per incident, roles, a timeline, reminders, postmortems");

app.setting("timezone", "The zone every time is shown and typed in (an IANA name like Europe/Paris)", { default: "UTC" });
app.setting("reminder_minutes", "Minutes without a status update before the commander is reminded, while open (0: never)", { default: 30 });
app.setting("announce_channel", "Where new incidents, severity changes and resolutions are announced (#name or id); none unless set");

// What the lib answers ({reply, text}) as a reply; a UserError answers the
// person who made the mistake, anything else is a failure.
function answer(fn) {
  return (req) => {
    try {
      seen(req.context.userId);
      const out = fn(req);
      return out.reply === "inChannel" ? reply.inChannel(out.text) : reply.ephemeral(out.text);
    } catch (e) {
      if (e instanceof UserError) return reply.ephemeral(e.message);
      throw e;
    }
  };
}

for (const [verb, { description, usage, run }] of Object.entries(VERBS)) {
  app.command(`/spy incident ${verb}`, { description, usage },
    answer(({ text, context }) => run(context.userId, text, context.channelId)));
}

app.command("/spy incidents", { description: "List the open incidents, with their channels", usage: "" },
  answer(() => listOpen()));

// The board's buttons: claim a role, or move the status on.
const click = answer(({ actionId, value, context }) => boardAction(context.userId, actionId, value ?? "", context.channelId));
app.action("claim:*", click);
app.action("status:*", click);

// Key events: a pinned message (Slack's `pin_added`) or a :pushpin:
// reaction (scenarios pinned.toml and lifecycle.toml).
function keyEventSaid(user, channel, ts, text, how) {
  try {
    const inc = keyEvent(user, channel, ts, text, how);
    if (inc) slack.postEphemeral(channel, user, `📌 Added to the INC-${inc.number} timeline as a key event.`);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    slack.postEphemeral(channel, user, e.message);
  }
}

app.event("pin_added", ({ data }) => {
  const message = data.item?.message;
  if (data.item?.type !== "message" || !message) return;
  keyEventSaid(data.user, data.channel_id ?? data.item.channel, message.ts, message.text ?? "", "pinned");
});

const PINS = ["pushpin", "round_pushpin"];
app.event("reaction_added", ({ data }) => {
  if (!PINS.includes((data.reaction ?? "").split("::")[0]) || data.item?.type !== "message") return;
  const { channel, ts } = data.item;
  if (!byChannel(channel)) return;
  let text = "";
  try {
    // The message's text: the thread it is in holds it (a message without replies is its own thread).
    text = slack.threadReplies({ channel, ts }, 100).find((m) => m.ts === ts)?.text ?? "";
  } catch {
    text = "";
  }
  keyEventSaid(data.user, channel, ts, text, "marked");
});

app.tick("resolve:*", ({ name }) => resolveTick(name));
app.tick("remind:*", ({ name, dueMs }) => remindTick(name, dueMs));

// What people say to `@botyard` for these (English and Korean). Only the
// list just reads; the rest are offered with a button.
const sev = { choice: { sev1: ["sev1", "critical"], sev2: ["sev2", "major"], sev3: ["sev3", "minor"], sev4: ["sev4"] }, optional: true };
const id = { id: "INC-", optional: true };
app.phrase('/spy incident start "{title}" [{sev}] [{commander}]', {
  aliases: ["incident", "declare", "open an incident", "outage", "장애", "선언", "장애 발생"],
  examples: ["start an incident for {title}", "declare an incident: {title}", "장애 선언: {title}"],
  slots: { title: "text", sev, commander: { kind: "user", optional: true } },
});
app.phrase("/spy incident resolve [{id}] [{summary}]", {
  aliases: ["resolve", "resolved", "fixed", "close the incident", "해결", "종료", "복구"],
  examples: ["the incident is resolved: {summary}", "close {id}, {summary}", "장애 해결: {summary}"],
  slots: { id, summary: { kind: "text", optional: true } },
});
app.phrase("/spy incident note [{id}] {note}", {
  aliases: ["note", "timeline", "log", "메모", "기록"],
  examples: ["add a note to the timeline: {note}", "타임라인에 기록: {note}"],
  slots: { id, note: "text" },
});
app.phrase("/spy incidents", {
  aliases: ["incidents", "open incidents", "ongoing incidents", "장애 목록", "진행 중인 장애"],
  examples: ["which incidents are ongoing", "list the incidents", "열린 장애"],
  readOnly: true,
});

export default app;
