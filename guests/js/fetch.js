// `fetch` for botyard apps: the web's, over botyard's `http` capability, but
// synchronous — handlers are (every capability answers at once), so the
// Response it returns and its `text()`, `json()` and `arrayBuffer()` are
// values, not promises.
//
// An app that imports `fetch` from "botyard" gets this module, and with it
// `globalThis.fetch` (for libraries written against the web's); its
// component then imports `http`, which the operator must grant. The build
// treats this module as free of side effects, so an app that never imports
// `fetch` does not contain it, imports no `http`, and its `globalThis.fetch`
// only throws the reason (see botyard.js).

import * as httpApi from "botyard:app/http@0.1.0";

import { errPayload, utf8Decode, utf8Encode } from "./internal.js";

/** Marks the real fetch, so botyard.js does not replace it with the stub. */
export const FETCH = Symbol.for("botyard.fetch");

const OPTIONS = ["method", "headers", "body", "json", "timeout"];

// The web's options that mean nothing here; accepted so code written for the
// web runs unchanged.
const WEB_OPTIONS = [
  "mode", "credentials", "cache", "redirect", "referrer", "referrerPolicy", "integrity",
  "keepalive", "signal", "priority", "window", "duplex",
];

/**
 * The host had no response for a request: `message` is the host's reason
 * (a URL no rule allows names the rule to add), `kind` the WIT's case:
 * `not-allowed`, `invalid-request`, `timeout`, `too-large`, `too-many` or
 * `transport`.
 */
export class HttpError extends Error {
  /**
   * @param {string} message
   * @param {string} kind
   */
  constructor(message, kind) {
    super(message);
    this.name = "HttpError";
    this.kind = kind;
  }
}

/**
 * Response headers, as the web's `Headers`: names in any case.
 */
export class Headers {
  #pairs;

  /** @param {[string, string][] | Record<string, string>} [init] */
  constructor(init = []) {
    this.#pairs = headerPairs(init, "new Headers");
  }

  /**
   * Every value of header `name` (any case) joined with `, `, or null.
   * @param {string} name
   * @returns {string | null}
   */
  get(name) {
    const wanted = String(name).toLowerCase();
    const values = this.#pairs.filter(([k]) => k.toLowerCase() === wanted).map(([, v]) => v);
    return values.length === 0 ? null : values.join(", ");
  }

  /** @param {string} name */
  has(name) {
    return this.get(name) !== null;
  }

  /** `[name, value]` per header name, lowercased and sorted, as the web's. */
  *entries() {
    const names = [...new Set(this.#pairs.map(([k]) => k.toLowerCase()))].sort();
    for (const name of names) yield [name, this.get(name)];
  }

  *keys() {
    for (const [name] of this.entries()) yield name;
  }

  *values() {
    for (const [, value] of this.entries()) yield value;
  }

  /** @param {(value: string, name: string, headers: Headers) => void} fn */
  forEach(fn) {
    for (const [name, value] of this.entries()) fn(value, name, this);
  }

  [Symbol.iterator]() {
    return this.entries();
  }
}

/**
 * What answered a {@link fetch}: `status`, `ok` (2xx), `url` (after any
 * redirects), `headers`, and the body, read at once.
 */
export class Response {
  #body;

  constructor(response) {
    /** @type {number} */
    this.status = response.status;
    /** @type {boolean} */
    this.ok = response.status >= 200 && response.status < 300;
    this.statusText = "";
    /** @type {string} */
    this.url = response.url;
    /** @type {Headers} */
    this.headers = new Headers(response.headers);
    this.#body = response.body instanceof Uint8Array ? response.body : Uint8Array.from(response.body ?? []);
  }

  /** The body as text (UTF-8). @returns {string} */
  text() {
    return utf8Decode(this.#body);
  }

  /** The body parsed as JSON. */
  json() {
    return JSON.parse(this.text());
  }

  /** The body's bytes, as a fresh ArrayBuffer. @returns {ArrayBuffer} */
  arrayBuffer() {
    return this.#body.slice().buffer;
  }

  /** The body's bytes. @returns {Uint8Array} */
  bytes() {
    return this.#body.slice();
  }
}

/**
 * Sends an HTTP request through botyard's `http` capability and returns
 * the {@link Response} — synchronously: no `await`.
 *
 * ```js
 * const res = fetch("https://api.example.com/items?page=2", {
 *   headers: { Accept: "application/json" },
 *   timeout: 2000,
 * });
 * if (!res.ok) throw new Error(`the API answered ${res.status}`);
 * const items = res.json();
 *
 * fetch("https://api.example.com/items", { method: "POST", json: { name: "pho" } });
 * ```
 *
 * Only URLs the operator allowed are reached, with the credentials the
 * operator attached added by the host. Any status is a response; when there
 * is none it throws an {@link HttpError} whose message is the host's.
 *
 * @param {string | {url: string}} resource The URL.
 * @param {object} [init]
 * @param {string} [init.method] `GET` (the default, or `POST` with a body),
 *   `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`.
 * @param {Record<string, string> | [string, string][]} [init.headers]
 * @param {string | Uint8Array | ArrayBuffer} [init.body] Text is sent as UTF-8
 *   (`Content-Type: text/plain;charset=UTF-8` unless set).
 * @param {any} [init.json] Sent as JSON (`Content-Type: application/json` unless set).
 * @param {number} [init.timeout] Milliseconds to wait at most.
 * @returns {Response}
 */
export function fetch(resource, init = {}) {
  const url = String(resource?.url ?? resource?.href ?? resource);
  if (init === null || typeof init !== "object") throw new TypeError("fetch(url, init): init is an object");
  for (const key of Object.keys(init)) {
    if (!OPTIONS.includes(key) && !WEB_OPTIONS.includes(key)) {
      throw new TypeError(`fetch(${url}): unknown option \`${key}\`; botyard's fetch takes ${OPTIONS.join(", ")}`);
    }
  }
  const headers = headerPairs(init.headers ?? resource?.headers ?? [], `fetch(${url})`);
  const hasHeader = (name) => headers.some(([k]) => k.toLowerCase() === name);
  let body = null;
  if (init.json !== undefined) {
    if (init.body !== undefined && init.body !== null) {
      throw new TypeError(`fetch(${url}): give body or json, not both`);
    }
    body = utf8Encode(JSON.stringify(init.json));
    if (!hasHeader("content-type")) headers.push(["Content-Type", "application/json"]);
  } else if (init.body !== undefined && init.body !== null) {
    body = bodyBytes(init.body, url);
    if (typeof init.body === "string" && !hasHeader("content-type")) {
      headers.push(["Content-Type", "text/plain;charset=UTF-8"]);
    }
  }
  const method = String(init.method ?? resource?.method ?? (body === null ? "GET" : "POST")).toUpperCase();
  if (body !== null && (method === "GET" || method === "HEAD")) {
    throw new TypeError(`fetch(${url}): a ${method} request cannot have a body`);
  }
  const timeout = init.timeout;
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) {
    throw new TypeError(`fetch(${url}): timeout is a number of milliseconds, got ${JSON.stringify(timeout)}`);
  }
  let response;
  try {
    response = httpApi.send({ method, url, headers, body, timeoutMs: timeout ?? null });
  } catch (thrown) {
    // The import's `err`: the WIT variant, `{tag, val}`.
    const e = errPayload(thrown);
    if (e instanceof Error) throw e;
    throw new HttpError(String(e?.val ?? e?.tag ?? e), String(e?.tag ?? "transport"));
  }
  return new Response(response);
}
fetch[FETCH] = true;

// Code written for the web calls the global one.
globalThis.fetch = fetch;

function bodyBytes(body, url) {
  if (typeof body === "string") return utf8Encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError(
    `fetch(${url}): body is a string, a Uint8Array or an ArrayBuffer; send an object as JSON with \`json: value\``);
}

// Headers given as an object, pairs, a Map or a Headers: [name, value] pairs.
function headerPairs(init, where) {
  if (init === null || typeof init !== "object") {
    throw new TypeError(`${where}: headers are an object or [name, value] pairs`);
  }
  const entries = Symbol.iterator in init ? [...init] : Object.entries(init);
  return entries.map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new TypeError(`${where}: each header is a [name, value] pair, got ${JSON.stringify(pair)}`);
    }
    return [String(pair[0]), String(pair[1])];
  });
}
