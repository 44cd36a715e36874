// Who people are. A tracker names people its own way (Jira: an
// `accountId`, an `emailAddress` Jira often hides, a `displayName`); Slack
// by user id. botyard's Slack capability has no users.lookupByEmail, so the
// operator maps them in setting `people`:
//
//   [apps.tasks.settings.people]
//   "5b10ac8d82e05b22cc7d4ef5" = "U0123ABCD"   # a Jira accountId
//   "mina@example.com" = "@mina"               # an email, a login …
//
// A value is a Slack user id, `<@U…>`, or `@name` — a name is found among
// the people who used /tasks and the members of `directory_channel`. A
// tracker identity that already is a Slack user id (the generic webhook may
// send one) needs no entry.

import { clock, log, settings, slack, store } from "botyard";

import { knownZone } from "./time.js";

const USER_ID = /^[UW][A-Z0-9]{2,}$/;
const FRESH_MS = 24 * 3600 * 1000;

/** `people` as an object (the TOML table arrives as JSON text); {} when unset or not a table. */
function peopleMap() {
  const raw = settings.get("people");
  if (!raw) return {};
  try {
    const map = JSON.parse(raw);
    if (map && typeof map === "object" && !Array.isArray(map)) {
      const out = {};
      for (const [k, v] of Object.entries(map)) out[String(k).trim().toLowerCase()] = String(v).trim();
      return out;
    }
  } catch {
    // fall through
  }
  log.warn("setting `people` is not a table of tracker identity = Slack user; nobody is mapped");
  return {};
}

/** `{id, name, tz}` for a Slack user id (users.info, kept a day). */
export function userInfo(id) {
  const now = clock.nowMs();
  const cached = store.getJson(`user/${id}`);
  if (cached && now - cached.at < FRESH_MS) return cached;
  try {
    const found = slack.lookupUser(id);
    const info = { id, name: found.name || found.realName || id, tz: found.tz || "UTC", at: now };
    if (!knownZone(info.tz)) log.info(`${id}'s time zone ${info.tz} is not in the app's table; counted as UTC`);
    store.setJson(`user/${id}`, info);
    for (const n of [found.name, found.realName]) if (n) store.set(`name/${n.toLowerCase()}`, id);
    return info;
  } catch (e) {
    log.warn(`users.info ${id} failed (${e.message})`);
    return cached ?? { id, name: id, tz: "UTC", at: now };
  }
}

/** Remembers someone who used the app, so `@name` in `people` finds them. */
export function seen(id) {
  if (id && !store.get(`user/${id}`)) userInfo(id);
}

// Who to look through for an `@name`: the members of setting `directory`
// — a user group (`@engineering`) or a channel id (`C0123ABCD`).
function directoryMembers() {
  const where = (settings.get("directory") ?? "").trim();
  if (!where) return [];
  if (/^[CG][A-Z0-9]{2,}$/.test(where)) {
    try {
      return slack.channelMembers(where);
    } catch (e) {
      log.warn(`directory: conversations.members ${where} failed: ${e.message}`);
      return [];
    }
  }
  const handle = where.replace(/^@/, "").toLowerCase();
  try {
    const group = slack.userGroups().find((g) => g.handle.toLowerCase() === handle);
    if (!group) {
      log.warn(`directory: there is no user group @${handle} (nor is it a channel id)`);
      return [];
    }
    return slack.userGroupMembers(group.id);
  } catch (e) {
    log.warn(`directory: user group @${handle} could not be read: ${e.message}`);
    return [];
  }
}

// The Slack user id `@name` stands for: someone seen before, else one of
// the directory's members (each looked up once, then remembered).
function named(name) {
  const wanted = name.toLowerCase();
  const known = store.get(`name/${wanted}`);
  if (known) return known;
  for (const id of directoryMembers().slice(0, 500)) {
    if (store.get(`user/${id}`)) continue; // looked up already: not them
    const info = userInfo(id);
    if (info.name.toLowerCase() === wanted) return id;
  }
  return null;
}

/** A `people` value (`U…`, `<@U…>`, `@name`) as a user id, or null. */
function slackUser(value) {
  const mention = /^<@([UW][A-Z0-9]+)(\|[^>]*)?>$/.exec(value);
  if (mention) return mention[1];
  if (USER_ID.test(value)) return value;
  const handle = value.replace(/^@/, "");
  const id = handle ? named(handle) : null;
  if (!id) log.warn(`people: nobody in Slack is called ${value}`);
  return id;
}

/**
 * The Slack user a tracker person is: `{ids: [accountId, email, login …],
 * name}` → user id or null (not mapped; logged once per identity).
 */
export function toSlack(person, map = peopleMap()) {
  if (!person) return null;
  for (const raw of person.ids) {
    if (!raw) continue;
    const id = String(raw).trim();
    if (USER_ID.test(id)) return id;
    const value = map[id.toLowerCase()];
    if (value) {
      const user = slackUser(value);
      if (user) return user;
    }
  }
  const first = person.ids.find(Boolean);
  if (first && !store.get(`unmapped/${first}`)) {
    store.set(`unmapped/${first}`, "1");
    log.info(`${person.name || first} (${person.ids.filter(Boolean).join(", ")}) is not mapped to a Slack user: add them to setting \`people\``);
  }
  return null;
}

export { peopleMap };
