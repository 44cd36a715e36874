// Giving unicorns, and taking them back. Everything that must hold under
// concurrent gives is an atomic store operation: the daily budget and the
// counts are `increment`s (a give that overdraws the budget puts back what
// it took), and "one per giver per message" is a `compareAndSwap` from
// absent, so two gives racing on one message cannot both win.

import { clock, log, settings, slack, store } from "botyard";

import { duration, knownZone, nextMidnight, periods } from "./time.js";
import { UserError, userInfo } from "./users.js";

export const DEFAULT_BUDGET = 5;

/** How many unicorns a person may give per day (the `budget` setting). */
export function budget() {
  const raw = settings.get("budget");
  const n = Number(raw);
  if (Number.isInteger(n) && n > 0) return n;
  log.warn(`setting budget = ${JSON.stringify(raw)} is not a positive whole number; using ${DEFAULT_BUDGET}`);
  return DEFAULT_BUDGET;
}

/** The reaction that gives a unicorn (the `emoji` setting), without colons. */
export const emoji = () => (settings.get("emoji") ?? "unicorn_face").replace(/:/g, "");

/** Where gives are announced (the `channel` setting). */
export const channel = () => settings.get("channel") ?? "#general";

/** A person's zone for their budget day: Slack's, when this app knows it, else UTC. */
export function zoneOf(info) {
  return info.tz && knownZone(info.tz) ? info.tz : "UTC";
}

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "midnight (Europe/Paris), in 3 h 12 min" */
export function whenBack(tz, now) {
  return `midnight (${tz}), in ${duration(nextMidnight(tz, now) - now)}`;
}

/** Today's budget of `user`: `{limit, spent, left, tz, day}`. */
export function budgetOf(user) {
  const now = clock.nowMs();
  const tz = zoneOf(userInfo(user));
  const { day } = periods(tz, now);
  const limit = budget();
  const spent = Number(store.get(`spent/${user}/${day}`) ?? 0);
  return { limit, spent, left: Math.max(0, limit - spent), tz, day, now };
}

/** What the giver is told about what is left today. */
export function leftText(left, limit, tz, now) {
  if (left <= 0) return `No unicorns left for today — your ${limit} come back at ${whenBack(tz, now)}.`;
  return `You have ${plural(left, "unicorn")} left today.`;
}

// Refuses recipients who cannot get one: the giver, bots, nobody.
function checkRecipients(giver, to) {
  if (to.length === 0) throw new UserError("Who gets the unicorn? `/unicorn @bob for the migration`");
  if (to.includes(giver)) {
    throw new UserError(to.length === 1
      ? "You can't give yourself a unicorn 🦄 — they're for thanking other people."
      : "You can't give yourself a unicorn 🦄 — take yourself off the list and try again.");
  }
  for (const id of to) {
    if (userInfo(id).isBot) {
      throw new UserError(`<@${id}> is a bot, and bots can't receive unicorns — give one to the people behind it.`);
    }
  }
}

const inc = (key, by) => store.increment(key, by);

// Adds (`sign` 1) or removes (-1) a gift from every count it is in.
function count(g, sign) {
  for (const to of g.to) {
    inc(`recv/all/${to}`, sign);
    inc(`recv/w/${g.week}/${to}`, sign);
    inc(`recv/m/${g.month}/${to}`, sign);
  }
  const k = sign * g.to.length;
  inc(`given/all/${g.giver}`, k);
  inc(`given/w/${g.week}/${g.giver}`, k);
  inc(`given/m/${g.month}/${g.giver}`, k);
  if (g.project) inc(`project-unicorns/${g.project.slug}`, k);
}

const list = (ids) => {
  const names = ids.map((id) => `<@${id}>`);
  return names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
};

/**
 * Gives `to` (user ids) a unicorn each from `giver`.
 *
 * `message` is the message it is for (reaction, shortcut): one per giver
 * per message. `project` (`{slug, name}`) counts it for a project too.
 * Returns `{left, limit, tz, now}` for the giver's confirmation; throws a
 * {@link UserError} the giver should see when it cannot be given.
 */
export function give({ giver, to, reason = "", message = null, project = null, via }) {
  to = [...new Set(to)];
  checkRecipients(giver, to);
  const now = clock.nowMs();
  const tz = zoneOf(userInfo(giver));
  const { day, week, month } = periods(tz, now);
  const g = { giver, to, reason, via, day, week, month, project, at: now, ping: null };

  let markerKey = null;
  let marker = null;
  if (message) {
    markerKey = `gift/${message.channel}/${message.ts}/${giver}`;
    marker = JSON.stringify(g);
    if (!store.compareAndSwap(markerKey, undefined, marker)) {
      throw new UserError("You already gave a unicorn for this message — one per message.");
    }
  }

  const limit = budget();
  const spentKey = `spent/${giver}/${day}`;
  const spent = inc(spentKey, to.length);
  if (spent > limit) {
    inc(spentKey, -to.length);
    if (markerKey) store.compareAndSwap(markerKey, marker, undefined);
    const left = Math.max(0, limit - (spent - to.length));
    if (left === 0) {
      throw new UserError(`You have no unicorns left today — your ${limit} come back at ${whenBack(tz, now)}.`);
    }
    throw new UserError(`You have only ${plural(left, "unicorn")} left today, not enough for ${plural(to.length, "person", "people")}. ` +
      `Give to fewer people, or wait: your ${limit} come back at ${whenBack(tz, now)}.`);
  }
  count(g, 1);

  const link = message ? permalink(message) : null;
  const ping = announce(g, link);
  if (markerKey && ping) store.compareAndSwap(markerKey, marker, JSON.stringify({ ...g, ping }));
  for (const id of to) dm(id, g, link);
  return { left: limit - spent, limit, tz, now, to };
}

function permalink(message) {
  try {
    return slack.getPermalink(message);
  } catch (e) {
    log.warn(`no permalink for ${message.channel}/${message.ts}: ${e.message}`);
    return null;
  }
}

// The ping in the unicorn channel; returns its ref (to delete it if the
// unicorn is taken back), or null when it could not be queued.
function announce(g, link) {
  const each = g.to.length > 1 ? " each" : "";
  let text = `🦄 ${list(g.to)}${each} got a unicorn from <@${g.giver}>`;
  if (g.reason) text += `: ${g.reason}`;
  if (g.project) text += ` (project *${g.project.name}*)`;
  if (link) text += ` — <${link}|see the message>`;
  try {
    return slack.postMessage(channel(), text);
  } catch (e) {
    log.error(`could not announce in ${channel()}: ${e.message}`);
    return null;
  }
}

function dm(id, g, link) {
  const total = Number(store.get(`recv/all/${id}`) ?? 0);
  const week = Number(store.get(`recv/w/${g.week}/${id}`) ?? 0);
  let text = `🦄 <@${g.giver}> gave you a unicorn`;
  if (g.reason) text += `: ${g.reason}`;
  if (g.project) text += ` (project *${g.project.name}*)`;
  if (link) text += `\n<${link}|See the message>`;
  text += `\nThat makes ${plural(total, "unicorn")} for you (${week} this week).`;
  try {
    slack.sendDm(id, text);
  } catch (e) {
    log.error(`could not DM ${id}: ${e.message}`);
  }
}

/**
 * A 🦄 reaction was removed: takes back the unicorn it gave, if it gave one
 * (a unicorn given by the shortcut stays). Returns the gift, or null.
 */
export function takeBack(giver, message) {
  const key = `gift/${message.channel}/${message.ts}/${giver}`;
  const marker = store.get(key);
  if (marker === undefined) return null;
  const g = JSON.parse(marker);
  if (g.via !== "reaction") return null;
  // Only one removal wins, whatever arrives twice.
  if (!store.compareAndSwap(key, marker, undefined)) return null;
  count(g, -1);
  inc(`spent/${giver}/${g.day}`, -g.to.length);
  if (g.ping) {
    try {
      slack.deleteMessage(g.ping);
    } catch (e) {
      log.warn(`could not delete the ping: ${e.message}`);
    }
  }
  return g;
}
