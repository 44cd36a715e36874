// Incidents in the store, and everything that changes one: declaring it
// (its channel, the pinned board), roles, status, severity, the timeline,
// the reminders, and resolving it with its postmortem.
//
// One JSON value per incident (`incident/<channel name>`), changed with
// `store.updateJson` (compare-and-swap, retried), so two people claiming the
// same role at once cannot both get it: the second change re-reads the
// first's and is refused.

import { clock, log, schedule, settings, slack, store } from "botyard";

import { DEFAULT_SEVERITY, ROLES, UserError, leadingRef, parseStart, slugify } from "./parse.js";
import { BOARD_MARK, board, channelRef, durations, incidentId, postmortem, sevText, statusText } from "./render.js";
import { clockTime, compactDate, dateTime, duration, knownZone } from "./time.js";
import { resolvePerson } from "./users.js";

const MINUTE = 60 * 1000;
const RESOLVE_AFTER_MS = 2000;
const RESOLVE_TRIES = 20;
// Room left in an 80-character channel name after `inc-YYYYMMDD-` and a `-NN` dedupe suffix.
const SLUG_MAX = 80 - "inc-20260105-".length - 3;
const MAX_TIMELINE = 500;
const MAX_TEXT = 2000;
const MAX_OPEN_LISTED = 100;

// ---------------------------------------------------------------------------
// Settings

/** The zone every time is shown in (`timezone`, UTC unless set; a zone not known counts as UTC). */
export function zone() {
  const tz = settings.get("timezone", "UTC") || "UTC";
  if (knownZone(tz)) return tz;
  log.warn(`timezone \`${tz}\` is not a zone this app knows; showing times in UTC`);
  return "UTC";
}

/** Minutes between status-update reminders (`reminder_minutes`, 30 unless set; 0: none). */
export function reminderMinutes() {
  const raw = settings.get("reminder_minutes", "30");
  const n = Number(raw);
  if (Number.isInteger(n) && n >= 0) return n;
  log.warn(`reminder_minutes \`${raw}\` is not a whole number of minutes; using 30`);
  return 30;
}

/** Where new and resolved incidents are announced, if anywhere. */
function announceChannel() {
  const ch = (settings.get("announce_channel") ?? "").trim();
  return ch || null;
}

// ---------------------------------------------------------------------------
// Finding incidents

const key = (name) => `incident/${name}`;

export const get = (name) => store.getJson(key(name));

/** The incident whose channel is `channel` (resolving new ones' channel ids first). */
export function byChannel(channel) {
  if (!channel) return null;
  let name = store.get(`chan/${channel}`);
  if (!name) {
    for (const k of store.listKeys("pending/", 50)) resolveChannel(k.slice("pending/".length));
    name = store.get(`chan/${channel}`);
  }
  return name ? get(name) : null;
}

function openNames() {
  return store.listKeys("open/", MAX_OPEN_LISTED).map((k) => k.slice("open/".length));
}

function openHint() {
  const open = openNames().map(get).filter(Boolean);
  if (open.length === 0) return "There are no open incidents.";
  return `Open: ${open.map((i) => `${incidentId(i)} (${channelRef(i)})`).join(", ")}.`;
}

/**
 * The incident a command is about, and the rest of its text: the one named
 * first (`INC-3 …`, `#inc-…`), else the one whose channel it was typed in,
 * else (outside incident channels) the one named last.
 */
export function target(text, here, usage) {
  let { ref, rest } = leadingRef(text);
  const inHere = ref ? null : byChannel(here);
  if (!ref && !inHere) {
    // Outside an incident's channel, the incident may be named last too:
    // `/spy incident role comms INC-3`.
    const words = text.trim().split(/\s+/);
    const last = leadingRef(words[words.length - 1] ?? "");
    if (last.ref && last.rest === "") {
      ref = last.ref;
      rest = words.slice(0, -1).join(" ");
    }
  }
  if (ref) {
    let inc = null;
    if (ref.number !== undefined) {
      const name = store.get(`num/${ref.number}`);
      inc = name ? get(name) : null;
    } else if (ref.channel) {
      inc = byChannel(ref.channel) ?? (ref.name ? get(ref.name) : null);
    } else {
      inc = get(ref.name);
    }
    if (!inc) {
      const said = ref.number !== undefined ? `INC-${ref.number}` : `#${ref.name ?? ref.channel}`;
      throw new UserError(`There is no incident ${said}. ${openHint()}`);
    }
    return { inc, rest };
  }
  const inc = inHere;
  if (!inc) {
    throw new UserError(`This channel is not an incident's. Run this in the incident's channel, or name it: \`${usage}\`. ${openHint()}`);
  }
  return { inc, rest };
}

// ---------------------------------------------------------------------------
// Changing an incident

function entry(at, by, kind, text, extra = {}) {
  return { at, by, kind, text: text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text, ...extra };
}

function push(cur, e) {
  if (cur.timeline.length >= MAX_TIMELINE) {
    throw new UserError(`${incidentId(cur)}'s timeline is full (${MAX_TIMELINE} entries); resolve it and start a follow-up.`);
  }
  cur.timeline.push(e);
}

/**
 * Changes an open incident atomically (`fn` may throw a UserError, which
 * changes nothing), then redraws its board. Returns the incident written.
 */
function change(name, fn) {
  const updated = store.updateJson(key(name), (cur) => {
    if (!cur) throw new UserError("That incident is gone.");
    if (cur.failed) throw new UserError(`Slack never created ${incidentId(cur)}'s channel; declare it again.`);
    if (cur.status === "resolved") {
      throw new UserError(`${incidentId(cur)} was resolved at ${clockTime(zone(), cur.resolvedAt)}; ` +
        "its postmortem is in its channel. Declare a new incident for a new problem.");
    }
    return fn(cur);
  }, null);
  redraw(updated);
  return updated;
}

function redraw(inc) {
  slack.updateMessage(inc.board, board(inc, zone()));
}

/**
 * Says `text` in the incident's channel: as the command's reply when typed
 * there, else posted there, and the person told where it went.
 */
function say(inc, here, text) {
  if (here && here === inc.channel) return { reply: "inChannel", text };
  slack.postMessage(inc.channel, text);
  return { reply: "ephemeral", text: `Posted in ${channelRef(inc)}: ${text}` };
}

function announce(text) {
  const ch = announceChannel();
  if (ch) slack.postMessage(ch, text);
}

function scheduleReminder(inc, from) {
  const minutes = reminderMinutes();
  if (minutes > 0) schedule.once(`remind:${inc.name}`, from + minutes * MINUTE);
}

/** People are invited the first time they take a role (or are named commander). */
function inviteAll(inc, users) {
  let members = inc.members;
  if (inc.channelKnown) {
    try {
      members = slack.channelMembers(inc.channel);
    } catch (e) {
      log.warn(`conversations.members ${inc.channel}: ${e.message}`);
    }
  }
  const missing = [...new Set(users)].filter((u) => u && !members.includes(u));
  if (missing.length > 0) slack.invite(inc.channel, missing);
  return missing;
}

// ---------------------------------------------------------------------------
// Declaring

export function start(user, text, here) {
  const { title, severity, commander } = parseStart(text);
  const lead = commander ? resolvePerson(commander, [here]) : user;
  const tz = zone();
  const now = clock.nowMs();
  const base = `inc-${compactDate(tz, now)}-${slugify(title, SLUG_MAX)}`;
  let name = base;
  for (let n = 2; !store.compareAndSwap(key(name), undefined, "{}"); n++) {
    if (n > 99) throw new UserError(`There are too many incidents called ${base} today; pick another title.`);
    name = `${base}-${n}`;
  }
  const number = store.increment("seq");
  const members = [...new Set([user, lead])];
  const inc = {
    number,
    name,
    title,
    severity: severity ?? DEFAULT_SEVERITY,
    status: "investigating",
    channel: null,
    channelKnown: false,
    board: null,
    link: null,
    roles: { commander: lead, comms: null, support: null },
    members,
    createdBy: user,
    reportedAt: now,
    startedAt: now,
    mitigatedAt: null,
    resolvedAt: null,
    lastUpdate: null,
    summary: null,
    timeline: [],
  };
  inc.timeline.push(entry(now, user, "declared",
    `🚨 Reported by <@${user}>: *${title}* (${inc.severity.toUpperCase()}), commander <@${lead}>`));

  // The channel, its people, the board: queued in this order, each call
  // naming the ones before it by the placeholders the host resolves.
  inc.channel = slack.createChannel(name);
  slack.invite(inc.channel, members);
  slack.setTopic(inc.channel, `${incidentId(inc)}: ${title}`.slice(0, 250));
  inc.board = slack.postMessage(inc.channel, board(inc, tz));
  slack.pin(inc.board);
  store.setJson(key(name), inc);
  store.set(`num/${number}`, name);
  store.set(`open/${name}`, String(now));
  store.setJson(`pending/${name}`, { tries: 0 });
  schedule.once(`resolve:${name}`, now + RESOLVE_AFTER_MS);
  scheduleReminder(inc, now);

  return {
    reply: "inChannel",
    text: `🚨 <@${user}> declared *${incidentId(inc)}: ${title}* (${sevText(inc.severity)}), commander <@${lead}>. ` +
      `Join #${name}: its status board is pinned there.`,
  };
}

/**
 * Learns the incident channel's id and the board's `ts` once Slack has
 * them (the permalink of the board), maps the channel to the incident, and
 * announces the incident. "done", "later" (not delivered yet) or "gone".
 */
export function resolveChannel(name) {
  const inc = get(name);
  if (!inc || inc.channelKnown) {
    store.delete(`pending/${name}`);
    return "gone";
  }
  let link;
  try {
    link = slack.getPermalink(inc.board);
  } catch (e) {
    // Not created (Slack refused the channel or the board): the incident
    // cannot run. Anything else (Slack unreachable …): try again later.
    if (/never delivered|no message this app posted/.test(e.message)) {
      failed(inc, e.message);
      return "gone";
    }
    if (!/not_posted_yet/.test(e.message)) log.warn(`incident ${name}: ${e.message}; trying again`);
    return "later";
  }
  // https://<team>.slack.com/archives/<channel>/p<seconds><micros>
  const m = /\/archives\/([A-Z0-9]+)\/p(\d+)(\d{6})/.exec(link);
  if (!m) {
    failed(inc, `cannot read permalink ${link}`);
    return "gone";
  }
  const [, channel, seconds, micros] = m;
  const updated = store.updateJson(key(name), (cur) => ({
    ...cur, channel, channelKnown: true, board: { channel, ts: `${seconds}.${micros}` }, link,
  }), inc);
  store.set(`chan/${channel}`, name);
  store.delete(`pending/${name}`);
  if (updated.status !== "resolved") {
    announce(`🚨 *${incidentId(updated)}: ${updated.title}* (${sevText(updated.severity)}) declared by <@${updated.createdBy}>, ` +
      `commander <@${updated.roles.commander}> — follow it in <#${channel}> (<${link}|status board>).`);
  }
  return "done";
}

// Slack refused the channel (a name taken by a channel the app did not
// create, a missing scope …): the incident cannot run; its declarer is told.
function failed(inc, why) {
  log.warn(`incident ${inc.name}: its channel or board was not created (${why})`);
  store.delete(`pending/${inc.name}`);
  store.delete(`open/${inc.name}`);
  store.updateJson(key(inc.name), (cur) => ({ ...cur, status: "resolved", failed: why, resolvedAt: clock.nowMs() }), inc);
  schedule.cancel(`remind:${inc.name}`);
  slack.sendDm(inc.createdBy, `⚠️ Slack did not create #${inc.name} for ${incidentId(inc)}: ${inc.title}. ` +
    "A channel of that name may exist already (declare it again with another title), or the app may lack a scope " +
    "(the host's outbox and log have Slack's answer).");
}

export function resolveTick(name) {
  const id = name.slice("resolve:".length);
  if (resolveChannel(id) !== "later") return;
  const pending = store.getJson(`pending/${id}`, { tries: 0 });
  if (pending.tries + 1 >= RESOLVE_TRIES) {
    log.warn(`incident ${id}: its channel was not created after ${RESOLVE_TRIES} tries`);
    store.delete(`pending/${id}`);
    return;
  }
  store.setJson(`pending/${id}`, { tries: pending.tries + 1 });
  schedule.once(name, clock.nowMs() + RESOLVE_AFTER_MS * (pending.tries + 2));
}

// ---------------------------------------------------------------------------
// The timeline

export function note(user, inc, text, here) {
  if (!text) throw new UserError("What happened? `/spy incident note db failover done`");
  const now = clock.nowMs();
  const updated = change(inc.name, (cur) => {
    push(cur, entry(now, user, "note", `📝 <@${user}>: ${text}`));
    return cur;
  });
  return say(updated, here, `📝 Noted in the ${incidentId(updated)} timeline at ${clockTime(zone(), now)} by <@${user}>: ${text}`);
}

/** A message made a key event, by a pin or a :pushpin: reaction. Null when it is not one to add. */
export function keyEvent(user, channel, ts, text, how) {
  const inc = byChannel(channel);
  if (!inc || inc.status === "resolved") return null;
  if ((inc.board && inc.board.ts === ts) || (text ?? "").startsWith(BOARD_MARK)) return null;
  if (inc.timeline.some((e) => e.ts === ts)) return null;
  const now = clock.nowMs();
  let shown = (text ?? "").trim().replace(/\s*\n+\s*/g, " · ") || "(a message without text)";
  if (shown.length > 300) shown = `${shown.slice(0, 299)}…`;
  const updated = change(inc.name, (cur) => {
    if (cur.timeline.some((e) => e.ts === ts)) return cur;
    push(cur, entry(now, user, "pin", `📌 Key event (${how} by <@${user}>): ${shown}`, { ts }));
    return cur;
  });
  return updated;
}

// ---------------------------------------------------------------------------
// Status, severity, roles, times

export function update(user, inc, text, here) {
  if (!text) throw new UserError("Say what the status is: `/spy incident update failover in progress, errors dropping`");
  const now = clock.nowMs();
  const updated = change(inc.name, (cur) => {
    cur.lastUpdate = { at: now, by: user, text };
    push(cur, entry(now, user, "update", `📣 Status update by <@${user}>: ${text}`));
    return cur;
  });
  scheduleReminder(updated, now);
  return say(updated, here, `📣 *Status update* · ${incidentId(updated)} · ${sevText(updated.severity)} · ` +
    `${statusText(updated.status)}\n${text}\n_— <@${user}>, ${clockTime(zone(), now)}_`);
}

export function setStatus(user, inc, status, text, here) {
  if (status === "resolved") return resolve(user, inc, text, here);
  if (inc.status === status) throw new UserError(`${incidentId(inc)} is already *${status}*.`);
  const now = clock.nowMs();
  const updated = change(inc.name, (cur) => {
    const from = cur.status;
    cur.status = status;
    if (status === "mitigated") cur.mitigatedAt = now;
    else if (from === "mitigated") cur.mitigatedAt = null;
    const why = text ? `: ${text}` : "";
    cur.lastUpdate = { at: now, by: user, text: `status ${from} → ${status}${why}` };
    push(cur, entry(now, user, "status", `Status ${from} → *${status}* by <@${user}>${why}`));
    return cur;
  });
  scheduleReminder(updated, now);
  const since = status === "mitigated" ? ` (${durations(updated)} since it started)` : "";
  return say(updated, here, `${statusText(status)}: <@${user}> set ${incidentId(updated)} to *${status}*${since}` +
    `${text ? ` — ${text}` : ""}.`);
}

export function setSeverity(user, inc, severity, text, here) {
  if (inc.severity === severity) throw new UserError(`${incidentId(inc)} is already ${severity.toUpperCase()}.`);
  const now = clock.nowMs();
  let from;
  const updated = change(inc.name, (cur) => {
    from = cur.severity;
    cur.severity = severity;
    const why = text ? `: ${text}` : "";
    cur.lastUpdate = { at: now, by: user, text: `severity ${from.toUpperCase()} → ${severity.toUpperCase()}${why}` };
    push(cur, entry(now, user, "severity", `Severity ${from.toUpperCase()} → *${severity.toUpperCase()}* by <@${user}>${why}`));
    return cur;
  });
  scheduleReminder(updated, now);
  const line = `${sevText(severity)}: <@${user}> changed ${incidentId(updated)}'s severity from ${from.toUpperCase()} ` +
    `to *${severity.toUpperCase()}*${text ? ` — ${text}` : ""}.`;
  announce(`${line} (${channelRef(updated)})`);
  return say(updated, here, line);
}

/**
 * `user` takes `role` for `person`. Claimed for oneself (`explicit`
 * false), a role held by someone else is refused; handed to someone
 * (`explicit`), only its holder or the commander may.
 */
export function setRole(user, inc, role, person, here, explicit) {
  const label = ROLES[role].label.toLowerCase();
  const now = clock.nowMs();
  let before;
  const updated = change(inc.name, (cur) => {
    before = cur.roles[role];
    if (before === person) {
      throw new UserError(`${person === user ? "You are" : `<@${person}> is`} already ${label} of ${incidentId(cur)}.`);
    }
    if (before && !explicit) {
      throw new UserError(`${ROLES[role].label} of ${incidentId(cur)} is already claimed by <@${before}>. ` +
        `They or the commander (<@${cur.roles.commander}>) can hand it over: \`/spy incident role ${role} @you\`.`);
    }
    if (before && user !== before && user !== cur.roles.commander) {
      throw new UserError(`${ROLES[role].label} of ${incidentId(cur)} is <@${before}>'s: only they or the commander ` +
        `(<@${cur.roles.commander}>) can hand it over.`);
    }
    cur.roles[role] = person;
    const by = person === user ? "" : ` (by <@${user}>)`;
    const text = before
      ? `<@${person}> took over as ${label} from <@${before}>${by}`
      : `<@${person}> is ${label}${by}`;
    push(cur, entry(now, user, "role", `👤 ${text}`));
    return cur;
  });
  const invited = inviteAll(updated, [person]);
  if (invited.length > 0) {
    store.updateJson(key(inc.name), (cur) => ({ ...cur, members: [...new Set([...cur.members, ...invited])] }), updated);
  }
  const text = before
    ? `👤 <@${person}> took over as *${label}* of ${incidentId(updated)} from <@${before}>.`
    : `👤 <@${person}> is now *${label}* of ${incidentId(updated)}.`;
  return say(updated, here, text);
}

/** A role claimed by the board's button: the clicker, for themselves. */
export function claim(user, name, role, here) {
  const inc = get(name);
  if (!inc) throw new UserError("That incident is gone.");
  return setRole(user, inc, role, user, here, false);
}

export function setStarted(user, inc, at, here) {
  const tz = zone();
  const now = clock.nowMs();
  if (at > now) throw new UserError(`${clockTime(tz, at)} is in the future; give when the impact began.`);
  if (at > inc.reportedAt) {
    throw new UserError(`The impact can't have started after it was reported (${clockTime(tz, inc.reportedAt)}).`);
  }
  const updated = change(inc.name, (cur) => {
    cur.startedAt = at;
    cur.timeline = cur.timeline.filter((e) => e.kind !== "started");
    if (at < cur.reportedAt) push(cur, entry(at, user, "started", `⏱ Impact started (set by <@${user}>)`));
    return cur;
  });
  const before = at < updated.reportedAt ? `, ${duration(updated.reportedAt - at)} before it was reported` : "";
  return say(updated, here, `⏱ <@${user}> set when ${incidentId(updated)} started: ${dateTime(tz, at)}${before} ` +
    `(${clockTime(tz, updated.reportedAt)}). Its durations count from then.`);
}

// ---------------------------------------------------------------------------
// Resolving

export function resolve(user, inc, text, here) {
  const tz = zone();
  const now = clock.nowMs();
  const updated = change(inc.name, (cur) => {
    const from = cur.status;
    cur.status = "resolved";
    cur.resolvedAt = now;
    if (!cur.mitigatedAt) {
      cur.mitigatedAt = now;
      cur.mitigatedNotMarked = true;
    }
    cur.summary = text || null;
    cur.lastUpdate = { at: now, by: user, text: `resolved${text ? `: ${text}` : ""}` };
    push(cur, entry(now, user, "resolved", `✅ Status ${from} → *resolved* by <@${user}>${text ? `: ${text}` : ""}`));
    return cur;
  });
  schedule.cancel(`remind:${inc.name}`);
  store.delete(`open/${inc.name}`);
  const names = {};
  const ids = new Set([updated.createdBy, ...Object.values(updated.roles), ...updated.timeline.map((e) => e.by)]);
  for (const e of updated.timeline) for (const m of e.text.matchAll(/<@([UW][A-Z0-9]+)/g)) ids.add(m[1]);
  for (const id of [...ids].filter(Boolean).slice(0, 30)) {
    const known = store.get(`user/${id}`);
    if (known) {
      names[id] = known;
      continue;
    }
    try {
      names[id] = slack.lookupUser(id).name || id;
    } catch {
      names[id] = id;
    }
  }
  const file = `${incidentId(updated)}-postmortem.md`;
  const line = `✅ *${incidentId(updated)}: ${updated.title}* resolved by <@${user}>. ` +
    `Started ${clockTime(tz, updated.startedAt)} → mitigated ${clockTime(tz, updated.mitigatedAt)} → ` +
    `resolved ${clockTime(tz, updated.resolvedAt)}: ${durations(updated)}.`;
  const reply = say(updated, here, `${line}\nThe postmortem skeleton (timeline, durations, roles) is \`${file}\`, below. Update reminders are off.`);
  slack.uploadFile(updated.channel, file, `Postmortem: ${incidentId(updated)} — ${updated.title}`, postmortem(updated, tz, names));
  announce(`${line} (${channelRef(updated)})`);
  return reply;
}

// ---------------------------------------------------------------------------
// Reminders

export function remindTick(name, dueMs) {
  const incName = name.slice("remind:".length);
  const inc = get(incName);
  if (!inc || inc.status === "resolved") return;
  const minutes = reminderMinutes();
  if (minutes === 0) return;
  const tz = zone();
  const last = inc.lastUpdate ? inc.lastUpdate.at : inc.reportedAt;
  slack.postMessage(inc.channel, `⏰ <@${inc.roles.commander}>, no status update on ${incidentId(inc)} for ` +
    `${Math.round((dueMs - last) / MINUTE)} min (last at ${clockTime(tz, last)}). ` +
    "Post one with `/spy incident update …` — what is known, what is being done, when the next update is.");
  schedule.once(name, dueMs + minutes * MINUTE);
}

// ---------------------------------------------------------------------------
// Listing

export function openIncidents() {
  return openNames().map(get).filter((i) => i && i.status !== "resolved")
    .sort((a, b) => a.number - b.number);
}
