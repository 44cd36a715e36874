// Wall-clock times in a person's own zone. QuickJS has no time-zone
// database, so the zone table is the SDK's (`knownZone`, `offsetMinutes`
// from "botyard"); re-exported here for this app's modules.

import { knownZone, offsetMinutes } from "botyard";

export { knownZone, offsetMinutes };

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

const pad = (n) => String(n).padStart(2, "0");

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
export const MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August",
  "September", "October", "November", "December"];

/** The calendar day (`2026-01-06`) in `tz` at `ms`. */
export function localDay(tz, ms) {
  const local = new Date(ms + offsetMinutes(tz, ms) * 60000);
  return `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
}

/** The time of day (`08:30`) in `tz` at `ms`. */
export function localTime(tz, ms) {
  const local = new Date(ms + offsetMinutes(tz, ms) * 60000);
  return `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}`;
}

/** Whether `s` is a real calendar day written `YYYY-MM-DD`. */
export function isDay(s) {
  if (typeof s !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const [y, m, d] = s.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** Whether `s` is a time of day written `HH:MM`. */
export function isTime(s) {
  return typeof s === "string" && /^([01]\d|2[0-3]):[0-5]\d$/.test(s);
}

/** `day` moved by `n` days. */
export function addDays(day, n) {
  const [y, m, d] = day.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1, d + n));
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
}

/** Whole days from `a` to `b` (both `YYYY-MM-DD`). */
export function daysBetween(a, b) {
  const ms = (s) => { const [y, m, d] = s.split("-").map(Number); return Date.UTC(y, m - 1, d); };
  return Math.round((ms(b) - ms(a)) / DAY);
}

/** Unix ms of `hhmm` on `day` in `tz`. */
export function atLocal(tz, day, hhmm) {
  const [y, m, d] = day.split("-").map(Number);
  const [h, min] = hhmm.split(":").map(Number);
  const naive = Date.UTC(y, m - 1, d, h, min);
  const guess = naive - offsetMinutes(tz, naive) * 60000;
  return naive - offsetMinutes(tz, guess) * 60000;
}

/** "Tue 6 Jan" (with the year when it is not `thisYear`). */
export function fmtDay(day, thisYear) {
  const [y, m, d] = day.split("-").map(Number);
  const weekday = WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()];
  const year = thisYear !== undefined && String(y) !== String(thisYear) ? ` ${y}` : "";
  return `${weekday} ${d} ${MONTHS[m - 1]}${year}`;
}

/** "Tue 6 Jan" or "Tue 6 Jan – Thu 8 Jan". */
export function fmtDays(first, last) {
  return first === last ? fmtDay(first) : `${fmtDay(first)} – ${fmtDay(last)}`;
}

/** "January 2026" for "2026-01". */
export function fmtMonth(month) {
  const [y, m] = month.split("-").map(Number);
  return `${MONTH_NAMES[m - 1]} ${y}`;
}

/** A moment as "Mon 5 Jan 15:00" in `tz`. */
export function fmtMoment(tz, ms) {
  return `${fmtDay(localDay(tz, ms))} ${localTime(tz, ms)}`;
}
