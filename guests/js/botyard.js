/**
 * botyard's JavaScript SDK: a thin layer over the `botyard:app` bindings that
 * componentize-qjs generates. Apps run on QuickJS: the ECMAScript built-ins,
 * no Node.js or web APIs, and handlers are synchronous — every capability
 * (store, slack, schedule, …) answers at once, so there is nothing to await.
 *
 * An app registers its handlers on an {@link App}, the way Slack's Bolt does,
 * and its entry module exports it as the default:
 *
 * ```js
 * import { App, reply, store } from "botyard";
 *
 * const app = new App("hello", "Greets you");
 *
 * app.command("/hello", "Say hello", ({ context }) => {
 *   const n = store.increment(`calls/${context.userId}`);
 *   return reply.ephemeral(`Hello! That makes ${n}.`);
 * });
 *
 * export default app;
 * ```
 *
 * What the app answers to (`describe`) is derived from the registrations.
 * `botyard build` bundles the app with esbuild, resolving `"botyard"` to this
 * file, exports the app's handlers as the component's `handler` and trigger
 * interfaces, and keeps only the capabilities the app actually uses as
 * component imports, so an app that never touches `slack` needs no `slack`
 * grant.
 *
 * Field names follow the WIT in camelCase (`context.userId`, `actionId`);
 * Block Kit objects use Slack's own snake_case JSON.
 *
 * @module botyard
 */

import * as slackApi from "botyard:app/slack@0.1.0";
import * as storeApi from "botyard:app/store@0.1.0";
import * as scheduleApi from "botyard:app/schedule@0.1.0";
import * as logApi from "botyard:app/log@0.1.0";
import * as clockApi from "botyard:app/clock@0.1.0";
import * as settingsApi from "botyard:app/settings@0.1.0";

import { errPayload, utf8Decode, utf8Encode } from "./internal.js";

export { fetch, HttpError } from "./fetch.js";
export { knownZone, offsetMinutes } from "./zones.js";

// An app reaches the network only through `fetch` imported from here, which
// installs itself as `globalThis.fetch` too and makes the component import
// `http` (see fetch.js). Any other app has no network: its global fetch
// says why, and how to get one.
// (The mark is fetch.js's `FETCH`, spelt out: importing it would keep fetch.js.)
if (!globalThis.fetch?.[Symbol.for("botyard.fetch")]) {
  globalThis.fetch = (resource) => {
    throw new TypeError(`fetch(${resource?.url ?? resource}): botyard apps have no network access unless ` +
      'they import fetch from "botyard" (and the operator grants them http)');
  };
}

// ---------------------------------------------------------------------------
// Types (JSDoc, for editors)

/**
 * @typedef {object} Context Who acted, and where.
 * @property {string} userId Slack user id (`U…`).
 * @property {string} channelId Channel id (`C…`, `D…`); empty for App Home and global shortcuts.
 * @property {string | null} triggerId Present when a modal may be opened (~3 s).
 */

/**
 * @typedef {object} CommandRequest
 * @property {string} command The command with its slash: `/hello` (`/spy` for `/spy status`).
 * @property {string | null} subcommand For umbrella commands, the subcommand: a word (`status`) or the path registered (`servers stop`).
 * @property {string} text Everything after the command (and subcommand), trimmed.
 * @property {Context} context
 */

/**
 * @typedef {object} MessageRef A posted message.
 * @property {string} channel
 * @property {string} ts
 */

/**
 * @typedef {object} ActionRequest A click on an element the app posted.
 * @property {string} actionId The `action_id` as the app wrote it.
 * @property {string | null} blockId
 * @property {string | null} value Button value, selected option value, date …
 * @property {MessageRef | null} message The message holding the element.
 * @property {Context} context
 */

/**
 * @typedef {object} ViewSubmission A submitted modal.
 * @property {string} callbackId
 * @property {string} viewId
 * @property {string} values Slack's `view.state.values` as JSON text; see {@link formValues}.
 * @property {string} privateMetadata
 * @property {Context} context
 */

/**
 * @typedef {object} ViewClosed A modal opened with `notifyOnClose` that the user closed.
 * @property {string} callbackId
 * @property {string} viewId
 * @property {string} values Slack's `view.state.values` as JSON text; see {@link formValues}.
 * @property {string} privateMetadata
 * @property {boolean} isCleared Whether the whole stack of modals was closed.
 * @property {Context} context `channelId` is empty and `triggerId` null.
 */

/**
 * @typedef {object} SlackEvent An Events API event the app subscribed to.
 * @property {string} eventType `app_mention`, `reaction_added`, …
 * @property {string} eventId
 * @property {string} payload The inner `event` object as JSON text.
 * @property {any} data `payload`, parsed.
 */

/**
 * @typedef {object} Tick A schedule or a `schedule.once` tick that is due.
 * @property {string} name
 * @property {number} dueMs When it was due, in Unix milliseconds.
 */

/**
 * @typedef {object} ShortcutRequest Someone used one of the app's shortcuts.
 * @property {string} callbackId The shortcut's id as the app registered it.
 * @property {"global" | "message"} kind
 * @property {{target: MessageRef, user: string, text: string} | null} message
 *   For message shortcuts, the message it was used on.
 * @property {Context} context `triggerId` is always present: shortcuts usually open a modal.
 */

/**
 * @typedef {object} WebhookRequest A delivery to one of the app's webhooks.
 * @property {string} name Which webhook.
 * @property {string} deliveryId The sender's delivery id (a redelivery carries the same).
 * @property {number} attempt 1 for the first try.
 * @property {string} contentType
 * @property {[string, string][]} headers As received, less the credentials the host checked.
 * @property {Uint8Array} body
 * @property {() => string} text The body as text (UTF-8).
 * @property {() => any} json The body parsed as JSON.
 * @property {(name: string) => string | null} header The first value of a header, any case.
 */

/**
 * @typedef {object} Message
 * @property {string} text Notification / fallback text.
 * @property {string | null} blocks Block Kit JSON array, as text.
 */

/**
 * @typedef {object} Reply A direct answer to the person who acted.
 * @property {"ephemeral" | "in-channel"} visibility
 * @property {Message} message
 */

/** @typedef {Record<string, any>} Block A Block Kit block or element (Slack's JSON). */

/** @typedef {Block[] | string} Blocks An array of blocks, or one already as JSON text. */

// ---------------------------------------------------------------------------
// The app: registrations, the routing they make, and `describe` derived
// from them.

const NAME = /^[a-z0-9-]+$/;
/** Words a subcommand may have after its umbrella (the host's limit). */
const MAX_SUBCOMMAND_WORDS = 3;

// What a request of each kind is called in a "has no handler" error.
const KINDS = {
  command: "command",
  action: "action",
  view: "view",
  viewClosed: "view_closed",
  event: "event",
  tick: "tick",
  shortcut: "shortcut",
  webhook: "webhook",
  setting: "setting",
};

// A webhook's name: the last part of its path, `/hooks/<app>/<name>`.
const WEBHOOK_NAME = /^[a-z0-9_-]+$/;

// A setting's name: a TOML bare key, so the operator writes it unquoted.
const SETTING_NAME = /^[A-Za-z0-9_-]+$/;

// The app handling the request: whose declared settings `settings.get`
// falls back on.
let current = null;

const SHORTCUT_KINDS = ["global", "message"];

// An App's duplicate registrations, for the build (not exported).
const DUPLICATES = Symbol("duplicates");

// An App's declared defaults, for `settings` (not exported).
const DEFAULTS = Symbol("defaults");
const DEFAULTED = Symbol("defaulted");

/**
 * One kind of id (action ids, callback ids, tick names …): exact ids, and
 * prefixes registered as `"vote:*"`. An exact id wins over a prefix; the
 * longest prefix wins over a shorter one.
 */
class Routes {
  constructor(kind) {
    this.kind = kind;
    /** @type {Map<string, {fn: Function, at: string}>} */
    this.exact = new Map();
    /** @type {{prefix: string, fn: Function, at: string}[]} longest first */
    this.prefixes = [];
  }

  /** Adds `id`; when it is taken already, adds nothing and returns where the first was registered. */
  add(id, fn, at) {
    if (id.endsWith("*")) {
      const prefix = id.slice(0, -1);
      const taken = this.prefixes.find((p) => p.prefix === prefix);
      if (taken) return taken.at;
      this.prefixes.push({ prefix, fn, at });
      this.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
    } else {
      const taken = this.exact.get(id);
      if (taken) return taken.at;
      this.exact.set(id, { fn, at });
    }
    return undefined;
  }

  find(id) {
    return this.exact.get(id)?.fn ?? this.prefixes.find((p) => id.startsWith(p.prefix))?.fn;
  }
}

/**
 * A botyard app: handlers registered by what Slack routes by, as in Bolt.
 * Every registration takes the id first and the handler last; what the app
 * answers to (`describe`) is derived from them.
 *
 * Handlers are synchronous and take one argument, the request. A handler
 * that throws answers the acting user with the error's message. A request
 * with no registered handler is an error naming it
 * (``app `hello` has no handler for action `colour` ``).
 *
 * End the entry module with `export default app`.
 */
export class App {
  #name;
  #description;
  /** @type {Map<string, {name: string, description: string, usage: string, fn: Function, at: string}>} */
  #commands = new Map();
  /** @type {Map<string, {umbrella: string, name: string, description: string, usage: string, fn: Function, at: string}>} */
  #subcommands = new Map();
  /** @type {Map<string, {fn: Function, at: string}>} */
  #events = new Map();
  /** @type {Map<string, {cron: string, at: string}>} */
  #schedules = new Map();
  #actions = new Routes(KINDS.action);
  #views = new Routes(KINDS.view);
  #viewsClosed = new Routes(KINDS.viewClosed);
  #ticks = new Routes(KINDS.tick);
  #shortcuts = new Routes(KINDS.shortcut);
  /** @type {{callbackId: string, kind: string, name: string, description: string}[]} */
  #shortcutSpecs = [];
  /** @type {Map<string, {description: string, fn: Function, at: string}>} */
  #webhooks = new Map();
  /** @type {Map<string, {description: string, default: string | null, required: boolean, at: string}>} */
  #settings = new Map();
  #phrases = [];
  /** @type {{kind: string, id: string, first: string, second: string}[]} ids registered twice: what `describe` refuses the app for */
  #duplicates = [];

  /**
   * @param {string} name Short stable name, `[a-z0-9-]`: the app's storage
   *   namespace and what its errors are signed with.
   * @param {string} [description] One line on what it does.
   */
  constructor(name, description = "") {
    check(typeof name === "string" && NAME.test(name),
      `new App(name, description): the name must be a short name of [a-z0-9-], got ${JSON.stringify(name)}`);
    check(typeof description === "string",
      `new App(${JSON.stringify(name)}, description): the description must be a string, got ${typeof description}`);
    this.#name = name;
    this.#description = description;
  }

  /** The app's name. */
  get name() {
    return this.#name;
  }

  /**
   * A slash command (`"/hello"`) or, with a space, a subcommand of a shared
   * umbrella command (`"/spy status"` answers `/spy status …`).
   *
   * ```js
   * app.command("/hello", "Say hello", hello);
   * app.command("/hello", { description: "Say hello", usage: "[name]" }, hello);
   * app.command("/spy status", "Queue status", status);
   * app.command("/spy servers stop", { description: "Stop servers", usage: "<name> [dc]" }, stop);
   * ```
   *
   * The handler receives a {@link CommandRequest} and returns a
   * `reply.inChannel(…)` / `reply.ephemeral(…)`, a string (an ephemeral
   * reply), or nothing (acknowledged silently).
   *
   * @param {string} name The command with its slash, and the subcommand (up to three words: `"/spy servers stop"`) if any.
   * @param {string | {description?: string, usage?: string} | ((req: CommandRequest) => any)} spec
   *   Its description (Slack's autocomplete, `/umbrella help`), or
   *   `{ description, usage }`; may be left out.
   * @param {(req: CommandRequest) => any} [fn]
   * @returns {this}
   */
  command(name, spec, fn) {
    const at = callSite();
    if (fn === undefined && typeof spec === "function") [spec, fn] = [undefined, spec];
    const where = `app.command(${JSON.stringify(name)})`;
    check(typeof name === "string", `app.command(name, …): the name must be a string like "/hello", got ${typeof name}`);
    const words = name.trim().split(/\s+/);
    check(words[0].startsWith("/") && words[0].length > 1 && words.length <= 1 + MAX_SUBCOMMAND_WORDS,
      `${where}: a command is "/name", or "/umbrella sub" for a subcommand of a shared umbrella command — up to ${MAX_SUBCOMMAND_WORDS} words after the umbrella, as in "/spy servers stop"`);
    const { description, usage } = commandSpec(where, spec);
    handlerFunction(where, fn);
    if (words.length === 1) {
      const taken = this.#commands.get(words[0]);
      if (taken) return this.#duplicate(KINDS.command, words[0], taken.at, at);
      this.#commands.set(words[0], { name: words[0], description, usage, fn, at });
    } else {
      const key = words.join(" ");
      const taken = this.#subcommands.get(key);
      if (taken) return this.#duplicate(KINDS.command, key, taken.at, at);
      this.#subcommands.set(key, { umbrella: words[0], name: words.slice(1).join(" "), description, usage, fn, at });
    }
    return this;
  }

  /**
   * Clicks on a button, select or other element the app posted with this
   * `action_id`; `"vote:*"` receives every id starting with `vote:`.
   * The handler receives an {@link ActionRequest} and returns
   * `reply.update(…)` (replace the message), a reply, a string, or nothing.
   * @param {string} actionId
   * @param {(req: ActionRequest) => any} fn
   * @returns {this}
   */
  action(actionId, fn) {
    return this.#route(this.#actions, "app.action", actionId, fn, callSite());
  }

  /**
   * Submissions of a modal the app opened with this `callbackId` (or
   * prefix, `"order:*"`). The handler receives a {@link ViewSubmission} and
   * returns a {@link modalResponse} value, or nothing (the modal closes).
   * @param {string} callbackId
   * @param {(sub: ViewSubmission) => any} fn
   * @returns {this}
   */
  view(callbackId, fn) {
    return this.#route(this.#views, "app.view", callbackId, fn, callSite());
  }

  /**
   * A modal with this `callbackId` (or prefix) was closed without
   * submitting; Slack reports it only for modals opened with
   * `notifyOnClose: true`. The handler receives a {@link ViewClosed}.
   * @param {string} callbackId
   * @param {(closed: ViewClosed) => void} fn
   * @returns {this}
   */
  viewClosed(callbackId, fn) {
    return this.#route(this.#viewsClosed, "app.viewClosed", callbackId, fn, callSite());
  }

  /**
   * Events API events of this type (`"app_mention"`, `"reaction_added"` …);
   * registering one subscribes the app to it. The handler receives a
   * {@link SlackEvent}.
   * @param {string} eventType
   * @param {(event: SlackEvent) => void} fn
   * @returns {this}
   */
  event(eventType, fn) {
    const at = callSite();
    const where = `app.event(${JSON.stringify(eventType)})`;
    check(typeof eventType === "string" && eventType.length > 0 && !eventType.includes("*"),
      `app.event(type, fn): the type is one Events API type like "app_mention", got ${JSON.stringify(eventType)}`);
    check(eventType !== "view_closed", `${where}: register a closed modal with app.viewClosed(callbackId, fn)`);
    handlerFunction(where, fn);
    const taken = this.#events.get(eventType);
    if (taken) return this.#duplicate(KINDS.event, eventType, taken.at, at);
    this.#events.set(eventType, { fn, at });
    return this;
  }

  /**
   * A recurring tick: `fn` runs at every time `cron` names (UTC, five fields
   * `"0 11 * * 1-5"`, or six with leading seconds). The handler receives a
   * {@link Tick}.
   * @param {string} name
   * @param {string} cron
   * @param {(tick: Tick) => void} fn
   * @returns {this}
   */
  schedule(name, cron, fn) {
    const at = callSite();
    const where = `app.schedule(${JSON.stringify(name)})`;
    check(typeof name === "string" && name.length > 0 && !name.includes("*"),
      `app.schedule(name, cron, fn): the name must be a plain string, got ${JSON.stringify(name)}`);
    check(typeof cron === "string" && [5, 6].includes(cron.trim().split(/\s+/).length),
      `${where}: cron must have five fields ("0 11 * * 1-5") or six (leading seconds), got ${JSON.stringify(cron)}`);
    handlerFunction(where, fn);
    // A schedule's ticks arrive by its name, like `schedule.once` ticks.
    const first = this.#ticks.add(name, fn, at);
    if (first) return this.#duplicate(KINDS.tick, name, first, at);
    this.#schedules.set(name, { cron: cron.trim(), at });
    return this;
  }

  /**
   * Ticks from `schedule.once(name, at)` with this name, or every name
   * starting with a prefix: `"close:*"`. The handler receives a {@link Tick}.
   * @param {string} name
   * @param {(tick: Tick) => void} fn
   * @returns {this}
   */
  tick(name, fn) {
    return this.#route(this.#ticks, "app.tick", name, fn, callSite());
  }

  /**
   * A global shortcut (the shortcuts menu) or, with `kind: "message"`, a
   * message shortcut (a message's "More actions" menu). The handler receives
   * a {@link ShortcutRequest}; shortcuts usually open a modal with
   * `slack.openView(request.context.triggerId, …)`.
   *
   * ```js
   * app.shortcut("triage", { name: "Send to a team", kind: "message" }, triage);
   * ```
   *
   * @param {string} callbackId Stable id, `[a-z0-9_-]`.
   * @param {{name: string, description?: string, kind?: "global" | "message"}} spec
   *   `name` (up to 24 characters) is shown in Slack's menu, `description`
   *   (up to 150) beside it; `kind` defaults to `"global"`.
   * @param {(req: ShortcutRequest) => void} fn
   * @returns {this}
   */
  shortcut(callbackId, spec, fn) {
    const at = callSite();
    const where = `app.shortcut(${JSON.stringify(callbackId)})`;
    check(typeof callbackId === "string" && /^[a-z0-9_-]+$/.test(callbackId),
      `app.shortcut(callbackId, spec, fn): the id must be of [a-z0-9_-] (Slack lists each shortcut, so no "*"), ` +
      `got ${JSON.stringify(callbackId)}`);
    check(spec !== null && typeof spec === "object",
      `${where}: the second argument is { name, description?, kind? }`);
    for (const key of Object.keys(spec)) {
      check(["name", "description", "kind"].includes(key),
        `${where}: unknown option \`${key}\`; a shortcut takes name, description and kind`);
    }
    const { name, description = "", kind = "global" } = spec;
    check(typeof name === "string" && name.length > 0 && name.length <= 24,
      `${where}: name is what Slack's menu shows, 1 to 24 characters, got ${JSON.stringify(name)}`);
    check(typeof description === "string" && description.length <= 150,
      `${where}: description is one line of up to 150 characters`);
    check(SHORTCUT_KINDS.includes(kind), `${where}: kind is "global" or "message", got ${JSON.stringify(kind)}`);
    handlerFunction(where, fn);
    const first = this.#shortcuts.add(callbackId, fn, at);
    if (first) return this.#duplicate(KINDS.shortcut, callbackId, first, at);
    this.#shortcutSpecs.push({ callbackId, kind, name, description });
    return this;
  }

  /**
   * A webhook, served by the host at `POST /hooks/<app>/<name>` once the
   * operator configures who may call it. The handler receives a
   * {@link WebhookRequest} — `body` (bytes), `text()`, `json()`,
   * `header(name)` — and returns nothing when done; throwing asks the host
   * to try again later (the same `deliveryId`, a higher `attempt`).
   *
   * ```js
   * app.webhook("github", "Pushes and PRs", (req) => {
   *   slack.postMessage(settings.get("channel"), `${req.header("X-GitHub-Event")} from ${req.json().sender.login}`);
   * });
   * ```
   *
   * @param {string} name `[a-z0-9_-]`: the last part of its path.
   * @param {string | ((req: WebhookRequest) => void)} description What it receives; may be left out.
   * @param {(req: WebhookRequest) => void} [fn]
   * @returns {this}
   */
  webhook(name, description, fn) {
    const at = callSite();
    if (fn === undefined && typeof description === "function") [description, fn] = ["", description];
    const where = `app.webhook(${JSON.stringify(name)})`;
    check(typeof name === "string" && WEBHOOK_NAME.test(name),
      `app.webhook(name, description, fn): the name is the last part of the webhook's path, of [a-z0-9_-], ` +
      `got ${JSON.stringify(name)}`);
    check(typeof description === "string", `${where}: the description is a string, got ${typeof description}`);
    handlerFunction(where, fn);
    const taken = this.#webhooks.get(name);
    if (taken) return this.#duplicate(KINDS.webhook, name, taken.at, at);
    this.#webhooks.set(name, { description, fn, at });
    return this;
  }

  /**
   * A setting the app reads with `settings.get(name)`, declared so the host
   * can show it and refuse to load the app while a required one is missing.
   * While a handler runs, `settings.get(name)` answers the operator's value,
   * else `default`, else null.
   *
   * ```js
   * app.setting("channel", "Where to post", { default: "#general" });
   * app.setting("approver", "Who approves orders", { required: true });
   * ```
   *
   * @param {string} name A key of `[apps.<id>.settings]`: `[A-Za-z0-9_-]`.
   * @param {string} [description]
   * @param {{default?: any, required?: boolean}} [options] `default` is text
   *   as `settings.get` returns it; anything else is kept as JSON
   *   (`default: 0` reads back as `"0"`, and `settings.getJson` gives `0`).
   * @returns {this}
   */
  setting(name, description = "", options = {}) {
    const at = callSite();
    if (typeof description === "object" && description !== null) [description, options] = ["", description];
    const where = `app.setting(${JSON.stringify(name)})`;
    check(typeof name === "string" && SETTING_NAME.test(name),
      `app.setting(name, description, options): the name is a key of [apps.<id>.settings], of [A-Za-z0-9_-], ` +
      `got ${JSON.stringify(name)}`);
    check(typeof description === "string", `${where}: the description is a string, got ${typeof description}`);
    check(options !== null && typeof options === "object", `${where}: the options are { default, required }`);
    for (const key of Object.keys(options)) {
      check(key === "default" || key === "required",
        `${where}: unknown option \`${key}\`; a setting takes default and required`);
    }
    const { default: value, required = false } = options;
    check(typeof required === "boolean", `${where}: required is true or false`);
    const text = value === undefined || value === null ? null : typeof value === "string" ? value : JSON.stringify(value);
    const taken = this.#settings.get(name);
    if (taken) return this.#duplicate(KINDS.setting, name, taken.at, at);
    this.#settings.set(name, { description, default: text, required, at });
    return this;
  }

  /**
   * What people may say to `@botyard` for one of this app's commands. The
   * host matches every app's phrases, fills the slots from the words, and
   * answers with the command line it understood: a read-only one runs at
   * once, anything else is offered with a button, never run on its own.
   *
   * ```js
   * app.phrase("/po approve {po}", {
   *   aliases: ["approve", "승인"],
   *   examples: ["please approve {po}", "{po} 승인해줘"],
   *   slots: { po: { id: "PO-" } },
   * });
   * app.phrase("/spy stores top {count} {window}", {
   *   aliases: ["top stores"], readOnly: true,
   *   slots: { count: { kind: "number", default: 10 }, window: "duration" },
   * });
   * ```
   *
   * @param {string} line The command line, slots in braces; `[for {reason}]`
   *   is dropped when `reason` is empty.
   * @param {{aliases?: string[], examples?: string[], slots?: Record<string, any>, readOnly?: boolean}} options
   *   A slot is a kind — `"user"`, `"number"`, `"amount"`, `"duration"`,
   *   `"date"`, `"word"`, `"text"` — or `{ id: "PO-" }`, `{ pattern: "web-[0-9]+" }`,
   *   `{ choice: { month: ["month", "달"] } }`, each with `default` and
   *   `optional` beside it.
   * @returns {this}
   */
  phrase(line, options = {}) {
    const where = `app.phrase(${JSON.stringify(line)})`;
    check(typeof line === "string" && line.startsWith("/"), `app.phrase(line, options): the line is a command line like "/po approve {po}", got ${JSON.stringify(line)}`);
    check(options !== null && typeof options === "object", `${where}: the options are { aliases, examples, slots, readOnly }`);
    for (const key of Object.keys(options)) {
      check(["aliases", "examples", "slots", "readOnly"].includes(key),
        `${where}: unknown option \`${key}\`; a phrase takes aliases, examples, slots and readOnly`);
    }
    const texts = (name) => {
      const list = options[name] ?? [];
      check(Array.isArray(list) && list.every((t) => typeof t === "string"), `${where}: ${name} is a list of strings`);
      return [...list];
    };
    const slots = Object.entries(options.slots ?? {}).map(([name, spec]) => slotSpec(where, name, spec));
    this.#phrases.push({ line, aliases: texts("aliases"), examples: texts("examples"), slots, readOnly: !!options.readOnly });
    return this;
  }

  /**
   * The phrases the app declares: the WIT's `describe-phrases`.
   * @returns {object[]}
   */
  describePhrases() {
    return this.#phrases.map((p) => ({ ...p, slots: p.slots.map((s) => ({ ...s })) }));
  }

  #route(routes, method, id, fn, at) {
    const where = `${method}(${JSON.stringify(id)})`;
    check(typeof id === "string" && id.length > 0,
      `${method}(id, fn): the id must be a non-empty string, got ${JSON.stringify(id)}`);
    check(!id.slice(0, -1).includes("*"),
      `${where}: "*" may only end an id, to match every id starting with what comes before it`);
    handlerFunction(where, fn);
    const first = routes.add(id, fn, at);
    if (first) return this.#duplicate(routes.kind, id, first, at);
    return this;
  }

  #duplicate(kind, id, first, second) {
    this.#duplicates.push({ kind, id, first, second });
    return this;
  }

  [DUPLICATES]() {
    return this.#duplicates.map((p) => ({ ...p, text: `app \`${this.#name}\` registers ${p.kind} \`${p.id}\` twice` }));
  }

  /**
   * What the app answers to, derived from its registrations: the WIT's
   * `app-info`. Throws when a registration was made twice, so such a
   * version is refused at load (the build refuses it first).
   * @returns {object}
   */
  describe() {
    const duplicates = this[DUPLICATES]();
    if (duplicates.length > 0) {
      throw new Error(duplicates.map((d) => `${d.text} (${d.first} and ${d.second})`).join("; "));
    }
    const strip = ({ fn, at, ...spec }) => spec;
    const events = [...this.#events.keys()];
    if (this.#viewsClosed.exact.size + this.#viewsClosed.prefixes.length > 0) events.push("view_closed");
    return {
      name: this.#name,
      description: this.#description,
      commands: [...this.#commands.values()].map(strip),
      subcommands: [...this.#subcommands.values()].map(strip),
      events,
      schedules: [...this.#schedules].map(([name, { cron }]) => ({ name, cron })),
    };
  }

  /**
   * The shortcuts the app offers: the WIT's `describe-shortcuts`.
   * @returns {{callbackId: string, kind: string, name: string, description: string}[]}
   */
  describeShortcuts() {
    this.describe();
    return this.#shortcutSpecs.map((s) => ({ ...s }));
  }

  /**
   * The webhooks the app serves: the WIT's `describe-webhooks`.
   * @returns {{name: string, description: string}[]}
   */
  describeWebhooks() {
    this.describe();
    return [...this.#webhooks].map(([name, { description }]) => ({ name, description }));
  }

  /**
   * The settings the app declares: the WIT's `describe-settings`.
   * @returns {{name: string, description: string, default: string | null, required: boolean}[]}
   */
  describeSettings() {
    this.describe();
    return [...this.#settings].map(([name, s]) => ({
      name, description: s.description, default: s.default, required: s.required,
    }));
  }

  /** The default declared for setting `name`, if any (for `settings.get`). */
  [DEFAULTS](name) {
    return this.#settings.get(name)?.default ?? null;
  }

  /** The settings declared with a default (for `settings.names`). */
  [DEFAULTED]() {
    return [...this.#settings].filter(([, s]) => s.default !== null).map(([name]) => name);
  }

  // Runs `fn` as this app's request: `settings.get` sees its defaults, and
  // what it throws becomes the WIT's `err` (a string the user sees).
  #serve(fn) {
    return guarded((arg) => {
      current = this;
      return fn(arg);
    });
  }

  #missing(kind, id) {
    return new Error(`app \`${this.#name}\` has no handler for ${kind} \`${id}\``);
  }

  /**
   * The component's `handler` export. The build exports it (and
   * {@link App#shortcuts}) for an app module that ends `export default app`.
   */
  get handler() {
    return {
      describe: () => this.describe(),

      onCommand: this.#serve((req) => {
        const key = req.subcommand ? `${req.command} ${req.subcommand}` : req.command;
        const route = (req.subcommand ? this.#subcommands : this.#commands).get(key);
        if (!route) throw this.#missing(KINDS.command, key);
        return toCommandReply(run(route.fn, req));
      }),

      onAction: this.#serve((req) => {
        const fn = this.#actions.find(req.actionId);
        if (!fn) throw this.#missing(KINDS.action, req.actionId);
        return toActionResponse(run(fn, req));
      }),

      onViewSubmission: this.#serve((sub) => {
        const fn = this.#views.find(sub.callbackId);
        if (!fn) throw this.#missing(KINDS.view, sub.callbackId);
        return toViewResponse(run(fn, sub));
      }),

      onEvent: this.#serve((event) => {
        const data = JSON.parse(event.payload);
        if (event.eventType === "view_closed") {
          const callbackId = data.callback_id ?? "";
          const fn = this.#viewsClosed.find(callbackId);
          if (!fn) throw this.#missing(KINDS.viewClosed, callbackId);
          run(fn, {
            callbackId,
            viewId: data.view_id ?? "",
            values: JSON.stringify(data.values ?? {}),
            privateMetadata: data.private_metadata ?? "",
            isCleared: data.is_cleared === true,
            context: { userId: data.user_id ?? "", channelId: "", triggerId: null },
          });
          return;
        }
        const route = this.#events.get(event.eventType);
        if (!route) throw this.#missing(KINDS.event, event.eventType);
        run(route.fn, { ...event, data });
      }),

      onTick: this.#serve((tick) => {
        const fn = this.#ticks.find(tick.name);
        if (!fn) throw this.#missing(KINDS.tick, tick.name);
        run(fn, { name: tick.name, dueMs: Number(tick.dueMs) });
      }),
    };
  }

  /** The component's `shortcuts` export (see {@link App#handler}). */
  get shortcuts() {
    return {
      describeShortcuts: () => this.describeShortcuts(),

      onShortcut: this.#serve((req) => {
        const fn = this.#shortcuts.find(req.callbackId);
        if (!fn) throw this.#missing(KINDS.shortcut, req.callbackId);
        run(fn, req);
      }),
    };
  }

  /** The component's `webhooks` export (see {@link App#handler}). */
  get webhooks() {
    return {
      describeWebhooks: () => this.describeWebhooks(),

      onWebhook: this.#serve((req) => {
        const route = this.#webhooks.get(req.name);
        if (!route) throw this.#missing(KINDS.webhook, req.name);
        run(route.fn, webhookRequest(req));
      }),
    };
  }

  /** The component's `phrases` export (see {@link App#handler}). */
  get phrases() {
    return {
      describePhrases: () => this.describePhrases(),
    };
  }

  /** The component's `settings-schema` export (see {@link App#handler}). */
  get settingsSchema() {
    return {
      describeSettings: () => this.describeSettings(),
    };
  }
}

// What a webhook handler receives: the WIT record, and ways to read it.
function webhookRequest(req) {
  const body = req.body instanceof Uint8Array ? req.body : Uint8Array.from(req.body ?? []);
  return {
    name: req.name,
    deliveryId: req.deliveryId,
    attempt: req.attempt,
    contentType: req.contentType,
    headers: req.headers,
    body,
    text: () => utf8Decode(body),
    json: () => JSON.parse(utf8Decode(body)),
    header(name) {
      const wanted = String(name).toLowerCase();
      return req.headers.find(([k]) => k.toLowerCase() === wanted)?.[1] ?? null;
    },
  };
}

/**
 * Used by `botyard build`, not by apps: the component's exports (`handler`,
 * `shortcuts` …, named by `interfaces`) for the app module `module`, whose
 * default export must be an {@link App}. Runs at build time, so a module
 * without one, or an app with a duplicate registration, fails the build.
 * @param {Record<string, any>} module The app's entry module.
 * @param {string} entry The entry's file name, for errors.
 * @param {string[]} interfaces The exported interfaces, in camelCase.
 * @returns {Record<string, object>}
 */
export function componentExports(module, entry, interfaces) {
  const app = module.default;
  if (!(app instanceof App)) {
    const why = app !== undefined
      ? `its default export is ${describeValue(app)}, not an App`
      : "handler" in module
        ? "it exports `handler`, the style before App; register the handlers on an App instead"
        : "it has no default export";
    // A string, not an Error: the build shows it as it is, without the SDK's stack.
    throw `${entry}: error: ${why}. An app module creates \`const app = new App("name", "description")\`, ` +
      "registers handlers (`app.command(\"/name\", …)`) and ends with `export default app`";
  }
  const duplicates = app[DUPLICATES]();
  if (duplicates.length > 0) {
    throw duplicates.map((d) => `${d.second}: error: ${d.text}; the first is at ${d.first}`).join("\n");
  }
  const exports = {};
  for (const name of interfaces) {
    check(name in app, `this SDK implements no \`${name}\` export; rebuild botyard`);
    exports[name] = app[name];
  }
  return exports;
}

function describeValue(v) {
  if (v === null) return "null";
  if (typeof v === "function") return `a function (${v.name || "anonymous"})`;
  if (typeof v === "object") return "a plain object";
  return `a ${typeof v}`;
}

function commandSpec(where, spec) {
  if (spec === undefined || spec === null) return { description: "", usage: "" };
  if (typeof spec === "string") return { description: spec, usage: "" };
  check(typeof spec === "object",
    `${where}: the second argument is a description, or { description, usage }; got ${typeof spec}`);
  for (const key of Object.keys(spec)) {
    check(key === "description" || key === "usage",
      `${where}: unknown option \`${key}\`; a command takes description and usage`);
  }
  const { description = "", usage = "" } = spec;
  check(typeof description === "string" && typeof usage === "string",
    `${where}: description and usage are strings`);
  return { description, usage };
}

function handlerFunction(where, fn) {
  check(typeof fn === "function", `${where}: the handler (the last argument) must be a function, got ${typeof fn}`);
}

// Where the app called a registration method, as `file:line:column`: the
// third frame, after this function and the method. At build time the
// bundle's positions are mapped back to the app's own files.
function callSite() {
  const frames = (new Error().stack ?? "").split("\n").filter((l) => /^\s*at /.test(l));
  const frame = frames[2] ?? "";
  const m = /\(([^()]*:\d+:\d+)\)\s*$/.exec(frame) ?? /at (\S+:\d+:\d+)\s*$/.exec(frame);
  return m ? m[1] : "an unknown place";
}

const SLOT_KINDS = ["user", "number", "amount", "duration", "date", "word", "text"];

// A slot of `app.phrase` as the WIT's `slot-spec`.
function slotSpec(where, name, spec) {
  const s = typeof spec === "string" ? { kind: spec } : { ...spec };
  check(s !== null && typeof s === "object", `${where}: slot ${name} is a kind or { kind | id | pattern | choice, default, optional }`);
  let kind;
  if (s.id !== undefined) kind = { tag: "id", val: String(s.id) };
  else if (s.pattern !== undefined) kind = { tag: "pattern", val: String(s.pattern) };
  else if (s.choice !== undefined) {
    check(typeof s.choice === "object" && s.choice !== null, `${where}: slot ${name}: choice is { value: [words…] }`);
    kind = { tag: "choice", val: Object.entries(s.choice).map(([value, words]) => ({ value, words: [...words].map(String) })) };
  } else {
    check(SLOT_KINDS.includes(s.kind), `${where}: slot ${name}: kind ${JSON.stringify(s.kind)} is none of ${SLOT_KINDS.join(", ")}, id, pattern or choice`);
    kind = { tag: s.kind };
  }
  return { name, kind, default: s.default === undefined || s.default === null ? undefined : String(s.default), optional: !!s.optional };
}

function check(ok, message) {
  if (!ok) throw new Error(message);
}

// Calls an app's handler.
function run(handler, arg) {
  const value = handler(arg);
  check(typeof value?.then !== "function",
    "handlers are synchronous: store, slack and schedule answer at once, so drop the `async` (and any `await`)");
  return value;
}

// What a handler throws becomes its `err` result: the user sees the message.
function guarded(fn) {
  return (arg) => {
    try {
      return fn(arg);
    } catch (e) {
      throw errorText(e);
    }
  };
}

function errorText(e) {
  if (e instanceof Error) return e.message;
  return typeof e === "string" ? e : JSON.stringify(e);
}

// ---------------------------------------------------------------------------
// Answers

/**
 * Builds a WIT message from text and optional blocks.
 * @param {string} text Notification / fallback text.
 * @param {Blocks} [blocks]
 * @returns {Message}
 */
export function message(text, blocks) {
  check(typeof text === "string", `a message needs text, got ${typeof text}`);
  if (blocks === undefined || blocks === null) return { text, blocks: null };
  return { text, blocks: typeof blocks === "string" ? blocks : JSON.stringify(blocks) };
}

function toMessage(m) {
  return typeof m === "string" ? message(m) : message(m?.text, m?.blocks);
}

const UPDATE = "update";

/**
 * Ways to answer. `ephemeral` and `inChannel` answer a command or a click;
 * `update` answers a click by replacing the message that held the element.
 */
export const reply = {
  /**
   * Only the acting user sees it.
   * @param {string} text
   * @param {Blocks} [blocks]
   * @returns {Reply}
   */
  ephemeral: (text, blocks) => ({ visibility: "ephemeral", message: message(text, blocks) }),

  /**
   * Everyone in the channel sees it.
   * @param {string} text
   * @param {Blocks} [blocks]
   * @returns {Reply}
   */
  inChannel: (text, blocks) => ({ visibility: "in-channel", message: message(text, blocks) }),

  /**
   * Replace the clicked message (only from an `app.action` handler).
   * @param {string} text
   * @param {Blocks} [blocks]
   */
  update: (text, blocks) => ({ tag: UPDATE, val: message(text, blocks) }),
};

function toReply(value) {
  if (typeof value === "string") return reply.ephemeral(value);
  if (value && value.visibility) return { visibility: value.visibility, message: toMessage(value.message) };
  throw new Error(`cannot answer with ${JSON.stringify(value)}; use reply.ephemeral(…) or reply.inChannel(…)`);
}

function toCommandReply(value) {
  if (value === undefined || value === null) return null;
  if (value.tag === UPDATE) {
    throw new Error("reply.update(…) answers a click (app.action); a command answers with reply.inChannel(…) or reply.ephemeral(…)");
  }
  return toReply(value);
}

function toActionResponse(value) {
  if (value === undefined || value === null) return { tag: "none" };
  if (value.tag === UPDATE) return value;
  return { tag: "reply", val: toReply(value) };
}

/**
 * How to answer a modal submission; return one from an `app.view` handler
 * (returning nothing closes the modal).
 */
export const modalResponse = {
  /** Close this modal. */
  close: () => ({ tag: "close" }),
  /** Close every modal in the stack. */
  clear: () => ({ tag: "clear" }),
  /**
   * Keep the modal open and show errors under input blocks.
   * @param {Record<string, string>} byBlockId `{ [blockId]: message }`
   */
  errors: (byBlockId) => ({
    tag: "errors",
    val: Object.entries(byBlockId).map(([blockId, msg]) => ({ blockId, message: msg })),
  }),
  /**
   * Replace the modal.
   * @param {Block | string} view A {@link modal}.
   */
  update: (view) => ({ tag: "update", val: json(view) }),
  /**
   * Push a modal on top of this one.
   * @param {Block | string} view A {@link modal}.
   */
  push: (view) => ({ tag: "push", val: json(view) }),
};

const VIEW_RESPONSES = ["close", "clear", "errors", "update", "push"];

function toViewResponse(value) {
  if (value === undefined || value === null) return modalResponse.close();
  check(VIEW_RESPONSES.includes(value?.tag) && !(value.tag === UPDATE && typeof value.val !== "string"),
    `cannot answer a modal submission with ${JSON.stringify(value)}; return modalResponse.close(), .clear(), ` +
    ".errors({…}), .update(view) or .push(view), or nothing (the modal closes)");
  return value;
}

function json(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * The values of a submitted modal, simplified: `{ [blockId]: { [actionId]: value } }`
 * where `value` is the text typed, the selected option's value, the selected
 * user/channel/date, or an array of those for multi-selects and checkboxes.
 * @param {ViewSubmission} submission
 * @returns {Record<string, Record<string, any>>}
 */
export function formValues(submission) {
  const state = JSON.parse(submission.values || "{}");
  const out = {};
  for (const [blockId, actions] of Object.entries(state)) {
    out[blockId] = {};
    for (const [actionId, v] of Object.entries(actions)) {
      out[blockId][actionId] = simpleValue(v);
    }
  }
  return out;
}

function simpleValue(v) {
  if ("value" in v) return v.value;
  if (v.selected_option !== undefined) return v.selected_option?.value ?? null;
  if (v.selected_options !== undefined) return v.selected_options.map((o) => o.value);
  for (const key of ["selected_user", "selected_channel", "selected_conversation", "selected_date",
    "selected_time", "selected_users", "selected_channels", "selected_conversations"]) {
    if (key in v) return v[key];
  }
  return v;
}

// ---------------------------------------------------------------------------
// Block Kit builders: plain objects in Slack's JSON shape. Pass arrays of
// them to `reply.*`, `message`, `slack.*`, or `modal`.
//
// A builder is named after Slack's `type` in camelCase (`static_select` →
// `staticSelect`), and takes its arguments in the order a person reads the
// element: the visible text first, then the id, then what it holds, then an
// object of options. The visible text of a select, picker or text field (its
// placeholder) may be left out: `datepicker("day")`.

/**
 * `mrkdwn` text object.
 * @param {string} text
 */
export const mrkdwn = (text) => ({ type: "mrkdwn", text });

/**
 * `plain_text` text object.
 * @param {string} text
 */
export const plainText = (text) => ({ type: "plain_text", text });

const asText = (t) => (typeof t === "string" ? mrkdwn(t) : t);

// Refuses options a builder does not know, so a misspelt one is not lost.
function known(builder, opts, allowed) {
  check(opts !== null && typeof opts === "object" && !Array.isArray(opts),
    `${builder}: the options are an object like { ${allowed[0]}: … }, got ${JSON.stringify(opts)}`);
  for (const key of Object.keys(opts)) {
    check(allowed.includes(key), `${builder}: unknown option \`${key}\`; it takes ${allowed.join(", ")}`);
  }
  return opts;
}

function withBlockId(block, opts) {
  if (opts.blockId) block.block_id = opts.blockId;
  return block;
}

function withPlaceholder(el, placeholder) {
  if (placeholder !== undefined && placeholder !== null) el.placeholder = plainText(placeholder);
  return el;
}

function idOf(builder, actionId) {
  check(typeof actionId === "string" && actionId.length > 0, `${builder}: the action id must be a non-empty string, got ${JSON.stringify(actionId)}`);
  return actionId;
}

/**
 * A header block (plain text, large).
 * @param {string} text
 * @param {{blockId?: string}} [opts]
 */
export const header = (text, opts = {}) =>
  withBlockId({ type: "header", text: plainText(text) }, known("header", opts, ["blockId"]));

/**
 * A section block: mrkdwn text, optional two-column `fields`, and an
 * optional `accessory` element (a button, select or image).
 * @param {string | Block} text mrkdwn, or a text object.
 * @param {{fields?: (string | Block)[], accessory?: Block, blockId?: string}} [opts]
 */
export function section(text, opts = {}) {
  known("section", opts, ["fields", "accessory", "blockId"]);
  const block = { type: "section" };
  if (text !== undefined && text !== null) block.text = asText(text);
  if (opts.fields) block.fields = opts.fields.map(asText);
  if (opts.accessory) block.accessory = opts.accessory;
  return withBlockId(block, opts);
}

/**
 * A context block: small mrkdwn texts and images.
 * @param {...(string | Block)} elements
 */
export const context = (...elements) => ({ type: "context", elements: elements.map(asText) });

/** A divider block. */
export const divider = () => ({ type: "divider" });

/**
 * An image block; without `title` it is also an image element (section accessory, context).
 * @param {string} url
 * @param {string} altText
 * @param {{title?: string, blockId?: string}} [opts]
 */
export function image(url, altText, opts = {}) {
  known("image", opts, ["title", "blockId"]);
  const block = { type: "image", image_url: url, alt_text: altText };
  if (opts.title) block.title = plainText(opts.title);
  return withBlockId(block, opts);
}

/**
 * An actions block holding interactive elements (buttons, selects).
 * @param {...Block} elements
 */
export const actions = (...elements) => ({ type: "actions", elements });

/**
 * An input block (in modals): a label over one element
 * ({@link plainTextInput}, {@link staticSelect}, …). Give it a `blockId` to
 * find its value in {@link formValues} and to attach `modalResponse.errors`.
 * @param {string} label
 * @param {Block} element
 * @param {{blockId?: string, optional?: boolean, hint?: string, dispatchAction?: boolean}} [opts]
 */
export function input(label, element, opts = {}) {
  known("input", opts, ["blockId", "optional", "hint", "dispatchAction"]);
  const block = { type: "input", label: plainText(label), element };
  if (opts.optional) block.optional = true;
  if (opts.hint) block.hint = plainText(opts.hint);
  if (opts.dispatchAction) block.dispatch_action = true;
  return withBlockId(block, opts);
}

/**
 * A button. Clicks arrive at the `app.action` handler for `actionId`, with `value`.
 * @param {string} text
 * @param {string} actionId
 * @param {{value?: string, style?: "primary" | "danger", url?: string, confirm?: Block}} [opts]
 */
export function button(text, actionId, opts = {}) {
  known("button", opts, ["value", "style", "url", "confirm"]);
  check(opts.style === undefined || opts.style === "primary" || opts.style === "danger",
    `button ${actionId}: style is "primary" or "danger", got ${JSON.stringify(opts.style)}`);
  const el = { type: "button", action_id: idOf("button", actionId), text: plainText(text) };
  for (const key of ["value", "style", "url", "confirm"]) {
    if (opts[key] !== undefined) el[key] = opts[key];
  }
  return el;
}

/**
 * One choice of a {@link staticSelect}, {@link checkboxes} or {@link radioButtons}.
 * @param {string} text
 * @param {string} value
 * @param {{description?: string}} [opts]
 */
export function option(text, value, opts = {}) {
  known("option", opts, ["description"]);
  const o = { text: plainText(text), value };
  if (opts.description) o.description = plainText(opts.description);
  return o;
}

// Options given as option(…) objects, or strings used as text and value.
const options = (all) => all.map((o) => (typeof o === "string" ? option(o, o) : o));

function initialOption(builder, all, value) {
  const found = all.find((o) => o.value === value);
  check(found, `${builder}: no option has the value ${JSON.stringify(value)}`);
  return found;
}

/**
 * A drop-down of fixed options; the chosen one's value arrives as the
 * action's `value`.
 * @param {string} [placeholder] Shown until something is chosen.
 * @param {string} actionId
 * @param {(Block | string)[]} choices {@link option}s, or strings used as text and value.
 * @param {{initial?: string}} [opts] `initial`: the value chosen at first.
 */
export function staticSelect(placeholder, actionId, choices, opts = {}) {
  // The placeholder may be left out: then the id comes first.
  if (typeof actionId !== "string") [placeholder, actionId, choices, opts = {}] = [undefined, placeholder, actionId, choices];
  const name = `staticSelect ${actionId}`;
  known(name, opts, ["initial"]);
  check(Array.isArray(choices), `${name}: the options are an array of option(text, value) or strings`);
  const el = { type: "static_select", action_id: idOf("staticSelect", actionId), options: options(choices) };
  withPlaceholder(el, placeholder);
  if (opts.initial !== undefined) el.initial_option = initialOption(name, el.options, opts.initial);
  return el;
}

/**
 * A drop-down of fixed options where several may be chosen.
 * @param {string} [placeholder]
 * @param {string} actionId
 * @param {(Block | string)[]} choices
 * @param {{initial?: string[], maxSelected?: number}} [opts]
 */
export function multiStaticSelect(placeholder, actionId, choices, opts = {}) {
  // The placeholder may be left out: then the id comes first.
  if (typeof actionId !== "string") [placeholder, actionId, choices, opts = {}] = [undefined, placeholder, actionId, choices];
  const name = `multiStaticSelect ${actionId}`;
  known(name, opts, ["initial", "maxSelected"]);
  check(Array.isArray(choices), `${name}: the options are an array of option(text, value) or strings`);
  const el = { type: "multi_static_select", action_id: idOf("multiStaticSelect", actionId), options: options(choices) };
  withPlaceholder(el, placeholder);
  if (opts.initial !== undefined) el.initial_options = opts.initial.map((v) => initialOption(name, el.options, v));
  if (opts.maxSelected !== undefined) el.max_selected_items = opts.maxSelected;
  return el;
}

/**
 * A drop-down of the workspace's people; the value is a user id.
 * @param {string} [placeholder]
 * @param {string} actionId
 * @param {{initial?: string}} [opts] `initial`: a user id.
 */
export function usersSelect(placeholder, actionId, opts = {}) {
  if (typeof actionId !== "string") [placeholder, actionId, opts = {}] = [undefined, placeholder, actionId];
  known(`usersSelect ${actionId}`, opts, ["initial"]);
  const el = withPlaceholder({ type: "users_select", action_id: idOf("usersSelect", actionId) }, placeholder);
  if (opts.initial) el.initial_user = opts.initial;
  return el;
}

/**
 * A drop-down of people where several may be chosen.
 * @param {string} [placeholder]
 * @param {string} actionId
 * @param {{initial?: string[], maxSelected?: number}} [opts] `initial`: user ids.
 */
export function multiUsersSelect(placeholder, actionId, opts = {}) {
  if (typeof actionId !== "string") [placeholder, actionId, opts = {}] = [undefined, placeholder, actionId];
  known(`multiUsersSelect ${actionId}`, opts, ["initial", "maxSelected"]);
  const el = withPlaceholder({ type: "multi_users_select", action_id: idOf("multiUsersSelect", actionId) }, placeholder);
  if (opts.initial) el.initial_users = opts.initial;
  if (opts.maxSelected !== undefined) el.max_selected_items = opts.maxSelected;
  return el;
}

/**
 * A drop-down of public channels; the value is a channel id.
 * @param {string} [placeholder]
 * @param {string} actionId
 * @param {{initial?: string}} [opts] `initial`: a channel id.
 */
export function channelsSelect(placeholder, actionId, opts = {}) {
  if (typeof actionId !== "string") [placeholder, actionId, opts = {}] = [undefined, placeholder, actionId];
  known(`channelsSelect ${actionId}`, opts, ["initial"]);
  const el = withPlaceholder({ type: "channels_select", action_id: idOf("channelsSelect", actionId) }, placeholder);
  if (opts.initial) el.initial_channel = opts.initial;
  return el;
}

/**
 * A drop-down of conversations (channels, DMs …); the value is a conversation id.
 * @param {string} [placeholder]
 * @param {string} actionId
 * @param {{initial?: string, defaultToCurrent?: boolean}} [opts]
 */
export function conversationsSelect(placeholder, actionId, opts = {}) {
  if (typeof actionId !== "string") [placeholder, actionId, opts = {}] = [undefined, placeholder, actionId];
  known(`conversationsSelect ${actionId}`, opts, ["initial", "defaultToCurrent"]);
  const el = withPlaceholder({ type: "conversations_select", action_id: idOf("conversationsSelect", actionId) },
    placeholder);
  if (opts.initial) el.initial_conversation = opts.initial;
  if (opts.defaultToCurrent) el.default_to_current_conversation = true;
  return el;
}

/**
 * A date picker; the date (`YYYY-MM-DD`) arrives as the action's `value`.
 * @param {string} [placeholder]
 * @param {string} actionId
 * @param {{initial?: string}} [opts] `initial`: `YYYY-MM-DD`.
 */
export function datepicker(placeholder, actionId, opts = {}) {
  if (typeof actionId !== "string") [placeholder, actionId, opts = {}] = [undefined, placeholder, actionId];
  known(`datepicker ${actionId}`, opts, ["initial"]);
  const el = withPlaceholder({ type: "datepicker", action_id: idOf("datepicker", actionId) }, placeholder);
  if (opts.initial) el.initial_date = opts.initial;
  return el;
}

/**
 * A time picker; the time (`HH:mm`) arrives as the action's `value`.
 * @param {string} [placeholder]
 * @param {string} actionId
 * @param {{initial?: string}} [opts] `initial`: `HH:mm`.
 */
export function timepicker(placeholder, actionId, opts = {}) {
  if (typeof actionId !== "string") [placeholder, actionId, opts = {}] = [undefined, placeholder, actionId];
  known(`timepicker ${actionId}`, opts, ["initial"]);
  const el = withPlaceholder({ type: "timepicker", action_id: idOf("timepicker", actionId) }, placeholder);
  if (opts.initial) el.initial_time = opts.initial;
  return el;
}

/**
 * A text field, for {@link input} blocks.
 * @param {string} [placeholder]
 * @param {string} actionId
 * @param {{multiline?: boolean, initial?: string, minLength?: number, maxLength?: number}} [opts]
 */
export function plainTextInput(placeholder, actionId, opts = {}) {
  if (typeof actionId !== "string") [placeholder, actionId, opts = {}] = [undefined, placeholder, actionId];
  known(`plainTextInput ${actionId}`, opts, ["multiline", "initial", "minLength", "maxLength"]);
  const el = { type: "plain_text_input", action_id: idOf("plainTextInput", actionId) };
  if (opts.multiline) el.multiline = true;
  withPlaceholder(el, placeholder);
  if (opts.initial !== undefined) el.initial_value = opts.initial;
  if (opts.minLength !== undefined) el.min_length = opts.minLength;
  if (opts.maxLength !== undefined) el.max_length = opts.maxLength;
  return el;
}

/**
 * Checkboxes; the values checked arrive in {@link formValues} as an array.
 * @param {string} actionId
 * @param {(Block | string)[]} choices {@link option}s, or strings used as text and value.
 * @param {{initial?: string[]}} [opts] `initial`: the values checked at first.
 */
export function checkboxes(actionId, choices, opts = {}) {
  const name = `checkboxes ${actionId}`;
  known(name, opts, ["initial"]);
  check(Array.isArray(choices), `${name}: the options are an array of option(text, value) or strings`);
  const el = { type: "checkboxes", action_id: idOf("checkboxes", actionId), options: options(choices) };
  if (opts.initial !== undefined) el.initial_options = opts.initial.map((v) => initialOption(name, el.options, v));
  return el;
}

/**
 * Radio buttons; the chosen value arrives as the action's `value`.
 * @param {string} actionId
 * @param {(Block | string)[]} choices
 * @param {{initial?: string}} [opts] `initial`: the value chosen at first.
 */
export function radioButtons(actionId, choices, opts = {}) {
  const name = `radioButtons ${actionId}`;
  known(name, opts, ["initial"]);
  check(Array.isArray(choices), `${name}: the options are an array of option(text, value) or strings`);
  const el = { type: "radio_buttons", action_id: idOf("radioButtons", actionId), options: options(choices) };
  if (opts.initial !== undefined) el.initial_option = initialOption(name, el.options, opts.initial);
  return el;
}

/**
 * A modal view, for `slack.openView`, `slack.pushView` and
 * `modalResponse.update/push`. Submissions arrive at the `app.view` handler
 * for `callbackId`; with `notifyOnClose`, closing it reaches `app.viewClosed`.
 * @param {string} title Up to 24 characters.
 * @param {Block[]} blocks
 * @param {{callbackId?: string, submit?: string, close?: string, privateMetadata?: string,
 *          notifyOnClose?: boolean, clearOnClose?: boolean}} [opts]
 */
export function modal(title, blocks, opts = {}) {
  check(typeof title === "string", "modal(title, blocks, options): the title comes first, as a string");
  check(Array.isArray(blocks), `modal(${JSON.stringify(title)}, blocks): the blocks are an array`);
  known(`modal ${JSON.stringify(title)}`, opts,
    ["callbackId", "submit", "close", "privateMetadata", "notifyOnClose", "clearOnClose"]);
  const view = { type: "modal", title: plainText(title), blocks };
  if (opts.submit) view.submit = plainText(opts.submit);
  if (opts.close) view.close = plainText(opts.close);
  if (opts.callbackId) view.callback_id = opts.callbackId;
  if (opts.privateMetadata !== undefined) view.private_metadata = opts.privateMetadata;
  if (opts.notifyOnClose) view.notify_on_close = true;
  if (opts.clearOnClose) view.clear_on_close = true;
  return view;
}

/**
 * An App Home view, for `slack.publishHome`.
 * @param {Block[]} blocks
 * @param {{privateMetadata?: string, callbackId?: string}} [opts]
 */
export function home(blocks, opts = {}) {
  known("home", opts, ["privateMetadata", "callbackId"]);
  const view = { type: "home", blocks };
  if (opts.callbackId) view.callback_id = opts.callbackId;
  if (opts.privateMetadata !== undefined) view.private_metadata = opts.privateMetadata;
  return view;
}

// ---------------------------------------------------------------------------
// Capabilities. Each call goes to the host; a failure throws an Error whose
// message names the call, and a handler that lets it escape answers the user
// with that message.

function call(what, fn) {
  try {
    return fn();
  } catch (thrown) {
    // An import's `err` arrives as its WIT value — a string or a variant —
    // wrapped by componentize-qjs in an Error whose `payload` it is.
    const e = errPayload(thrown);
    if (e instanceof Error) throw e;
    const detail = typeof e === "string" ? e : e?.val === undefined ? e?.tag : `${e.tag}: ${e.val}`;
    throw new Error(`${what} failed: ${detail}`);
  }
}

const bytes = (v) => (v instanceof Uint8Array ? v : utf8Encode(String(v)));

/**
 * The app's private key-value store. Values are text (UTF-8) or JSON here;
 * `getBytes`/`setBytes` reach the raw bytes.
 */
export const store = {
  /**
   * @param {string} key
   * @returns {string | undefined}
   */
  get(key) {
    const v = call(`store.get(${key})`, () => storeApi.get(key));
    return v === null ? undefined : utf8Decode(v);
  },

  /**
   * @param {string} key
   * @param {string | Uint8Array} value
   */
  set(key, value) {
    call(`store.set(${key})`, () => storeApi.set(key, bytes(value)));
  },

  /**
   * @param {string} key
   * @returns {Uint8Array | undefined}
   */
  getBytes: (key) => call(`store.get(${key})`, () => storeApi.get(key)) ?? undefined,

  /**
   * @param {string} key
   * @param {Uint8Array} value
   */
  setBytes(key, value) {
    call(`store.set(${key})`, () => storeApi.set(key, value));
  },

  /**
   * The JSON value under `key`, or `fallback` when there is none.
   * @template T
   * @param {string} key
   * @param {T} [fallback]
   * @returns {T}
   */
  getJson(key, fallback) {
    const text = store.get(key);
    return text === undefined ? fallback : JSON.parse(text);
  },

  /**
   * @param {string} key
   * @param {any} value Anything `JSON.stringify` takes.
   */
  setJson(key, value) {
    store.set(key, JSON.stringify(value));
  },

  /**
   * Read-modify-write a JSON value atomically: `fn` gets the current value
   * (or `fallback`) and returns the new one; retried when another invocation
   * changed the key in between. Returns the value written.
   * @template T
   * @param {string} key
   * @param {(current: T) => T} fn
   * @param {T} fallback
   * @returns {T}
   */
  updateJson(key, fn, fallback) {
    for (;;) {
      const old = store.getBytes(key);
      const next = fn(old === undefined ? fallback : JSON.parse(utf8Decode(old)));
      const swapped = call(`store.compareAndSwap(${key})`,
        () => storeApi.compareAndSwap(key, old ?? null, utf8Encode(JSON.stringify(next))));
      if (swapped) return next;
    }
  },

  /**
   * Atomically add `by` (default 1) to a counter; returns the new value.
   * @param {string} key
   * @param {number} [by]
   * @returns {number}
   */
  increment: (key, by = 1) => call(`store.increment(${key})`, () => storeApi.increment(key, by)),

  /**
   * Set `key` to `next` only if it currently holds `expected` (`undefined`:
   * absent). `next` of `undefined` deletes. Returns whether it swapped.
   * @param {string} key
   * @param {string | Uint8Array | undefined} expected
   * @param {string | Uint8Array | undefined} next
   * @returns {boolean}
   */
  compareAndSwap: (key, expected, next) => call(`store.compareAndSwap(${key})`, () =>
    storeApi.compareAndSwap(key, expected === undefined ? null : bytes(expected),
      next === undefined ? null : bytes(next))),

  /**
   * @param {string} key
   * @returns {boolean} Whether the key existed.
   */
  delete: (key) => call(`store.delete(${key})`, () => storeApi.delete(key)),

  /**
   * Keys starting with `prefix`, in byte order, at most `limit` of them.
   * @param {string} prefix
   * @param {number} [limit]
   * @returns {string[]}
   */
  listKeys: (prefix, limit = 100) => call(`store.listKeys(${prefix})`, () => storeApi.listKeys(prefix, limit)),
};

/**
 * Talking to Slack: the WIT's `slack` functions. A `msg` argument is a string
 * or `{ text, blocks }` ({@link message}); a `view` is a {@link modal} /
 * {@link home} object or JSON text. Calls are recorded durably before they
 * return.
 */
export const slack = {
  /**
   * Post to a channel, or as a reply in the thread of `threadTs`.
   * @param {string} channel
   * @param {string | {text: string, blocks?: Blocks}} msg
   * @param {string} [threadTs]
   * @returns {MessageRef}
   */
  postMessage: (channel, msg, threadTs) =>
    call("slack.postMessage", () => slackApi.postMessage(channel, toMessage(msg), threadTs ?? null)),

  /**
   * Replace a message the app posted.
   * @param {MessageRef} target
   * @param {string | {text: string, blocks?: Blocks}} msg
   */
  updateMessage(target, msg) {
    call("slack.updateMessage", () => slackApi.updateMessage(target, toMessage(msg)));
  },

  /**
   * Delete a message the app posted.
   * @param {MessageRef} target
   */
  deleteMessage(target) {
    call("slack.deleteMessage", () => slackApi.deleteMessage(target));
  },

  /**
   * A message only `user` sees, in `channel`.
   * @param {string} channel
   * @param {string} user
   * @param {string | {text: string, blocks?: Blocks}} msg
   */
  postEphemeral(channel, user, msg) {
    call("slack.postEphemeral", () => slackApi.postEphemeral(channel, user, toMessage(msg)));
  },

  /**
   * Direct-message a user (opens the DM if needed).
   * @param {string} user
   * @param {string | {text: string, blocks?: Blocks}} msg
   * @returns {MessageRef}
   */
  sendDm: (user, msg) => call("slack.sendDm", () => slackApi.sendDm(user, toMessage(msg))),

  /**
   * Open a modal; needs the request's fresh `context.triggerId`. Returns the view id.
   * @param {string} triggerId
   * @param {Block | string} view
   * @returns {string}
   */
  openView: (triggerId, view) => call("slack.openView", () => slackApi.openView(triggerId, json(view))),

  /**
   * Push a modal on top of the open one. Returns the view id.
   * @param {string} triggerId
   * @param {Block | string} view
   * @returns {string}
   */
  pushView: (triggerId, view) => call("slack.pushView", () => slackApi.pushView(triggerId, json(view))),

  /**
   * Replace an open modal.
   * @param {string} viewId
   * @param {Block | string} view
   */
  updateView(viewId, view) {
    call("slack.updateView", () => slackApi.updateView(viewId, json(view)));
  },

  /**
   * Publish a user's App Home tab (a {@link home} view).
   * @param {string} user
   * @param {Block | string} view
   */
  publishHome(user, view) {
    call("slack.publishHome", () => slackApi.publishHome(user, json(view)));
  },

  /**
   * React to a message with an emoji name, without colons (`unicorn_face`).
   * @param {MessageRef} target
   * @param {string} emoji
   */
  addReaction(target, emoji) {
    call("slack.addReaction", () => slackApi.addReaction(target, emoji));
  },

  /**
   * Look a user up.
   * @param {string} user
   * @returns {{id: string, name: string, realName: string, tz: string, isBot: boolean}}
   */
  lookupUser: (user) => call("slack.lookupUser", () => slackApi.lookupUser(user)),

  /**
   * Post to a channel, with options: a thread, broadcast to the channel,
   * message metadata.
   *
   * ```js
   * slack.post("C1", "Deployed", {
   *   threadTs: parent.ts,
   *   replyBroadcast: true,
   *   metadata: { eventType: "deploy", payload: { version: "1.2.3" } },
   * });
   * ```
   *
   * @param {string} channel
   * @param {string | {text: string, blocks?: Blocks}} msg
   * @param {{threadTs?: string, replyBroadcast?: boolean, metadata?: {eventType: string, payload: object | string}}} [options]
   *   `payload` is a JSON object (or its text).
   * @returns {MessageRef}
   */
  post: (channel, msg, options = {}) =>
    call("slack.post", () => slackApi.post(channel, toMessage(msg), postOptions(options))),

  /**
   * Post at `postAt` — a Date or Unix **seconds**, within 120 days — in the
   * channel or the thread of `threadTs`. Returns the scheduled message's id.
   * @param {string} channel
   * @param {string | {text: string, blocks?: Blocks}} msg
   * @param {Date | number} postAt
   * @param {string} [threadTs]
   * @returns {string}
   */
  scheduleMessage: (channel, msg, postAt, threadTs) =>
    call("slack.scheduleMessage",
      () => slackApi.scheduleMessage(channel, toMessage(msg), unixSeconds(postAt), threadTs ?? null)),

  /**
   * A link to a message, for people to follow.
   * @param {MessageRef} target
   * @returns {string}
   */
  getPermalink: (target) => call("slack.getPermalink", () => slackApi.getPermalink(target)),

  /**
   * The messages of a thread, the parent first, at most `limit`.
   * @param {MessageRef} target The thread's parent (or any message in it).
   * @param {number} [limit]
   * @returns {{ts: string, user: string, text: string}[]}
   */
  threadReplies: (target, limit = 100) =>
    call("slack.threadReplies", () => slackApi.threadReplies(target, limit)),

  /**
   * The members of a channel (user ids).
   * @param {string} channel
   * @returns {string[]}
   */
  channelMembers: (channel) => call("slack.channelMembers", () => slackApi.channelMembers(channel)),

  /**
   * The workspace's user groups.
   * @returns {{id: string, handle: string, name: string}[]}
   */
  userGroups: () => call("slack.userGroups", () => slackApi.userGroups()),

  /**
   * The members of a user group, by its id (user ids).
   * @param {string} group
   * @returns {string[]}
   */
  userGroupMembers: (group) => call("slack.userGroupMembers", () => slackApi.userGroupMembers(group)),

  /**
   * Create a channel (`name`: lowercase, no `#`); returns its id, usable at once.
   * @param {string} name
   * @param {boolean} [isPrivate]
   * @returns {string}
   */
  createChannel: (name, isPrivate = false) =>
    call("slack.createChannel", () => slackApi.createChannel(name, isPrivate === true)),

  /**
   * Add people to a channel.
   * @param {string} channel
   * @param {string | string[]} users
   */
  invite(channel, users) {
    call("slack.invite", () => slackApi.invite(channel, typeof users === "string" ? [users] : [...users]));
  },

  /**
   * Set a channel's topic.
   * @param {string} channel
   * @param {string} topic
   */
  setTopic(channel, topic) {
    call("slack.setTopic", () => slackApi.setTopic(channel, topic));
  },

  /**
   * Pin a message to its channel.
   * @param {MessageRef} target
   */
  pin(target) {
    call("slack.pin", () => slackApi.pin(target));
  },

  /**
   * Upload a file into a channel, or a thread: text (sent as UTF-8) or
   * bytes, at most 1 MiB. A user id as the channel means that person's DM.
   * @param {string} channel
   * @param {string} filename `report.csv`
   * @param {string} title
   * @param {string | Uint8Array} content
   * @param {string} [threadTs]
   */
  uploadFile(channel, filename, title, content, threadTs) {
    call("slack.uploadFile",
      () => slackApi.uploadFile(channel, filename, title, bytes(content), threadTs ?? null));
  },
};

const POST_OPTIONS = ["threadTs", "replyBroadcast", "metadata"];

// `slack.post`'s options as the WIT's `post-options`.
function postOptions(options) {
  check(options !== null && typeof options === "object",
    "slack.post(channel, msg, options): options are { threadTs, replyBroadcast, metadata }");
  for (const key of Object.keys(options)) {
    check(POST_OPTIONS.includes(key),
      `slack.post: unknown option \`${key}\`; it takes ${POST_OPTIONS.join(", ")}`);
  }
  const { threadTs = null, replyBroadcast = false, metadata = null } = options;
  let meta = null;
  if (metadata !== null) {
    check(typeof metadata === "object" && typeof metadata.eventType === "string" && metadata.payload != null,
      "slack.post: metadata is { eventType, payload } with payload a JSON object");
    const { eventType, payload } = metadata;
    meta = { eventType, payload: typeof payload === "string" ? payload : JSON.stringify(payload) };
  }
  return { threadTs, replyBroadcast: replyBroadcast === true, metadata: meta };
}

// A Date or Unix seconds, as the seconds `slack.scheduleMessage` wants.
function unixSeconds(at) {
  const seconds = at instanceof Date ? Math.floor(at.getTime() / 1000) : at;
  check(Number.isInteger(seconds) && seconds >= 0,
    `slack.scheduleMessage: postAt is a Date or Unix seconds, got ${JSON.stringify(at)}`);
  check(seconds < 1e11,
    `slack.scheduleMessage: postAt is in seconds; ${seconds} looks like milliseconds (divide by 1000, or pass a Date)`);
  return seconds;
}

/** One-off ticks (recurring ones are registered with `app.schedule`). */
export const schedule = {
  /**
   * Tick `name` at `at` (a Date or Unix ms), reaching the `app.tick`
   * handler for it; replaces a pending one of that name.
   * @param {string} name
   * @param {Date | number} at
   */
  once(name, at) {
    call(`schedule.once(${name})`, () => scheduleApi.once(name, at instanceof Date ? at.getTime() : at));
  },

  /**
   * Cancel a pending one-off; returns whether one was pending.
   * @param {string} name
   * @returns {boolean}
   */
  cancel: (name) => scheduleApi.cancel(name),
};

const LEVELS = ["debug", "info", "warn", "error"];

/**
 * Structured log lines, tagged by the host with the app and invocation.
 * (`console.log`, `.info`, `.debug`, `.warn` and `.error` also become log lines.)
 */
export const log = {
  /**
   * @param {"debug" | "info" | "warn" | "error"} level
   * @param {string} msg
   */
  write(level, msg) {
    check(LEVELS.includes(level), `log.write: the level is one of ${LEVELS.join(", ")}, got ${JSON.stringify(level)}`);
    logApi.write(level, String(msg));
  },
  /** @param {string} msg */
  debug: (msg) => logApi.write("debug", String(msg)),
  /** @param {string} msg */
  info: (msg) => logApi.write("info", String(msg)),
  /** @param {string} msg */
  warn: (msg) => logApi.write("warn", String(msg)),
  /** @param {string} msg */
  error: (msg) => logApi.write("error", String(msg)),
};

/**
 * What the operator set for this app in `botyard.toml`
 * (`[apps.<id>.settings]`): which channel, which office, who approves.
 * Needs the `settings` grant. Strings come as they are; numbers, booleans
 * and lists as JSON text (`getJson` parses them). While a handler runs, a
 * setting the operator left out is the default the app declared with
 * `app.setting(name, description, { default })`.
 */
export const settings = {
  /**
   * Setting `name` as text: the operator's value, else the declared
   * default, else `fallback`.
   * @param {string} name
   * @param {string | null} [fallback]
   * @returns {string | null}
   */
  get: (name, fallback = null) => settingsApi.get(name) ?? current?.[DEFAULTS](name) ?? fallback,
  /**
   * Setting `name` parsed as JSON (the operator's, else the declared
   * default), or `fallback`.
   * @param {string} name
   * @param {any} [fallback]
   */
  getJson: (name, fallback = null) => {
    const value = settings.get(name);
    return value === null ? fallback : JSON.parse(value);
  },
  /**
   * The names `get` answers for, sorted: every setting the operator set,
   * and every declared one with a default.
   * @returns {string[]}
   */
  names: () => [...new Set([...settingsApi.names(), ...(current?.[DEFAULTED]() ?? [])])].sort(),
};

/** Time, from the host. */
export const clock = {
  /**
   * Wall-clock time in Unix milliseconds.
   * @returns {number}
   */
  nowMs: () => Number(clockApi.nowMs()),
};
