// What people read: task lines, the batched DM, the digest, /tasks.

import { button, log, section, settings } from "botyard";

import { DAY, HOUR, MINUTE, dueName, parseDuration } from "./time.js";

// Slack reads &, < and > as markup: text from a tracker is shown as typed.
export const esc = (s) => String(s ?? "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const clip = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

// A link Slack can show: http(s) only, nothing that would end the <url|text> markup.
const safeUrl = (url) => (/^https?:\/\/[^\s<>|]+$/.test(url ?? "") ? url : "");

/** `<url|ENG-12> Fix the login redirect`. */
export function title(t) {
  const url = safeUrl(t.url);
  const key = url ? `<${url}|${esc(t.key)}>` : `*${esc(t.key)}*`;
  return t.title ? `${key} ${esc(clip(t.title, 150))}` : key;
}

/** How a task's due date reads on `today` (the person's local date). */
export function dueMark(t, today) {
  if (!t.due) return "";
  if (t.due < today) return `⚠️ *overdue* (due ${dueName(t.due)})`;
  if (t.due === today) return "📅 *due today*";
  return `due ${dueName(t.due)}`;
}

/** One line of a list: title, status, due. */
export function line(t, today) {
  const bits = [title(t)];
  if (t.status) bits.push(`_${esc(t.status)}_`);
  const due = dueMark(t, today);
  if (due) bits.push(due);
  return bits.join(" · ");
}

/** The snooze length the buttons use (setting `snooze_button`), in ms and words. */
export function buttonSnooze() {
  const raw = settings.get("snooze_button", "1d") ?? "1d";
  let ms = parseDuration(raw);
  if (ms === null) {
    log.warn(`setting snooze_button is "${raw}", not a length like 1d or 4h; using 1d`);
    ms = DAY;
  }
  return { ms, words: words(ms) };
}

/** `2 days`, `1 hour`, `30 minutes`, `1 week`. */
export function words(ms) {
  const unit = (n, w) => `${n} ${w}${n === 1 ? "" : "s"}`;
  if (ms % (7 * DAY) === 0) return unit(ms / (7 * DAY), "week");
  if (ms % DAY === 0) return unit(ms / DAY, "day");
  if (ms % HOUR === 0) return unit(ms / HOUR, "hour");
  return unit(Math.round(ms / MINUTE), "minute");
}

export function snoozeButton(key) {
  return button(`💤 Snooze ${buttonSnooze().words}`, `snooze:${key}`, { value: key });
}

/** One update in a DM: `assigned to you by @jules`. */
function update(e) {
  const by = e.actor ? ` by ${e.actor}` : "";
  switch (e.kind) {
    case "assigned":
      return `assigned to you${by}`;
    case "commented": {
      const said = clip(String(e.text ?? "").replace(/\s+/g, " ").trim(), 300);
      return `${e.actor || "someone"} commented${said ? `: “${esc(said)}”` : ""}`;
    }
    case "status":
      return e.from && e.to && e.from !== e.to
        ? `${e.actor ? `${e.actor} moved it` : "moved"} from _${esc(e.from)}_ to _${esc(e.to)}_`
        : `is now _${esc(e.to)}_${by}`;
    default:
      return esc(e.kind);
  }
}

/**
 * The batched DM: every pending update, grouped by task, each task with a
 * snooze button. `tasks` maps key → the stored task (or a stand-in).
 */
export function updatesMessage(entries, tasks, today) {
  const byKey = new Map();
  for (const e of entries) {
    if (!byKey.has(e.key)) byKey.set(e.key, []);
    byKey.get(e.key).push(e);
  }
  const blocks = [];
  const n = entries.length;
  if (n > 1) blocks.push(section(`🔔 *${n} updates on ${byKey.size === 1 ? "your task" : `${byKey.size} of your tasks`}*`));
  const MAX = 40;
  let shown = 0;
  for (const [key, list] of byKey) {
    if (shown++ >= MAX) break;
    const t = tasks.get(key) ?? { key };
    const due = t.done ? "" : dueMark(t, today);
    const head = `${n > 1 ? "" : "🔔 "}${title(t)}${due ? ` · ${due}` : ""}`;
    const body = list.map((e) => `• ${update(e)}`).join("\n");
    blocks.push(section(`${head}\n${body}`, t.done ? {} : { accessory: snoozeButton(key) }));
  }
  if (byKey.size > MAX) blocks.push(section(`…and updates on ${byKey.size - MAX} more tasks.`));
  const first = entries[0];
  const text = n === 1
    ? `${first.key}: ${update(first)}`
    : `${n} updates on your tasks: ${[...byKey.keys()].slice(0, 10).join(", ")}`;
  return { text, blocks };
}

/** The morning digest: overdue, due today, then the rest. */
export function digestMessage(tasks, today, dayWords) {
  const overdue = tasks.filter((t) => t.due && t.due < today);
  const dueToday = tasks.filter((t) => t.due === today);
  const rest = tasks.filter((t) => !t.due || t.due > today);
  const blocks = [section(`☀️ *Good morning! Your tasks for ${dayWords}*`)];
  const MAX = 15;
  let room = MAX;
  const group = (label, list) => {
    if (!list.length) return;
    blocks.push(section(`*${label}* (${list.length})`));
    for (const t of list.slice(0, room)) blocks.push(section(line(t, today), { accessory: snoozeButton(t.key) }));
    room = Math.max(0, room - list.length);
  };
  group("Overdue", overdue);
  group("Due today", dueToday);
  group("Open", rest);
  if (tasks.length > MAX) blocks.push(section(`…and ${tasks.length - MAX} more: \`/tasks\` lists them all.`));
  const counts = [
    overdue.length && `${overdue.length} overdue`,
    dueToday.length && `${dueToday.length} due today`,
    `${tasks.length} open`,
  ].filter(Boolean).join(", ");
  return { text: `☀️ Your tasks for ${dayWords}: ${counts}`, blocks };
}
