// What the operator configured in `[apps.office.settings]`: the offices
// (name, time zone, channel), the house team's channel, who approves
// expenses, and the lists the forms offer. Read on every request, so an
// edit to botyard.toml applies at once.

import { log, settings } from "botyard";

import { isTime, knownZone } from "./time.js";

/** A mistake of the person using the app (or of the setup): shown to them as it is. */
export class UserError extends Error {}

// A list setting: a TOML list (JSON text here) or one string, split on commas.
export function listSetting(name) {
  const raw = settings.get(name);
  if (raw === null || raw === "") return [];
  if (raw.trim().startsWith("[")) {
    try {
      const list = JSON.parse(raw);
      if (Array.isArray(list)) return list.map((x) => (typeof x === "string" ? x.trim() : x)).filter((x) => x !== "");
    } catch {
      // fall through: a string that starts with "["
    }
  }
  return raw.split(",").map((s) => s.trim()).filter(Boolean);
}

/** Text people typed, safe in a Slack message: no mention or link is made of it. */
export const esc = (text) => String(text ?? "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export const slug = (name) => name.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");

/**
 * The offices: `[{name, slug, tz, channel}]`. An entry without a name or a
 * channel is skipped (and logged); a time zone this app does not know
 * counts as UTC (logged).
 */
export function offices() {
  const out = [];
  for (const o of listSetting("offices")) {
    if (!o || typeof o !== "object" || !o.name || !o.channel) {
      log.warn(`offices: an entry needs a name and a channel, got ${JSON.stringify(o)}`);
      continue;
    }
    const tz = o.timezone ?? o.tz ?? "UTC";
    if (!knownZone(tz)) log.warn(`offices: time zone ${tz} of ${o.name} is not known; counting it as UTC`);
    const name = String(o.name);
    out.push({ name, slug: slug(name), tz: knownZone(tz) ? tz : "UTC", channel: String(o.channel) });
  }
  return out;
}

/** The office with slug (or name) `key`. */
export function office(key) {
  const k = slug(String(key ?? ""));
  return offices().find((o) => o.slug === k) ?? null;
}

/** The offices, or a UserError saying how to configure them. */
export function needOffices() {
  const all = offices();
  if (all.length === 0) {
    throw new UserError("No office is set up yet: an admin adds them to botyard.toml, e.g. " +
      "`[apps.office.settings] offices = [{ name = \"Paris\", timezone = \"Europe/Paris\", channel = \"#office-paris\" }]`.");
  }
  return all;
}

/** A time-of-day setting (`08:30`), or its default when it is not one. */
export function timeSetting(name, fallback) {
  const v = settings.get(name) ?? fallback;
  if (isTime(v)) return v;
  log.warn(`setting ${name} = ${JSON.stringify(v)} is not a time like 08:30; using ${fallback}`);
  return fallback;
}

export const houseChannel = () => settings.get("house_channel");
export const approvalsChannel = () => settings.get("approvals_channel") || null;
export const currencies = () => listSetting("currencies").map(String);
export const categories = () => listSetting("categories").map(String);
