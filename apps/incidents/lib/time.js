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

/** `20260105`: the date in `tz`, for channel names. */
export function compactDate(tz, ms) {
  const d = wall(tz, ms);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
}

/** `2026-01-05`: the date in `tz`. */
export function isoDate(tz, ms) {
  const d = wall(tz, ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** `09:05 UTC` — the time of day in `tz`, with the zone said. */
export function clockTime(tz, ms) {
  const d = wall(tz, ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} ${tz}`;
}

/** `2026-01-05 09:05 UTC`. */
export function dateTime(tz, ms) {
  return `${isoDate(tz, ms)} ${clockTime(tz, ms)}`;
}

/** `09:05 UTC` when `ms` falls on `day` (an {@link isoDate}) in `tz`, else with its date. */
export function timeOn(tz, ms, day) {
  return isoDate(tz, ms) === day ? clockTime(tz, ms) : dateTime(tz, ms);
}

/**
 * Unix ms of a wall-clock time typed in `tz`: `14:05`, `2:05pm`, or
 * `2026-01-05 14:05`. A bare time means the latest such moment that is not
 * after `now` (today's, else yesterday's). Null when it is not a time.
 */
export function parseWallTime(tz, text, now) {
  const t = text.trim().toLowerCase();
  let m = /^(\d{4})-(\d{2})-(\d{2})[ t](\d{1,2}):(\d{2})$/.exec(t);
  if (m) {
    const [, y, mo, d, h, mi] = m.map(Number);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59) return null;
    return fromWall(tz, Date.UTC(y, mo - 1, d, h, mi));
  }
  m = /^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$/.exec(t);
  if (!m || (m[2] === undefined && m[3] === undefined)) return null;
  let h = Number(m[1]);
  const mi = Number(m[2] ?? 0);
  if (m[3]) {
    if (h < 1 || h > 12) return null;
    h = (h % 12) + (m[3] === "pm" ? 12 : 0);
  }
  if (h > 23 || mi > 59) return null;
  const today = wall(tz, now);
  for (const back of [0, 1]) {
    const at = fromWall(tz, Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - back, h, mi));
    if (at <= now) return at;
  }
  return null;
}

// The Unix ms whose wall clock in `tz` reads `wallMs` (read as UTC).
function fromWall(tz, wallMs) {
  const guess = wallMs - offsetMinutes(tz, wallMs) * MINUTE;
  return wallMs - offsetMinutes(tz, guess) * MINUTE;
}

/** `1 h 25 min`, `25 min`, `2 d 3 h 0 min`, `0 min`: whole minutes, rounded down. */
export function duration(ms) {
  const minutes = Math.max(0, Math.floor(ms / MINUTE));
  const d = Math.floor(minutes / (24 * 60));
  const h = Math.floor((minutes % (24 * 60)) / 60);
  const min = minutes % 60;
  if (d > 0) return `${d} d ${h} h ${min} min`;
  if (h > 0) return `${h} h ${min} min`;
  return `${min} min`;
}
