// Who people are: Slack's answers to users.info, kept a day in the store
// (timezone, bot or not, names), and `@name` resolved to a user id.

import { clock, log, slack, store } from "botyard";

const FRESH_MS = 24 * 3600 * 1000;
// At most this many members of a channel are looked up (users.info) to
// resolve one `@name`: the app's Slack calls are metered per minute, and
// what is looked up is kept, so the next name costs less.
const SCAN_LIMIT = 60;

/** A mistake of the person using the app: shown to them as it is. */
export class UserError extends Error {}

/** `{id, name, realName, tz, isBot}` for a user id, cached a day. */
export function userInfo(id) {
  const now = clock.nowMs();
  const cached = store.getJson(`user/${id}`);
  if (cached && now - cached.at < FRESH_MS) return cached;
  let found;
  try {
    found = slack.lookupUser(id);
  } catch (e) {
    if (/user_not_found/.test(String(e.message))) {
      throw new UserError(`I can't find <@${id}> in this workspace. Pick the person from Slack's autocomplete and try again.`);
    }
    // Slack is unreachable: a unicorn still goes through, on UTC days,
    // and the answer is not kept.
    log.warn(`users.info ${id} failed (${e.message}); counting their day in UTC`);
    return { id, name: "", realName: "", tz: "UTC", isBot: false, at: now };
  }
  const info = {
    id: found.id || id,
    name: found.name,
    realName: found.realName,
    tz: found.tz,
    isBot: found.isBot,
    at: now,
  };
  store.setJson(`user/${id}`, info);
  for (const name of [info.name, info.realName]) {
    if (name) store.set(`name/${name.toLowerCase()}`, info.id);
  }
  return info;
}

/**
 * The user id for `@name` as people type it. Slack sends the name as typed
 * (the command does not escape mentions), so names seen before are kept
 * in the store, and an unknown one is looked for among `channel`'s members.
 */
export function resolveName(name, channel) {
  const wanted = name.toLowerCase();
  const known = store.get(`name/${wanted}`);
  if (known) return known;
  if (channel) {
    let members = [];
    try {
      members = slack.channelMembers(channel);
    } catch {
      members = [];
    }
    for (const id of members.slice(0, SCAN_LIMIT)) {
      let info;
      try {
        info = userInfo(id);
      } catch {
        continue;
      }
      if ([info.name, info.realName].some((n) => n && n.toLowerCase() === wanted)) return info.id;
    }
  }
  throw new UserError(`I don't know who @${name} is. Pick them from Slack's autocomplete (so the mention becomes a link), or check the spelling.`);
}

/**
 * The people `@handle` stands for when it is a user group (`@sre-oncall`),
 * less `giver`; null when no group has that handle.
 */
export function groupByHandle(handle) {
  let groups = [];
  try {
    groups = slack.userGroups();
  } catch (e) {
    log.warn(`usergroups.list failed: ${e.message}`);
    return null;
  }
  const group = groups.find((g) => g.handle.toLowerCase() === handle.toLowerCase());
  return group ? group.id : null;
}

/** The members of user group `id`, less `giver`. */
export function groupMembers(id, giver) {
  const members = slack.userGroupMembers(id).filter((m) => m !== giver);
  if (members.length === 0) throw new UserError(`<!subteam^${id}> has nobody in it to thank but you.`);
  return members;
}
