// Wall-clock times in a person's own zone. QuickJS has no time-zone
// database, so the zone table is the SDK's (`knownZone`, `offsetMinutes`
// from "botyard"); re-exported here for this app's modules.

import { knownZone, offsetMinutes } from "botyard";

export { knownZone, offsetMinutes };

const HOUR = 3600 * 1000;
const MINUTE = 60 * 1000;
const DAY = 24 * HOUR;

const pad = (n) => String(n).padStart(2, "0");

// The wall clock in `tz` at `ms`, as a Date whose UTC fields read it.
const wall = (tz, ms) => new Date(ms + offsetMinutes(tz, ms) * MINUTE);

/** `2026-01-05`: the date in `tz`. */
export function isoDate(tz, ms) {
  const d = wall(tz, ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** Minutes since local midnight in `tz` at `ms`. */
export function minuteOfDay(tz, ms) {
  const d = wall(tz, ms);
  return d.getUTCHours() * 60 + d.getUTCMinutes();
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `Tue 6 Jan`: a day in `tz` as people read it. */
export function dayName(tz, ms) {
  const d = wall(tz, ms);
  return `${DAYS[d.getUTCDay()]} ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
}

/** `Tue 6 Jan 09:30` in `tz`. */
export function when(tz, ms) {
  const d = wall(tz, ms);
  return `${dayName(tz, ms)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/** `Tue 6 Jan` for a due date `2026-01-06` (a calendar day, no zone). */
export function dueName(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso ?? "");
  if (!m) return iso ?? "";
  return dayName("UTC", Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
}

/** `HH:MM` → minutes since midnight, or null. */
export function parseClock(text) {
  const m = /^(\d{1,2}):(\d{2})$/.exec(String(text ?? "").trim());
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) return null;
  return Number(m[1]) * 60 + Number(m[2]);
}

/**
 * A snooze length: `30m`, `4h`, `2d`, `1w` (also `2 days`, `1 week` …), in
 * ms; null when it is not one.
 */
export function parseDuration(text) {
  const m = /^(\d+)\s*(m|min|mins|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?)$/.exec(String(text ?? "").trim().toLowerCase());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2][0];
  const ms = { m: MINUTE, h: HOUR, d: DAY, w: 7 * DAY }[unit];
  return n > 0 ? n * ms : null;
}

export { DAY, HOUR, MINUTE };
