// `@name` as people type it, resolved to a user id. Slack sends slash
// command text as typed (botyard's manifest does not escape mentions), so
// names seen before are kept, and an unknown one is looked for among the
// channel's members (apps/unicorn does the same).

import { slack, store } from "botyard";

import { UserError } from "./parse.js";

// At most this many members of a channel are looked up (users.info) for
// one `@name`: the app's Slack calls are metered per minute.
const SCAN_LIMIT = 60;

function remember(info) {
  for (const name of [info.name, info.realName]) {
    if (name) store.set(`name/${name.toLowerCase()}`, info.id);
  }
}

/** The user id a mention (`{id}` or `{name}`) stands for. */
export function resolvePerson(mention, channels) {
  if (mention.id) return mention.id;
  const wanted = mention.name.toLowerCase();
  const known = store.get(`name/${wanted}`);
  if (known) return known;
  for (const channel of channels.filter(Boolean)) {
    let members = [];
    try {
      members = slack.channelMembers(channel);
    } catch {
      continue;
    }
    for (const id of members.slice(0, SCAN_LIMIT)) {
      let info;
      try {
        info = slack.lookupUser(id);
      } catch {
        continue;
      }
      remember({ ...info, id: info.id || id });
      if (!info.isBot && [info.name, info.realName].some((n) => n && n.toLowerCase() === wanted)) return info.id || id;
    }
  }
  throw new UserError(`I don't know who @${mention.name} is. Pick them from Slack's autocomplete (so the mention becomes a link), or check the spelling.`);
}

/**
 * Remembers the name of someone who used the app (once), so `@name` finds
 * them later wherever they are: people named as commander or handed a
 * role are usually not in the channel the command is typed in yet.
 */
export function seen(id) {
  if (!id || store.get(`user/${id}`)) return;
  try {
    const info = slack.lookupUser(id);
    remember({ ...info, id: info.id || id });
    store.set(`user/${id}`, info.name || id);
  } catch {
    // Slack unreachable: learnt next time.
  }
}
