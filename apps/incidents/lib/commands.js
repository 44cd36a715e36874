// The `/spy incident …` subcommands: each verb's description, usage and
// handler. app.js registers each as its own subcommand path
// (`/spy incident note`), which the host routes and lists in
// `/spy help incident`. Usages avoid `<…>`: the host's help shows them as
// they are, and Slack would read `<what>` as a link.

import { clock } from "botyard";

import {
  claim, get, note, openIncidents, resolve, setRole, setSeverity, setStarted, setStatus, start,
  target, update, zone,
} from "./incidents.js";
import { ROLES, STATUSES, UserError, firstWord, parseMention, parseRole, parseSeverity, parseStatus } from "./parse.js";
import { incidentId, listLine, statusText, sevText, timelineText } from "./render.js";
import { clockTime, dateTime, parseWallTime } from "./time.js";
import { resolvePerson } from "./users.js";

// A usage line inside a message: `<` and `>` escaped, as Slack's text wants.
const about = (verb, rest = "") =>
  `/spy incident ${verb} [INC-n]${rest ? ` ${rest}` : ""}`.replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** verb → { description, usage, run(user, text, here) → {reply, text} } */
export const VERBS = {
  start: {
    description: "Declare an incident: its own channel, a pinned status board, you as commander",
    usage: '"TITLE" [sev1|sev2|sev3|sev4] [@commander]',
    run: (user, text, here) => start(user, text, here),
  },
  note: {
    description: "Add what happened to the incident's timeline",
    usage: "[INC-n] TEXT",
    run(user, text, here) {
      const { inc, rest } = target(text, here, about("note", "<what happened>"));
      return note(user, inc, rest, here);
    },
  },
  update: {
    description: "Post a status update (resets the update reminder)",
    usage: "[INC-n] TEXT",
    run(user, text, here) {
      const { inc, rest } = target(text, here, about("update", "<text>"));
      return update(user, inc, rest, here);
    },
  },
  status: {
    description: "Set the status: investigating, identified, mitigated or resolved",
    usage: "[INC-n] investigating|identified|mitigated|resolved [why]",
    run(user, text, here) {
      const { inc, rest } = target(text, here, about("status", "mitigated"));
      const { word, rest: why } = firstWord(rest);
      if (!word) {
        return { reply: "ephemeral", text: `${incidentId(inc)} is ${statusText(inc.status)} (${sevText(inc.severity)}). ` +
          `Change it: \`/spy incident status ${STATUSES.join("|")} [why]\`.` };
      }
      const status = parseStatus(word);
      if (!status) throw new UserError(`\`${word}\` is not a status: an incident is ${STATUSES.join(", ")}.`);
      return setStatus(user, inc, status, why, here);
    },
  },
  sev: {
    description: "Change the severity (sev1 is the worst)",
    usage: "[INC-n] sev1|sev2|sev3|sev4 [why]",
    run(user, text, here) {
      const { inc, rest } = target(text, here, about("sev", "sev1"));
      const { word, rest: why } = firstWord(rest);
      const sev = parseSeverity(word);
      if (!sev) throw new UserError(`Give a severity, sev1 (the worst) to sev4: \`/spy incident sev sev2 [why]\`. ${incidentId(inc)} is ${inc.severity.toUpperCase()}.`);
      return setSeverity(user, inc, sev, why, here);
    },
  },
  role: {
    description: "Claim a role (commander, comms, support lead), or hand one to someone",
    usage: "[INC-n] commander|comms|support [@person]",
    run(user, text, here) {
      const { inc, rest } = target(text, here, about("role", "comms"));
      const [word = "", who = ""] = rest.split(/\s+/).filter(Boolean);
      if (!word) {
        const lines = Object.entries(ROLES).map(([k, r]) => `• ${r.label}: ${inc.roles[k] ? `<@${inc.roles[k]}>` : "_unclaimed_"}`);
        return { reply: "ephemeral", text: `*${incidentId(inc)} roles*\n${lines.join("\n")}\n` +
          "Claim one: `/spy incident role comms`; hand one over: `/spy incident role comms @name`." };
      }
      const role = parseRole(word);
      if (!role) throw new UserError(`\`${word}\` is not a role: ${Object.keys(ROLES).join(", ")}.`);
      const mention = who ? parseMention(who) : null;
      if (who && !mention) throw new UserError(`\`${who}\` is not a person: \`/spy incident role ${role} @name\`.`);
      const person = mention ? resolvePerson(mention, [here, inc.channelKnown ? inc.channel : null]) : user;
      return setRole(user, inc, role, person, here, mention !== null);
    },
  },
  started: {
    description: "Say when the impact began, if before it was reported (in the configured timezone)",
    usage: "[INC-n] HH:MM | YYYY-MM-DD HH:MM",
    run(user, text, here) {
      const { inc, rest } = target(text, here, about("started", "14:05"));
      const tz = zone();
      const at = parseWallTime(tz, rest, clock.nowMs());
      if (at === null) throw new UserError(`Give the time the impact began, in ${tz}: \`/spy incident started 14:05\` or \`2026-01-05 14:05\`.`);
      // A bare time is the latest such moment: today's, or last night's
      // around midnight. Further back than 12 hours, it was likely a typo.
      const now = clock.nowMs();
      if (!/^\d{4}-/.test(rest) && now - at > 12 * 3600 * 1000) {
        throw new UserError(`${rest} today is later than now (${clockTime(tz, now)}). For an earlier day, give the date: ` +
          `\`/spy incident started ${dateTime(tz, at).slice(0, 16)}\`.`);
      }
      return setStarted(user, inc, at, here);
    },
  },
  timeline: {
    description: "Show the incident's timeline and duration",
    usage: "[INC-n]",
    run(user, text, here) {
      const { inc } = target(text, here, about("timeline"));
      return { reply: "ephemeral", text: timelineText(inc, zone()) };
    },
  },
  resolve: {
    description: "Resolve: stop reminders, post the durations and upload a postmortem skeleton",
    usage: "[INC-n] [what fixed it]",
    run(user, text, here) {
      const { inc, rest } = target(text, here, about("resolve"));
      return resolve(user, inc, rest, here);
    },
  },
};

export function listOpen() {
  const open = openIncidents();
  const tz = zone();
  if (open.length === 0) {
    return { reply: "ephemeral", text: "No open incidents. 🎉 Declare one with `/spy incident start \"<title>\" [sev]`." };
  }
  return { reply: "ephemeral", text: `*Open incidents* (${open.length}, times in ${tz})\n${open.map((i) => listLine(i, tz)).join("\n")}` };
}

/** A click on the board: claim a role, or change the status. */
export function boardAction(user, actionId, name, here) {
  const [kind, what] = actionId.split(":");
  if (kind === "claim") {
    if (!ROLES[what]) throw new UserError(`No role ${what}.`);
    return claim(user, name, what, here);
  }
  const inc = get(name);
  if (!inc) throw new UserError("That incident is gone.");
  return setStatus(user, inc, what, "", here);
}

