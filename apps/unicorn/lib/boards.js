// Leaderboards: who received and who gave most, this week, this month or
// ever. Ties share a rank (1, 1, 3 …) and are listed by user id.

import { clock, store } from "botyard";

import { periods } from "./time.js";

const TOP = 10;
const MAX_PEOPLE = 1000;

export const PERIODS = { week: "this week", month: "this month", all: "all time" };

/** Parses `[given|received] [week|month|all]` in any order. */
export function parseBoard(words) {
  let kind = "recv";
  let period = "week";
  for (const w of words.map((x) => x.toLowerCase())) {
    if (["given", "givers", "giving", "gave"].includes(w)) kind = "given";
    else if (["received", "receivers", "receiving", "got"].includes(w)) kind = "recv";
    else if (["week", "weekly", "w"].includes(w)) period = "week";
    else if (["month", "monthly", "m"].includes(w)) period = "month";
    else if (["all", "ever", "alltime", "all-time", "time", "total"].includes(w)) period = "all";
    else return null;
  }
  return { kind, period };
}

/** The standings: `[{rank, id, n}]`, highest first. */
export function standings(kind, period, tz) {
  const p = periods(tz, clock.nowMs());
  const prefix = period === "all" ? `${kind}/all/` : `${kind}/${period === "week" ? "w" : "m"}/${p[period]}/`;
  const rows = store.listKeys(prefix, MAX_PEOPLE)
    .map((key) => ({ id: key.slice(prefix.length), n: Number(store.get(key) ?? 0) }))
    .filter((r) => r.n > 0)
    .sort((a, b) => b.n - a.n || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let rank = 0;
  return rows.map((r, i) => {
    if (i === 0 || rows[i - 1].n !== r.n) rank = i + 1;
    return { ...r, rank };
  });
}

/** The leaderboard as text, with where `viewer` stands when not in the top. */
export function boardText(kind, period, tz, viewer) {
  const rows = standings(kind, period, tz);
  const title = `🦄 *Most unicorns ${kind === "recv" ? "received" : "given"} — ${PERIODS[period]}*`;
  if (rows.length === 0) {
    return `${title}\nNo unicorns ${kind === "recv" ? "received" : "given"} ${PERIODS[period]} yet. ` +
      "Be the first: `/unicorn @someone for …`";
  }
  const medal = (rank) => ({ 1: "🥇", 2: "🥈", 3: "🥉" })[rank] ?? `${rank}.`;
  const lines = rows.slice(0, TOP).map((r) => `${medal(r.rank)} <@${r.id}> — ${r.n} 🦄`);
  const me = rows.find((r) => r.id === viewer);
  if (me && me.rank > rows[Math.min(TOP, rows.length) - 1].rank) lines.push(`…\n${me.rank}. <@${me.id}> (you) — ${me.n} 🦄`);
  const ties = rows.slice(0, TOP).some((r, i, all) => all.findIndex((x) => x.rank === r.rank) !== i);
  const other = kind === "recv" ? "given" : "received";
  return `${title}\n${lines.join("\n")}` + (ties ? "\n_Tied people share a rank._" : "") +
    `\n_Also: \`/unicorn leaderboard ${other}\`, \`… month\`, \`… all\`._`;
}
