// The tracked tasks and who is told what. Store layout:
//
//   task/<key>        {key, source, title, url, status, done, due, priority,
//                      assignee, assigneeName, reporter, reporterName, updatedMs}
//                     (assignee/reporter: Slack user ids, or null when the
//                     tracker's person is not mapped to anyone in Slack)
//   mine/<user>       [key, …]: the open tasks assigned to <user> (the index
//                     /tasks and the digest read)
//   pending/<user>    [{key, kind, actor, text, from, to}, …]: what the next
//                     batched DM says; the first one schedules tick flush:<user>
//   snooze/<user>     {key: untilMs}
//   digest/<user>     the local date (YYYY-MM-DD) of their last digest

import { clock, log, schedule, settings, store } from "botyard";

import { peopleMap, toSlack } from "./people.js";
import { esc } from "./render.js";

const MAX_PENDING = 200;

export const getTask = (key) => store.getJson(`task/${key}`, null);

/** The user's index: open task keys. */
export const mine = (user) => store.getJson(`mine/${user}`, []);

function index(user, key, on) {
  if (!user) return;
  const keys = store.updateJson(`mine/${user}`, (keys) => {
    const rest = keys.filter((k) => k !== key);
    return on ? [...rest, key] : rest;
  }, []);
  if (Array.isArray(keys) && keys.length === 0) store.delete(`mine/${user}`); // off the digest's rounds
}

/** `{key: untilMs}` of the user's snoozes still running (expired ones dropped). */
export function snoozes(user) {
  const now = clock.nowMs();
  const all = store.getJson(`snooze/${user}`, {});
  const live = Object.fromEntries(Object.entries(all).filter(([, until]) => until > now));
  if (Object.keys(live).length !== Object.keys(all).length) {
    if (Object.keys(live).length) store.setJson(`snooze/${user}`, live);
    else store.delete(`snooze/${user}`);
  }
  return live;
}

export function snooze(user, key, until) {
  store.updateJson(`snooze/${user}`, (all) => ({ ...all, [key]: until }), {});
}

export function unsnooze(user, key) {
  let had = false;
  store.updateJson(`snooze/${user}`, (all) => {
    had = key in all;
    const { [key]: _, ...rest } = all;
    return rest;
  }, {});
  return had;
}

function batchMs() {
  const raw = settings.get("batch_seconds", "120");
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    log.warn(`setting batch_seconds is "${raw}", not a number of seconds; using 120`);
    return 120_000;
  }
  return n * 1000;
}

// Queues one line of the next DM to `user`; the first one in an empty
// queue starts the batch's tick.
function queue(user, entry) {
  let first = false;
  store.updateJson(`pending/${user}`, (list) => {
    first = list.length === 0;
    return [...list, entry].slice(-MAX_PENDING);
  }, []);
  if (first) schedule.once(`flush:${user}`, clock.nowMs() + batchMs());
}

/**
 * Applies what a tracker sent (sources.js) to the stored task, keeps the
 * assignee index, and queues a line for each person concerned:
 * - assigned: the new assignee, unless they assigned it to themselves;
 * - commented, status: the assignee and the reporter, never the actor.
 * Someone who snoozed the task is not told.
 */
export function ingest(source, delivery) {
  const { key } = delivery;
  const prev = getTask(key);
  if (delivery.deleted) {
    if (prev) {
      index(prev.assignee, key, false);
      store.delete(`task/${key}`);
    }
    return { key, told: [] };
  }
  const map = peopleMap();
  const t = delivery.task;
  const next = { key, source, title: "", url: "", status: "", done: false, due: null, priority: null,
    assignee: null, assigneeName: "", reporter: null, reporterName: "", ...(prev ?? {}) };
  for (const field of ["title", "url", "status", "done", "due", "priority"]) {
    if (field in t) next[field] = t[field];
  }
  for (const role of ["assignee", "reporter"]) {
    if (role in t) {
      next[role] = toSlack(t[role], map);
      next[`${role}Name`] = t[role]?.name ?? "";
    }
  }
  next.updatedMs = clock.nowMs();
  store.setJson(`task/${key}`, next);

  const wasOpenFor = prev && !prev.done ? prev.assignee : null;
  const openFor = next.done ? null : next.assignee;
  if (wasOpenFor !== openFor) index(wasOpenFor, key, false);
  if (openFor) index(openFor, key, true);

  const actorId = delivery.actor ? toSlack(delivery.actor, map) : null;
  const actor = actorId ? `<@${actorId}>` : esc(delivery.actor?.name ?? "");
  const isActor = (user) => user && actorId && user === actorId;
  const told = [];
  for (const ev of delivery.events) {
    let who = [];
    if (ev.kind === "assigned") {
      if (next.assignee && (prev?.assignee !== next.assignee || !prev)) who = [next.assignee];
    } else {
      who = [next.assignee, next.reporter];
    }
    for (const user of new Set(who.filter(Boolean))) {
      if (isActor(user)) continue;
      if (snoozes(user)[key]) continue;
      queue(user, { key, kind: ev.kind, actor, text: ev.text ?? "", from: ev.from ?? "", to: ev.to ?? "" });
      told.push(user);
    }
  }
  return { key, told };
}

/** Takes what waits for `user` (the tick flush:<user>), leaving nothing. */
export function takePending(user) {
  const list = store.getJson(`pending/${user}`, []);
  store.delete(`pending/${user}`);
  const live = snoozes(user);
  return list.filter((e) => !live[e.key]);
}

/** Open task records of `user`, not snoozed unless `withSnoozed`. */
export function openTasks(user, withSnoozed = false) {
  const live = snoozes(user);
  const out = [];
  for (const key of mine(user)) {
    const t = getTask(key);
    if (!t || t.done || t.assignee !== user) {
      index(user, key, false); // a stale entry
      continue;
    }
    if (!withSnoozed && live[key]) continue;
    out.push({ ...t, snoozedUntil: live[key] ?? null });
  }
  return out;
}

/** Everyone with open tasks (the digest goes through them; up to 5,000). */
export function people() {
  return store.listKeys("mine/", 5000).map((k) => k.replace(/^mine\//, ""));
}
