// Wall-clock times in a person's own zone. QuickJS has no time-zone
// database, so the zone table is the SDK's (`knownZone`, `offsetMinutes`
// from "botyard"); re-exported here for this app's modules.

import { knownZone, offsetMinutes } from "botyard";

export { knownZone, offsetMinutes };

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

const pad = (n) => String(n).padStart(2, "0");

/**
 * The calendar day in `tz` at `ms`, and the ISO week and month it is in:
 * `{day: "2026-12-03", week: "2026-W49", month: "2026-12"}`.
 */
export function periods(tz, ms) {
  const local = new Date(ms + offsetMinutes(tz, ms) * 60000);
  const y = local.getUTCFullYear();
  const m = local.getUTCMonth() + 1;
  const d = local.getUTCDate();
  return { day: `${y}-${pad(m)}-${pad(d)}`, week: isoWeek(y, m, d), month: `${y}-${pad(m)}` };
}

function isoWeek(y, m, d) {
  const date = new Date(Date.UTC(y, m - 1, d));
  const weekday = date.getUTCDay() || 7; // Monday 1 … Sunday 7
  date.setUTCDate(d + 4 - weekday); // the Thursday of this week decides its year
  const year = date.getUTCFullYear();
  const week = Math.ceil(((date.getTime() - Date.UTC(year, 0, 1)) / DAY + 1) / 7);
  return `${year}-W${pad(week)}`;
}

/** Unix ms of the next midnight in `tz` after `ms`. */
export function nextMidnight(tz, ms) {
  const off = offsetMinutes(tz, ms);
  const local = new Date(ms + off * 60000);
  const midnight = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + 1);
  // The offset at midnight may differ (a DST change that night).
  const guess = midnight - off * 60000;
  return midnight - offsetMinutes(tz, guess) * 60000;
}

/** "3 h 12 min", "25 min", "less than a minute". */
export function duration(ms) {
  const minutes = Math.ceil(ms / 60000);
  if (minutes <= 0) return "less than a minute";
  const h = Math.floor(minutes / 60);
  const min = minutes % 60;
  if (h === 0) return `${min} min`;
  return min === 0 ? `${h} h` : `${h} h ${min} min`;
}
