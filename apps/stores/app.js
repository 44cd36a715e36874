// 🏪 stores: how the shop is doing, from Prometheus — `/spy stores top
// [n] [window]` lists the most active stores, `/spy traffic [window]` and
// `/spy checkouts [window]` chart visitors and checkouts as compact text
// sparklines. The PromQL is the operator's (settings), with `$n`,
// `$window`, `$step` and `$rate` filled in by the app. See README.md.

import { App, clock, context, reply, section, settings } from "botyard";

import { DEFAULT_N, DEFAULT_WINDOW, MAX_N, POINTS, UserError, parseChart, parseTop, promDuration, rateFor, stepFor, substitute } from "./lib/parse.js";
import { KINDS, QueryError, Trouble, ask, baseUrl, sampleValue } from "./lib/prometheus.js";
import { clip, codeBlock, formatValue, humanDuration, labelText, slotted, sparkline, summary, topLines, utc } from "./lib/render.js";

const app = new App("stores", "The most active stores, visitors and checkouts, charted from Prometheus");

app.setting("prometheus_url", "Prometheus's address (its HTTP API is under /api/v1/); allow it in [[apps.stores.http.allow]]",
  { default: "http://127.0.0.1:9090" });
app.setting("top", "PromQL for `/spy stores top`: one value per store; $n is how many, $window the window asked for",
  { default: "topk($n, sum by (store) (increase(shop_orders_total[$window])))" });
app.setting("traffic", "PromQL for `/spy traffic`, charted over the window asked for; $rate is the rate window that suits the chart's step ($step)",
  { default: "sum(rate(shop_visitors_total[$rate]))" });
app.setting("checkouts", "PromQL for `/spy checkouts`, charted like traffic",
  { default: "sum(rate(shop_checkouts_total[$rate]))" });
app.setting("top_label", "The label that names a store in the top query's results", { default: "store" });
app.setting("timeout_ms", "How long to wait for Prometheus, in milliseconds", { default: 4000 });

/** Charts drawn for one command at most (one per series the query gives). */
const MAX_SERIES = 8;

const base = () => baseUrl(settings.get("prometheus_url"));

function timeoutMs() {
  const ms = Number(settings.get("timeout_ms"));
  return Number.isInteger(ms) && ms > 0 ? ms : 4000;
}

/** The PromQL in a context line, for whoever wants to see what was asked. */
const queryContext = (setting, query) => context(clip(`\`${setting}\`: \`${query}\``, 2000));

// What people get wrong answers them; Prometheus's refusals and silences
// are answers too (with its own words); anything else is a failure.
function answer(fn) {
  return (req) => {
    try {
      return fn(req);
    } catch (e) {
      if (e instanceof UserError) return reply.ephemeral(e.message);
      if (e instanceof QueryError) {
        const text = `⚠️ ${e.message} — check the \`${e.setting}\` setting.`;
        return reply.ephemeral(clip(text), [
          section(clip(`⚠️ *Prometheus refused the query* (\`${e.errorType}\`) — check the \`${e.setting}\` setting:\n${codeBlock([e.error])}`)),
          queryContext(e.setting, e.query),
        ]);
      }
      if (e instanceof Trouble) return reply.ephemeral(clip(`⚠️ ${e.message}`));
      throw e;
    }
  };
}

/** Asks Prometheus; a refusal names the setting the query came from. */
function askFor(setting, endpoint, params) {
  try {
    return ask(base(), endpoint, params, timeoutMs());
  } catch (e) {
    if (e instanceof QueryError) e.setting = setting;
    throw e;
  }
}

const warningsContext = (warnings) =>
  warnings.length === 0 ? [] : [context(clip(`⚠️ Prometheus warns: ${warnings.join("; ")}`, 2000))];

app.command("/spy stores top", {
  description: "The most active stores, from Prometheus",
  usage: `[n] [window] — n from 1 to ${MAX_N} (${DEFAULT_N}), window like 5m, 1h, 1d (${DEFAULT_WINDOW})`,
}, answer(({ text }) => top(text)));

function top(text) {
  const { n, window } = parseTop(text);
  const query = substitute(settings.get("top"), { n, window: window.text, rate: window.text });
  const { data, warnings } = askFor("top", "query", { query });
  let rows;
  if (data.resultType === "vector") {
    const label = settings.get("top_label");
    rows = (data.result ?? []).map((s) => ({ name: labelText(s.metric, label), value: sampleValue(s.value?.[1]) }));
  } else if (data.resultType === "scalar") {
    rows = [{ name: "(scalar)", value: sampleValue(data.result?.[1]) }];
  } else {
    throw new Trouble(`The \`top\` query gives ${KINDS[data.resultType] ?? `\`${data.resultType}\``}; ` +
      "it must give one value per store (an instant vector), like `topk($n, sum by (store) (increase(shop_orders_total[$window])))`.");
  }
  // Highest first whatever order Prometheus answered in; NaN last.
  const rank = (v) => (Number.isNaN(v) ? -Infinity : v);
  rows.sort((a, b) => rank(b.value) > rank(a.value) ? 1 : rank(b.value) < rank(a.value) ? -1 : a.name.localeCompare(b.name));
  rows = rows.slice(0, n);
  if (rows.length === 0) {
    const said = `No store has data for the last ${window.text}: the \`top\` query matched nothing.`;
    return reply.ephemeral(said, [section(`🏪 ${said}`), queryContext("top", query), ...warningsContext(warnings)]);
  }
  const title = rows.length < n
    ? `🏪 *The ${rows.length} most active ${rows.length === 1 ? "store" : "stores"}* (of ${n} asked for) · last ${window.text}`
    : `🏪 *Top ${n} ${n === 1 ? "store" : "stores"}* · last ${window.text}`;
  const fallback = `Top stores, last ${window.text}: ${rows.map((r) => `${r.name} ${formatValue(r.value)}`).join(", ")}`;
  return reply.ephemeral(clip(fallback), [
    section(clip(`${title}\n${codeBlock(topLines(rows))}`)),
    queryContext("top", query),
    ...warningsContext(warnings),
  ]);
}

app.command("/spy traffic", {
  description: "Visitors over time, as a text chart from Prometheus",
  usage: `[window] — like 5m, 6h, 7d (${DEFAULT_WINDOW})`,
}, answer(({ text }) => chart("traffic", "📈 *Traffic*", text)));

app.command("/spy checkouts", {
  description: "Checkouts over time, as a text chart from Prometheus",
  usage: `[window] — like 5m, 6h, 7d (${DEFAULT_WINDOW})`,
}, answer(({ text }) => chart("checkouts", "🛒 *Checkouts*", text)));

function chart(setting, title, text) {
  const { window } = parseChart(setting, text);
  const step = stepFor(window.seconds);
  const end = Math.floor(clock.nowMs() / 1000);
  const start = end - step * POINTS;
  const query = substitute(settings.get(setting), {
    window: window.text,
    step: promDuration(step),
    rate: promDuration(rateFor(step)),
  });
  const { data, warnings } = askFor(setting, "query_range", { query, start, end, step });
  if (data.resultType !== "matrix") {
    throw new Trouble(`The \`${setting}\` query gives ${KINDS[data.resultType] ?? `\`${data.resultType}\``} over a range; ` +
      "it must give a range of samples (a matrix), like `sum(rate(shop_visitors_total[$rate]))`.");
  }
  const name = title.replace(/[^A-Za-z]/g, "");
  const series = (data.result ?? [])
    .map((s) => ({
      label: labelText(s.metric, null),
      values: (s.values ?? []).map(([t, v]) => [Number(t), sampleValue(v)]),
    }))
    .filter((s) => s.values.length > 0)
    .sort((a, b) => a.label.localeCompare(b.label));
  const span = `${utc(start, step < 60)} → ${utc(end, step < 60)} UTC, a point every ${humanDuration(step)}`;
  if (series.length === 0) {
    const said = `No data for the last ${window.text}: the \`${setting}\` query matched nothing.`;
    return reply.ephemeral(said, [section(`${title} · last ${window.text}\n${said}`), queryContext(setting, query), ...warningsContext(warnings)]);
  }
  const blocks = [section(`${title} · last ${window.text}${series.length > 1 ? ` · ${series.length} series` : ""}`)];
  const said = [];
  for (const s of series.slice(0, MAX_SERIES)) {
    const sum = summary(s.values);
    const line = sparkline(slotted(s.values, start, step, POINTS + 1));
    const stats = sum
      ? `min ${formatValue(sum.min)}  max ${formatValue(sum.max)}  last ${formatValue(sum.last)}`
      : "no finite values";
    const heading = series.length > 1 || s.label !== "(no labels)" ? `*${s.label}*\n` : "";
    blocks.push(section(clip(`${heading}${codeBlock([line, stats, span])}`)));
    said.push(`${series.length > 1 ? `${s.label}: ` : ""}${sum ? `last ${formatValue(sum.last)} (min ${formatValue(sum.min)}, max ${formatValue(sum.max)})` : "no values"}`);
  }
  if (series.length > MAX_SERIES) {
    blocks.push(context(`…and ${series.length - MAX_SERIES} more series; aggregate the \`${setting}\` query (\`sum(…)\`) to see one line.`));
  }
  blocks.push(queryContext(setting, query), ...warningsContext(warnings));
  return reply.ephemeral(clip(`${name}, last ${window.text}: ${said.join("; ")}`), blocks);
}

// What people say to `@botyard` for these (English and Korean); all of
// them only read, so plain words runs them at once.
const WINDOW_SLOT = { kind: "duration", optional: true };
app.phrase("/spy stores top {n} [{window}]", {
  aliases: ["top stores", "busiest stores", "best stores", "most orders", "상위 매장", "매장 순위", "매장"],
  examples: ["the top {n} stores over the last {window}", "which stores sold the most", "상위 매장 {n}개"],
  slots: { n: { kind: "number", default: 10 }, window: WINDOW_SLOT },
  readOnly: true,
});
app.phrase("/spy traffic [{window}]", {
  aliases: ["traffic", "visitors", "visits", "트래픽", "방문자"],
  examples: ["how many visitors in the last {window}", "traffic over {window}", "{window} 트래픽"],
  slots: { window: WINDOW_SLOT },
  readOnly: true,
});
app.phrase("/spy checkouts [{window}]", {
  aliases: ["checkouts", "orders", "purchases", "결제", "주문"],
  examples: ["checkouts over the last {window}", "how many orders in {window}", "{window} 결제 건수"],
  slots: { window: WINDOW_SLOT },
  readOnly: true,
});

export default app;
