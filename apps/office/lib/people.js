// Who people are: users.info answers kept a day (names, time zones), and
// the expense approvers the settings name — user ids, `@name`s, or user
// groups (`@finance`) — resolved to user ids.

import { clock, log, slack, store } from "botyard";

import { listSetting } from "./config.js";

const FRESH_MS = 24 * 3600 * 1000;

/** `{id, name, tz}` for a user id, cached a day (UTC when Slack cannot say). */
export function userInfo(id) {
  const now = clock.nowMs();
  const cached = store.getJson(`user/${id}`);
  if (cached && now - cached.at < FRESH_MS) return cached;
  try {
    const found = slack.lookupUser(id);
    const info = { id, name: found.name || found.realName || id, tz: found.tz || "UTC", at: now };
    store.setJson(`user/${id}`, info);
    if (info.name) store.set(`name/${info.name.toLowerCase()}`, id);
    return info;
  } catch (e) {
    log.warn(`users.info ${id} failed (${e.message})`);
    return { id, name: id, tz: "UTC", at: now };
  }
}

const USER_ID = /^[UW][A-Z0-9]{2,}$/;

// The user id `@name` stands for: a name seen before (everyone who uses
// the app is remembered), else one of the members of `channel` (the
// channel a command was typed in), each looked up once, then remembered.
// Slack has no users-by-name lookup the app may call.
function personNamed(name, channel) {
  const wanted = name.toLowerCase();
  const known = store.get(`name/${wanted}`);
  if (known) return known;
  if (!channel) return null;
  let members = [];
  try {
    members = slack.channelMembers(channel);
  } catch (e) {
    log.warn(`conversations.members ${channel} failed: ${e.message}`);
    return null;
  }
  for (const id of members.slice(0, 200)) {
    if (userInfo(id).name.toLowerCase() === wanted) return id;
  }
  return null;
}

/**
 * The expense approvers' user ids, from setting `approvers`: user ids,
 * `<@U…>`, `@name`s, or user-group handles (`@finance`: its members).
 * `hint`: the request's `{user, channel}`, where unknown names are looked for.
 */
export function approvers(hint = {}) {
  if (hint.user) userInfo(hint.user); // remembers their name
  const ids = [];
  let groups = null;
  for (const entry of listSetting("approvers").map(String)) {
    const mention = entry.match(/^<@([UW][A-Z0-9]+)(\|[^>]*)?>$/);
    if (mention) { ids.push(mention[1]); continue; }
    if (USER_ID.test(entry)) { ids.push(entry); continue; }
    const handle = entry.replace(/^@/, "");
    if (groups === null) {
      try {
        groups = slack.userGroups();
      } catch (e) {
        log.warn(`usergroups.list failed: ${e.message}`);
        groups = [];
      }
    }
    const group = groups.find((g) => g.handle.toLowerCase() === handle.toLowerCase());
    if (group) {
      try {
        ids.push(...slack.userGroupMembers(group.id));
      } catch (e) {
        log.warn(`usergroups.users.list ${group.id} failed: ${e.message}`);
      }
      continue;
    }
    const id = personNamed(handle, hint.channel);
    if (id) ids.push(id);
    else log.warn(`approvers: nobody is called ${entry}; skipping them`);
  }
  return [...new Set(ids)];
}

/** "@a, @b and @c" as mentions. */
export function mentions(ids) {
  const m = ids.map((id) => `<@${id}>`);
  return m.length <= 1 ? (m[0] ?? "nobody") : `${m.slice(0, -1).join(", ")} and ${m[m.length - 1]}`;
}
