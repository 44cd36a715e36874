// What people type after `/spy stores top`, `/spy traffic` and
// `/spy checkouts`. Pure functions, no Slack, no HTTP.

/** A mistake of the person using the app: shown to them as it is. */
export class UserError extends Error {}

export const DEFAULT_N = 10;
export const MAX_N = 25;
export const DEFAULT_WINDOW = "1h";

const UNITS = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 };
/** The shortest and longest window anyone may ask for, in seconds. */
const MIN_WINDOW = 60;
const MAX_WINDOW = 90 * 86400;

const WINDOW_HELP = "a number and a unit, like `5m`, `1h` or `1d` (from 1m to 90d)";

/**
 * A window as Prometheus writes durations (`5m`, `1h`, `1d`): `{text,
 * seconds}`, or null when `word` does not look like one at all. Throws a
 * UserError for one that looks like a window but is out of range.
 */
export function parseWindow(word) {
  const m = /^(\d{1,6})([smhdw])$/i.exec((word ?? "").trim());
  if (!m) return null;
  const count = Number(m[1]);
  const unit = m[2].toLowerCase();
  const seconds = count * UNITS[unit];
  if (seconds < MIN_WINDOW || seconds > MAX_WINDOW) {
    throw new UserError(`\`${word}\` is outside the windows I can chart: give ${WINDOW_HELP}.`);
  }
  return { text: `${count}${unit}`, seconds };
}

/**
 * `[n] [window]`, in either order: `{n, window}` with the defaults for
 * what is left out.
 */
export function parseTop(text) {
  const words = (text ?? "").trim().split(/\s+/).filter(Boolean);
  let n = null;
  let window = null;
  for (const word of words) {
    if (/^[+-]?\d+$/.test(word)) {
      if (n !== null) throw new UserError(`Give one number of stores, not \`${n}\` and \`${word}\`. ${TOP_USAGE}`);
      n = Number(word);
      if (!(n >= 1 && n <= MAX_N)) {
        throw new UserError(`\`${word}\` is not a number of stores I can list: give 1 to ${MAX_N}. ${TOP_USAGE}`);
      }
      continue;
    }
    const w = parseWindow(word);
    if (w) {
      if (window !== null) throw new UserError(`Give one window, not \`${window.text}\` and \`${word}\`. ${TOP_USAGE}`);
      window = w;
      continue;
    }
    throw new UserError(`\`${word}\` is neither a number of stores (1 to ${MAX_N}) nor a window (${WINDOW_HELP}). ${TOP_USAGE}`);
  }
  return { n: n ?? DEFAULT_N, window: window ?? parseWindow(DEFAULT_WINDOW) };
}

export const TOP_USAGE = "Usage: `/spy stores top [n] [window]`, e.g. `/spy stores top 5 1h` (n from 1 to 25; 10 and 1h unless given).";

/** `[window]` for a chart command (`traffic`, `checkouts`). */
export function parseChart(command, text) {
  const words = (text ?? "").trim().split(/\s+/).filter(Boolean);
  const usage = `Usage: \`/spy ${command} [window]\`, e.g. \`/spy ${command} 6h\` (${DEFAULT_WINDOW} unless given).`;
  if (words.length > 1) throw new UserError(`\`/spy ${command}\` takes one window, got \`${words.join(" ")}\`. ${usage}`);
  if (words.length === 0) return { window: parseWindow(DEFAULT_WINDOW) };
  const window = parseWindow(words[0]);
  if (!window) throw new UserError(`\`${words[0]}\` is not a window: give ${WINDOW_HELP}. ${usage}`);
  return { window };
}

/** Points a chart aims for: a range query's step is the window over this. */
export const POINTS = 30;

/**
 * The step of a range query over `seconds`: whole seconds, so the chart
 * has POINTS + 1 points (24 to 48 whatever the window).
 */
export const stepFor = (seconds) => Math.max(1, Math.ceil(seconds / POINTS));

/**
 * The rate window for a chart with `step`: each point covers the time
 * since the one before, and at least a minute (four scrapes at
 * Prometheus's default 15 s interval), so `rate` has samples to work with.
 */
export const rateFor = (step) => Math.max(step, 60);

/** A duration in seconds as Prometheus reads it: `90s`, `5m`, `2h`, `1d`. */
export function promDuration(seconds) {
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/**
 * The operator's PromQL with the app's placeholders filled in: `$n`,
 * `$window` (what the person asked for), `$step` and `$rate` (charts).
 * An unknown `$name` is left for Prometheus to complain about.
 */
export function substitute(query, values) {
  return String(query).replace(/\$(window|step|rate|n)\b/g, (whole, name) =>
    values[name] === undefined ? whole : String(values[name]));
}
