// The project tracker: projects with a channel and a status, updates posted
// to that channel, and unicorns given to an update counted for the project.
//
// An update is posted through the host's outbox, so its Slack `ts` is known
// only once it is delivered. It is kept as pending, and resolved to its
// channel and ts (from its permalink) shortly after by a tick — or at once
// when a unicorn arrives on a message the app does not know yet.

import { clock, log, schedule, slack, store } from "botyard";

import { leadingName, parseNewProject, parseStatus, slug, STATUSES } from "./parse.js";
import { UserError } from "./users.js";
import { emoji, channel as unicornChannel } from "./gifts.js";

const STATUS_EMOJI = { "planned": "🗓", "in progress": "🚧", "shipped": "🚀" };
const RESOLVE_AFTER_MS = 2000;
const RESOLVE_TRIES = 20;
const MAX_PROJECTS = 500;

/** How a channel reads in a message: `C123` → `<#C123>`, `#name` stays. */
export const channelText = (ch) => (ch.startsWith("#") ? ch : `<#${ch}>`);

/** A project by its name or slug, or a {@link UserError} saying how to find one. */
export function project(nameOrSlug) {
  const s = slug(nameOrSlug ?? "");
  const p = s ? store.getJson(`project/${s}`) : undefined;
  if (!p) {
    throw new UserError(`There is no project "${nameOrSlug}". See them all with \`/unicorn projects\`, ` +
      'or start one with `/unicorn project new "checkout v2" #checkout`.');
  }
  return p;
}

export function newProject(user, text, here) {
  const { name, channel } = parseNewProject(text);
  const s = slug(name);
  if (!s) throw new UserError(`"${name}" has no letters or digits to name the project by; pick another name.`);
  const where = channel ?? here;
  if (!where) throw new UserError('Say which channel the project lives in: `/unicorn project new "checkout v2" #checkout`');
  const p = { name, slug: s, channel: where, status: "planned", createdBy: user, createdAt: clock.nowMs(), lastUpdate: null };
  if (!store.compareAndSwap(`project/${s}`, undefined, JSON.stringify(p))) {
    const existing = store.getJson(`project/${s}`);
    throw new UserError(`There is already a project *${existing.name}* (\`${s}\`) in ${channelText(existing.channel)}. ` +
      "Pick another name, or post to it with `/unicorn project update " + s + " …`");
  }
  slack.postMessage(where, `${STATUS_EMOJI.planned} New project *${name}* by <@${user}>, status *planned*. ` +
    `Updates will be posted here (\`/unicorn project update ${s} …\`); a :${emoji()}: on an update counts for the project.`);
  return `Created project *${name}* (\`${s}\`) in ${channelText(where)}, status *planned*. ` +
    `Next: \`/unicorn project status ${s} in progress\` or \`/unicorn project update ${s} what happened\`.`;
}

export function setStatus(user, text) {
  const { name, rest } = leadingName(text);
  const status = parseStatus(rest);
  if (!name || !rest) {
    throw new UserError("Say which project and which status: `/unicorn project status checkout-v2 in progress` " +
      `(${STATUSES.join(", ")}).`);
  }
  if (!status) {
    throw new UserError(`"${rest}" is not a status: a project is ${STATUSES.join(", ")} — ` +
      `\`/unicorn project status ${slug(name)} shipped\`.`);
  }
  const p = project(name);
  const updated = store.updateJson(`project/${p.slug}`, (cur) => ({ ...cur, status, statusBy: user, statusAt: clock.nowMs() }), p);
  const line = status === "shipped"
    ? `${STATUS_EMOJI.shipped} *${updated.name}* shipped! (marked by <@${user}>)`
    : `${STATUS_EMOJI[status]} *${updated.name}* is now *${status}* (set by <@${user}>)`;
  slack.postMessage(updated.channel, line);
  if (status === "shipped" && unicornChannel() !== updated.channel) slack.postMessage(unicornChannel(), line);
  return `*${updated.name}* is now *${status}*.`;
}

export function postUpdate(user, text) {
  const { name, rest } = leadingName(text);
  if (!name || !rest) {
    throw new UserError("Say which project and what happened: `/unicorn project update checkout-v2 the new form is live`");
  }
  const p = project(name);
  const now = clock.nowMs();
  const ref = slack.postMessage(p.channel,
    `📣 *${p.name}* update from <@${user}> (${STATUS_EMOJI[p.status]} ${p.status}):\n${rest}\n` +
    `_Give a :${emoji()}: to this update: it counts for the project._`);
  const id = `${now}-${Math.floor(Math.random() * 1e9).toString(36)}`;
  store.setJson(`pending/${id}`, { ref, project: p.slug, author: user, tries: 0 });
  store.increment(`project-updates/${p.slug}`, 1);
  store.updateJson(`project/${p.slug}`, (cur) => ({ ...cur, lastUpdate: { text: rest, by: user, at: now, link: null } }), p);
  schedule.once(`resolve:${id}`, now + RESOLVE_AFTER_MS);
  return `Posted your update to *${p.name}* in ${channelText(p.channel)}.`;
}

/** The tick after an update: finds its ts, or tries again a little later. */
export function resolveTick(name) {
  const id = name.slice("resolve:".length);
  if (resolve(id) === "later") {
    const pending = store.getJson(`pending/${id}`);
    if (pending.tries + 1 >= RESOLVE_TRIES) {
      log.warn(`update ${id} was not delivered after ${RESOLVE_TRIES} tries; unicorns on it count for its author only`);
      store.delete(`pending/${id}`);
      return;
    }
    store.setJson(`pending/${id}`, { ...pending, tries: pending.tries + 1 });
    schedule.once(name, clock.nowMs() + RESOLVE_AFTER_MS * (pending.tries + 2));
  }
}

// "done", "later" (not delivered yet) or "gone".
function resolve(id) {
  const pending = store.getJson(`pending/${id}`);
  if (!pending) return "gone";
  let link;
  try {
    link = slack.getPermalink(pending.ref);
  } catch (e) {
    if (/not_posted_yet/.test(e.message)) return "later";
    log.warn(`update ${id} cannot be found (${e.message}); unicorns on it count for its author only`);
    store.delete(`pending/${id}`);
    return "gone";
  }
  // https://<team>.slack.com/archives/<channel>/p<seconds><micros>
  const m = /\/archives\/([A-Z0-9]+)\/p(\d+)(\d{6})/.exec(link);
  if (!m) {
    log.warn(`update ${id}: cannot read a message from permalink ${link}`);
    store.delete(`pending/${id}`);
    return "gone";
  }
  const [, channel, seconds, micros] = m;
  store.setJson(`msg/${channel}/${seconds}.${micros}`, { project: pending.project, author: pending.author, link });
  store.updateJson(`project/${pending.project}`, (cur) => (cur && cur.lastUpdate && !cur.lastUpdate.link
    ? { ...cur, lastUpdate: { ...cur.lastUpdate, link } } : cur), null);
  store.delete(`pending/${id}`);
  return "done";
}

/** The project update `message` is, if it is one: `{project, author, link}`. */
export function updateAt(message) {
  const key = `msg/${message.channel}/${message.ts}`;
  const known = store.getJson(key);
  if (known) return known;
  // Perhaps an update whose tick has not come yet.
  const pending = store.listKeys("pending/", 50);
  if (pending.length === 0) return null;
  for (const k of pending) resolve(k.slice("pending/".length));
  return store.getJson(key) ?? null;
}

/** The projects board: by status, most unicorns first. */
export function board() {
  const projects = store.listKeys("project/", MAX_PROJECTS).map((k) => store.getJson(k)).filter(Boolean);
  if (projects.length === 0) {
    return "🦄 *Projects*\nNo projects yet. Start one: `/unicorn project new \"checkout v2\" #checkout`";
  }
  const unicorns = (p) => Number(store.get(`project-unicorns/${p.slug}`) ?? 0);
  const updates = (p) => Number(store.get(`project-updates/${p.slug}`) ?? 0);
  const sections = [];
  for (const status of ["in progress", "planned", "shipped"]) {
    const here = projects.filter((p) => p.status === status)
      .sort((a, b) => unicorns(b) - unicorns(a) || a.name.localeCompare(b.name));
    if (here.length === 0) continue;
    const lines = here.map((p) => {
      let line = `• *${p.name}* · ${channelText(p.channel)} · ${unicorns(p)} 🦄 · ${updates(p) === 1 ? "1 update" : `${updates(p)} updates`}`;
      if (p.lastUpdate) {
        const excerpt = p.lastUpdate.text.length > 80 ? `${p.lastUpdate.text.slice(0, 79)}…` : p.lastUpdate.text;
        line += p.lastUpdate.link ? ` · last: <${p.lastUpdate.link}|${excerpt}>` : ` · last: ${excerpt}`;
      }
      return line;
    });
    sections.push(`*${STATUS_EMOJI[status]} ${status[0].toUpperCase()}${status.slice(1)}*\n${lines.join("\n")}`);
  }
  return `🦄 *Projects*\n${sections.join("\n")}`;
}
