// What people see: the status board, the timeline, the list of open
// incidents and the postmortem skeleton. Pure functions of an incident
// (and the zone to show times in), no Slack calls.

import { actions, button, context, header, section } from "botyard";

import { ROLES } from "./parse.js";
import { clockTime, dateTime, duration, isoDate, timeOn } from "./time.js";

export const SEV_EMOJI = { sev1: "🔴", sev2: "🟠", sev3: "🟡", sev4: "🔵" };
export const STATUS_EMOJI = { investigating: "🔍", identified: "🎯", mitigated: "🩹", resolved: "✅" };

/** The text the board's message always starts with: how a pinned board is told from a key event. */
export const BOARD_MARK = "Status board";

export const sevText = (sev) => `${SEV_EMOJI[sev] ?? ""} ${sev.toUpperCase()}`.trim();
export const statusText = (status) => `${STATUS_EMOJI[status] ?? ""} ${status[0].toUpperCase()}${status.slice(1)}`.trim();
export const incidentId = (inc) => `INC-${inc.number}`;

/** How the incident's channel reads in a message: a link once its id is known. */
export const channelRef = (inc) => (inc.channelKnown ? `<#${inc.channel}>` : `#${inc.name}`);

const who = (id) => (id ? `<@${id}>` : "_unclaimed_");
const when = (tz, ms) => (ms ? dateTime(tz, ms) : "—");

/** `25 min to mitigate · 1 h 10 min to resolve`, measured from when it started. */
export function durations(inc) {
  const parts = [];
  if (inc.mitigatedAt) parts.push(`${duration(inc.mitigatedAt - inc.startedAt)} to mitigate`);
  if (inc.resolvedAt) parts.push(`${duration(inc.resolvedAt - inc.startedAt)} to resolve`);
  return parts.length > 0 ? parts.join(" · ") : "open";
}

/** The pinned status board: text (the fallback) and blocks. */
export function board(inc, tz) {
  const open = inc.status !== "resolved";
  const fields = [
    `*Severity*\n${sevText(inc.severity)}`,
    `*Status*\n${statusText(inc.status)}`,
    ...Object.entries(ROLES).map(([key, role]) => `*${role.label}*\n${who(inc.roles[key])}`),
    `*Reported*\n${when(tz, inc.reportedAt)}`,
    `*Started*\n${when(tz, inc.startedAt)}`,
    `*Mitigated*\n${when(tz, inc.mitigatedAt)}`,
    `*Resolved*\n${when(tz, inc.resolvedAt)}`,
    `*Duration*\n${durations(inc)}`,
  ];
  const blocks = [
    header(`${SEV_EMOJI[inc.severity] ?? ""} ${incidentId(inc)}: ${inc.title}`.trim().slice(0, 150)),
    section(null, { fields }),
  ];
  const last = inc.lastUpdate;
  blocks.push(section(last
    ? `*Last update* (${clockTime(tz, last.at)}, <@${last.by}>): ${last.text}`
    : "*Last update*: none yet — `/spy incident update …` posts one"));
  if (open) {
    const claim = Object.entries(ROLES)
      .filter(([key]) => !inc.roles[key])
      .map(([key, role]) => button(`Claim ${role.label.toLowerCase()}`, `claim:${key}`, { value: inc.name }));
    const next = [];
    if (inc.status === "investigating") next.push(button("Identified", "status:identified", { value: inc.name }));
    if (inc.status !== "mitigated") next.push(button("Mitigated", "status:mitigated", { value: inc.name }));
    next.push(button("Resolve", "status:resolved", {
      value: inc.name,
      style: "primary",
      confirm: {
        title: { type: "plain_text", text: `Resolve ${incidentId(inc)}?` },
        text: { type: "mrkdwn", text: "This stops the update reminders and uploads the postmortem skeleton." },
        confirm: { type: "plain_text", text: "Resolve" },
        deny: { type: "plain_text", text: "Not yet" },
      },
    }));
    blocks.push(actions(...claim, ...next));
    blocks.push(context(`Times in ${tz}. \`/spy incident note …\` or 📌 a message adds it to the timeline · ` +
      "`update …` · `status …` · `sev …` · `role …` · `started HH:MM` · `timeline` · `resolve` · `/spy help incident`"));
  } else {
    blocks.push(context(`Times in ${tz}. Resolved: the postmortem skeleton is in this channel.`));
  }
  const text = `${BOARD_MARK} · ${incidentId(inc)}: ${inc.title} · ${inc.severity.toUpperCase()} · ${inc.status}`;
  return { text, blocks };
}

/** The timeline, oldest first (by when it happened, not when it was told). */
export function sortedTimeline(inc) {
  return inc.timeline
    .map((e, i) => ({ ...e, i }))
    .sort((a, b) => a.at - b.at || a.i - b.i);
}

/** The timeline as Slack text. */
export function timelineText(inc, tz) {
  const day = isoDate(tz, inc.startedAt);
  const lines = sortedTimeline(inc).map((e) => `• \`${timeOn(tz, e.at, day)}\` ${e.text}`);
  return [`*${incidentId(inc)} timeline* (${day}, times in ${tz})`, ...lines,
    `_Duration: ${durations(inc)}._`].join("\n");
}

/** One line of `/spy incidents`. */
export function listLine(inc, tz) {
  const lead = inc.roles.commander ? `, commander <@${inc.roles.commander}>` : "";
  return `• ${SEV_EMOJI[inc.severity] ?? ""} *${incidentId(inc)}* ${inc.title} — ${channelRef(inc)} · ` +
    `${inc.severity.toUpperCase()} · ${inc.status}${lead} · started ${dateTime(tz, inc.startedAt)}` +
    (inc.link ? ` · <${inc.link}|status board>` : "");
}

// A table cell: one line, pipes escaped.
const cell = (s) => String(s).replace(/\r?\n/g, " ").replace(/\|/g, "\\|");

/**
 * The postmortem skeleton, Markdown. `names` maps user ids to the names
 * shown (`@alice`), since a file does not render Slack mentions.
 */
export function postmortem(inc, tz, names) {
  const person = (id) => (id ? `@${names[id] ?? id}` : "— (unclaimed)");
  const plain = (text) => text
    .replace(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g, (_, id) => `@${names[id] ?? id}`)
    .replace(/<#[CG][A-Z0-9]+\|([^>]*)>/g, "#$1")
    .replace(/<([^|>]+)\|([^>]+)>/g, "[$2]($1)")
    // Slack's *bold*, _italic_ and ~strike~ marks, which Markdown reads otherwise.
    .replace(/(^|[\s(])([*_~])(\S(?:[^\n]*?\S)?)\2(?=$|[\s).,:;!?])/g, "$1$3");
  const since = (ms) => (ms ? duration(ms - inc.startedAt) : "—");
  const out = [
    `# Postmortem: ${incidentId(inc)} — ${inc.title}`,
    "",
    `- **Severity:** ${inc.severity.toUpperCase()}`,
    `- **Status:** resolved`,
    `- **Channel:** #${inc.name}`,
    `- **Declared by:** ${person(inc.createdBy)}`,
    `- **All times in ${tz}.**`,
    "",
    "## Summary",
    "",
    inc.summary ? `Resolution note: ${plain(inc.summary)}` : "",
    "",
    "_What happened, in two or three sentences: who was affected, how, and for how long._",
    "",
    "## Duration",
    "",
    "| | when | since it started |",
    "|---|---|---|",
    `| Started | ${when(tz, inc.startedAt)} | — |`,
    `| Reported | ${when(tz, inc.reportedAt)} | ${since(inc.reportedAt)} |`,
    `| Mitigated | ${when(tz, inc.mitigatedAt)} | ${since(inc.mitigatedAt)} |`,
    `| Resolved | ${when(tz, inc.resolvedAt)} | ${since(inc.resolvedAt)} |`,
    "",
    `- Time to report (started → reported): ${duration(inc.reportedAt - inc.startedAt)}`,
    `- Time to mitigate (started → mitigated): ${since(inc.mitigatedAt)}`,
    `- Time to resolve (started → resolved): ${since(inc.resolvedAt)}`,
    inc.mitigatedNotMarked ? "- _Mitigation was not marked separately; it counts from the resolution._" : "",
    "",
    "## Roles",
    "",
    "| role | who |",
    "|---|---|",
    ...Object.entries(ROLES).map(([key, role]) => `| ${role.label} | ${person(inc.roles[key])} |`),
    "",
    "## Timeline",
    "",
    "| time | event |",
    "|---|---|",
    ...sortedTimeline(inc).map((e) => `| ${dateTime(tz, e.at)} | ${cell(plain(e.text))} |`),
    "",
    "## Impact",
    "",
    "_Who and what was affected (customers, requests, revenue), and how it was detected._",
    "",
    "## Root cause",
    "",
    "_Why it happened: the chain of causes, not a person._",
    "",
    "## What went well",
    "",
    "## What went wrong",
    "",
    "## Where we got lucky",
    "",
    "## Action items",
    "",
    "| action | owner | due | ticket |",
    "|---|---|---|---|",
    "| | | | |",
    "",
  ];
  return out.filter((line, i, all) => !(line === "" && all[i - 1] === "")).join("\n");
}
