// Prometheus's HTTP API (`/api/v1/query`, `/api/v1/query_range`), over
// botyard's `http` capability. Every answer is read as Prometheus documents
// its envelope:
//
//   { "status": "success" | "error", "data": …,
//     "errorType": "bad_data" | "execution" | "timeout" | …, "error": "…",
//     "warnings": ["…"] }
//
// with `data` = { "resultType": "vector" | "matrix" | "scalar" | "string",
// "result": … } and every sample value a [unix_seconds, "text"] pair (text,
// so NaN and ±Inf survive JSON). An error envelope comes with a 4xx/5xx
// status (400 for a query that does not parse, 422 for one that cannot be
// executed, 503 for a timeout or an aborted query), so the body is read
// whatever the status.

import { fetch, HttpError } from "botyard";

/**
 * Prometheus could not be asked, or did not answer as Prometheus does: the
 * message says which, for the person who asked (and whoever runs it).
 */
export class Trouble extends Error {}

/**
 * Prometheus answered with its error envelope: `errorType` and `error` are
 * Prometheus's own words.
 */
export class QueryError extends Error {
  constructor(errorType, error, query) {
    super(`Prometheus refused the query (${errorType}): ${error}`);
    this.errorType = errorType;
    this.error = error;
    this.query = query;
  }
}

/** `prometheus_url` without a trailing slash (and without `/api/v1`, if given). */
export function baseUrl(setting) {
  return String(setting ?? "").trim().replace(/\/+$/, "").replace(/\/api\/v1$/, "");
}

function encode(params) {
  return Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join("&");
}

/**
 * GETs `/api/v1/<endpoint>?<params>` from the Prometheus at `base` and
 * returns `{data, warnings}` from a success envelope. Throws a QueryError
 * for an error envelope, a Trouble for anything else.
 */
export function ask(base, endpoint, params, timeoutMs) {
  if (!/^https?:\/\//i.test(base)) {
    throw new Trouble(`The \`prometheus_url\` setting is \`${base || "(empty)"}\`, not an http(s) URL like \`http://127.0.0.1:9090\`.`);
  }
  const url = `${base}/api/v1/${endpoint}?${encode(params)}`;
  let res;
  try {
    res = fetch(url, { headers: { Accept: "application/json" }, timeout: timeoutMs });
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    switch (e.kind) {
      case "timeout":
        throw new Trouble(`Prometheus at ${base} did not answer within ${timeoutMs} ms (${e.message}).`);
      case "not-allowed":
        throw new Trouble(`This app may not reach Prometheus at ${base}: ${e.message}`);
      case "too-many":
        throw new Trouble(`Too many requests to Prometheus just now: ${e.message}`);
      case "too-large":
        throw new Trouble(`Prometheus's answer was too large: ${e.message}`);
      default:
        throw new Trouble(`Prometheus at ${base} did not answer: ${e.message}`);
    }
  }
  let body = null;
  try {
    body = res.json();
  } catch {
    body = null;
  }
  if (body && typeof body === "object" && body.status === "error") {
    throw new QueryError(String(body.errorType ?? "error"), String(body.error ?? "(no error text)"), params.query);
  }
  if (!res.ok) {
    const text = res.text().trim().slice(0, 200);
    const hint = res.status === 404 ? " — is `prometheus_url` the server's address, like `http://127.0.0.1:9090`?" : "";
    throw new Trouble(`Prometheus at ${base} answered HTTP ${res.status}${text ? `: ${text}` : ""}${hint}`);
  }
  if (!body || typeof body !== "object" || body.status !== "success" || !body.data || typeof body.data !== "object") {
    throw new Trouble(`${url.split("?")[0]} did not answer as Prometheus's API does (no \`"status": "success"\` with \`data\`): ${res.text().trim().slice(0, 200)}`);
  }
  return { data: body.data, warnings: Array.isArray(body.warnings) ? body.warnings.map(String) : [] };
}

/** A sample's value, as Prometheus writes it (`"1.5"`, `"NaN"`, `"+Inf"`). */
export function sampleValue(text) {
  switch (String(text)) {
    case "+Inf":
    case "Inf":
      return Infinity;
    case "-Inf":
      return -Infinity;
    default:
      return Number(text);
  }
}

/** The kind of result, in words, for a message about the wrong one. */
export const KINDS = {
  vector: "an instant vector",
  matrix: "a range vector",
  scalar: "a scalar",
  string: "a string",
};
