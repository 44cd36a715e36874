// What people type after `/spy incident …`. Pure functions, no Slack.

/** A mistake of the person using the app: shown to them as it is. */
export class UserError extends Error {}

export const DEFAULT_SEVERITY = "sev3";

export const STATUSES = ["investigating", "identified", "mitigated", "resolved"];

/** The roles people claim, in the order the board shows them. */
export const ROLES = {
  commander: { label: "Commander", aliases: ["commander", "ic", "lead", "incident-commander", "incident-lead"] },
  comms: { label: "Comms", aliases: ["comms", "communications", "comms-lead", "communication"] },
  support: { label: "Support lead", aliases: ["support", "support-lead", "supportlead", "cs"] },
};

/** `sev2`, `SEV2`, `2`, `s2` → `sev2`; null otherwise. */
export function parseSeverity(word) {
  const m = /^(?:sev|s)?([1-4])$/i.exec((word ?? "").trim());
  return m ? `sev${m[1]}` : null;
}

/** A status or one of its usual words; null otherwise. */
export function parseStatus(word) {
  const w = (word ?? "").trim().toLowerCase();
  const aliases = {
    investigating: "investigating", triage: "investigating", triaging: "investigating",
    identified: "identified", "root-caused": "identified", fixing: "identified",
    mitigated: "mitigated", monitoring: "mitigated", stable: "mitigated",
    resolved: "resolved", closed: "resolved", fixed: "resolved", done: "resolved",
  };
  return aliases[w] ?? null;
}

/** A role's key (`commander`, `comms`, `support`) from what people call it; null otherwise. */
export function parseRole(word) {
  const w = (word ?? "").trim().toLowerCase().replace(/_/g, "-");
  for (const [key, role] of Object.entries(ROLES)) {
    if (role.aliases.includes(w)) return key;
  }
  return null;
}

// <@U123>, <@U123|bob>, or @bob as typed (Slack sends mentions as typed
// unless the command escapes them).
const MENTION = /^(?:<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|@([\w.\-]+))$/;

/** `{id}` or `{name}` for a mention; null when `word` is none. */
export function parseMention(word) {
  const m = MENTION.exec((word ?? "").trim());
  if (!m) return null;
  return m[1] ? { id: m[1] } : { name: m[2].replace(/[.\-]+$/, "") };
}

/**
 * `/spy incident start` text: `"Database down" sev2 @bob`, or
 * `Database down sev2` (the title is everything that is not a severity or
 * a mention at the end).
 */
export function parseStart(text) {
  let rest = text.trim();
  let title = "";
  const quoted = /^(["“”'‘’])(.*?)["“”'‘’](?=\s|$)/.exec(rest);
  if (quoted) {
    title = quoted[2].trim();
    rest = rest.slice(quoted[0].length).trim();
  }
  const words = rest.split(/\s+/).filter(Boolean);
  let severity = null;
  let commander = null;
  // Options come after the title: peel them off the end (or take them all
  // when the title was quoted).
  while (words.length > 0) {
    const last = words[words.length - 1];
    // Unquoted, only `sevN` counts, so a title ending in a number keeps it.
    const sev = quoted || /^sev[1-4]$/i.test(last) ? parseSeverity(last) : null;
    const who = parseMention(last);
    if (sev && !severity) severity = sev;
    else if (who && !commander) commander = who;
    else if (quoted) throw new UserError(`I don't understand \`${last}\` after the title: give a severity (sev1 … sev4) and/or a commander (@name).`);
    else break;
    words.pop();
  }
  if (!quoted) title = words.join(" ");
  if (!title) {
    throw new UserError('Give the incident a title: `/spy incident start "Checkout is failing" sev2` ' +
      "(severity sev1 … sev4, sev3 unless given; add @name to make someone else the commander).");
  }
  if (title.length > 150) throw new UserError("Keep the title under 150 characters; the details go in notes.");
  return { title, severity, commander };
}

/**
 * The slug of a channel name: Slack's rules (lowercase letters, digits,
 * `-` and `_`, at most 80 characters in all), from the title.
 */
export function slugify(title, max) {
  let s = title;
  try {
    s = s.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  } catch {
    // No normalization: accents just become dashes.
  }
  s = s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  if (s.length > max) s = s.slice(0, max).replace(/-+$/g, "");
  return s || "incident";
}

/**
 * An incident named at the start of `text`: `INC-3`, `#inc-20260105-db`,
 * `inc-20260105-db`, or `<#C123|inc-…>`. `{ref, rest}`, `ref` null when
 * the text does not start with one.
 */
export function leadingRef(text) {
  const t = text.trim();
  const m = /^(?:<#([CG][A-Z0-9]+)(?:\|([^>]*))?>|#?(inc-\d{8}-[a-z0-9_-]+)|(inc-?\d+))(?=\s|$)/i.exec(t);
  if (!m) return { ref: null, rest: t };
  const rest = t.slice(m[0].length).trim();
  if (m[1]) return { ref: { channel: m[1], name: m[2] ?? null }, rest };
  if (m[3]) return { ref: { name: m[3].toLowerCase() }, rest };
  return { ref: { number: Number(m[4].replace(/^inc-?/i, "")) }, rest };
}

/** First word and the rest. */
export function firstWord(text) {
  const t = text.trim();
  const word = t.split(/\s+/)[0] ?? "";
  return { word, rest: t.slice(word.length).trim() };
}
