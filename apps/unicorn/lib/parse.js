// What people type after /unicorn.

import { UserError } from "./users.js";

// <@U123>, <@U123|bob>, <!subteam^S123|@team>, @bob or @team (Slack sends
// mentions as typed unless the command escapes them).
const MENTION = /^(?:<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>|@([\w.\-]+))/;

/**
 * The recipients at the start of `text` and the reason after them:
 * `@bob @carol for the migration` → `{people: [{name: "bob"}, …], reason: "the migration"}`
 * (`{id}` for an escaped mention, `{group}` for a user group's).
 * Mentions may be separated by spaces, commas or "and"; "for" before the
 * reason is optional.
 */
export function parseGive(text) {
  const people = [];
  let rest = text.trim();
  for (;;) {
    const m = MENTION.exec(rest);
    if (!m) break;
    if (m[1]) people.push({ id: m[1] });
    else if (m[2]) people.push({ group: m[2] });
    else people.push({ name: m[3].replace(/[.\-]+$/, "") });
    rest = rest.slice(m[0].length).replace(/^[\s,]+/, "");
    const and = /^(?:and|&)\s+(?=<@|@)/i.exec(rest);
    if (and) rest = rest.slice(and[0].length);
  }
  rest = rest.replace(/^(?:for|:|-|—)\s*/i, "").trim();
  return { people, reason: rest };
}

// <#C123|name>, <#C123>, #name
const CHANNEL = /(?:<#([CG][A-Z0-9]+)(?:\|([^>]*))?>|#([a-z0-9_\-]+))/i;

/** A project's name and its channel: `"checkout v2" #checkout` or `checkout v2 <#C1|checkout>`. */
export function parseNewProject(text) {
  const { name, rest } = leadingName(text);
  if (!name) throw new UserError('Give the project a name: `/unicorn project new "checkout v2" #checkout`');
  const m = CHANNEL.exec(rest) ?? (rest === "" ? null : CHANNEL.exec(text));
  return { name, channel: m ? (m[1] ?? `#${m[3]}`) : null };
}

/** The project named first (quoted, or one word / a slug) and what follows. */
export function leadingName(text) {
  const t = text.trim();
  const quoted = /^["“”'‘’]([^"“”'‘’]+)["“”'‘’]\s*/.exec(t);
  if (quoted) return { name: quoted[1].trim(), rest: t.slice(quoted[0].length).trim() };
  // Unquoted: every word before a channel, else the first word.
  const channel = CHANNEL.exec(t);
  if (channel && channel.index > 0) return { name: t.slice(0, channel.index).trim(), rest: t.slice(channel.index).trim() };
  const [first = "", ...words] = t.split(/\s+/);
  return { name: first, rest: words.join(" ") };
}

/** `checkout v2` → `checkout-v2`. */
export const slug = (name) => name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");

export const STATUSES = ["planned", "in progress", "shipped"];

/** A status as people type it: `in progress`, `in-progress`, `wip`, `done` … */
export function parseStatus(text) {
  const t = text.trim().toLowerCase().replace(/[-_]+/g, " ").replace(/\s+/g, " ");
  const aliases = {
    "planned": "planned", "plan": "planned", "todo": "planned", "to do": "planned",
    "in progress": "in progress", "progress": "in progress", "wip": "in progress", "started": "in progress",
    "doing": "in progress", "shipped": "shipped", "done": "shipped", "ship": "shipped", "launched": "shipped",
  };
  return aliases[t] ?? null;
}
