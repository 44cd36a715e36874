// Compact text charts for Slack: a bar per store, a sparkline per series,
// in code blocks (monospace) inside section blocks. Pure functions.

/** Slack's limit on a section block's text. */
export const SECTION_LIMIT = 3000;

const SPARKS = "▁▂▃▄▅▆▇█";
const EIGHTHS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
const BAR_WIDTH = 20;
/** Longest name shown in the top list before it is cut with `…`. */
const NAME_WIDTH = 24;

/** `text` cut to at most `limit` characters, ending `…` when cut. */
export function clip(text, limit = SECTION_LIMIT) {
  const chars = [...text];
  return chars.length <= limit ? text : `${chars.slice(0, limit - 1).join("")}…`;
}

/** A code block holding `lines`, kept within a section's limit. */
export function codeBlock(lines) {
  const fence = "```";
  let body = lines.join("\n");
  const room = SECTION_LIMIT - 2 * fence.length - 2;
  if ([...body].length > room) body = clip(body, room);
  return `${fence}\n${body}\n${fence}`;
}

/**
 * A number the way a chart label wants it: 12 345, 253, 98.4, 0.125,
 * 1.2e-5, NaN, +Inf.
 */
export function formatValue(v) {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e15 || a < 1e-3) return v.toExponential(2).replace("e+", "e");
  if (a >= 100) return groupThousands(Math.round(v));
  return String(Number(v.toPrecision(3)));
}

function groupThousands(n) {
  const s = String(Math.abs(n));
  const grouped = s.replace(/\B(?=(\d{3})+(?!\d))/g, " ");
  return n < 0 ? `-${grouped}` : grouped;
}

/** A horizontal bar `value / max` of BAR_WIDTH cells, in eighths. */
export function bar(value, max) {
  if (value === Infinity) return "█".repeat(BAR_WIDTH);
  if (!(max > 0) || !(value > 0) || !Number.isFinite(value)) return "";
  const eighths = Math.max(1, Math.round((Math.min(value, max) / max) * BAR_WIDTH * 8));
  return "█".repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
}

/**
 * The top list: `[{name, value}]`, highest first, as lines
 * ` 1. lisbon   ████████████  253`.
 */
export function topLines(rows) {
  const names = rows.map((r) => cut(r.name, NAME_WIDTH));
  const nameWidth = Math.max(...names.map((n) => [...n].length));
  const values = rows.map((r) => formatValue(r.value));
  const valueWidth = Math.max(...values.map((v) => v.length));
  const max = Math.max(...rows.map((r) => (Number.isFinite(r.value) ? r.value : 0)));
  const rankWidth = String(rows.length).length;
  return rows.map((r, i) =>
    `${String(i + 1).padStart(rankWidth)}. ${pad(names[i], nameWidth)}  ${pad(bar(r.value, max), BAR_WIDTH)}  ${values[i].padStart(valueWidth)}`);
}

function cut(text, width) {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join("")}…`;
}

function pad(text, width) {
  return text + " ".repeat(Math.max(0, width - [...text].length));
}

/**
 * A sparkline over `slots` (numbers, or null where there is no sample):
 * one character per slot, ▁ for the lowest value and █ for the highest,
 * a space for a gap. All values equal draw a flat ▄ line.
 */
export function sparkline(slots) {
  const finite = slots.filter((v) => v !== null && Number.isFinite(v));
  if (finite.length === 0) return slots.map(() => " ").join("");
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  return slots.map((v) => {
    if (v === null || Number.isNaN(v)) return " ";
    if (v === Infinity) return SPARKS[7];
    if (v === -Infinity) return SPARKS[0];
    if (hi === lo) return SPARKS[3];
    return SPARKS[Math.min(7, Math.floor(((v - lo) / (hi - lo)) * 8))];
  }).join("");
}

/**
 * A series' values put in the chart's slots: slot i is `start + i*step`;
 * values are `[unix_seconds, number]`. Samples between slots go to the
 * nearest one.
 */
export function slotted(values, start, step, count) {
  const slots = new Array(count).fill(null);
  for (const [t, v] of values) {
    const i = Math.round((t - start) / step);
    if (i >= 0 && i < count) slots[i] = v;
  }
  return slots;
}

/** min / max / last of a series' finite values, or null without any. */
export function summary(values) {
  const finite = values.map(([, v]) => v).filter((v) => Number.isFinite(v));
  if (finite.length === 0) return null;
  return {
    min: Math.min(...finite),
    max: Math.max(...finite),
    last: values[values.length - 1][1],
    points: values.length,
  };
}

/** `2026-01-05 09:00` (UTC) for unix seconds; seconds shown when the step needs them. */
export function utc(seconds, withSeconds) {
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, withSeconds ? 19 : 16)}`;
}

/** `20s`, `5m`, `1h30m`, `2d`: a step in words. */
export function humanDuration(seconds) {
  const parts = [];
  let left = seconds;
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]]) {
    if (left >= size) {
      parts.push(`${Math.floor(left / size)}${unit}`);
      left %= size;
    }
  }
  return parts.join("") || "0s";
}

/**
 * A series' labels as a name: label `prefer` when it has it, else the one
 * label's value (`{store="lisbon"}` → `lisbon`), else `k=v, k=v`.
 */
export function labelText(metric, prefer) {
  if (prefer && metric?.[prefer] !== undefined) return String(metric[prefer]);
  const pairs = Object.entries(metric ?? {}).filter(([k]) => k !== "__name__");
  if (pairs.length === 0) return metric?.__name__ ?? "(no labels)";
  if (pairs.length === 1) return String(pairs[0][1]);
  return pairs.map(([k, v]) => `${k}=${v}`).join(", ");
}
